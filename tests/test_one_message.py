"""A rule says one thing, wherever it is broken (STYLE, "One rule, one place"): the
same bad goal or KPI sent through its page's form, through the API and in an import
row gets the same message, beside the same field, and changes nothing.

A rule here is one the validators of goals/rules.py and kpis/rules.py decide. What a
channel reads before them stays its own: a field left out (a form's "This field is
required."), text where a number goes in JSON, a person or department an import names
by name. So the page offers no external id, and JSON has no NaN: those rules are said
by the two channels that can send them.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from core.errors import (
    AFTER_START,
    NOT_A_NUMBER,
    ONE_LINE,
    Conflict,
    RowErrors,
    external_id_taken,
    one_of,
    too_long,
)
from cycles.importing import import_commit
from cycles.services import cycle_set_state
from cycles.sheets import COLUMNS, read_rows
from goals.services import CLOSED, goal_create
from kpis.services import kpi_create

from .api.helpers import API, client_for, database
from .cycles.imports import plan
from .factories import CycleFactory, GoalFactory, KpiFactory
from .pages.helpers import field_errors, parse

pytestmark = pytest.mark.django_db

TAB = "Grow\trevenue"
NO_PAGE = frozenset({"api", "import"})
AFTER_CYCLE = dt.date(2028, 1, 1)


@dataclass(frozen=True)
class Rule:
    """A goal or KPI that breaks one rule, by its fields; where the message lands."""

    kind: str  # "objective", "department goal", "individual goal" or "kpi"
    fields: dict[str, Any]
    field: str  # the model field the rule speaks of
    column: str  # its import column
    message: Callable[[Any], str]  # the one message, given the test's `acme`
    setup: Callable[[Any, Any], None] = lambda acme, tree: None
    channels: frozenset[str] = frozenset({"page", "api", "import"})


def five_objectives(acme, tree) -> None:
    for n in range(4):  # with the tree's own: five
        goal_create(actor=acme.leader, cycle=acme.cycle, level="strategic", title=f"Aim {n}")


def held_in_2026(kind: str) -> Callable[[Any, Any], None]:
    def setup(acme, tree) -> None:
        other = CycleFactory(
            organization=acme.org, name="2026", start=dt.date(2026, 1, 1), end=dt.date(2026, 12, 31)
        )
        goal = GoalFactory(cycle=other, title="Elsewhere", external_id="X-1")
        if kind == "KPI":
            KpiFactory(goal=goal, name="Elsewhere", external_id="X-1")

    return setup


RULES = {
    "a title too long": Rule("objective", {"title": "T" * 301}, "title", "Strategic goal",
                             lambda acme: too_long(300)),
    "a title on two lines": Rule("objective", {"title": TAB}, "title", "Strategic goal",
                                 lambda acme: ONE_LINE),
    "a sixth active objective": Rule(
        "objective", {"title": "Sixth"}, "level", "Strategic goal",
        lambda acme: "The cycle “2027” would then have 6 active strategic objectives; it may "
        "have at most 5.", setup=five_objectives),
    "a department goal for no department": Rule(
        "department goal", {"department": None}, "department", "Department",
        lambda acme: "A department goal names a department."),
    "an individual goal for no one": Rule(
        "individual goal", {"owner": None}, "owner", "Owner",
        lambda acme: "An individual goal names an owner."),
    "a goal due after its cycle": Rule(
        "department goal", {"due": AFTER_CYCLE}, "due", "Due",
        lambda acme: "Is due after the cycle “2027” ends (2027-12-31)."),
    "a goal due when it starts": Rule(
        "department goal", {"due": dt.date(2027, 1, 1)}, "due", "Due", lambda acme: AFTER_START),
    "a goal's external id another cycle's goal holds": Rule(
        "objective", {"external_id": "X-1"}, "external_id", "External ID",
        lambda acme: external_id_taken("goal", "2026"), setup=held_in_2026("goal"),
        channels=NO_PAGE),
    "a goal's external id on two lines": Rule(
        "objective", {"external_id": "X\t1"}, "external_id", "External ID",
        lambda acme: "Up to 200 characters on one line (or leave it out).", channels=NO_PAGE),
    "a KPI name too long": Rule("kpi", {"name": "K" * 301}, "name", "KPI",
                                lambda acme: too_long(300)),
    "a unit too long": Rule("kpi", {"unit": "u" * 33}, "unit", "Unit", lambda acme: too_long(32)),
    "a unit on two lines": Rule("kpi", {"unit": "h\tx"}, "unit", "Unit", lambda acme: ONE_LINE),
    "a baseline that is no finite number": Rule(
        "kpi", {"baseline": math.nan}, "baseline", "Baseline", lambda acme: NOT_A_NUMBER,
        channels=frozenset({"page", "import"})),
    "a baseline beyond a trillion": Rule(
        "kpi", {"baseline": 1e13, "target": 1e12}, "baseline", "Baseline",
        lambda acme: "Must lie between -1,000,000,000,000 and 1,000,000,000,000 (±1e12)."),
    "an increasing KPI's target below its baseline": Rule(
        "kpi", {"baseline": 10, "target": 5}, "target", "Target",
        lambda acme: "An increasing KPI needs a target above its baseline (10)."),
    "a decreasing KPI's target above its baseline": Rule(
        "kpi", {"direction": "decrease", "baseline": 1, "target": 5}, "target", "Target",
        lambda acme: "A decreasing KPI needs a target below its baseline (1)."),
    "a direction that is none": Rule(
        "kpi", {"direction": "upward"}, "direction", "Direction",
        lambda acme: one_of(["increase", "decrease"])),
    "an aggregation that is none": Rule(
        "kpi", {"aggregation": "average"}, "aggregation", "Aggregation",
        lambda acme: one_of(["latest", "sum"])),
    "a KPI due after its cycle": Rule(
        "kpi", {"due": AFTER_CYCLE}, "due", "Due",
        lambda acme: "Is due after the cycle “2027” ends (2027-12-31)."),
    "a KPI's external id another cycle's KPI holds": Rule(
        "kpi", {"external_id": "X-1"}, "external_id", "KPI external ID",
        lambda acme: external_id_taken("KPI", "2026"), setup=held_in_2026("KPI"), channels=NO_PAGE),
}  # fmt: skip

GOAL = {"title": "Shorter queues", "external_id": None, "due": None}
KPI = {"name": "Escalations per week", "unit": "tickets", "direction": "increase",
       "aggregation": "latest", "baseline": 10, "target": 20, "due": None,
       "external_id": None}  # fmt: skip


class Channels:
    """One bad goal or KPI, sent each way; each gives the messages beside its field."""

    def __init__(self, acme, tree, client, rule: Rule):
        self.acme, self.tree, self.client, self.rule = acme, tree, client, rule
        base = KPI if rule.kind == "kpi" else GOAL
        self.fields = base | self.defaults() | rule.fields
        self.api_client = client_for(acme.leader)  # signed in before anything is compared
        client.force_login(acme.leader.user)

    def defaults(self) -> dict[str, Any]:
        acme = self.acme
        return {
            "objective": {"level": "strategic"},
            "department goal": {"level": "department", "department": acme.support},
            "individual goal": {"level": "individual", "owner": acme.member},
            "kpi": {},
        }[self.rule.kind]

    def parent(self):
        parents = {"department goal": self.tree.strategic, "individual goal": self.tree.department}
        return parents.get(self.rule.kind)

    # -- the API ---------------------------------------------------------------------

    def api(self) -> list[str]:
        body = {
            name: (value.pk if hasattr(value, "pk") else value.isoformat()
                   if isinstance(value, dt.date) else value)
            for name, value in self.fields.items()
            if value is not None
        }  # fmt: skip
        if self.rule.kind == "kpi":
            response = self.api_client.post(
                f"{API}/kpis/", {**body, "goal": self.tree.department.pk}, format="json"
            )
        else:
            parent = self.parent()
            body |= {"cycle": self.acme.cycle.pk, **({"parent": parent.pk} if parent else {})}
            response = self.api_client.post(f"{API}/goals/", body, format="json")
        assert response.status_code == 400, response.content
        return response.json()[self.rule.field]

    # -- the page --------------------------------------------------------------------

    def page(self) -> str:
        data = {name: self._typed(value) for name, value in self.fields.items()}
        data |= {"weight": "1", "start": "", "rationale": "", "description": ""}
        data.pop("external_id")
        if self.rule.kind == "kpi":
            url = f"/goals/{self.tree.department.pk}/kpis/new/"
        elif self.rule.kind == "objective":
            url = f"/goals/new/?cycle={self.acme.cycle.pk}"
        else:
            url = f"/goals/{self.parent().pk}/children/new/"
        response = self.client.post(url, data)
        assert response.status_code == 400, response.content
        return field_errors(parse(response), f"id_{self.rule.field}")

    @staticmethod
    def _typed(value: Any) -> str:
        if value is None:
            return ""
        if hasattr(value, "pk"):
            return str(value.pk)
        return value.isoformat() if isinstance(value, dt.date) else str(value)

    # -- the import ------------------------------------------------------------------

    def row(self) -> str:
        """The file: its headers, and one row naming the goal (and KPI) the rule breaks."""
        f, tree = self.fields, self.tree
        cells = {}
        if self.rule.kind == "objective":
            cells["Strategic goal"] = f["title"]
            cells["External ID"] = f["external_id"]
        else:
            cells["Strategic goal"] = tree.strategic.title
        if self.rule.kind == "department goal":
            cells |= {"Department goal": f["title"], "External ID": f["external_id"]}
            cells["Department"] = f["department"].name if f["department"] else ""
        if self.rule.kind in ("individual goal", "kpi"):
            cells |= {"Department goal": tree.department.title, "Department": "Customer Support"}
        if self.rule.kind == "individual goal":
            cells["Individual goal"] = f["title"]
            cells["Owner"] = f["owner"].user.username if f["owner"] else ""
        if self.rule.kind == "kpi":
            cells |= {"KPI": f["name"], "Unit": f["unit"], "Direction": f["direction"],
                      "Aggregation": f["aggregation"], "Baseline": f["baseline"],
                      "Target": f["target"], "KPI external ID": f["external_id"]}  # fmt: skip
        cells["Due"] = f["due"]
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(COLUMNS)
        writer.writerow([self._typed(cells.get(column)) for column in COLUMNS])
        return out.getvalue()

    def imported(self) -> list[str]:
        preview = plan(self.acme.leader, self.acme.cycle, self.row())
        errors = preview.rows[0]["errors"]
        assert set(errors) == {self.rule.column}, errors  # the rule, said once
        with pytest.raises(RowErrors) as refused:  # the commit writes nothing either
            import_commit(
                actor=self.acme.leader,
                cycle=self.acme.cycle,
                rows=read_rows(self.row().encode(), "csv"),
            )
        assert refused.value.by_row == {"2": errors}
        return errors[self.rule.column]


@pytest.mark.parametrize("name", RULES, ids=list(RULES))
def test_a_rule_says_the_same_through_the_page_the_api_and_the_import(acme, tree, client, name):
    rule = RULES[name]
    rule.setup(acme, tree)
    channels = Channels(acme, tree, client, rule)
    before = database()

    message = rule.message(acme)

    if "api" in rule.channels:
        assert channels.api() == [message]
    assert channels.imported() == [message]
    if "page" in rule.channels:
        assert channels.page() == message
    assert database() == before


def test_a_closed_cycle_says_the_same_through_the_page_the_api_and_the_import(acme, tree, client):
    cycle_set_state(actor=acme.leader, cycle=acme.cycle, state="closed")
    channels = Channels(acme, tree, client, RULES["a goal due when it starts"])
    channels.fields["due"] = None
    before = database()

    body = {name: value for name, value in KPI.items() if value is not None}
    response = channels.api_client.post(
        f"{API}/kpis/", {**body, "goal": tree.department.pk}, format="json"
    )
    assert response.status_code == 409
    assert response.json() == {"non_field_errors": [CLOSED]}
    page = client.post(f"/goals/{tree.strategic.pk}/children/new/", {
        "title": "Shorter queues", "level": "department", "department": acme.support.pk,
        "weight": "1"})  # fmt: skip
    assert CLOSED in page.content.decode()
    with pytest.raises(Conflict) as refused:
        plan(acme.leader, acme.cycle, channels.row())
    assert refused.value.messages == [CLOSED]
    with pytest.raises(Conflict):
        kpi_create(
            actor=acme.leader, goal=tree.department, name="K", unit="%", baseline=0, target=1
        )
    assert database() == before
