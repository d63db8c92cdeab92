"""Import a cycle's goals and KPIs from a spreadsheet (issue 17): first a plan (the
preview: what each row creates, changes or leaves as it is, its tree-rule and
S.M.A.R.T. verdicts, its errors per cell), then, when the person confirms, the commit:
all rows or none, with one roll-up of the cycle at the end.

A row is a path down the tree (README, "Import and export"): strategic goal →
department goal → team goal → individual goal, each cell optional below the first
filled one, and optionally a KPI on the deepest goal of the row. Goals are matched by
External ID, else by title under the same parent; KPIs by KPI external ID, else by name
on their goal: importing a file twice changes nothing the second time.

The plan reads the cycle once (goals, KPIs, people, departments, other cycles'
external ids: a fixed number of queries whatever the file's size) and works in
memory. The commit plans again inside its transaction (the cycle may have changed
since the preview), then writes level by level in bulk.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import OperationalError, transaction
from django.utils import timezone

from core.db import bulk_write, lock_row
from core.errors import CONTROL, MAGNITUDE, ONE_LINE, RowErrors, refuse_unless
from core.numbers import MAX_MAGNITUDE
from goals.models import LEVEL_RANK, Goal, GoalState, Level
from goals.services import MAX_STRATEGIC, check_open
from kpis.models import Aggregation, Direction, Kpi
from kpis.rollup import cycle_rollup
from kpis.smart import kpi_smart
from org.models import Department, Member
from org.permissions import can_manage_cycles

from . import sheets
from .history import cycle_history
from .models import Cycle, ImportJob, ImportState
from .services import CYCLES_REFUSED
from .sheets import Row

log = logging.getLogger("cascade.imports")

LEVELS = (
    (sheets.STRATEGIC_GOAL, Level.STRATEGIC),
    (sheets.DEPARTMENT_GOAL, Level.DEPARTMENT),
    (sheets.TEAM_GOAL, Level.TEAM),
    (sheets.INDIVIDUAL_GOAL, Level.INDIVIDUAL),
)
# The column naming who a goal of each level is for.
PLACED_BY = {Level.DEPARTMENT: sheets.DEPARTMENT, Level.TEAM: sheets.TEAM}
LONGEST = {  # characters a cell may hold, by column (the model's columns)
    sheets.STRATEGIC_GOAL: 300,
    sheets.DEPARTMENT_GOAL: 300,
    sheets.TEAM_GOAL: 300,
    sheets.INDIVIDUAL_GOAL: 300,
    sheets.KPI: 300,
    sheets.UNIT: 32,
    sheets.EXTERNAL_ID: 200,
    sheets.KPI_EXTERNAL_ID: 200,
}
# The columns whose errors break a tree rule (besides the goal titles).
TREE_COLUMNS = (sheets.DEPARTMENT, sheets.TEAM, sheets.OWNER, sheets.EXTERNAL_ID)
# The cells that describe a goal of one level, and that level's column.
BELONGS_TO = {
    sheets.DEPARTMENT: sheets.DEPARTMENT_GOAL,
    sheets.TEAM: sheets.TEAM_GOAL,
    sheets.OWNER: sheets.INDIVIDUAL_GOAL,
}
CREATE, CHANGE, UNCHANGED, REPEAT = "create", "change", "unchanged", "repeat"
NO_KPI = "No KPI yet: the goal is not measurable until it has one."
JOBS_KEPT = dt.timedelta(days=7)  # an import job (its file, preview and result) is kept so long
PROGRESS_EVERY = 500  # rows between two progress reports of a long plan


def _a(noun: str) -> str:
    """The noun with its indefinite article."""
    return f"{'an' if noun[:1] in 'aeiou' else 'a'} {noun}"


def norm(text: str) -> str:
    """A title or name as matched: case-insensitive, whitespace collapsed."""
    return " ".join(text.split()).casefold()


@dataclass(eq=False, kw_only=True)
class Planned:
    """A goal or KPI of the plan: stored already, or one the file creates."""

    new: bool
    first_row: int | None = None
    changes: dict[str, tuple[Any, Any]] = field(default_factory=dict)  # field → (old, new)
    set_by: dict[str, int] = field(default_factory=dict)  # field → the row that set it


@dataclass(eq=False, kw_only=True)
class Node(Planned):
    """A goal of the plan."""

    goal: Goal
    kpis: dict[str, KpiNode] = field(default_factory=dict)  # by normalized name

    @property
    def obj(self) -> Goal:
        return self.goal


@dataclass(eq=False, kw_only=True)
class KpiNode(Planned):
    """A KPI of the plan."""

    kpi: Kpi

    @property
    def obj(self) -> Kpi:
        return self.kpi


@dataclass
class Plan:
    """What an import would do: per row, and in total."""

    rows: list[dict]
    nodes: list[Node]
    kpi_nodes: list[KpiNode]

    @property
    def errors(self) -> dict[str, dict[str, list[str]]]:
        return {str(row["row"]): row["errors"] for row in self.rows if row["errors"]}

    @property
    def totals(self) -> dict[str, int]:
        objects = [*self.nodes, *self.kpi_nodes]
        return {
            "rows": len(self.rows),
            "create": sum(1 for o in objects if o.new),
            "change": sum(1 for o in objects if not o.new and o.changes),
            "unchanged": sum(1 for o in objects if not o.new and not o.changes),
            "errors": sum(1 for row in self.rows if row["errors"]),
            "goals_created": sum(1 for o in self.nodes if o.new),
            "kpis_created": sum(1 for o in self.kpi_nodes if o.new),
        }

    def preview(self) -> dict:
        return {"rows": self.rows, "totals": self.totals}


class Context:
    """What the plan reads of the database, once."""

    def __init__(self, *, actor: Member, cycle: Cycle):
        self.actor, self.cycle = actor, cycle
        org = cycle.organization_id
        goals = {goal.pk: goal for goal in Goal.objects.filter(cycle=cycle).order_by("id")}
        self.nodes: list[Node] = []
        self.node_of: dict[int, Node] = {}
        for goal in goals.values():
            goal.cycle = cycle
            if goal.parent_id in goals:  # (always: a parent is in its child's cycle)
                goal.parent = goals[goal.parent_id]
            node = Node(goal=goal, new=False)
            self.node_of[goal.pk] = node
        self.children: dict[tuple[int, str, str], Node] = {}
        self.goal_ext: dict[str, Node] = {}
        for goal in goals.values():  # the first by id wins a tie of titles
            node = self.node_of[goal.pk]
            key = (id(self.node_of[goal.parent_id]) if goal.parent_id else 0, goal.level)
            self.children.setdefault((*key, norm(goal.title)), node)
            if goal.external_id:
                self.goal_ext[goal.external_id] = node
        self.kpi_ext: dict[str, KpiNode] = {}
        self.kpi_nodes: list[KpiNode] = []
        for kpi in Kpi.objects.filter(goal__cycle=cycle).order_by("id"):
            node = self.node_of[kpi.goal_id]
            kpi.goal = node.goal
            kpi_node = KpiNode(kpi=kpi, new=False)
            node.kpis.setdefault(norm(kpi.name), kpi_node)
            if kpi.external_id:
                self.kpi_ext[kpi.external_id] = kpi_node
        self.elsewhere_goal_ext = dict(
            Goal.objects.filter(organization_id=org, external_id__isnull=False)
            .exclude(cycle=cycle)
            .values_list("external_id", "cycle__name")
        )
        self.elsewhere_kpi_ext = dict(
            Kpi.objects.filter(organization_id=org, external_id__isnull=False)
            .exclude(goal__cycle=cycle)
            .values_list("external_id", "goal__cycle__name")
        )
        self.members: dict[str, Member] = {}
        self.member_of: dict[int, Member] = {}
        emails = Counter()
        people = list(
            Member.objects.filter(organization_id=org, is_active=True).select_related("user")
        )
        for member in people:
            emails[member.user.email.casefold()] += 1
        for member in people:
            self.member_of[member.pk] = member
            email = member.user.email.casefold()
            if email and emails[email] == 1:
                self.members.setdefault(email, member)
        for member in people:  # a username wins over someone else's email
            self.members[member.user.username.casefold()] = member
        self.departments = {norm(d.name): d for d in Department.objects.filter(organization_id=org)}
        self.department_of = {d.pk: d for d in self.departments.values()}
        self.active_objectives = sum(
            1
            for goal in goals.values()
            if goal.level == Level.STRATEGIC and goal.state == GoalState.ACTIVE
        )


class Planner:
    """Plans the rows one after the other, remembering what earlier rows created."""

    def __init__(self, context: Context):
        self.c = context
        self.new_nodes: list[Node] = []
        self.new_kpis: list[KpiNode] = []
        self.objectives = context.active_objectives

    # -- one row -----------------------------------------------------------------------

    def row(self, number: int, cells: dict[str, str]) -> dict:
        errors: dict[str, list[str]] = {}
        actions: list[dict] = []
        warnings: list[str] = []

        def error(column: str, message: str) -> None:
            errors.setdefault(column, []).append(message)

        for column, text in cells.items():
            if CONTROL.search(text):
                error(column, ONE_LINE)
            elif len(text) > LONGEST.get(column, 300):
                error(column, f"At most {LONGEST.get(column, 300)} characters.")
        levels = [(column, level) for column, level in LEVELS if cells.get(column)]
        if not levels:
            error(sheets.STRATEGIC_GOAL, "Name a goal: this row has no goal title in it.")
        for column, goal_column in BELONGS_TO.items():
            if cells.get(column) and not cells.get(goal_column):
                error(column, f"Says who a goal is for, but the row has no “{goal_column}”.")
        parent: Node | None = None
        path: list[str] = []
        for index, (column, level) in enumerate(levels):
            deepest = index == len(levels) - 1
            if parent is None and level != Level.STRATEGIC:
                error(
                    column,
                    f"Level gap: {_a(Level(level).label.lower())} goal needs a goal above it "
                    "in its row (a strategic goal at least).",
                )
                break
            node = self._goal(number, cells, column, level, parent, deepest, error)
            if node is None:
                break
            path.append(Level(level).label)
            actions.append(self._action(number, node, "goal", level, node.goal.title))
            parent = node
        # The people and departments a row names are checked even where its goals could
        # not be placed (a level gap), so that one upload shows every error.
        for column, find in (
            (sheets.DEPARTMENT, self._department),
            (sheets.TEAM, self._department),
            (sheets.OWNER, self._member),
            (sheets.KPI_OWNER, self._member),
        ):
            if cells.get(column) and column not in errors:
                find(cells[column], column, error)
        goal_node = parent if len(path) == len(levels) else None
        smart: dict = {}
        if cells.get(sheets.KPI):
            if goal_node is not None:
                kpi_node = self._kpi(number, cells, goal_node, error)
                if kpi_node is not None:
                    actions.append(self._action(number, kpi_node, "kpi", None, kpi_node.kpi.name))
                    smart = kpi_smart(kpi_node.kpi)
                    warnings += [v["message"] for v in smart.values() if not v["ok"]]
        else:
            for column in (sheets.UNIT, sheets.BASELINE, sheets.TARGET, sheets.KPI_EXTERNAL_ID):
                if cells.get(column):
                    error(column, f"Name the KPI (the “{sheets.KPI}” column) this belongs to.")
            if goal_node is not None:
                smart = {"measurable": {"ok": False, "message": NO_KPI}}
                warnings.append(NO_KPI)
        tree_columns = [column for column, _ in LEVELS] + [*TREE_COLUMNS]
        tree_errors = [m for column in tree_columns for m in errors.get(column, [])]
        tree = {
            "ok": not tree_errors and bool(path),
            "message": " ".join(tree_errors)
            or (" → ".join(path) + ": each goal sits below a higher level." if path else ""),
        }
        return {
            "row": number,
            "actions": actions,
            "tree": tree,
            "smart": smart,
            "warnings": warnings,
            "errors": errors,
        }

    def _action(self, number: int, node: Planned, kind: str, level, title: str) -> dict:
        if node.first_row is None:
            node.first_row = number
        if node.new:
            action = CREATE if node.first_row == number else REPEAT
        elif any(row == number for row in node.set_by.values()):
            action = CHANGE
        else:
            action = UNCHANGED if node.first_row == number else REPEAT
        changes = {
            name: {"old": _shown(old), "new": _shown(new)}
            for name, (old, new) in node.changes.items()
            if node.set_by.get(name) == number
        }
        return {
            "object": kind,
            "level": level,
            "title": title,
            "action": action,
            "first_row": node.first_row,
            "changes": changes,
        }

    # -- goals -------------------------------------------------------------------------

    def _goal(self, number, cells, column, level, parent, deepest, error) -> Node | None:
        """The goal a cell names under `parent`: matched, or planned new."""
        title = " ".join(cells[column].split())
        if len(title) > LONGEST[column]:
            return None  # said by the cell check
        external = cells.get(sheets.EXTERNAL_ID) if deepest else None
        parent_key = id(parent) if parent is not None else 0
        node = None
        if external:
            node = self.c.goal_ext.get(external)
            if node is None and external in self.c.elsewhere_goal_ext:
                error(
                    sheets.EXTERNAL_ID,
                    "Another goal of the organization (in the cycle "
                    f"“{self.c.elsewhere_goal_ext[external]}”) has this external id: "
                    "each is unique in the organization (clear the cell for a new goal).",
                )
                return None
            if node is not None:
                where = node.goal.parent
                parent_goal = parent.goal if parent else None
                if node.goal.level != level or where is not parent_goal:
                    error(
                        sheets.EXTERNAL_ID,
                        f"This external id belongs to the {node.goal.level} goal "
                        f"“{node.goal.title}”"
                        + (f" under “{where.title}”" if where else "")
                        + ": an import does not move goals.",
                    )
                    return None
        if node is None:
            node = self.c.children.get((parent_key, level, norm(title)))
        if node is None:
            node = self._new_goal(number, title, level, parent, error, column)
            if node is None:
                return None
        elif not node.new:
            self._set(node, "title", title, number, error, column)
        if external:
            self._set(node, "external_id", external, number, error, sheets.EXTERNAL_ID)
            self.c.goal_ext[external] = node
        if level in PLACED_BY and cells.get(PLACED_BY[level]):
            department = self._department(cells[PLACED_BY[level]], PLACED_BY[level], error)
            if department is not None:
                self._set(node, "department", department, number, error, PLACED_BY[level])
        if (
            level in PLACED_BY
            and not cells.get(PLACED_BY[level])
            and node.goal.department_id is None
            and node.new
        ):
            error(PLACED_BY[level], f"A {level} goal names a department: name it here.")
        if level == Level.INDIVIDUAL:
            if cells.get(sheets.OWNER):
                owner = self._member(cells[sheets.OWNER], sheets.OWNER, error)
                if owner is not None:
                    self._set(node, "owner", owner, number, error, sheets.OWNER)
            elif node.new and node.goal.owner_id is None:
                error(sheets.OWNER, "An individual goal names an owner: a username or an email.")
        if deepest and not cells.get(sheets.KPI) and cells.get(sheets.DUE):
            due = self._date(cells[sheets.DUE], node.goal.start, error)
            if due is not None:
                self._set(node, "due", due, number, error, sheets.DUE)
        return node

    def _new_goal(self, number, title, level, parent, error, column) -> Node | None:
        cycle = self.c.cycle
        if level == Level.STRATEGIC:
            if self.objectives >= MAX_STRATEGIC:
                error(
                    column,
                    f"The cycle “{cycle.name}” would then have more than {MAX_STRATEGIC} "
                    "active strategic objectives, the most it may have.",
                )
            self.objectives += 1
        goal = Goal(
            organization_id=cycle.organization_id,
            cycle=cycle,
            level=level,
            title=title,
            parent=parent.goal if parent else None,
            weight=1.0,
            state=GoalState.ACTIVE,
            start=cycle.start,
            due=cycle.end,
        )
        node = Node(goal=goal, new=True)
        self.c.children[(id(parent) if parent else 0, level, norm(title))] = node
        self.new_nodes.append(node)
        return node

    def _set(self, node: Planned, name: str, value, number: int, error, column: str) -> None:
        """Give a planned object a field's value; on a stored one, a change (old → new).
        Two rows giving one object two values is an error on the later one."""
        obj = node.obj
        attribute = f"{name}_id" if name in ("department", "owner") else name
        stored = getattr(obj, attribute)
        wanted = value.pk if name in ("department", "owner") else value
        if name in node.set_by and node.set_by[name] != number:
            if not _same(stored, wanted):
                error(column, f"Row {node.set_by[name]} gives this a different {column.lower()}.")
            return
        if _same(stored, wanted):
            return
        if not node.new:
            old = node.changes[name][0] if name in node.changes else self._shown_value(obj, name)
            node.changes[name] = (old, self._shown_of(name, value))
        setattr(obj, name, value)
        node.set_by[name] = number

    def _shown_value(self, obj, name: str):
        if name == "department":
            department = self.c.department_of.get(obj.department_id)
            return department.name if department else None
        if name == "owner":
            member = self.c.member_of.get(obj.owner_id)
            return member.user.username if member else None
        return getattr(obj, name)

    def _shown_of(self, name: str, value):
        if name == "department":
            return value.name
        if name == "owner":
            return value.user.username
        return value

    def _department(self, text: str, column: str, error) -> Department | None:
        department = self.c.departments.get(norm(text))
        if department is None:
            known = sorted(d.name for d in self.c.departments.values())
            listed = ", ".join(known[:20]) + (", …" if len(known) > 20 else "")
            error(column, f"No department is called “{text[:100]}” (known: {listed or 'none'}).")
        return department

    def _member(self, text: str, column: str, error) -> Member | None:
        member = self.c.members.get(text.strip().casefold())
        if member is None:
            error(
                column,
                f"No active member of the organization has the username or email “{text[:100]}”.",
            )
        return member

    def _date(self, text: str, start: dt.date, error) -> dt.date | None:
        cycle = self.c.cycle
        try:
            if len(text) != len("YYYY-MM-DD"):
                raise ValueError(text)
            day = dt.date.fromisoformat(text)
        except ValueError:
            error(sheets.DUE, "Enter a date as YYYY-MM-DD.")
            return None
        if day > cycle.end:
            error(sheets.DUE, f"Is due after the cycle “{cycle.name}” ends ({cycle.end:%Y-%m-%d}).")
            return None
        if day <= start:
            error(sheets.DUE, f"Must be after the start date ({start:%Y-%m-%d}).")
            return None
        return day

    # -- KPIs --------------------------------------------------------------------------

    def _kpi(self, number, cells, goal_node: Node, error) -> KpiNode | None:
        name = " ".join(cells[sheets.KPI].split())
        external = cells.get(sheets.KPI_EXTERNAL_ID)
        node = None
        if external:
            node = self.c.kpi_ext.get(external)
            if node is None and external in self.c.elsewhere_kpi_ext:
                error(
                    sheets.KPI_EXTERNAL_ID,
                    "Another KPI of the organization (in the cycle "
                    f"“{self.c.elsewhere_kpi_ext[external]}”) has this external id: "
                    "each is unique in the organization (clear the cell for a new KPI).",
                )
                return None
            if node is not None and node.kpi.goal is not goal_node.goal:
                error(
                    sheets.KPI_EXTERNAL_ID,
                    f"This external id belongs to the KPI “{node.kpi.name}” of the goal "
                    f"“{node.kpi.goal.title}”: an import does not move KPIs.",
                )
                return None
        if node is None:
            node = goal_node.kpis.get(norm(name))
        fresh = node is None
        if fresh:
            goal = goal_node.goal
            owner = goal.owner_id if goal.level == Level.INDIVIDUAL and goal.owner_id else None
            kpi = Kpi(
                organization_id=self.c.cycle.organization_id,
                goal=goal,
                name=name,
                description="",
                unit="",
                direction=Direction.INCREASE,
                aggregation=Aggregation.LATEST,
                baseline=math.nan,
                target=math.nan,
                weight=1.0,
                owner_id=owner or self.c.actor.pk,
                start=goal.start,
                due=goal.due,
            )
            node = KpiNode(kpi=kpi, new=True)
            goal_node.kpis[norm(name)] = node
            self.new_kpis.append(node)
        else:
            self._set(node, "name", name, number, error, sheets.KPI)
        kpi = node.kpi
        if external:
            self._set(node, "external_id", external, number, error, sheets.KPI_EXTERNAL_ID)
            self.c.kpi_ext[external] = node
        for column, attribute, allowed in (
            (sheets.DIRECTION, "direction", Direction.values),
            (sheets.AGGREGATION, "aggregation", Aggregation.values),
        ):
            text = cells.get(column, "").casefold()
            if text and text not in allowed:
                error(column, f"Must be one of: {', '.join(allowed)}.")
            elif text:
                self._set(node, attribute, text, number, error, column)
        if cells.get(sheets.UNIT):
            self._set(node, "unit", cells[sheets.UNIT], number, error, sheets.UNIT)
        elif fresh:
            error(sheets.UNIT, "A unit is required (%, hours, leads, …).")
        amounts_ok = True
        for column, attribute in ((sheets.BASELINE, "baseline"), (sheets.TARGET, "target")):
            text = cells.get(column, "")
            if not text:
                if fresh:
                    error(column, f"A KPI needs a {attribute}: a number.")
                    amounts_ok = False
                continue
            value = _number(text)
            if value is None:
                error(column, "Must be a finite number, such as 42 or -3.5.")
                amounts_ok = False
            elif abs(value) > MAX_MAGNITUDE:
                error(column, f"Must lie between -{MAGNITUDE} and {MAGNITUDE} (±1e12).")
                amounts_ok = False
            else:
                self._set(node, attribute, value, number, error, column)
        if amounts_ok:
            if kpi.direction == Direction.INCREASE and not kpi.target > kpi.baseline:
                error(
                    sheets.TARGET,
                    f"An increasing KPI needs a target above its baseline ({kpi.baseline:g}).",
                )
            if kpi.direction == Direction.DECREASE and not kpi.target < kpi.baseline:
                error(
                    sheets.TARGET,
                    f"A decreasing KPI needs a target below its baseline ({kpi.baseline:g}).",
                )
        if cells.get(sheets.KPI_OWNER):
            owner = self._member(cells[sheets.KPI_OWNER], sheets.KPI_OWNER, error)
            if owner is not None:
                self._set(node, "owner", owner, number, error, sheets.KPI_OWNER)
        if cells.get(sheets.DUE):
            due = self._date(cells[sheets.DUE], kpi.start, error)
            if due is not None:
                self._set(node, "due", due, number, error, sheets.DUE)
        return node


def _number(text: str) -> float | None:
    """A number as people type it in a spreadsheet: 42, -3.5, 1e6, 1 000, 4,5."""
    compact = text.replace(" ", "").replace("\u00a0", "")
    if compact.count(",") == 1 and "." not in compact:
        compact = compact.replace(",", ".")
    try:
        value = float(compact)
    except (ValueError, OverflowError):
        return None
    return value if math.isfinite(value) else None


def _same(a, b) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return a == b or (math.isnan(a) and math.isnan(b))
    return a == b


def _shown(value) -> str | None:
    """A field's value in the preview, as text (None: it had none)."""
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)
    return value if value is None else str(value)


def import_plan(
    *,
    actor: Member,
    cycle: Cycle,
    rows: list[Row],
    progress: Callable[[int], None] | None = None,
) -> Plan:
    """What importing `rows` into `cycle` would do, row by row, writing nothing.

    1. Refuse unless the actor manages cycles; a closed cycle is a conflict.
    2. Read the cycle once (Context).
    3. Plan each row in file order: later rows reuse what earlier rows create.
    """
    refuse_unless(can_manage_cycles(actor), CYCLES_REFUSED)
    check_open(cycle)
    planner = Planner(Context(actor=actor, cycle=cycle))
    planned = []
    for done, (number, cells) in enumerate(rows, start=1):
        planned.append(planner.row(number, cells))
        if progress is not None and done % PROGRESS_EVERY == 0:
            progress(done)
    existing = [node for node in planner.c.node_of.values() if node.first_row is not None]
    kpis = [k for n in existing for k in n.kpis.values() if not k.new and k.first_row]
    return Plan(
        rows=planned,
        nodes=existing + planner.new_nodes,
        kpi_nodes=kpis + planner.new_kpis,
    )


GOAL_CHANGES = ("title", "department", "owner", "due", "external_id")
KPI_CHANGES = (
    "name",
    "unit",
    "direction",
    "aggregation",
    "baseline",
    "target",
    "owner",
    "due",
    "external_id",
)


@transaction.atomic
def import_commit(*, actor: Member, cycle: Cycle, rows: list[Row]) -> Plan:
    """Import `rows` into `cycle`: all of them or none.

    1. Lock the cycle (one import at a time; rule 1 counts its objectives), then plan
       again: the cycle may have changed since the preview. Any error → RowErrors,
       nothing written.
    2. Create the new goals level by level (each level's parents have their ids by
       then), then the new KPIs; write the changed ones; each kind in bulk.
    3. One roll-up of the whole cycle, and its history.
    """
    lock_row(cycle)
    plan = import_plan(actor=actor, cycle=cycle, rows=rows)
    if plan.errors:
        raise RowErrors(plan.errors)
    new_goals = [node.goal for node in plan.nodes if node.new]
    for level in sorted(LEVEL_RANK, key=LEVEL_RANK.get):
        batch = [goal for goal in new_goals if goal.level == level]
        for goal in batch:
            goal.parent = goal.parent  # the parent's id, now that it has one
        Goal.objects.bulk_create(batch, batch_size=1000)
    now = timezone.now()
    _write_changes(Goal, [(node.goal, node.changes) for node in plan.nodes if not node.new], now)
    new_kpis = [node.kpi for node in plan.kpi_nodes if node.new]
    for kpi in new_kpis:
        kpi.goal = kpi.goal  # the goal's id, now that it has one
    Kpi.objects.bulk_create(new_kpis, batch_size=1000)
    _write_changes(Kpi, [(node.kpi, node.changes) for node in plan.kpi_nodes if not node.new], now)
    cycle_rollup(cycle, today=actor.organization.today())
    import_history_rebuild(cycle)
    return plan


def _write_changes(model, objects: list[tuple[Any, dict]], now: dt.datetime) -> None:
    """Write the changed fields of stored goals or KPIs, one statement per table."""
    changed = [obj for obj, changes in objects if changes]
    if not changed:
        return
    names = sorted({name for obj, changes in objects for name in changes})
    columns = [model._meta.get_field(name).attname for name in names]
    bulk_write(
        model,
        [*columns, "updated_at"],
        [(obj.pk, *(getattr(obj, column) for column in columns), now) for obj in changed],
    )


def import_history_rebuild(cycle: Cycle) -> None:
    """The progress history of the cycle after an import (issue 17, item 4): the one
    place an import asks for it, once, after its one roll-up."""
    cycle_history(cycle)


# -- the page's import jobs (import_jobs.py starts them; tasks.py runs large ones) -------


def _job_rows(job: ImportJob) -> list[Row]:
    return [(number, cells) for number, cells in job.rows]


def _job(job_id: int) -> ImportJob:
    return ImportJob.objects.select_related(
        "cycle__organization", "created_by__organization", "created_by__user"
    ).get(pk=job_id)


def _refused(error: Exception) -> str:
    """What a refused job says on the page."""
    if isinstance(error, ValidationError):
        return " ".join(error.messages)
    return str(error) or "You may not import into this cycle."


def import_job_plan(*, job_id: int) -> str:
    """Plan a queued job (its preview), reporting progress as rows are planned. Claims
    the job first: a second run finds it claimed and does nothing."""
    if not ImportJob.objects.filter(pk=job_id, state=ImportState.QUEUED).update(
        state=ImportState.PLANNING
    ):
        return "claimed"
    job = _job(job_id)

    def progress(done: int) -> None:
        ImportJob.objects.filter(pk=job.pk).update(done=done)

    try:
        plan = import_plan(
            actor=job.created_by, cycle=job.cycle, rows=_job_rows(job), progress=progress
        )
        ImportJob.objects.filter(pk=job.pk).update(
            state=ImportState.PREVIEWED, preview=plan.preview(), done=job.total
        )
    except (PermissionDenied, ValidationError) as error:
        ImportJob.objects.filter(pk=job.pk).update(state=ImportState.FAILED, error=_refused(error))
        return ImportState.FAILED
    except OperationalError:
        # A lock met (SQLite): give the job back to the queue's next try.
        ImportJob.objects.filter(pk=job.pk).update(state=ImportState.QUEUED)
        raise
    except Exception:
        log.exception("Import job %s failed while planning", job.pk)
        ImportJob.objects.filter(pk=job.pk).update(
            state=ImportState.FAILED, error="The file could not be planned: nothing was imported."
        )
        return ImportState.FAILED
    return ImportState.PREVIEWED


def import_job_commit(*, job_id: int) -> str:
    """Import a confirmed job's rows (all or none). Run again, it imports nothing new:
    an import matches what is already there."""
    job = _job(job_id)
    if job.state != ImportState.IMPORTING:
        return job.state
    try:
        with transaction.atomic():  # the job is done exactly when its rows are in
            plan = import_commit(actor=job.created_by, cycle=job.cycle, rows=_job_rows(job))
            ImportJob.objects.filter(pk=job.pk).update(
                state=ImportState.DONE, result=plan.totals, done=job.total
            )
    except RowErrors as refused:
        ImportJob.objects.filter(pk=job.pk).update(
            state=ImportState.FAILED,
            result={"errors": refused.by_row},
            error=f"The cycle changed since the preview: {len(refused.by_row)} row(s) now "
            "have errors, so nothing was imported. Upload the file again to see them.",
        )
        return ImportState.FAILED
    except (PermissionDenied, ValidationError) as error:
        ImportJob.objects.filter(pk=job.pk).update(state=ImportState.FAILED, error=_refused(error))
        return ImportState.FAILED
    except OperationalError:
        raise  # a lock met (SQLite): the task tries again, and the job is still to do
    except Exception:
        log.exception("Import job %s failed while importing", job.pk)
        ImportJob.objects.filter(pk=job.pk).update(
            state=ImportState.FAILED, error="The import failed: nothing was imported."
        )
        return ImportState.FAILED
    return ImportState.DONE


def import_jobs_forget(now: dt.datetime | None = None) -> int:
    """Delete the import jobs older than JOBS_KEPT (each holds its whole file); returns
    how many. What they imported stays: only the upload, its preview and result go."""
    before = (now or timezone.now()) - JOBS_KEPT
    deleted, _ = ImportJob.objects.filter(created_at__lt=before).delete()
    return deleted
