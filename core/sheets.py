"""Reading the spreadsheets people upload (CSV and XLSX) into lines of text cells, within
limits that hold however the file was made: no upload costs more than 30 s of CPU and a
few hundred MB (a bomb is refused in well under a second), and one beyond a limit is one
message naming it (a 400).

The limits (README, "Security"): the file ≤ 10 MB; an XLSX unpacks to ≤ 50 MB (the
sizes its archive declares, and the bytes actually read); its declared range and its
cells ≤ the caller's row limit × 30 columns; its shared text ≤ 10 MB; 30 s of CPU to
read it. Password-protected and old-format (.xls) files, archives packed tighter than a
spreadsheet program packs, and XML with a document type (the entity tricks) are
refused with what to do instead.

How an XLSX is read:
1. Before parsing, the archive as a whole: its size, its members (how many, their
   declared sizes and packing, no encryption, no unknown compression).
2. While streaming: openpyxl (read-only mode, one row at a time) reads the members
   through _CheckedArchive, whose every chunk first goes through an XML scanner
   (expat) that counts what openpyxl would build from it — cells, cells in a row,
   elements, the declared range, text — and stops at the first limit passed. The scanner
   is a chunk ahead of openpyxl's parser, so openpyxl never holds more than a chunk
   beyond a limit.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import time
import zipfile
from typing import IO, Any, NamedTuple
from xml.parsers import expat

from django.core.exceptions import ValidationError
from openpyxl.reader.excel import ExcelReader
from openpyxl.utils.cell import range_boundaries

CSV, XLSX = "csv", "xlsx"
FORMATS = (CSV, XLSX)
MEDIA_TYPES = {
    CSV: "text/csv",
    XLSX: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
# The Content-Type of a file Cascade sends: a CSV says its text is UTF-8 (a client that
# decodes it then reads the byte-order mark and the names as they are).
DOWNLOAD_TYPES = {CSV: f"{MEDIA_TYPES[CSV]}; charset=utf-8", XLSX: MEDIA_TYPES[XLSX]}
MB = 1024 * 1024
MAX_FILE_BYTES = 10 * MB
MAX_UNPACKED_BYTES = 50 * MB  # all members of an XLSX, unpacked
MAX_SHARED_TEXT_BYTES = 10 * MB  # its shared strings part
MAX_COLUMNS = 30  # cells beyond the 30th of a row are not read
MAX_IMPORT_ROWS = 20_000  # rows of one import (goals, people), and its file's row limit
MAX_CPU_SECONDS = 30.0
# What no spreadsheet program writes, however large the sheet: refused as made to harm.
MAX_PACKING = 100  # unpacked size / packed size of a member (deflate reaches ~1,000)
PACKING_GRACE = MB  # members unpacking to less are not held to MAX_PACKING
MAX_MEMBERS = 1_000
MAX_ROW_CELLS = 16_384  # a spreadsheet's columns, A to XFD
MAX_ROW_NUMBER = 1_048_576  # a spreadsheet's rows
MAX_CELL_TEXT = 32_767  # characters in one cell (a spreadsheet program's own limit)
MAX_ELEMENTS_IN_ROW = 4 * MAX_ROW_CELLS  # a cell, its value, rich-text runs
MAX_ELEMENTS_PER_CELL = 6  # of a workbook, per cell it may hold: what openpyxl parses
MAX_ELEMENTS_BESIDE_ROWS = 200_000  # rows, merged cells, formats… (kept by openpyxl)
MAX_WHOLE_PART_BYTES = 5 * MB  # a part read whole into one tree: styles, workbook, …
MAX_WHOLE_PART_ELEMENTS = 100_000
CHUNK = 64 * 1024

OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # a password-protected workbook, or an old .xls
ZIP = b"PK\x03\x04"
XLSX_NAMES = (".xlsx", ".xlsm", ".xltx", ".xltm", ".xls")
QUOTED_FORMULA = re.compile(r"^'+[=+\-@]")
MAX_CELL = 10_000  # characters kept of a cell: far more than any column takes

PROTECTED = (
    "This file is password-protected or in the old Excel format (.xls): save it as an "
    "Excel workbook (.xlsx) without a password, or as CSV, and upload it again."
)
NOT_XLSX = (
    "This is not an XLSX file (an XLSX file is a ZIP archive): save it as an Excel "
    "workbook (.xlsx) or as CSV and upload it again."
)
DAMAGED = "This is not an XLSX file that can be read. Upload CSV or XLSX."
SAVE_AGAIN = "Save it again from your spreadsheet program, or as CSV, and upload it again."
DOCTYPE = (
    "This spreadsheet holds XML declarations (<!DOCTYPE …>) that spreadsheet programs "
    f"never write, so it is not read. {SAVE_AGAIN}"
)


def too_large() -> str:
    return f"The file is larger than {MAX_FILE_BYTES // MB} MB: split it into smaller files."


def _mb(size: int) -> str:
    return f"{size / MB:,.1f} MB" if size < 10 * MB else f"{size // MB:,} MB"


class Line(NamedTuple):
    """A line of a file with text in it: its number (CSV records, or sheet rows, from 1)
    and its first MAX_COLUMNS cells as trimmed text."""

    number: int
    cells: list[str]


class Refused(Exception):
    """A limit passed while reading: its message says which, in a person's words."""


def file_error(message: str) -> ValidationError:
    return ValidationError({"file": [message]})


def sniff_format(content: bytes, file_name: str = "") -> str:
    """XLSX files are ZIP archives; a file named like a workbook is read as one (and
    refused as one if it is not); anything else is read as CSV."""
    if content[:4] == ZIP or content[:8] == OLE or file_name.lower().endswith(XLSX_NAMES):
        return XLSX
    return CSV


def read_table(content: bytes, fmt: str, *, max_rows: int) -> list[Line]:
    """The lines of an uploaded file that hold text: the first (the headers) and at most
    `max_rows` more. Anything unreadable or beyond a limit is one ValidationError on
    `file`, never a crash."""
    if len(content) > MAX_FILE_BYTES:
        raise file_error(too_large())
    reading = _Reading(max_rows)
    try:
        return _xlsx_lines(content, reading) if fmt == XLSX else _csv_lines(content, reading)
    except Refused as refused:
        raise file_error(str(refused)) from None


class _Reading:
    """One file's reading: its row and cell limits, its CPU time, the bytes unpacked."""

    def __init__(self, max_rows: int) -> None:
        self.max_rows = max_rows
        self.max_cells = max_rows * MAX_COLUMNS
        self.started = time.thread_time()
        self.unpacked: dict[str, int] = {}  # member: the most bytes read of it at once
        self.cells: dict[str, int] = {}  # member: the most cells counted in it at once
        self.elements: dict[str, int] = {}  # member: the most XML elements, likewise
        # Members scanned to their end, read as a stream (False) or whole (True): openpyxl
        # reads a sheet twice when it does not declare its range, and the same bytes
        # need no second scan.
        self.scanned: set[tuple[str, bool]] = set()
        self.lines: list[Line] = []

    def cells_limit(self) -> str:
        return f"at most {self.max_cells:,} ({self.max_rows:,} rows × {MAX_COLUMNS} columns)"

    def check_time(self) -> None:
        if time.thread_time() - self.started > MAX_CPU_SECONDS:
            raise Refused(
                f"Reading this spreadsheet took more than {MAX_CPU_SECONDS:.0f} seconds of "
                f"computing time, the most one file is given. Split it, or save it as CSV, "
                "and upload it again."
            )

    def read(self, member: str, size: int) -> None:
        """`size` bytes of `member` unpacked so far (counted as read, not as declared)."""
        if size > self.unpacked.get(member, 0):
            self.unpacked[member] = size
            total = sum(self.unpacked.values())
            if total > MAX_UNPACKED_BYTES:
                raise Refused(_unpacked_too_large(total, "more than "))
        self.check_time()

    @staticmethod
    def beside(counts: dict[str, int], member: str) -> int:
        """What was counted in the other members: a workbook's cells are its sheets'."""
        return sum(counts.values()) - counts.get(member, 0)

    def counted(self, member: str, cells: int, elements: int) -> None:
        self.cells[member] = max(cells, self.cells.get(member, 0))
        self.elements[member] = max(elements, self.elements.get(member, 0))

    def add(self, number: int, cells: list[str]) -> None:
        """Keep a line if it holds text; more than the header and max_rows is refused."""
        if any(cells):
            self.lines.append(Line(number, cells))
            if len(self.lines) > self.max_rows + 1:
                raise Refused(f"The file has more than {self.max_rows:,} rows: split it.")


def _unpacked_too_large(size: int, more: str = "") -> str:
    return (
        f"This spreadsheet unpacks to {more}{_mb(size)}; at most {MAX_UNPACKED_BYTES // MB} "
        "MB are read. Remove what the import does not need (other sheets, pictures), or "
        "save it as CSV, and upload it again."
    )


# -- CSV -----------------------------------------------------------------------------------


def _csv_lines(content: bytes, reading: _Reading) -> list[Line]:
    if b"\x00" in content or content[:8] == OLE:
        raise Refused("This is not a CSV file (it holds binary data). Upload CSV or XLSX.")
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:  # what spreadsheet programs on Windows write as "CSV"
            text = content.decode("cp1252")
        except UnicodeDecodeError:
            raise Refused(
                "The file is not UTF-8 text: save it as “CSV UTF-8” and upload it again."
            ) from None
    first = text.split("\n", 1)[0]
    delimiter = max((",", ";", "\t"), key=first.count)
    try:
        records = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
        for number, cells in enumerate(records, start=1):
            if cells:
                reading.add(number, [clean(cell) for cell in cells[:MAX_COLUMNS]])
            if number % 1000 == 0:
                reading.check_time()
                if number > MAX_ROW_NUMBER:
                    raise Refused(
                        f"The file has more than {MAX_ROW_NUMBER:,} lines, more than a "
                        "spreadsheet has rows. Delete the empty lines and upload it again."
                    )
    except csv.Error as error:
        raise Refused(f"The CSV file can't be read: {error}.") from None
    return reading.lines


# -- XLSX ----------------------------------------------------------------------------------


def _xlsx_lines(content: bytes, reading: _Reading) -> list[Line]:
    """1. The archive, before any parsing (_checked_archive). 2. The workbook through
    openpyxl, its members read through _CheckedArchive. 3. The active sheet, row by row,
    at most MAX_COLUMNS wide."""
    if content[:8] == OLE:
        raise Refused(PROTECTED)
    if content[:4] != ZIP:
        raise Refused(NOT_XLSX)
    try:
        archive = _checked_archive(content, reading)
        # openpyxl opens its own archive; it reads every member through the checked one.
        reader = ExcelReader(io.BytesIO(content), read_only=True, data_only=True, keep_links=False)
        reader.archive.close()
        reader.archive = archive
        reader.valid_files = archive.namelist()
        reader.read()
        book = reader.wb
        try:
            sheet = book.active
            assert sheet is not None  # a book without sheets: refused below, as damaged
            rows = sheet.iter_rows(max_col=MAX_COLUMNS, values_only=True)
            for number, values in enumerate(rows, start=1):
                if values.count(None) < len(values):  # (openpyxl fills gaps with empty rows)
                    reading.add(number, [clean(_text(value)) for value in values])
                reading.check_time()
        finally:
            book.close()
    except Exception as error:  # openpyxl raises many kinds for a damaged file
        refused = _refusal(error)
        if refused is not None:
            raise refused from None
        raise Refused(DAMAGED) from None
    return reading.lines


def _refusal(error: BaseException | None) -> Refused | None:
    """The Refused behind an error openpyxl raised while reading (it wraps some)."""
    seen = 0
    while error is not None and seen < 10:
        if isinstance(error, Refused):
            return error
        error, seen = error.__cause__ or error.__context__, seen + 1
    return None


def _checked_archive(content: bytes, reading: _Reading) -> _CheckedArchive:
    """The archive, once its members pass what can be seen without unpacking them."""
    try:
        archive = _CheckedArchive(io.BytesIO(content), reading)
    except (zipfile.BadZipFile, ValueError, EOFError, OSError):
        raise Refused(NOT_XLSX) from None
    members = archive.infolist()
    if len(members) > MAX_MEMBERS:
        raise Refused(
            f"This spreadsheet packs {len(members):,} files; at most {MAX_MEMBERS:,} are "
            f"read. {SAVE_AGAIN}"
        )
    if len({member.filename for member in members}) < len(members):
        raise Refused(DAMAGED)
    if any(member.flag_bits & 0x1 for member in members):
        raise Refused(PROTECTED)
    if any(m.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED) for m in members):
        raise Refused(
            f"This spreadsheet is packed in a way spreadsheet programs don't. {SAVE_AGAIN}"
        )
    total = sum(member.file_size for member in members)
    if total > MAX_UNPACKED_BYTES:
        raise Refused(_unpacked_too_large(total))
    for member in members:
        packing = member.file_size / max(member.compress_size, 1)
        if member.file_size > PACKING_GRACE and packing > MAX_PACKING:
            raise Refused(
                f"This spreadsheet is packed tighter than spreadsheet programs pack: "
                f"{member.filename} unpacks to {packing:,.0f} times its packed size, and at "
                f"most {MAX_PACKING} times is read. {SAVE_AGAIN}"
            )
        if "sharedstrings" in member.filename.lower() and (
            member.file_size > MAX_SHARED_TEXT_BYTES
        ):
            raise Refused(_shared_text_too_large(member.file_size))
    return archive


def _shared_text_too_large(size: int, more: str = "") -> str:
    return (
        f"This spreadsheet's text (its shared strings) takes {more}{_mb(size)}; at most "
        f"{MAX_SHARED_TEXT_BYTES // MB} MB are read. Split it, or save it as CSV, and "
        "upload it again."
    )


class _CheckedArchive(zipfile.ZipFile):
    """A ZIP archive whose members are read through _CheckedPart."""

    def __init__(self, file: IO[bytes], reading: _Reading) -> None:
        super().__init__(file)
        self.reading = reading

    def open(  # type: ignore[override]  # read only: the one use
        self, name: str | zipfile.ZipInfo, mode: str = "r", pwd: bytes | None = None
    ) -> _CheckedPart:
        info = name if isinstance(name, zipfile.ZipInfo) else self.getinfo(name)
        return _CheckedPart(super().open(info, "r", pwd), info, self.reading)


class _CheckedPart(io.RawIOBase):
    """One member as openpyxl reads it: every chunk is counted and scanned before openpyxl
    parses it. A part read whole (read() without a size) is built by openpyxl as one tree,
    so it is held to the smaller MAX_WHOLE_PART_* limits."""

    def __init__(self, stream: IO[bytes], info: zipfile.ZipInfo, reading: _Reading) -> None:
        super().__init__()
        self.stream, self.info, self.reading = stream, info, reading
        self.done = 0
        self.scan = _Scan(info.filename, reading)

    def readable(self) -> bool:
        return True

    def read(self, size: int | None = -1) -> bytes:
        if size is None or size < 0:
            if self.done == 0:
                self.scan.whole = True
            return b"".join(iter(lambda: self._read(CHUNK), b""))
        return self._read(size)

    def readinto(self, buffer: Any) -> int:
        data = self._read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def _read(self, size: int) -> bytes:
        data = self.stream.read(size)
        self.done += len(data)
        if self.done > self.info.file_size:  # zipfile stops there; this holds regardless
            raise Refused(DAMAGED)
        if self.scan.whole and self.done > MAX_WHOLE_PART_BYTES:
            raise Refused(
                f"This spreadsheet's {self.info.filename} is larger than "
                f"{MAX_WHOLE_PART_BYTES // MB} MB, more than spreadsheet programs write. "
                f"{SAVE_AGAIN}"
            )
        self.reading.read(self.info.filename, self.done)
        scanned = (self.info.filename, self.scan.whole)
        if scanned in self.reading.scanned:
            return data
        self.scan.feed(data)
        self.reading.counted(self.info.filename, self.scan.cells, self.scan.elements)
        if self.scan.root == "sst" and self.done > MAX_SHARED_TEXT_BYTES:
            raise Refused(_shared_text_too_large(MAX_SHARED_TEXT_BYTES, "more than "))
        if self.scan.complete:
            self.reading.scanned.add(scanned)
        return data

    def close(self) -> None:
        self.stream.close()
        super().close()


class _Scan:
    """An XML part, counted as it streams (expat, a chunk ahead of openpyxl's parser):
    no document type (entities), the declared range and the cells within the row and
    cell limits, rows within a spreadsheet's, each row ≤ MAX_ROW_CELLS cells, each text
    ≤ MAX_CELL_TEXT characters, and no more elements than openpyxl should keep. A part
    that is not XML stops being scanned: openpyxl's parser stops there too."""

    def __init__(self, name: str, reading: _Reading) -> None:
        self.name, self.reading = name, reading
        self.max_cells = reading.max_cells - reading.beside(reading.cells, name)
        self.max_elements = MAX_ELEMENTS_PER_CELL * reading.max_cells - reading.beside(
            reading.elements, name
        )
        self.whole = False
        self.root: str | None = None
        self.cells = self.row_cells = self.in_row = self.text = 0
        self.elements = self.row_elements = self.beside_rows = 0
        self.depth, self.complete, self.broken = 0, False, False
        self.local: dict[str, str] = {}  # element name: its local part
        parser = expat.ParserCreate()
        parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
        parser.StartDoctypeDeclHandler = self._doctype
        parser.EntityDeclHandler = self._doctype
        parser.StartElementHandler = self._start
        parser.EndElementHandler = self._end
        parser.CharacterDataHandler = self._text
        parser.buffer_text = True
        self.parser = parser

    def feed(self, data: bytes) -> None:
        if self.broken:
            return
        try:
            self.parser.Parse(data, not data)
        except expat.ExpatError:
            self.broken = True

    def _doctype(self, *_: Any) -> None:
        raise Refused(DOCTYPE)

    def _start(self, name: str, attributes: dict[str, str]) -> None:
        # Called for every element of every sheet: the common case (an element in a row)
        # first, and each name's local part ("c" of "x:c") looked up, not worked out.
        self.text = 0
        self.elements += 1
        if self.elements > self.max_elements:
            raise Refused(self._too_complex(MAX_ELEMENTS_PER_CELL * self.reading.max_cells))
        local = self.local.get(name)
        if local is None:
            local = self.local[name] = name.rpartition(":")[2]
        if self.in_row:
            self.row_elements += 1
            if local == "c":
                self._cell()
            elif self.row_elements > MAX_ELEMENTS_IN_ROW:
                raise Refused(self._too_complex(MAX_ELEMENTS_IN_ROW, " in one row"))
            elif local == "row":
                self.in_row += 1
            return
        self.depth += 1
        if self.root is None:
            self.root = local
        if self.whole:
            if self.elements > MAX_WHOLE_PART_ELEMENTS:
                raise Refused(self._too_complex(MAX_WHOLE_PART_ELEMENTS))
            return
        self.beside_rows += 1
        # openpyxl keeps every element beside rows (a shared string too: MAX_SHARED_TEXT_BYTES
        # bounds those).
        if self.beside_rows > MAX_ELEMENTS_BESIDE_ROWS and self.root != "sst":
            raise Refused(self._too_complex(MAX_ELEMENTS_BESIDE_ROWS))
        if local == "row":
            self.in_row, self.row_cells, self.row_elements = 1, 0, 0
            number = attributes.get("r", "")
            if number.isdigit() and int(number) > MAX_ROW_NUMBER:
                raise Refused(
                    f"This spreadsheet names row {int(number):,}, beyond a spreadsheet's "
                    f"last row ({MAX_ROW_NUMBER:,}). {SAVE_AGAIN}"
                )
        elif local == "dimension":
            self._dimension(attributes.get("ref", ""))
        elif local == "c":
            self._cell()

    def _end(self, name: str) -> None:
        self.text = 0
        if self.in_row:
            if self.local.get(name) == "row":
                self.in_row -= 1
                self.depth -= 0 if self.in_row else 1
            return
        self.depth -= 1
        if self.depth == 0:
            self.complete = True  # the root's end: anything after it is not XML

    def _text(self, data: str) -> None:
        self.text += len(data)
        if self.text > MAX_CELL_TEXT and not self.whole:
            raise Refused(
                f"A cell of this spreadsheet holds more than {MAX_CELL_TEXT:,} characters, "
                f"more than a spreadsheet cell can. {SAVE_AGAIN}"
            )

    def _cell(self) -> None:
        self.cells += 1
        self.row_cells += 1
        if self.row_cells > MAX_ROW_CELLS:
            raise Refused(
                f"A row of this spreadsheet holds more than {MAX_ROW_CELLS:,} cells, more "
                f"than a spreadsheet has columns (at most {MAX_COLUMNS} columns are read). "
                f"{SAVE_AGAIN}"
            )
        if self.cells > self.max_cells:
            raise Refused(
                f"This spreadsheet holds more than {self.reading.max_cells:,} cells; "
                f"{self.reading.cells_limit()} are read. Split it, or save it as CSV, and "
                "upload it again."
            )

    def _dimension(self, ref: str) -> None:
        try:
            min_col, min_row, max_col, max_row = range_boundaries(ref.upper())
        except (ValueError, TypeError):
            return  # openpyxl refuses it (damaged)
        if None in (min_col, min_row, max_col, max_row):
            return
        assert min_col and min_row and max_col and max_row
        declared = (max_col - min_col + 1) * (max_row - min_row + 1)
        if declared > self.reading.max_cells:
            raise Refused(
                f"This spreadsheet declares {declared:,} cells ({ref}); "
                f"{self.reading.cells_limit()} are read. Delete the rows and columns "
                "beyond your table (or copy the table into a new sheet) and upload it again."
            )

    def _too_complex(self, limit: int, where: str = "") -> str:
        return (
            f"This spreadsheet is built in a way spreadsheet programs don't write: "
            f"{self.name} holds more than {limit:,} XML elements{where}. {SAVE_AGAIN}"
        )


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
    """A cell's text without surrounding spaces, and without the ' an export puts before
    what would be a formula (cycles/sheets.py, guard)."""
    text = text.strip()[:MAX_CELL] if len(text) > MAX_CELL else text.strip()
    if QUOTED_FORMULA.match(text):
        text = text[1:]
    return text
