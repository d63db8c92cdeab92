"""Spreadsheets in and out (CSV and XLSX, through tablib and openpyxl): the column
layout of a cycle's import and export, reading any uploaded file into rows of text
cells or one clear message, and writing rows safely for spreadsheet programs."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from typing import Any

import openpyxl
import tablib
from django.core.exceptions import ValidationError

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

CSV, XLSX = "csv", "xlsx"
FORMATS = (CSV, XLSX)
MEDIA_TYPES = {
    CSV: "text/csv",
    XLSX: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
MAX_BYTES = 20 * 1024 * 1024
EMPTY_FILE = "The file is empty: fill in the template and upload it again."
TOO_LARGE = f"The file is larger than {MAX_BYTES // (1024 * 1024)} MB."
MAX_ROWS = 20_000
MAX_CELL = 10_000  # characters: far more than any column takes; the plan says which
# A cell a spreadsheet program would run as a formula: written with a leading ' (and
# read back without it, so a round trip is exact).
FORMULA = re.compile(r"^'*[=+\-@]")
QUOTED_FORMULA = re.compile(r"^'+[=+\-@]")

Row = tuple[int, dict[str, str]]  # (line in the file, {column: text})


def file_error(message: str) -> ValidationError:
    return ValidationError({"file": [message]})


def sniff_format(content: bytes) -> str:
    """XLSX files are ZIP archives; anything else is read as CSV."""
    return XLSX if content[:4] == b"PK\x03\x04" else CSV


def read_rows(content: bytes, fmt: str) -> list[Row]:
    """The data rows of an uploaded file: each with its line number in the file (the
    header is line 1) and its cells by column name, as trimmed text. Empty rows are
    left out. Anything unreadable is one ValidationError on `file`, never a crash."""
    if not content:
        raise file_error(EMPTY_FILE)
    if len(content) > MAX_BYTES:
        raise file_error(TOO_LARGE)
    table = _xlsx_table(content) if fmt == XLSX else _csv_table(content)
    header_at = next((i for i, cells in enumerate(table) if any(cells)), None)
    if header_at is None:
        raise file_error("The file has no rows: fill in the template and upload it again.")
    columns = header_columns(table[header_at])
    rows = []
    for offset, cells in enumerate(table[header_at + 1 :], start=header_at + 2):
        values = {}
        for column, text in zip(columns, cells, strict=False):
            if column is not None and text:
                values[column] = text
        if any(cells):
            rows.append((offset, values))
        if len(rows) > MAX_ROWS:
            raise file_error(f"The file has more than {MAX_ROWS:,} rows: split it.")
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


def _csv_table(content: bytes) -> list[list[str]]:
    if b"\x00" in content:
        raise file_error("This is not a CSV file (it holds binary data). Upload CSV or XLSX.")
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:  # what spreadsheet programs on Windows write as "CSV"
            text = content.decode("cp1252")
        except UnicodeDecodeError:
            raise file_error(
                "The file is not UTF-8 text: save it as “CSV UTF-8” and upload it again."
            ) from None
    first = text.split("\n", 1)[0]
    delimiter = max((",", ";", "\t"), key=first.count)
    try:
        table = [
            [clean(cell) for cell in cells]
            for cells in csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
        ]
    except csv.Error as error:
        raise file_error(f"The CSV file can't be read: {error}.") from None
    return table


def _xlsx_table(content: bytes) -> list[list[str]]:
    try:
        book = openpyxl.load_workbook(io.BytesIO(content), read_only=True, data_only=True)
        sheet = book.active
        assert sheet is not None  # a book without sheets has none: refused below, as damaged
        table = []
        for count, cells in enumerate(sheet.iter_rows(values_only=True)):
            table.append([clean(_text(cell)) for cell in cells])
            if count > MAX_ROWS + 100:
                break
        book.close()
    except Exception:  # openpyxl raises many kinds for a damaged file; all mean the same
        raise file_error("This is not an XLSX file that can be read. Upload CSV or XLSX.") from None
    return table


def _text(value: Any) -> str:
    """A spreadsheet cell as the text a person typed."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return str(value)


def clean(text: str) -> str:
    """A cell's text without surrounding spaces, and without the ' the export puts
    before what would be a formula."""
    text = text.strip()[:MAX_CELL] if len(text) > MAX_CELL else text.strip()
    if QUOTED_FORMULA.match(text):
        text = text[1:]
    return text


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
