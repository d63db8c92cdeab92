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

# The formats and their media types (core/sheets.py), as the cycles' modules name them.
FORMATS, MEDIA_TYPES = core_sheets.FORMATS, core_sheets.MEDIA_TYPES

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
# Other names for a column: the source article's table says "Individual KPI" for the
# individual goal (only when the file has no "Individual goal" column).
ALIASES = {"individual kpi": INDIVIDUAL_GOAL, "kpi name": KPI}
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
    columns: list[str | None] = []
    unknown, seen = [], set()
    for cell in cells:
        name = " ".join(cell.split()).casefold()
        column = known.get(name)
        if column is None and name in ALIASES and ALIASES[name].casefold() not in named:
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
    if not any(column in seen for column in (STRATEGIC_GOAL, DEPARTMENT_GOAL, TEAM_GOAL)) and (
        INDIVIDUAL_GOAL not in seen
    ):
        raise file_error(
            "The first row must be the column headers, naming at least one goal column "
            f"({STRATEGIC_GOAL}, {DEPARTMENT_GOAL}, {TEAM_GOAL} or {INDIVIDUAL_GOAL})."
        )
    return columns


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
