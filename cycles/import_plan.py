"""Planning an import, row by row, in memory (cycles/importing.py runs it).

A row is a path down the tree (README, "Import and export"): strategic goal →
department goal → team goal → individual goal, each cell optional below the first
filled one, and optionally a KPI on the deepest goal of the row. Goals are matched by
External ID, else by title under the same parent; KPIs by KPI external ID, else by name
on their goal: importing a file twice changes nothing the second time.

What the planner says itself is only what belongs to a spreadsheet: a row's shape (a
level gap, a cell without its goal), a cell it can't read (a number, a date), a person
or department it can't find by name, and two rows that disagree. Every rule of a goal
or KPI is judged by the validators the services use (goals/rules.py, kpis/rules.py),
on the goals and KPIs the rows would create or change, so a rule says the same thing
here as on a page or in the API; its message lands in the cell of the field.

`Context` (cycles/import_cycle.py) reads the cycle once and answers the validators'
questions from it and from the rows planned so far.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from typing import Any

from core.errors import CONTROL, DATE_FORMAT, NOT_A_NUMBER, ONE_LINE, too_long
from goals.models import Goal, GoalState, Level
from goals.rules import goal_errors
from kpis.models import Aggregation, Direction, Kpi
from kpis.rules import kpi_errors
from kpis.smart import Verdicts, kpi_smart
from org.models import Department, Member

from . import sheets
from .import_cycle import Context, GoalPlan, KpiPlan, norm, spaced

LEVELS = (
    (sheets.STRATEGIC_GOAL, Level.STRATEGIC),
    (sheets.DEPARTMENT_GOAL, Level.DEPARTMENT),
    (sheets.TEAM_GOAL, Level.TEAM),
    (sheets.INDIVIDUAL_GOAL, Level.INDIVIDUAL),
)
# The column naming who a goal of each level is for.
PLACED_BY: dict[str, str] = {Level.DEPARTMENT: sheets.DEPARTMENT, Level.TEAM: sheets.TEAM}
# The cells that describe a goal of one level, and that level's column.
BELONGS_TO = {
    sheets.DEPARTMENT: sheets.DEPARTMENT_GOAL,
    sheets.TEAM: sheets.TEAM_GOAL,
    sheets.OWNER: sheets.INDIVIDUAL_GOAL,
}
# The cells that are a goal's or KPI's field, judged by its validator; every other cell
# is read here first (one line, at most LONGEST characters).
FIELD_COLUMNS = {column for column, _level in LEVELS} | {
    sheets.KPI,
    sheets.UNIT,
    sheets.EXTERNAL_ID,
    sheets.KPI_EXTERNAL_ID,
}
LONGEST = 300
# The columns whose errors break a tree rule (besides the goal titles).
TREE_COLUMNS = (sheets.DEPARTMENT, sheets.TEAM, sheets.OWNER, sheets.EXTERNAL_ID)
# Where a KPI's field is in the file (any other: the KPI's name).
KPI_COLUMN = {
    "name": sheets.KPI,
    "unit": sheets.UNIT,
    "direction": sheets.DIRECTION,
    "aggregation": sheets.AGGREGATION,
    "baseline": sheets.BASELINE,
    "target": sheets.TARGET,
    "owner": sheets.KPI_OWNER,
    "start": sheets.DUE,
    "due": sheets.DUE,
    "external_id": sheets.KPI_EXTERNAL_ID,
}
# A rule on one field may hang on others: it is this row's if the row set any of them.
DEPENDS_ON = {
    "target": {"target", "baseline", "direction"},
    "start": {"start", "due"},
    "due": {"start", "due"},
}
CREATE, CHANGE, UNCHANGED, REPEAT = "create", "change", "unchanged", "repeat"
NO_KPI = "No KPI yet: the goal is not measurable until it has one."
COUNTS_DONE = (
    f"No {sheets.UNIT}, {sheets.BASELINE} or {sheets.TARGET} in the row: the KPI counts how "
    f"far it is done, in {sheets.DONE_UNIT} from {sheets.DONE_BASELINE:g} to "
    f"{sheets.DONE_TARGET:g}, until its owner sets them."
)

Cells = dict[str, str]


def _a(noun: str) -> str:
    """The noun with its indefinite article."""
    return f"{'an' if noun[:1] in 'aeiou' else 'a'} {noun}"


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


def _date(text: str) -> dt.date | None:
    try:
        return dt.date.fromisoformat(text) if len(text) == len("YYYY-MM-DD") else None
    except ValueError:
        return None


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return a == b or (math.isnan(a) and math.isnan(b))
    return a == b


def _shown(value: Any) -> str | None:
    """A field's value in the preview, as text (None: it had none)."""
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)
    return value if value is None else str(value)


@dataclass
class _Row:
    """A row being planned: its cells, what it says, and what it names."""

    number: int
    cells: Cells
    renamed: dict[str, str] = field(default_factory=dict)  # column planned → in the file
    errors: dict[str, list[str]] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    actions: list[dict[str, Any]] = field(default_factory=list)
    named: list[tuple[GoalPlan | KpiPlan, str]] = field(default_factory=list)  # (plan, column)

    def error(self, column: str, message: str) -> None:
        self.errors.setdefault(column, []).append(message)

    def cell(self, column: str) -> str:
        """The cell's text; empty when it is, or when it could not be read (said once)."""
        return "" if column in self.errors else self.cells.get(column, "")


class Planner:
    """Plans the rows one after the other, remembering what earlier rows created."""

    def __init__(self, context: Context, *, individual_kpi: str = sheets.AS_KPI) -> None:
        self.c = context
        self.individual_kpi = individual_kpi  # how an "Individual KPI" cell is read
        self.new_goals: list[GoalPlan] = []
        self.new_kpis: list[KpiPlan] = []

    def plan(self) -> tuple[list[GoalPlan], list[KpiPlan]]:
        """The goals and KPIs the rows named or create."""
        named = [plan for plan in self.c.plan_of.values() if plan.first_row is not None]
        kpis = [k for p in named for k in p.kpis.values() if not k.new and k.first_row]
        return named + self.new_goals, kpis + self.new_kpis

    # -- one row -----------------------------------------------------------------------

    def row(self, number: int, in_file: Cells) -> dict[str, Any]:
        cells, renamed = sheets.read_as(in_file, self.individual_kpi)
        row = _Row(number, cells, renamed)
        self._read_cells(row)
        levels = [(column, level) for column, level in LEVELS if cells.get(column)]
        if not levels:
            row.error(sheets.STRATEGIC_GOAL, "Name a goal: this row has no goal title in it.")
        for column, goal_column in BELONGS_TO.items():
            if cells.get(column) and not cells.get(goal_column):
                row.error(column, f"Says who a goal is for, but the row has no “{goal_column}”.")
        path, deepest = self._path(row, levels)
        # The people and departments a row names are looked up even where its goals
        # could not be placed (a level gap), so that one upload shows every error.
        for column in (sheets.DEPARTMENT, sheets.TEAM):
            if row.cell(column):
                self._department(row, column)
        for column in (sheets.OWNER, sheets.KPI_OWNER):
            if row.cell(column):
                self._member(row, column)
        smart, warnings = self._kpi_part(row, deepest if len(path) == len(levels) else None)
        self._judge(row)
        tree_columns = [column for column, _ in LEVELS] + [*TREE_COLUMNS]
        tree_errors = [m for column in tree_columns for m in row.errors.get(column, [])]
        return {
            "row": number,
            "actions": row.actions,
            "tree": {
                "ok": not tree_errors and bool(path),
                "message": " ".join(tree_errors)
                or (" → ".join(path) + ": each goal sits below a higher level." if path else ""),
            },
            "smart": smart,
            "warnings": row.warnings + warnings,
            # Said of the file's own columns (an "Individual KPI" cell read as a KPI).
            "errors": {row.renamed.get(column, column): m for column, m in row.errors.items()},
        }

    def _read_cells(self, row: _Row) -> None:
        """The cells that are not a goal's or KPI's field (those are the validators'):
        one line, and not longer than any column takes."""
        for column, text in row.cells.items():
            if column in FIELD_COLUMNS:
                continue
            if CONTROL.search(text):
                row.error(column, ONE_LINE)
            elif len(text) > LONGEST:
                row.error(column, too_long(LONGEST))

    def _path(
        self, row: _Row, levels: list[tuple[str, Level]]
    ) -> tuple[list[str], GoalPlan | None]:
        """The row's goals, top down: their level names, and the deepest one planned."""
        parent: GoalPlan | None = None
        path: list[str] = []
        for index, (column, level) in enumerate(levels):
            if parent is None and level != Level.STRATEGIC:
                row.error(
                    column,
                    f"Level gap: {_a(Level(level).label.lower())} goal needs a goal above it "
                    "in its row (a strategic goal at least).",
                )
                break
            plan = self._goal(row, column, level, parent, deepest=index == len(levels) - 1)
            if plan is None:
                break
            path.append(Level(level).label)
            self._action(row, plan, column, "goal", level, plan.goal.title)
            parent = plan
        return path, parent

    def _action(
        self,
        row: _Row,
        plan: GoalPlan | KpiPlan,
        column: str,
        kind: str,
        level: str | None,
        title: str,
    ) -> None:
        """What the row does to a goal or KPI it names, for the preview."""
        number = row.number
        if plan.first_row is None:
            plan.first_row = number
        if plan.new:
            action = CREATE if plan.first_row == number else REPEAT
        elif any(set_in == number for set_in in plan.set_by.values()):
            action = CHANGE
        else:
            action = UNCHANGED if plan.first_row == number else REPEAT
        changes = {
            name: {"old": _shown(old), "new": _shown(new)}
            for name, (old, new) in plan.changes.items()
            if plan.set_by.get(name) == number
        }
        row.actions.append(
            {
                "object": kind,
                "level": level,
                "title": title,
                "action": action,
                "first_row": plan.first_row,
                "changes": changes,
            }
        )
        row.named.append((plan, column))

    # -- the validators ----------------------------------------------------------------

    def _judge(self, row: _Row) -> None:
        """Judge each goal and KPI this row creates or changes with the services'
        validators, and put each message in the cell of its field. A goal or KPI the
        row creates is the row's in full; one it changes, for the fields it set (and
        the rules that hang on them). A cell already said to be unreadable is not
        judged again."""
        unreadable = set(row.errors)
        for plan, title_column in row.named:
            set_here = {name for name, number in plan.set_by.items() if number == row.number}
            created_here = plan.new and plan.first_row == row.number
            if not (created_here or set_here):
                continue
            if isinstance(plan, GoalPlan):
                found = goal_errors(plan.goal, original=plan.original, facts=self.c).messages
                columns = self._goal_columns(plan.goal, title_column)
            else:
                found = kpi_errors(plan.kpi, new=plan.new, facts=self.c).messages
                columns = KPI_COLUMN
            for name, messages in found.items():
                column = columns.get(name, title_column)
                if column in unreadable:
                    continue
                if created_here or DEPENDS_ON.get(name, {name}) & set_here:
                    for message in messages:
                        row.error(column, message)

    def _goal_columns(self, goal: Goal, title_column: str) -> dict[str, str]:
        """Where a goal's fields are in the file."""
        columns = {
            "title": title_column,
            "owner": sheets.OWNER,
            "start": sheets.DUE,
            "due": sheets.DUE,
            "external_id": sheets.EXTERNAL_ID,
        }
        if goal.level in PLACED_BY:
            columns["department"] = PLACED_BY[goal.level]
        return columns

    # -- goals -------------------------------------------------------------------------

    def _goal(
        self, row: _Row, column: str, level: str, parent: GoalPlan | None, *, deepest: bool
    ) -> GoalPlan | None:
        """The goal a cell names under `parent`: matched, or planned new."""
        title = spaced(row.cells[column])
        external = row.cell(sheets.EXTERNAL_ID) if deepest else ""
        plan = self.c.goal_ext.get(external) if external else None
        if plan is not None and not self._in_place(row, plan, level, parent):
            return None
        if plan is None:
            plan = self.c.by_title.get((id(parent) if parent else 0, level, norm(title)))
        if plan is None:
            plan = self._new_goal(title, level, parent)
        elif not plan.new:
            self._set(row, plan, "title", title, column)
        if external:
            self._set(row, plan, "external_id", external, sheets.EXTERNAL_ID)
            self.c.goal_ext[external] = plan
        placed_by = PLACED_BY.get(level)
        if placed_by and row.cell(placed_by):
            department = self._department(row, placed_by)
            if department is not None:
                self._set(row, plan, "department", department, placed_by)
        if level == Level.INDIVIDUAL and row.cell(sheets.OWNER):
            owner = self._member(row, sheets.OWNER)
            if owner is not None:
                self._set(row, plan, "owner", owner, sheets.OWNER)
        if deepest and not row.cells.get(sheets.KPI) and row.cell(sheets.DUE):
            self._due(row, plan)
        return plan

    def _in_place(self, row: _Row, plan: GoalPlan, level: str, parent: GoalPlan | None) -> bool:
        """Whether the goal an external id names stands where the row puts it (an
        import does not move goals)."""
        where = plan.goal.parent
        if plan.goal.level == level and where is (parent.goal if parent else None):
            return True
        row.error(
            sheets.EXTERNAL_ID,
            f"This external id belongs to the {plan.goal.level} goal “{plan.goal.title}”"
            + (f" under “{where.title}”" if where else "")
            + ": an import does not move goals.",
        )
        return False

    def _new_goal(self, title: str, level: str, parent: GoalPlan | None) -> GoalPlan:
        cycle = self.c.cycle
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
        plan = GoalPlan(goal=goal, original=None)
        self.c.by_title[(id(parent) if parent else 0, level, norm(title))] = plan
        self.new_goals.append(plan)
        if level == Level.STRATEGIC:
            self.c.new_objectives.append(plan)
        return plan

    def _due(self, row: _Row, plan: GoalPlan | KpiPlan) -> None:
        day = _date(row.cells[sheets.DUE])
        if day is None:
            row.error(sheets.DUE, DATE_FORMAT)
        else:
            self._set(row, plan, "due", day, sheets.DUE)

    def _set(self, row: _Row, plan: GoalPlan | KpiPlan, name: str, value: Any, column: str) -> None:
        """Give a planned object a field's value; on a stored one, a change (old → new).
        Two rows giving one object two values is an error on the later one."""
        obj = plan.obj
        relation = name in ("department", "owner")
        stored = getattr(obj, f"{name}_id" if relation else name)
        wanted = value.pk if relation else value
        if name in plan.set_by and plan.set_by[name] != row.number:
            if not _same(stored, wanted):
                row.error(
                    column, f"Row {plan.set_by[name]} gives this a different {column.lower()}."
                )
            return
        if _same(stored, wanted):
            return
        if not plan.new:
            old = plan.changes[name][0] if name in plan.changes else self._shown_value(obj, name)
            plan.changes[name] = (old, self._shown_of(name, value))
        setattr(obj, name, value)
        plan.set_by[name] = row.number

    def _shown_value(self, obj: Goal | Kpi, name: str) -> Any:
        if name == "department":
            department = self.c.department_of.get(getattr(obj, "department_id", None) or 0)
            return department.name if department else None
        if name == "owner":
            member = self.c.member_of.get(obj.owner_id or 0)
            return member.user.username if member else None
        return getattr(obj, name)

    def _shown_of(self, name: str, value: Any) -> Any:
        if name == "department":
            return value.name
        if name == "owner":
            return value.user.username
        return value

    def _department(self, row: _Row, column: str) -> Department | None:
        text = row.cells[column]
        department = self.c.departments.get(norm(text))
        if department is None and column not in row.errors:
            known = sorted(d.name for d in self.c.departments.values())
            listed = ", ".join(known[:20]) + (", …" if len(known) > 20 else "")
            row.error(
                column, f"No department is called “{text[:100]}” (known: {listed or 'none'})."
            )
        return department

    def _member(self, row: _Row, column: str) -> Member | None:
        text = row.cells[column]
        member = self.c.members.get(text.strip().casefold())
        if member is None and column not in row.errors:
            row.error(
                column,
                f"No active member of the organization has the username or email “{text[:100]}”.",
            )
        return member

    # -- KPIs --------------------------------------------------------------------------

    def _kpi_part(self, row: _Row, goal: GoalPlan | None) -> tuple[Verdicts, list[str]]:
        """The row's KPI (on its deepest goal, if all its goals could be placed), and its
        S.M.A.R.T. verdicts and warnings."""
        if not row.cells.get(sheets.KPI):
            for column in (sheets.UNIT, sheets.BASELINE, sheets.TARGET, sheets.KPI_EXTERNAL_ID):
                if row.cells.get(column):
                    row.error(column, f"Name the KPI (the “{sheets.KPI}” column) this belongs to.")
            if goal is None:
                return {}, []
            return {"measurable": {"ok": False, "message": NO_KPI}}, [NO_KPI]
        plan = self._kpi(row, goal) if goal is not None else None
        if plan is None:
            return {}, []
        self._action(row, plan, sheets.KPI, "kpi", None, plan.kpi.name)
        smart = kpi_smart(plan.kpi)
        return smart, [str(v["message"]) for v in smart.values() if not v["ok"]]

    def _kpi(self, row: _Row, goal: GoalPlan) -> KpiPlan | None:
        """The KPI the row names on its deepest goal: matched, or planned new."""
        name = spaced(row.cells[sheets.KPI])
        external = row.cell(sheets.KPI_EXTERNAL_ID)
        plan = self.c.kpi_ext.get(external) if external else None
        if plan is not None and plan.kpi.goal is not goal.goal:
            row.error(
                sheets.KPI_EXTERNAL_ID,
                f"This external id belongs to the KPI “{plan.kpi.name}” of the goal "
                f"“{plan.kpi.goal.title}”: an import does not move KPIs.",
            )
            return None
        plan = plan or goal.kpis.get(norm(name))
        if plan is None:
            plan = self._new_kpi(goal, name)
        else:
            self._set(row, plan, "name", name, sheets.KPI)
        if external:
            self._set(row, plan, "external_id", external, sheets.KPI_EXTERNAL_ID)
            self.c.kpi_ext[external] = plan
        for column, attribute in (
            (sheets.DIRECTION, "direction"),
            (sheets.AGGREGATION, "aggregation"),
        ):
            if row.cell(column):
                self._set(row, plan, attribute, row.cell(column).casefold(), column)
        measure = (sheets.UNIT, sheets.BASELINE, sheets.TARGET)
        if plan.new and sheets.KPI in row.renamed and not any(row.cells.get(c) for c in measure):
            self._counts_done(row, plan)
        else:
            if row.cell(sheets.UNIT):
                self._set(row, plan, "unit", row.cell(sheets.UNIT), sheets.UNIT)
            self._amounts(row, plan)
        if row.cell(sheets.KPI_OWNER):
            owner = self._member(row, sheets.KPI_OWNER)
            if owner is not None:
                self._set(row, plan, "owner", owner, sheets.KPI_OWNER)
        if row.cell(sheets.DUE):
            self._due(row, plan)
        return plan

    def _new_kpi(self, goal: GoalPlan, name: str) -> KpiPlan:
        parent = goal.goal
        owner = parent.owner if parent.level == Level.INDIVIDUAL and parent.owner else None
        kpi = Kpi(
            organization_id=self.c.cycle.organization_id,
            goal=parent,
            name=name,
            description="",
            unit="",
            direction=Direction.INCREASE,
            aggregation=Aggregation.LATEST,
            baseline=math.nan,
            target=math.nan,
            weight=1.0,
            owner=owner or self.c.actor,
            start=parent.start,
            due=parent.due,
        )
        plan = KpiPlan(kpi=kpi, original=None)
        goal.kpis[norm(name)] = plan
        self.new_kpis.append(plan)
        return plan

    def _counts_done(self, row: _Row, plan: KpiPlan) -> None:
        """A new KPI read from the article's "Individual KPI" column, whose row gives no
        unit, baseline or target: it counts how far it is done until they are set."""
        for name, value, column in (
            ("unit", sheets.DONE_UNIT, sheets.UNIT),
            ("baseline", sheets.DONE_BASELINE, sheets.BASELINE),
            ("target", sheets.DONE_TARGET, sheets.TARGET),
        ):
            self._set(row, plan, name, value, column)
        row.warnings.append(COUNTS_DONE)

    def _amounts(self, row: _Row, plan: KpiPlan) -> None:
        """The baseline and target cells: numbers as people type them."""
        for column, attribute in ((sheets.BASELINE, "baseline"), (sheets.TARGET, "target")):
            text = row.cell(column)
            if not text:
                if plan.new and column not in row.errors:
                    row.error(column, f"A KPI needs a {attribute}: a number.")
                continue
            value = _number(text)
            if value is None:
                row.error(column, NOT_A_NUMBER)
            else:
                self._set(row, plan, attribute, value, column)
