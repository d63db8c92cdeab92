"""The limits every uploaded spreadsheet is read within (SPEC §9.2, "Spreadsheets";
core/sheets.py): a file ≤ 10 MB, unpacking to ≤ 50 MB, a declared range and cells ≤ the
import's rows × 30 columns, shared text ≤ 10 MB, 30 s of CPU. Each bomb below is a
400 naming its limit — through the API, the Import page and the reader — in seconds
and within a few hundred MB (measured in a fresh process), and nothing is imported."""

from __future__ import annotations

import io
import json
import os
import random
import re
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import openpyxl
import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile

from core import sheets as core_sheets
from core.sheets import read_table
from cycles.models import ImportJob
from cycles.sheets import MAX_ROWS, read_rows

from ..api.helpers import API, client_for, unchanged
from ..pages.helpers import field_errors, parse
from .imports import EXAMPLE, xlsx

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
ROOT = Path(__file__).resolve().parents[2]
MAIN = b'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'

# -- building workbooks by hand, part by part ---------------------------------------------

CONTENT_TYPES = (
    b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    b'<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    b'<Default Extension="rels" '
    b'ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    b'<Default Extension="xml" ContentType="application/xml"/>'
    b'<Override PartName="/xl/workbook.xml" '
    b'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
    b'<Override PartName="/xl/worksheets/sheet1.xml" '
    b'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
    b'<Override PartName="/xl/styles.xml" '
    b'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>'
    b"%s</Types>"
)
SHARED_TYPE = (
    b'<Override PartName="/%s" ContentType='
    b'"application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/>'
)
PACKAGE_RELS = (
    b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    b'<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    b'<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
    b'relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>'
)
WORKBOOK = (
    b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<workbook ' + MAIN + b" "
    b'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
    b'<sheets><sheet name="Sheet1" sheetId="1" r:id="rId1"/>%s</sheets></workbook>'
)
WORKBOOK_RELS = (
    b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    b'<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    b'<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
    b'relationships/worksheet" Target="worksheets/sheet1.xml"/>'
    b'<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
    b'relationships/styles" Target="styles.xml"/>%s</Relationships>'
)
SECOND_SHEET = (
    b'<sheet name="Sheet2" sheetId="2" r:id="rId4"/>',
    b'<Relationship Id="rId4" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
    b'relationships/worksheet" Target="worksheets/sheet2.xml"/>',
)
SHARED_REL = (
    b'<Relationship Id="rId3" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
    b'relationships/sharedStrings" Target="%s"/>'
)
STYLES = (
    b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<styleSheet ' + MAIN + b">"
    b'<fonts count="1"><font><sz val="11"/><name val="Calibri"/></font></fonts>'
    b'<fills count="1"><fill><patternFill patternType="none"/></fill></fills>'
    b'<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
    b'<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/>'
    b'</cellStyleXfs><cellXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"'
    b' xfId="0"/></cellXfs><cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/>'
    b"</cellStyles></styleSheet>"
)
SHEET_START = b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<worksheet ' + MAIN + b">"
HEADER_ROW = b'<row r="1"><c r="A1" t="inlineStr"><is><t>Strategic goal</t></is></c></row>'


def workbook(
    sheet: bytes | None = None,
    shared: bytes | None = None,
    shared_name: str = "xl/sharedStrings.xml",
    styles: bytes = STYLES,
    second: bytes | None = None,
) -> bytes:
    """An XLSX written part by part, as a spreadsheet program writes one: `sheet` is the
    worksheet part (by default the header row), `shared` the shared strings part, `second`
    a second sheet's."""
    if sheet is None:
        sheet = SHEET_START + b"<sheetData>" + HEADER_ROW + b"</sheetData></worksheet>"
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        typed = SHARED_TYPE % shared_name.encode() if shared is not None else b""
        related = b""
        if shared is not None:
            related = SHARED_REL % shared_name.split("/", 1)[1].encode()
        archive.writestr("[Content_Types].xml", CONTENT_TYPES % typed)
        archive.writestr("_rels/.rels", PACKAGE_RELS)
        sheet2, rel2 = SECOND_SHEET if second is not None else (b"", b"")
        archive.writestr("xl/workbook.xml", WORKBOOK % sheet2)
        archive.writestr("xl/_rels/workbook.xml.rels", WORKBOOK_RELS % (related + rel2))
        archive.writestr("xl/styles.xml", styles)
        archive.writestr("xl/worksheets/sheet1.xml", sheet)
        if shared is not None:
            archive.writestr(shared_name, shared)
        if second is not None:
            archive.writestr("xl/worksheets/sheet2.xml", second)
    return out.getvalue()


def sheet_of(rows: bytes, before: bytes = b"") -> bytes:
    return SHEET_START + before + b"<sheetData>" + rows + b"</sheetData></worksheet>"


# -- the three bombs ---------------------------------------------------------------------


def dimension_bomb() -> bytes:
    """~1.8 KB: a sheet declaring the whole grid, A1:XFD1048576, with a cell in its far
    corner."""
    far = b'<row r="1048576"><c r="XFD1048576"><v>1</v></c></row>'
    return workbook(sheet_of(HEADER_ROW + far, before=b'<dimension ref="A1:XFD1048576"/>'))


def wide_row_bomb() -> bytes:
    """~334 KB: one row of 3,000,000 cells (empty ones and ones holding 1, mixed so that
    it packs like a real sheet, ~45 times)."""
    pick = random.Random(7)
    block = b"".join(
        b"<c><v>1</v></c>" if pick.random() > 0.915 else b"<c/>" for _ in range(100_000)
    )
    return workbook(sheet_of(b'<row r="1">' + block * 30 + b"</row>"))


def shared_string_bomb() -> bytes:
    """~300 KB: one shared string of 300,000,000 characters."""
    out = io.BytesIO()
    inner = workbook(shared=b"")  # the other parts, then the big one streamed in
    with (
        zipfile.ZipFile(io.BytesIO(inner)) as source,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive,
    ):
        for info in source.infolist():
            if info.filename != "xl/sharedStrings.xml":
                archive.writestr(info.filename, source.read(info))
        with archive.open("xl/sharedStrings.xml", "w") as part:
            part.write(b'<?xml version="1.0" encoding="UTF-8"?>\n<sst ' + MAIN + b"><si><t>")
            chunk = b"x" * 1_000_000
            for _ in range(300):
                part.write(chunk)
            part.write(b"</t></si></sst>")
    return out.getvalue()


BOMBS = {
    "dimension A1:XFD1048576": (
        dimension_bomb,
        "This spreadsheet declares 17,179,869,184 cells (A1:XFD1048576); at most 600,000 "
        "(20,000 rows × 30 columns) are read.",
    ),
    "a row of 3,000,000 cells": (
        wide_row_bomb,
        "A row of this spreadsheet holds more than 16,384 cells",
    ),
    "a 300 MB shared string": (
        shared_string_bomb,
        "at most 50 MB are read",
    ),
}


@pytest.fixture(scope="module")
def bombs(tmp_path_factory) -> dict[str, Path]:
    """Each bomb, built once, as a file."""
    folder = tmp_path_factory.mktemp("bombs")
    paths = {}
    for name, (build, _message) in BOMBS.items():
        paths[name] = folder / f"{len(paths)}.xlsx"
        paths[name].write_bytes(build())
    return paths


def test_the_bombs_are_built_as_described(bombs):
    sizes = {name: path.stat().st_size for name, path in bombs.items()}
    assert 1_500 < sizes["dimension A1:XFD1048576"] < 2_500
    assert 300_000 < sizes["a row of 3,000,000 cells"] < 370_000
    assert 250_000 < sizes["a 300 MB shared string"] < 350_000
    with zipfile.ZipFile(bombs["a row of 3,000,000 cells"]) as archive:
        assert archive.read("xl/worksheets/sheet1.xml").count(b"<c") == 3_000_000
    with zipfile.ZipFile(bombs["a 300 MB shared string"]) as archive:
        assert archive.getinfo("xl/sharedStrings.xml").file_size > 300_000_000


# -- measured in a fresh process: each bomb, through the API, in < 5 s and < 300 MB ------

# Sets Django up on an in-memory database, makes a leader and a cycle, then sends each
# file to the import's dry run exactly as a client would (the API's parser, the reader,
# the plan) and reports the answer, the time and the process's peak memory (VmHWM, set
# back to the current use before each file).
CHILD = r"""
import json, os, sys, time

os.environ["DJANGO_SETTINGS_MODULE"] = "cascade.settings"
os.environ["DATABASE_URL"] = "sqlite://:memory:"
from django.conf import settings


class NoMigrations:  # the tables straight from the models: a second, not ten
    def __contains__(self, app):
        return True

    def __getitem__(self, app):
        return None


settings.MIGRATION_MODULES = NoMigrations()
import django

django.setup()
from django.test.utils import setup_test_environment

setup_test_environment()
from django.core.management import call_command

call_command("migrate", run_syncdb=True, verbosity=0)
from tests.api.helpers import client_for
from tests.factories import CycleFactory, DepartmentFactory, MemberFactory, OrganizationFactory

org = OrganizationFactory(name="Acme")
DepartmentFactory(organization=org, name="Customer Support")
MemberFactory(organization=org, user__username="sam")
client = client_for(MemberFactory(organization=org, role="leader"))
cycle = CycleFactory(organization=org)


def peak_mb():
    with open("/proc/self/status") as status:
        line = next(line for line in status if line.startswith("VmHWM:"))
    return int(line.split()[1]) / 1024


answers = {}
for name, path, media_type in json.loads(sys.argv[1]):
    with open(path, "rb") as file:
        body = file.read()
    with open("/proc/self/clear_refs", "w") as clear:
        clear.write("5")  # VmHWM starts again from what the process holds now
    started = time.monotonic()
    response = client.post(
        f"/api/v1/cycles/{cycle.pk}/import/?dry_run=true", body, content_type=media_type
    )
    answers[name] = {
        "status": response.status_code,
        "body": response.json(),
        "seconds": time.monotonic() - started,
        "peak_mb": peak_mb(),
    }
print(json.dumps(answers))
"""


def test_each_bomb_is_a_400_within_5_seconds_and_300_mb_in_a_fresh_process(bombs, tmp_path):
    benign = tmp_path / "example.xlsx"
    benign.write_bytes(xlsx(EXAMPLE))
    blank_lines = tmp_path / "blank.csv"
    blank_lines.write_bytes(b"\n" * core_sheets.MAX_FILE_BYTES)  # 10 MB of empty rows
    files = [(name, str(path), XLSX_TYPE) for name, path in bombs.items()]
    files += [("example", str(benign), XLSX_TYPE), ("blank lines", str(blank_lines), "text/csv")]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("DATABASE_URL", None)
    child = subprocess.run(
        [sys.executable, "-c", CHILD, json.dumps(files)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert child.returncode == 0, child.stderr[-3000:]
    answers = json.loads(child.stdout.strip().splitlines()[-1])
    for name, (_build, message) in BOMBS.items():
        answer = answers[name]
        print(f"{name}: {answer['seconds']:.2f} s, VmHWM {answer['peak_mb']:.0f} MB")
        assert answer["status"] == 400, (name, answer)
        assert message in answer["body"]["file"][0], (name, answer)
        assert answer["seconds"] < 5, (name, answer)
        assert answer["peak_mb"] < 300, (name, answer)
    # The same process reads and plans a real file: the limits are what refused the bombs.
    assert answers["example"]["status"] == 200, answers["example"]
    assert answers["example"]["body"]["totals"]["create"] > 0
    assert answers["blank lines"]["status"] == 400
    assert "more than 1,048,576 lines" in answers["blank lines"]["body"]["file"][0]
    assert answers["blank lines"]["seconds"] < 5 and answers["blank lines"]["peak_mb"] < 300


# -- each bomb through the API and the Import page: a 400 naming the limit, no change -----


@pytest.mark.django_db
@pytest.mark.parametrize("name", BOMBS)
@pytest.mark.parametrize("dry_run", ["?dry_run=true", ""])
def test_each_bomb_is_refused_by_the_api_naming_its_limit_and_nothing_changes(
    acme, bombs, name, dry_run
):
    client = client_for(acme.leader)
    url = f"{API}/cycles/{acme.cycle.pk}/import/{dry_run}"
    with unchanged():
        response = client.post(url, bombs[name].read_bytes(), content_type=XLSX_TYPE)
    assert response.status_code == 400, response.content
    assert BOMBS[name][1] in response.json()["file"][0]


@pytest.mark.django_db
@pytest.mark.parametrize("name", BOMBS)
def test_each_bomb_is_refused_by_the_import_page_naming_its_limit_and_no_job_is_kept(
    client, acme, bombs, name
):
    client.force_login(acme.leader.user)
    upload = SimpleUploadedFile("plan.xlsx", bombs[name].read_bytes())
    with unchanged():
        response = client.post(f"/cycles/{acme.cycle.pk}/import/", {"file": upload})
    assert response.status_code == 400
    assert BOMBS[name][1] in " ".join(field_errors(parse(response), "id_file").split())
    assert not ImportJob.objects.exists()


# -- the other limits, at the reader -----------------------------------------------------


def refusal(content: bytes, fmt: str = "xlsx", max_rows: int = MAX_ROWS) -> str:
    """The one message reading `content` is refused with (within a second or two)."""
    started = time.monotonic()
    with pytest.raises(ValidationError) as refused:
        read_table(content, fmt, max_rows=max_rows)
    assert time.monotonic() - started < 5
    (message,) = refused.value.message_dict["file"]
    return message


def packed(members: dict[str, bytes], method: int = zipfile.ZIP_DEFLATED) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", method) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return out.getvalue()


def test_openpyxl_parses_through_defusedxml():
    assert openpyxl.DEFUSEDXML


def test_a_file_over_10_mb_is_refused_before_it_is_opened():
    message = refusal(b"PK\x03\x04" + b"\x00" * (10 * 1024 * 1024))
    assert message == "The file is larger than 10 MB: split it into smaller files."


def test_a_zip_bomb_is_refused_by_how_tightly_it_is_packed():
    bomb = workbook(shared=b"<sst " + MAIN + b"><si><t>" + b"0" * 20_000_000 + b"</t></si></sst>")
    assert len(bomb) < 100_000
    message = refusal(bomb)
    assert "packed tighter than spreadsheet programs pack" in message
    assert "xl/sharedStrings.xml unpacks to 1,0" in message and "at most 100 times" in message


def test_more_than_50_mb_unpacked_is_refused_before_unpacking():
    pick = random.Random(3)
    block = b"".join(b"<c/>" if pick.random() < 0.9 else b"<c><v>1</v></c>" for _ in range(10**5))
    blob = block * 110  # ~56 MB, packed ~45 times: each member looks ordinary
    content = packed({"xl/media/a.bin": blob[: len(blob) // 2], "xl/media/b.bin": blob[1:]})
    assert len(content) < 10 * 1024 * 1024
    message = refusal(content)
    assert re.match(r"This spreadsheet unpacks to [5-9]\d MB; at most 50 MB are read", message)


def test_a_member_is_read_no_further_than_its_declared_size():
    """The archive may understate a member: reading stops at the declared size (and the
    member then fails its checksum), whatever follows."""
    sheet = sheet_of(HEADER_ROW + b"<row><c><v>1</v></c></row>" * 200_000)
    content = bytearray(workbook(sheet))
    name = b"xl/worksheets/sheet1.xml"
    with zipfile.ZipFile(io.BytesIO(bytes(content))) as archive:
        local = archive.getinfo(name.decode()).header_offset
    central = next(
        found.start()
        for found in re.finditer(b"PK\x01\x02", content)
        if content[found.start() + 46 :].startswith(name)
    )
    for at in (local + 22, central + 24):  # the unpacked size, in both headers
        content[at : at + 4] = (2_000).to_bytes(4, "little")
    assert refusal(bytes(content)) == core_sheets.DAMAGED


def test_more_than_10_mb_of_shared_text_is_refused_before_and_while_streaming():
    pick = random.Random(5)
    words = [f"<si><t>{pick.randbytes(2_750).hex()}</t></si>".encode() for _ in range(2_000)]
    text = b"<sst " + MAIN + b">" + b"".join(words) + b"</sst>"  # ~11 MB, packed ~2 times
    assert 10 * 1024 * 1024 < len(text) < 50 * 1024 * 1024
    # Named as usual: refused by its declared size, before parsing.
    assert "at most 10 MB are read" in refusal(workbook(shared=text))
    # Named otherwise (the content types say where it is): refused once 10 MB are read.
    message = refusal(workbook(shared=text, shared_name="xl/words.xml"))
    assert message.startswith("This spreadsheet's text (its shared strings) takes more than")
    assert "at most 10 MB are read" in message


def test_the_cells_of_a_sheet_are_at_most_the_rows_times_30_columns():
    rows = b"".join(b"<row>" + b"<c><v>1</v></c>" * 30 + b"</row>" for _ in range(101))
    assert refusal(workbook(sheet_of(rows)), max_rows=100) == (
        "This spreadsheet holds more than 3,000 cells; at most 3,000 (100 rows × 30 "
        "columns) are read. Split it, or save it as CSV, and upload it again."
    )
    assert "declares 3,030 cells (A1:AD101); at most 3,000 (100 rows" in refusal(
        workbook(sheet_of(HEADER_ROW, before=b'<dimension ref="A1:AD101"/>')), max_rows=100
    )


def test_the_cells_of_all_sheets_count_together():
    rows = b"".join(b"<row>" + b"<c><v>1</v></c>" * 20 + b"</row>" for _ in range(80))
    one = workbook(sheet_of(HEADER_ROW + rows))  # 1,601 cells
    assert len(read_table(one, "xlsx", max_rows=100)) == 81
    message = refusal(workbook(sheet_of(HEADER_ROW + rows), second=sheet_of(rows)), max_rows=100)
    assert message.startswith("This spreadsheet holds more than 3,000 cells")


def test_a_cell_in_a_spreadsheets_last_row_reads_in_a_moment():
    far = b'<row r="1048576"><c r="A1048576" t="inlineStr"><is><t>S</t></is></c></row>'
    started = time.monotonic()
    assert read_rows(workbook(sheet_of(HEADER_ROW + far)), "xlsx") == [
        (1_048_576, {"Strategic goal": "S"})
    ]
    assert time.monotonic() - started < 5


def test_a_row_beyond_the_last_a_spreadsheet_has_is_refused():
    far = b'<row r="99999999999"><c r="A99999999999"><v>1</v></c></row>'
    assert "names row 99,999,999,999" in refusal(workbook(sheet_of(HEADER_ROW + far)))


def test_a_cell_longer_than_a_spreadsheet_cell_is_refused():
    cell = b'<row><c t="inlineStr"><is><t>' + b"y" * 40_000 + b"</t></is></c></row>"
    assert "more than 32,767 characters" in refusal(workbook(sheet_of(HEADER_ROW + cell)))


def test_elements_openpyxl_would_keep_are_counted():
    row = b"<row><c><v>1</v></c>" + b"<x/>" * 70_000 + b"</row>"
    assert "holds more than 65,536 XML elements in one row" in refusal(
        workbook(sheet_of(HEADER_ROW + row))
    )
    styles = b"<styleSheet " + MAIN + b"><numFmts>" + b"<x/>" * 100_001 + b"</numFmts></styleSheet>"
    assert "xl/styles.xml holds more than 100,000 XML elements" in refusal(workbook(styles=styles))
    rows = b"<row><c><v>1</v></c>" + b"<x/>" * 59 + b"</row>"  # 62 elements a row
    assert "holds more than 18,000 XML elements" in refusal(  # 100 rows × 30 columns × 6
        workbook(sheet_of(HEADER_ROW + rows * 300)), max_rows=100
    )


@pytest.mark.parametrize(
    "entities",
    [
        b'<!DOCTYPE lol [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]>',
        b'<!DOCTYPE x [<!ENTITY file SYSTEM "file:///etc/passwd">]>',
    ],
    ids=["billion laughs", "external entity"],
)
def test_xml_with_a_document_type_is_refused(entities):
    sheet = SHEET_START.replace(b"<worksheet", entities + b"<worksheet")
    assert refusal(workbook(sheet + b"<sheetData/></worksheet>")) == core_sheets.DOCTYPE


def test_an_old_or_password_protected_workbook_is_refused_with_what_to_do():
    ole = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 600
    assert refusal(ole) == core_sheets.PROTECTED
    assert refusal(ole, fmt="csv") == (
        "This is not a CSV file (it holds binary data). Upload CSV or XLSX."
    )
    flagged = bytearray(xlsx(EXAMPLE))
    at = flagged.index(b"PK\x01\x02") + 8  # the first member's flags: encrypted
    flagged[at] |= 0x1
    assert refusal(bytes(flagged)) == core_sheets.PROTECTED


def test_an_archive_of_too_many_files_is_refused():
    content = packed({f"xl/media/{n}.png": b"" for n in range(1_001)}, zipfile.ZIP_STORED)
    assert "packs 1,001 files; at most 1,000 are read" in refusal(content)


@pytest.mark.django_db
@pytest.mark.parametrize("content", [b"Strategic goal\nS\n", b"\x89PNG\r\n\x1a\n" + b"\x00" * 99])
def test_a_file_named_xlsx_that_is_not_one_is_refused_as_such(client, acme, content):
    client.force_login(acme.leader.user)
    upload = SimpleUploadedFile("plan.xlsx", content)
    response = client.post(f"/cycles/{acme.cycle.pk}/import/", {"file": upload})
    assert response.status_code == 400
    assert "This is not an XLSX file (an XLSX file is a ZIP archive)" in field_errors(
        parse(response), "id_file"
    )
    api = client_for(acme.leader).post(
        f"{API}/cycles/{acme.cycle.pk}/import/?dry_run=true", content, content_type=XLSX_TYPE
    )
    assert api.status_code == 400
    assert api.json() == {"file": [core_sheets.NOT_XLSX]}
    assert not ImportJob.objects.exists()


def test_reading_stops_after_30_seconds_of_cpu(monkeypatch):
    monkeypatch.setattr(core_sheets, "MAX_CPU_SECONDS", 0.0)
    assert "took more than 0 seconds of computing time" in refusal(xlsx(EXAMPLE))


# -- what stays as it was ----------------------------------------------------------------


def test_a_workbook_with_prefixed_names_and_text_beyond_column_30_reads():
    sheet = (
        b'<?xml version="1.0"?>\n<x:worksheet xmlns:x="http://schemas.openxmlformats.org/'
        b'spreadsheetml/2006/main"><x:dimension ref="A1:AH3"/><x:sheetData>'
        b'<x:row r="1"><x:c r="A1" t="inlineStr"><x:is><x:t>Strategic goal</x:t></x:is></x:c>'
        b'<x:c r="B1" t="inlineStr"><x:is><x:t>Due</x:t></x:is></x:c></x:row>'
        b'<x:row r="3"><x:c r="A3" t="inlineStr"><x:is><x:t> S </x:t></x:is></x:c>'
        b'<x:c r="AH3" t="inlineStr"><x:is><x:t>a note beyond column 30</x:t></x:is></x:c>'
        b"</x:row></x:sheetData></x:worksheet>"
    )
    assert read_rows(workbook(sheet), "xlsx") == [(3, {"Strategic goal": "S"})]


def test_the_largest_import_still_reads():
    lines = ["Strategic goal,Department goal,Department"]
    lines += [f"Objective {n % 5},Goal {n},Marketing" for n in range(MAX_ROWS)]
    assert len(read_rows("\n".join(lines).encode(), "csv")) == MAX_ROWS
    with pytest.raises(ValidationError, match="more than 20,000 rows"):
        read_rows("\n".join([*lines, "S,D,Marketing"]).encode(), "csv")
