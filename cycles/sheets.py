"""Spreadsheets in and out (CSV and XLSX): the column layout of a cycle's import and
export, reading an uploaded file into rows of text cells or one clear message (through
core/sheets.py, which holds the limits every upload is read within), and writing rows
safely for spreadsheet programs."""

from __future__ import annotations

import io
import re
from typing import Any

import openpyxl
import tablib

from core import sheets as core_sheets
from core.sheets import CSV, XLSX, file_error
from core.sheets import sniff_format as sniff_format  # the import jobs' sniffing

# The formats, their media types and a download's Content-Type (core/sheets.py), as the
# cycles' modules name them.
FORMATS, MEDIA_TYPES = core_sheets.FORMATS, core_sheets.MEDIA_TYPES
DOWNLOAD_TYPES = core_sheets.DOWNLOAD_TYPES

# The import's columns, in the template's order (README, "Import and export").
STRATEGIC_GOAL = "Strategic goal"
DEPARTMENT_GOAL = "Department goal"
DEPARTMENT = "Department"
TEAM_GOAL = "Team goal"
TEAM = "Team"
INDIVIDUAL_GOAL = "Individual goal"
OWNER = "Owner"
KPI = "KPI"
UNIT = "Unit"
DIRECTION = "Direction"
AGGREGATION = "Aggregation"
BASELINE = "Baseline"
TARGET = "Target"
DUE = "Due"
KPI_OWNER = "KPI owner"
EXTERNAL_ID = "External ID"
KPI_EXTERNAL_ID = "KPI external ID"
COLUMNS = (
    STRATEGIC_GOAL,
    DEPARTMENT_GOAL,
    DEPARTMENT,
    TEAM_GOAL,
    TEAM,
    INDIVIDUAL_GOAL,
    OWNER,
    KPI,
    UNIT,
    DIRECTION,
    AGGREGATION,
    BASELINE,
    TARGET,
    DUE,
    KPI_OWNER,
    EXTERNAL_ID,
    KPI_EXTERNAL_ID,
)
# What the export adds (the import ignores them: they are computed).
PROGRESS, HEALTH, CURRENT, LAST_UPDATE = "Progress", "Health", "Current", "Last update"
EXPORT_COLUMNS = (*COLUMNS, PROGRESS, HEALTH, CURRENT, LAST_UPDATE)
COMPUTED = {column.casefold() for column in (PROGRESS, HEALTH, CURRENT, LAST_UPDATE)}
# Other names for a column: "KPI name" for the KPI; and "Individual KPI", the source
# article's column, for the individual goal when the file names a KPI otherwise (and
# has no "Individual goal" column).
ALIASES = {"individual kpi": INDIVIDUAL_GOAL, "kpi name": KPI}
# The article's table as written (SPEC §9.3): an "Individual KPI" column and no "KPI" or
# "Individual goal" one. The file does not say what it is, so the person chooses how it
# is read (`read_as`): each a KPI of the row's department goal, owned by its Owner (the
# default), or an individual goal, as the preview says.
INDIVIDUAL_KPI = "Individual KPI"
AS_KPI, AS_GOAL = "kpi", "goal"
INDIVIDUAL_KPI_READINGS = {
    AS_KPI: "make each individual KPI a KPI of the department goal, owned by its Owner",
    AS_GOAL: "make each individual KPI an individual goal, owned by its Owner",
}
# A KPI read from it, with no unit, baseline or target in its row, counts how far it
# is done, until its owner sets them.
DONE_UNIT, DONE_BASELINE, DONE_TARGET = "%", 0.0, 100.0
# The columns as a preview shows them: the import's, and the article's.
SHOWN_COLUMNS = (*COLUMNS[: COLUMNS.index(OWNER)], INDIVIDUAL_KPI, *COLUMNS[COLUMNS.index(OWNER) :])
TEMPLATE_ROW = {
    STRATEGIC_GOAL: "Improve customer experience",
    DEPARTMENT_GOAL: "Reduce average response time by 20%",
    DEPARTMENT: "Customer Support",
    TEAM_GOAL: "",
    TEAM: "",
    INDIVIDUAL_GOAL: "Resolve support tickets within 4 hrs avg",
    OWNER: "sam",
    KPI: "Average ticket resolution time",
    UNIT: "hours",
    DIRECTION: "decrease",
    AGGREGATION: "latest",
    BASELINE: 6,
    TARGET: 4,
    DUE: "",
    KPI_OWNER: "",
    EXTERNAL_ID: "",
    KPI_EXTERNAL_ID: "",
}

MAX_BYTES = core_sheets.MAX_FILE_BYTES
EMPTY_FILE = "The file is empty: fill in the template and upload it again."
TOO_LARGE = core_sheets.too_large()
MAX_ROWS = core_sheets.MAX_IMPORT_ROWS  # rows of one import (and its file's row limit)
# A cell a spreadsheet program would run as a formula: written with a leading ' (and
# read back without it, so a round trip is exact: core.sheets.clean).
FORMULA = re.compile(r"^'*[=+\-@]")

Row = tuple[int, dict[str, str]]  # (line in the file, {column: text})


def read_rows(content: bytes, fmt: str) -> list[Row]:
    """The data rows of an uploaded file: each with its line number in the file (the
    header is line 1) and its cells by column name, as trimmed text. Empty rows are
    left out. Anything unreadable, or beyond the limits of core/sheets.py, is one
    ValidationError on `file`, never a crash."""
    if not content:
        raise file_error(EMPTY_FILE)
    lines = core_sheets.read_table(content, fmt, max_rows=MAX_ROWS)
    if not lines:
        raise file_error("The file has no rows: fill in the template and upload it again.")
    columns = header_columns(lines[0].cells)
    rows = []
    for number, cells in lines[1:]:
        values = {}
        for column, text in zip(columns, cells, strict=False):
            if column is not None and text:
                values[column] = text
        rows.append((number, values))
    if not rows:
        raise file_error("The file has its headers but no rows to import.")
    return rows


def header_columns(cells: list[str]) -> list[str | None]:
    """The column each header names (None for an empty header over empty cells); an
    unknown or repeated header is an error that lists the known ones."""
    known = {column.casefold(): column for column in COLUMNS}
    named = {" ".join(cell.split()).casefold() for cell in cells}
    article = not named & {INDIVIDUAL_GOAL.casefold(), KPI.casefold(), "kpi name"}
    columns: list[str | None] = []
    unknown, seen = [], set()
    for cell in cells:
        name = " ".join(cell.split()).casefold()
        column = known.get(name)
        if name == INDIVIDUAL_KPI.casefold() and article:
            column = INDIVIDUAL_KPI  # read as the person chooses (read_as)
        elif column is None and name in ALIASES and ALIASES[name].casefold() not in named:
            column = ALIASES[name]
        if not name or name in COMPUTED:
            column = None  # an empty header, or a figure the export adds: not imported
        elif column is None:
            unknown.append(cell.strip())
        elif column in seen:
            raise file_error(f"The column “{column}” appears twice.")
        else:
            seen.add(column)
        columns.append(column)
    if unknown:
        raise file_error(
            f"Unknown column{'s' if len(unknown) > 1 else ''}: "
            f"{', '.join(f'“{u[:60]}”' for u in unknown[:10])}. "
            f"The known columns are: {', '.join(COLUMNS)} (and the export's "
            f"{', '.join(EXPORT_COLUMNS[len(COLUMNS) :])}, which are not imported)."
        )
    goal_columns = (STRATEGIC_GOAL, DEPARTMENT_GOAL, TEAM_GOAL, INDIVIDUAL_GOAL, INDIVIDUAL_KPI)
    if not any(column in seen for column in goal_columns):
        raise file_error(
            "The first row must be the column headers, naming at least one goal column "
            f"({STRATEGIC_GOAL}, {DEPARTMENT_GOAL}, {TEAM_GOAL} or {INDIVIDUAL_GOAL})."
        )
    return columns


def has_individual_kpis(rows: list[Row]) -> bool:
    """Whether the rows hold the article's "Individual KPI" cells, to be read as chosen."""
    return any(INDIVIDUAL_KPI in cells for _number, cells in rows)


def read_as(cells: dict[str, str], individual_kpi: str) -> tuple[dict[str, str], dict[str, str]]:
    """A row's cells as the import plans them, with an "Individual KPI" cell read as
    chosen: AS_KPI, the KPI (of the row's deepest goal, its department goal in the
    article's table), its Owner the KPI's owner; AS_GOAL, the individual goal. Also
    {column planned: column in the file} of the cells renamed, so that what the plan
    says of them is said of the file's own columns."""
    if INDIVIDUAL_KPI not in cells:
        return cells, {}
    renamed = (
        {KPI: INDIVIDUAL_KPI} if individual_kpi == AS_KPI else {INDIVIDUAL_GOAL: INDIVIDUAL_KPI}
    )
    if individual_kpi == AS_KPI and OWNER in cells and KPI_OWNER not in cells:
        renamed[KPI_OWNER] = OWNER
    in_file = {column: planned for planned, column in renamed.items()}
    return {in_file.get(column, column): text for column, text in cells.items()}, renamed


def guard(value: Any) -> Any:
    """A text cell made safe for spreadsheet programs: one that would start a formula
    (= + - @) gets a leading '. Numbers and dates are left as they are."""
    if isinstance(value, str) and FORMULA.match(value):
        return "'" + value
    return value


def write_rows(columns: tuple[str, ...], rows: list[dict[str, Any]], fmt: str) -> bytes:
    """A sheet of `rows` under `columns`, as CSV (UTF-8 with a byte-order mark, so
    spreadsheet programs read it as UTF-8) or XLSX."""
    if fmt == XLSX:  # openpyxl's streaming writer: a few times faster than a whole book
        book = openpyxl.Workbook(write_only=True)
        sheet = book.create_sheet("Cascade")
        sheet.append(list(columns))
        for row in rows:
            sheet.append([guard(row.get(column, "")) for column in columns])
        out = io.BytesIO()
        book.save(out)
        return out.getvalue()
    data = tablib.Dataset(headers=list(columns), title="Cascade")
    for row in rows:
        data.append([guard(row.get(column, "")) for column in columns])
    return ("\ufeff" + data.export(CSV)).encode("utf-8")


def template(fmt: str) -> bytes:
    """The downloadable template: the headers and one example row."""
    return write_rows(COLUMNS, [TEMPLATE_ROW], fmt)
