"""SPEC §8.3: a completed review shows only snapshot figures, nothing live; a goal
review asks that scope's people and the facilitator, not everyone."""

from __future__ import annotations

import datetime as dt
import re

from kpis.services import kpi_record_value
from reviews import selectors
from reviews.services import action_create, review_complete, review_item_update, review_start

from .helpers import schedule

SUMMARY = re.compile(r'<section class="card summary-print".*?</section>', re.S)


def summary(client, review) -> str:
    page = client.get(f"/reviews/{review.pk}/").content.decode()
    found = SUMMARY.search(page)
    assert found, "the completed review shows its summary"
    return found.group(0)


def test_a_completed_summary_is_the_same_byte_for_byte_after_live_values_change(client, acme, tree):
    kpi_record_value(actor=acme.member, kpi=tree.individual_kpi, value=4.5)  # 6 → 4: 75 %
    review = schedule(acme.leader, cycle=acme.cycle, goal=tree.department)
    review = review_start(actor=acme.leader, review=review)
    item = review.items.get(goal=tree.individual)
    assert item.progress_snapshot == 75
    item.review = review
    review_item_update(actor=acme.leader, item=item, win=True, notes="Quick wins on triage")
    action_create(
        actor=acme.leader,
        review=review,
        item=item,
        title="Pair on the backlog",
        owner=acme.member,
        due=dt.date(2027, 4, 1),
    )
    review_complete(actor=acme.leader, review=review)
    client.force_login(acme.leader.user)
    before = summary(client, review)
    assert "Quick wins on triage" in before and "75.0%" in before

    kpi_record_value(actor=acme.member, kpi=tree.individual_kpi, value=5.9)  # now 5 %
    kpi_record_value(actor=acme.manager, kpi=tree.department_kpi, value=8)  # now 100 %
    tree.individual.refresh_from_db()
    assert round(tree.individual.progress) == 5

    after = summary(client, review)
    assert after == before
    assert not re.search(r"(?<![\d.])5\.0%", after), "the live 5 % shows nowhere"


def test_a_goal_review_asks_the_scopes_people_and_the_facilitator_only(acme, tree):
    """Of a strategic goal (no department of its own): whoever holds a goal or KPI below it."""
    review = schedule(acme.leader, cycle=acme.cycle, goal=tree.strategic, facilitator=acme.reviewer)
    names = {m.user.username for m in selectors.participants(review)}
    assert names == {"rey", "lena", "max", "sam"}  # not ada, mia, lee or tia
