"""A random series of the writes people make to a cycle — new objectives, goals and
KPIs, values, corrections, retractions, moves, goals done or cancelled, KPIs archived —
through the services, for tests that check what the writes keep against a recount."""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable, Iterator

from django.core.exceptions import PermissionDenied, ValidationError

from goals.models import GoalState
from goals.services import goal_create, goal_update
from kpis.models import Kpi, KpiState, KpiUpdate
from kpis.services import (
    kpi_create,
    kpi_edit,
    kpi_record_value,
    kpi_value_correct,
    kpi_value_retract,
)

# The days values are dated on: inside the test cycle (2027), up to the tests' today.
DAYS = [dt.date(2027, 1, 1), dt.date(2027, 1, 20), dt.date(2027, 2, 3), dt.date(2027, 3, 15)]


def random_writes(
    acme, tree, *, seed: int, steps: int, run: Callable
) -> Iterator[tuple[str, bool]]:
    """Yield (step name, whether it wrote) after each of `steps` random writes, each
    run through `run(step)` (e.g. inside django_capture_on_commit_callbacks); a
    refused write (ValidationError, PermissionDenied) changed nothing."""
    chance = random.Random(seed)
    cycle, leader = acme.cycle, acme.leader
    objectives, departments = [tree.strategic], [tree.department]

    def new_objective():
        objectives.append(
            goal_create(
                actor=leader, cycle=cycle, level="strategic", title=f"Objective {chance.random()}"
            )
        )

    def new_department_goal():
        departments.append(
            goal_create(
                actor=leader,
                cycle=cycle,
                level="department",
                title=f"Department goal {chance.random()}",
                parent=chance.choice(objectives),
                department=chance.choice([acme.support, acme.marketing]),
                owner=acme.manager,
            )
        )

    def new_kpi():
        goal = chance.choice(objectives + departments)
        vague = chance.random() < 0.4
        kpi_create(
            actor=leader,
            goal=goal,
            name="Growth" if vague else f"Demos booked {chance.randint(1, 99)}",
            unit="demos",
            baseline=chance.choice([0, 1, 10]),
            target=chance.choice([20, 50, 500]),
        )

    def live_kpis():
        return list(Kpi.objects.filter(goal__cycle=cycle, state=KpiState.ACTIVE))

    def record():
        kpi_record_value(
            actor=leader,
            kpi=chance.choice(live_kpis()),
            value=chance.randint(0, 60),
            date=chance.choice(DAYS),  # several on some days, none on others
        )

    def live_updates():
        return list(KpiUpdate.objects.live().filter(kpi__goal__cycle=cycle).select_related("kpi"))

    def correct():
        if updates := live_updates():
            kpi_value_correct(
                actor=leader,
                update=chance.choice(updates),
                value=chance.randint(0, 60),
                date=chance.choice(DAYS),
            )

    def retract():
        if updates := live_updates():
            kpi_value_retract(actor=leader, update=chance.choice(updates), reason="typo")

    def move():
        goal = chance.choice(departments)
        goal.refresh_from_db()
        goal_update(actor=leader, goal=goal, parent=chance.choice(objectives))

    def finish_or_cancel():
        goal = chance.choice(departments + objectives[1:])
        goal.refresh_from_db()
        state = chance.choice([GoalState.DONE, GoalState.CANCELLED])
        goal_update(actor=leader, goal=goal, state=state)

    def retire():
        kpi_edit(actor=leader, kpi=chance.choice(live_kpis()), state=KpiState.ARCHIVED)

    kinds = [new_objective, new_department_goal, new_kpi, record, record, correct, retract]
    kinds += [move, move, finish_or_cancel, retire]
    for _ in range(steps):
        step = chance.choice(kinds)
        try:
            run(step)
        except (ValidationError, PermissionDenied):
            yield step.__name__, False
        else:
            yield step.__name__, True
