"""Issue 17: a cycle's goals and KPIs come in from a spreadsheet. The plan (the
preview) says per row what it creates, changes or leaves, its verdicts and its errors
per cell, writing nothing; the commit writes all rows or none, with one roll-up."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from core.errors import Conflict, RowErrors
from cycles.history import cycle_history
from cycles.models import ImportJob
from cycles.services import cycle_set_state
from cycles.sheets import read_rows, template
from cycles.tasks import forget_old_import_jobs
from goals.models import Goal
from kpis.models import Kpi
from kpis.rollup import cycle_rollup
from kpis.services import kpi_record_value

from ..factories import CycleFactory, DepartmentFactory, GoalFactory, MemberFactory
from ..pages.helpers import snapshot
from .imports import EXAMPLE, commit, plan, xlsx

pytestmark = pytest.mark.django_db

HEADER = (
    "Strategic goal,Department goal,Department,Team goal,Team,Individual goal,Owner,"
    "KPI,Unit,Direction,Aggregation,Baseline,Target,Due,KPI owner,External ID,KPI external ID"
)


def table(*rows: str) -> str:
    return "\n".join([HEADER, *rows]) + "\n"


WORKED = table(
    "Improve customer experience,,,,,,,Customer satisfaction score,points,,,70,90,,,,",
    "Improve customer experience,Reduce average response time by 20%,Customer Support,,,,,"
    "First response time,hours,decrease,,10,8,,max,,FRT",
    "Improve customer experience,Reduce average response time by 20%,Customer Support,,,"
    "Resolve support tickets within 4 hrs avg,sam,Average ticket resolution time,hours,"
    "decrease,latest,6,4,,,,",
    "Improve customer experience,Reduce average response time by 20%,Customer Support,"
    "Clear the escalation backlog,Support Tier 2,,,Escalations cleared,tickets,,sum,0,30,,,,",
)


@pytest.fixture
def innovation(acme):
    """The demo's third department and its member, as in the SPEC's table."""
    acme.innovation = DepartmentFactory(organization=acme.org, name="Innovation")
    acme.ivy = MemberFactory(
        organization=acme.org, department=acme.innovation, user__username="ivy"
    )
    return acme


def tree_of(cycle) -> list[tuple]:
    """The cycle's tree as titles: (level, title, parent's title, department, owner)."""
    return sorted(
        (
            goal.level,
            goal.title,
            goal.parent.title if goal.parent else None,
            goal.department.name if goal.department else None,
            goal.owner.user.username if goal.owner else None,
        )
        for goal in Goal.objects.filter(cycle=cycle).select_related(
            "parent", "department", "owner__user"
        )
    )


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_the_spec_example_table_imports_as_individual_goals_when_so_chosen(innovation, fmt):
    """With a Department and an Owner column added. The default reading, each individual
    KPI a KPI of its department goal: test_import_article.py."""
    acme = innovation
    content = EXAMPLE if fmt == "csv" else xlsx(EXAMPLE)
    preview = plan(acme.leader, acme.cycle, content, fmt, individual_kpi="goal")
    assert preview.totals["errors"] == 0, preview.errors
    assert preview.totals["create"] == 9
    for row in preview.rows:
        assert [a["level"] for a in row["actions"]] == ["strategic", "department", "individual"]
        assert row["tree"]["ok"]
        assert row["smart"]["measurable"]["ok"] is False  # a warning, not an error
        assert row["warnings"]

    commit(acme.leader, acme.cycle, content, fmt, individual_kpi="goal")

    assert tree_of(acme.cycle) == sorted(
        [
            ("strategic", "Improve customer experience", None, None, None),
            ("strategic", "Expand market presence", None, None, None),
            ("strategic", "Strengthen innovation culture", None, None, None),
            ("department", "Reduce average response time by 20%",
             "Improve customer experience", "Customer Support", None),
            ("department", "Launch 3 regional campaigns", "Expand market presence",
             "Marketing", None),
            ("department", "Host 6 innovation labs per year", "Strengthen innovation culture",
             "Innovation", None),
            ("individual", "Resolve support tickets within 4 hrs avg",
             "Reduce average response time by 20%", None, "sam"),
            ("individual", "Generate 100 qualified leads/month", "Launch 3 regional campaigns",
             None, "lee"),
            ("individual", "Submit 2 ideas per quarter", "Host 6 innovation labs per year",
             None, "ivy"),
        ]
    )  # fmt: skip
    goal = Goal.objects.get(title="Submit 2 ideas per quarter")
    assert (goal.weight, goal.state, goal.start, goal.due) == (
        1,
        "active",
        acme.cycle.start,
        acme.cycle.end,
    )
    assert goal.health == "no_data"  # rolled up


def test_importing_twice_changes_nothing(innovation):
    acme = innovation
    commit(acme.leader, acme.cycle, WORKED)
    first = plan(acme.leader, acme.cycle, WORKED)
    before = snapshot()

    commit(acme.leader, acme.cycle, WORKED)

    assert snapshot() == before
    again = plan(acme.leader, acme.cycle, WORKED)
    assert again.rows == first.rows
    assert again.totals == first.totals
    assert first.totals["create"] == first.totals["change"] == first.totals["errors"] == 0
    assert first.totals["unchanged"] == 8  # 4 goals, 4 KPIs
    actions = {a["action"] for row in first.rows for a in row["actions"]}
    assert actions <= {"unchanged", "repeat"}


def test_the_worked_example_imports_its_kpis_with_their_fields_and_defaults(acme):
    commit(acme.leader, acme.cycle, WORKED)

    resolve = Kpi.objects.get(name="Average ticket resolution time")
    assert (resolve.unit, resolve.direction, resolve.aggregation) == ("hours", "decrease", "latest")
    assert (resolve.baseline, resolve.target) == (6, 4)
    assert resolve.owner == acme.member  # the individual goal's owner
    assert resolve.goal.title == "Resolve support tickets within 4 hrs avg"
    assert (resolve.start, resolve.due) == (resolve.goal.start, resolve.goal.due)
    first_response = Kpi.objects.get(external_id="FRT")
    assert first_response.owner == acme.manager
    assert first_response.goal.level == "department"
    csat = Kpi.objects.get(name="Customer satisfaction score")
    assert csat.owner == acme.leader  # the importing person
    assert csat.goal.level == "strategic"
    team = Goal.objects.get(title="Clear the escalation backlog")
    assert (team.level, team.department, team.parent.level) == ("team", acme.tier2, "department")
    assert Kpi.objects.get(name="Escalations cleared").aggregation == "sum"
    assert Goal.objects.filter(title="Improve customer experience").count() == 1  # reused


def test_a_changed_cell_is_a_change_with_old_and_new_values(acme):
    commit(acme.leader, acme.cycle, WORKED)
    changed = WORKED.replace("hours,decrease,,10,8,,max", "hours,decrease,,10,7,,sam")

    preview = plan(acme.leader, acme.cycle, changed)

    assert preview.totals["change"] == 1
    row = preview.rows[1]
    kpi_action = row["actions"][-1]
    assert kpi_action["action"] == "change"
    assert kpi_action["changes"] == {
        "target": {"old": "8", "new": "7"},
        "owner": {"old": "max", "new": "sam"},
    }
    commit(acme.leader, acme.cycle, changed)
    kpi = Kpi.objects.get(external_id="FRT")
    assert (kpi.target, kpi.owner) == (7, acme.member)


def test_a_goal_is_matched_by_external_id_before_its_title(acme):
    goal = GoalFactory(cycle=acme.cycle, title="Old title", external_id="OBJ-1")
    text = table("New title,,,,,,,,,,,,,,,OBJ-1,")

    preview = plan(acme.leader, acme.cycle, text)

    assert preview.rows[0]["actions"][0]["changes"] == {
        "title": {"old": "Old title", "new": "New title"}
    }
    commit(acme.leader, acme.cycle, text)
    goal.refresh_from_db()
    assert goal.title == "New title"
    assert Goal.objects.count() == 1


def test_titles_match_ignoring_case_and_spaces_under_the_same_parent(acme):
    commit(acme.leader, acme.cycle, WORKED)
    text = table("improve   CUSTOMER experience,reduce average response time by 20%,,,,,,,,,,,,,,,")

    preview = plan(acme.leader, acme.cycle, text)

    assert preview.totals["create"] == 0
    assert preview.rows[0]["errors"] == {}


ERRORS = {
    "unknown owner": ("S,,,,,Mine,nobody,,,,,,,,,,", "Owner", "No active member"),
    "unknown department": ("S,D,Nowhere,,,,,,,,,,,,,,", "Department", "No department"),
    "department goal without department": ("S,D,,,,,,,,,,,,,,,", "Department", "names a"),
    "individual goal without owner": ("S,,,,,Mine,,,,,,,,,,,", "Owner", "names an owner"),
    "level gap": (",D,Marketing,,,,,,,,,,,,,,", "Department goal", "Level gap"),
    "level gap below nothing": (",,,T,Marketing,I,sam,,,,,,,,,,", "Team goal", "Level gap"),
    "no goal at all": (",,,,,,sam,,,,,,,,,,", "Strategic goal", "Name a goal"),
    "not a number": ("S,,,,,,,K m,%,,,abc,10,,,,", "Baseline", "finite number"),
    "too large": ("S,,,,,,,K m,%,,,0,1e13,,,,", "Target", "1e12"),
    "not finite": ("S,,,,,,,K m,%,,,nan,10,,,,", "Baseline", "finite number"),
    "infinite": ("S,,,,,,,K m,%,,,0,inf,,,,", "Target", "finite number"),
    "target below baseline of an increasing KPI": ("S,,,,,,,K m,%,,,10,5,,,,", "Target", "above"),
    "target above baseline of a decreasing KPI": (
        "S,,,,,,,K m,%,decrease,,1,5,,,,", "Target", "below"),
    "bad direction": ("S,,,,,,,K m,%,upward,,0,5,,,,", "Direction", "increase"),
    "bad aggregation": ("S,,,,,,,K m,%,,average,0,5,,,,", "Aggregation", "latest"),
    "missing unit": ("S,,,,,,,K m,,,,0,5,,,,", "Unit", "unit is required"),
    "missing target": ("S,,,,,,,K m,%,,,0,,,,,", "Target", "target"),
    "bad date": ("S,,,,,,,K m,%,,,0,5,next week,,,", "Due", "YYYY-MM-DD"),
    "date after the cycle": ("S,,,,,,,K m,%,,,0,5,2028-01-01,,,", "Due", "after the cycle"),
    "date at the start": ("S,,,,,,,,,,,,,2027-01-01,,,", "Due", "after the start"),
    "unknown KPI owner": ("S,,,,,,,K m,%,,,0,5,,zed,,", "KPI owner", "No active member"),
    "control character": ('"S\u0007x",,,,,,,,,,,,,,,,', "Strategic goal", "one line"),
    "line break": ('"S\nnext",,,,,,,,,,,,,,,,', "Strategic goal", "one line"),
    "over-long title": ("S" * 301 + ",,,,,,,,,,,,,,,,", "Strategic goal", "At most 300"),
    "over-long unit": ("S,,,,,,,K m," + "u" * 33 + ",,,0,5,,,,", "Unit", "At most 32"),
    "a department without its goal": ("S,,Marketing,,,,,,,,,,,,,,", "Department", "no “Dep"),
    "an owner without an individual goal": ("S,,,,,,sam,,,,,,,,,,", "Owner", "no “Individual"),
    "KPI cells without a KPI": ("S,,,,,,,,%,,,0,5,,,,", "Unit", "Name the KPI"),
}  # fmt: skip


def test_one_upload_shows_every_error_of_a_row_each_said_once(acme):
    """A level gap does not hide an unknown owner in the same row; an unknown department
    is said once, not again as a missing one."""
    text = table(",,,,,Orphan,nobody,,,,,,,,,,", "S,D,Nowhere,,,,,,,,,,,,,,")

    preview = plan(acme.leader, acme.cycle, text)

    gap = preview.rows[0]["errors"]
    assert gap["Individual goal"][0].startswith("Level gap: an individual goal needs")
    assert gap["Owner"] == [
        "No active member of the organization has the username or email “nobody”."
    ]
    assert len(preview.rows[1]["errors"]["Department"]) == 1


@pytest.mark.parametrize("case", ERRORS, ids=list(ERRORS))
def test_a_bad_cell_is_an_error_on_that_cell_and_nothing_is_written(acme, case):
    row, column, message = ERRORS[case]
    text = table("Good objective,,,,,,,,,,,,,,,,", row)

    preview = plan(acme.leader, acme.cycle, text)

    assert preview.rows[0]["errors"] == {}
    errors = preview.rows[1]["errors"]
    assert column in errors, errors
    assert any(message in m for m in errors[column]), errors
    assert preview.totals["errors"] == 1
    before = snapshot()
    with pytest.raises(RowErrors) as refused:
        commit(acme.leader, acme.cycle, text)
    assert refused.value.by_row == {"3": errors}
    assert snapshot() == before


def test_a_sixth_active_objective_is_an_error_counting_those_already_there(acme):
    for n in range(3):
        GoalFactory(cycle=acme.cycle, title=f"Existing {n}")
    GoalFactory(cycle=acme.cycle, title="Cancelled", state="cancelled")
    text = table(*(f"New {n},,,,,,,,,,,,,,,," for n in range(3)))

    preview = plan(acme.leader, acme.cycle, text)

    assert [bool(row["errors"]) for row in preview.rows] == [False, False, True]
    assert "5" in preview.rows[2]["errors"]["Strategic goal"][0]
    assert not preview.rows[2]["tree"]["ok"]


def test_rows_that_repeat_a_path_reuse_its_goals(acme):
    text = table(
        "S,D,Marketing,,,I,lee,KPI one,%,,,0,10,,,,",
        "S,D,Marketing,,,I,lee,KPI two,%,,,0,10,,,,",
        "s,d,,,,,,,,,,,,,,,",
    )

    preview = plan(acme.leader, acme.cycle, text)

    assert preview.totals["create"] == 5
    assert [a["action"] for a in preview.rows[1]["actions"]] == [
        "repeat",
        "repeat",
        "repeat",
        "create",
    ]
    commit(acme.leader, acme.cycle, text)
    assert Goal.objects.count() == 3
    assert Kpi.objects.count() == 2


def test_two_rows_giving_one_goal_two_departments_is_an_error(acme):
    text = table("S,D,Marketing,,,,,,,,,,,,,,", "S,D,Customer Support,,,,,,,,,,,,,,")

    preview = plan(acme.leader, acme.cycle, text)

    assert "Row 2" in preview.rows[1]["errors"]["Department"][0]


def test_an_external_id_of_another_cycle_is_an_error(acme):
    other = CycleFactory(organization=acme.org, name="2026")
    GoalFactory(cycle=other, title="Elsewhere", external_id="X-1")

    preview = plan(acme.leader, acme.cycle, table("S,,,,,,,,,,,,,,,X-1,"))

    assert "2026" in preview.rows[0]["errors"]["External ID"][0]


def test_an_import_does_not_move_a_goal_named_by_its_external_id(acme):
    commit(acme.leader, acme.cycle, table("A,D,Marketing,,,,,,,,,,,,,D-1,"))

    preview = plan(acme.leader, acme.cycle, table("B,D,Marketing,,,,,,,,,,,,,D-1,"))

    assert "does not move" in preview.rows[0]["errors"]["External ID"][0]


def test_a_closed_cycle_refuses_the_import_as_a_conflict(acme):
    cycle_set_state(actor=acme.admin, cycle=acme.cycle, state="closed")
    with pytest.raises(Conflict):
        plan(acme.leader, acme.cycle, EXAMPLE)
    with pytest.raises(Conflict):
        commit(acme.leader, acme.cycle, EXAMPLE)


@pytest.mark.parametrize("role", ["member", "manager", "reviewer"])
def test_only_leaders_and_admins_import(acme, role):
    actor = {"member": acme.member, "manager": acme.manager, "reviewer": acme.reviewer}[role]
    before = snapshot()
    with pytest.raises(PermissionDenied):
        plan(actor, acme.cycle, table("S,,,,,,,,,,,,,,,,"))
    with pytest.raises(PermissionDenied):
        commit(actor, acme.cycle, table("S,,,,,,,,,,,,,,,,"))
    assert snapshot() == before


def test_the_admin_imports_too(acme):
    commit(acme.admin, acme.cycle, table("S,,,,,,,,,,,,,,,,"))
    assert Goal.objects.get().title == "S"


def test_the_commit_plans_again_and_refuses_what_changed_since_the_preview(acme):
    text = table("New objective,,,,,,,,,,,,,,,,")
    assert plan(acme.leader, acme.cycle, text).totals["errors"] == 0
    for n in range(5):  # meanwhile, someone fills the cycle
        GoalFactory(cycle=acme.cycle, title=f"Objective {n}")
    with pytest.raises(RowErrors) as refused:
        commit(acme.leader, acme.cycle, text)
    assert "Strategic goal" in refused.value.by_row["2"]


def test_the_stored_progress_after_an_import_equals_a_fresh_rollup(acme, tree):
    commit(acme.leader, acme.cycle, WORKED)
    stored = list(Goal.objects.order_by("id").values_list("progress", "health", "has_data"))
    cycle_rollup(acme.cycle)
    assert list(Goal.objects.order_by("id").values_list("progress", "health", "has_data")) == (
        stored
    )


# -- files --------------------------------------------------------------------------------

JUNK = {
    "empty": b"",
    "only spaces": b"   \n\n  ",
    "binary": bytes(range(256)) * 4,
    "nul bytes": b"Strategic goal\x00\nS\x00",
    "a broken xlsx": b"PK\x03\x04" + b"\x00" * 200,
    "a png": b"\x89PNG\r\n\x1a\n" + b"\x00" * 100,
    "unknown headers": b"Objective,Measure\nA,B\n",
    "no goal column": b"Owner,Unit\nsam,%\n",
    "a repeated header": b"Strategic goal,strategic goal\nA,B\n",
    "headers only": b"Strategic goal,Owner\n\n",
    "a huge cell": b'Strategic goal\n"' + b"x" * 200_000 + b'"\n',
}


@pytest.mark.parametrize("name", JUNK, ids=list(JUNK))
@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_a_file_that_cannot_be_read_is_one_clear_message(name, fmt):
    with pytest.raises(ValidationError) as refused:
        read_rows(JUNK[name], fmt)
    assert refused.value.message_dict["file"][0]


def test_unknown_headers_are_listed_with_the_known_ones():
    with pytest.raises(ValidationError) as refused:
        read_rows(b"Strategic goal,Colour\nS,red\n", "csv")
    message = refused.value.message_dict["file"][0]
    assert "“Colour”" in message and "KPI external ID" in message


def test_a_file_reads_with_a_bom_semicolons_windows_encoding_and_any_column_order(acme):
    text = "\ufeffOwner ; individual GOAL ;Strategic goal\r\nsam;Caf\u00e9 r\u00e9sum\u00e9;S\r\n"
    for content in (text.encode("utf-8"), text.lstrip("\ufeff").encode("cp1252")):
        rows = read_rows(content, "csv")
        assert rows == [
            (2, {"Owner": "sam", "Individual goal": "Café résumé", "Strategic goal": "S"})
        ]


def test_formula_cells_are_text_and_the_exports_quote_is_taken_off(acme):
    rows = read_rows(b"Strategic goal,KPI name\n'=1+1,=HYPERLINK(x)\n'quoted,x\n", "csv")
    assert rows == [
        (2, {"Strategic goal": "=1+1", "KPI": "=HYPERLINK(x)"}),
        (3, {"Strategic goal": "'quoted", "KPI": "x"}),
    ]


def test_ten_thousand_rows_read_and_plan(acme):
    lines = [f"Objective {n % 5},Goal {n},Marketing,,,,,,,,,,,,,," for n in range(10_000)]
    rows = read_rows(table(*lines).encode(), "csv")
    assert len(rows) == 10_000
    preview = plan(acme.leader, acme.cycle, table(*lines))
    assert preview.totals["create"] == 10_005


# -- queries ------------------------------------------------------------------------------


def grown(size: int, prefix: str) -> str:
    lines = []
    for n in range(size):
        lines.append(
            f"Objective {n % 3},Department goal {n},Marketing,Team goal {n},Support Tier 2,"
            f"Individual {n},lee,KPI number {n},%,,,0,{n + 1},,,{prefix}G{n},{prefix}K{n}"
        )
    return table(*lines)


def test_plan_and_commit_cost_the_same_queries_for_3_and_30_rows(
    acme, django_capture_on_commit_callbacks
):
    def queries(call) -> int:
        """Queries of the call and of what runs once it commits (webhooks, tasks)."""
        with (
            CaptureQueriesContext(connection) as captured,
            django_capture_on_commit_callbacks(execute=True),
        ):
            call()
        return len(captured.captured_queries)

    small_cycle = CycleFactory(organization=acme.org, name="Small")
    large_cycle = CycleFactory(organization=acme.org, name="Large")
    counts = {}
    for cycle, size in ((small_cycle, 3), (large_cycle, 30)):
        text = grown(size, cycle.name)
        planned = queries(lambda c=cycle, t=text: plan(acme.leader, c, t))
        committed = queries(lambda c=cycle, t=text: commit(acme.leader, c, t))
        again = queries(lambda c=cycle, t=text: commit(acme.leader, c, t))
        counts[size] = (planned, committed, again)
    assert counts[3] == counts[30], counts
    assert counts[3][0] <= 10, counts


def test_after_an_import_the_stored_history_is_exact(acme, tree):
    kpi_record_value(actor=acme.member, kpi=tree.individual_kpi, value=5)
    commit(acme.leader, acme.cycle, WORKED)  # new KPIs and goals in the tree with a value
    assert cycle_history(acme.cycle) == 0  # a rebuild adds or removes no point


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_the_downloadable_template_imports_as_it_is(acme, fmt):
    preview = plan(acme.leader, acme.cycle, template(fmt), fmt)
    assert preview.totals["errors"] == 0, preview.errors
    assert preview.totals["kpis_created"] == 1


def test_import_jobs_are_forgotten_after_a_week_and_what_they_imported_stays(acme, client):
    commit(acme.leader, acme.cycle, WORKED)
    goals = Goal.objects.count()
    old, recent = (
        ImportJob.objects.create(
            cycle=acme.cycle, created_by=acme.leader, file_name=name, format="csv", rows=[]
        )
        for name in ("old.csv", "recent.csv")
    )
    now = timezone.now()
    ImportJob.objects.filter(pk=old.pk).update(created_at=now - dt.timedelta(days=8))
    ImportJob.objects.filter(pk=recent.pk).update(created_at=now - dt.timedelta(days=6))

    assert forget_old_import_jobs() == 1

    assert list(ImportJob.objects.values_list("file_name", flat=True)) == ["recent.csv"]
    assert Goal.objects.count() == goals
    client.force_login(acme.leader.user)
    assert client.get(f"/cycles/{acme.cycle.pk}/import/{old.pk}/").status_code == 404
