"""Import and export in the pages: /cycles/ID/import/ (leaders and admins) reads a
file into a preview — every row with what it does, its verdicts and its errors per
cell — and imports it only when confirmed; /cycles/ID/export/ gives any member the
file."""

from __future__ import annotations

import csv
import datetime as dt
import io

import openpyxl
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from cycles.models import ImportJob
from cycles.services import cycle_set_state
from cycles.sheets import COLUMNS, EMPTY_FILE
from goals.models import Goal

from ..api.helpers import API, client_for
from ..cycles.imports import EXAMPLE, xlsx
from ..factories import DepartmentFactory, MemberFactory
from .helpers import HTMX, field_errors, parse, snapshot

pytestmark = pytest.mark.django_db


@pytest.fixture
def innovation(acme):
    DepartmentFactory(organization=acme.org, name="Innovation")
    MemberFactory(organization=acme.org, user__username="ivy")
    return acme


def signed_in(client, member):
    client.force_login(member.user)
    return client


def upload(client, cycle, content, name="cascade.csv"):
    content = content.encode() if isinstance(content, str) else content
    return client.post(f"/cycles/{cycle.pk}/import/", {"file": SimpleUploadedFile(name, content)})


def test_the_cycles_page_links_import_export_and_the_templates(client, acme):
    page = signed_in(client, acme.leader).get("/cycles/").content.decode()
    assert f'href="/cycles/{acme.cycle.pk}/import/"' in page
    assert f'href="/cycles/{acme.cycle.pk}/export/?format=csv"' in page
    assert f'href="/cycles/{acme.cycle.pk}/export/?format=xlsx"' in page
    assert 'href="/cycles/template/?format=xlsx"' in page


def test_the_upload_previews_every_row_and_writes_nothing_until_confirmed(client, innovation):
    acme = innovation
    signed_in(client, acme.leader)
    before = snapshot()

    response = upload(client, acme.cycle, EXAMPLE)

    assert response.status_code == 302
    job = ImportJob.objects.get()
    assert response["Location"] == f"/cycles/{acme.cycle.pk}/import/{job.pk}/"
    assert snapshot() == before
    page = parse(client.get(response["Location"]))
    text = page.text
    assert "9 to create" in " ".join(text.split())
    for row in (2, 3, 4):
        assert page.find(id=f"import-row-{row}") is not None
    assert "Submit 2 ideas per quarter" in text
    assert "counts how far it is done" in text  # each individual KPI a KPI, 0 → 100 %
    assert "each goal sits below a higher level" in text
    assert "Import 3 rows" in text

    confirmed = client.post(f"/cycles/{acme.cycle.pk}/import/{job.pk}/confirm/")

    assert confirmed.status_code == 302
    assert Goal.objects.filter(cycle=acme.cycle).count() == 6
    done = client.get(confirmed["Location"]).content.decode()
    assert "6 goals and 3 KPIs created" in done
    assert f"/cascade/?cycle={acme.cycle.pk}" in done


def test_confirming_in_place_answers_with_the_result(client, innovation):
    acme = innovation
    signed_in(client, acme.leader)
    upload(client, acme.cycle, xlsx(EXAMPLE), name="cascade.xlsx")
    job = ImportJob.objects.get()
    assert job.format == "xlsx"

    response = client.post(f"/cycles/{acme.cycle.pk}/import/{job.pk}/confirm/", headers=HTMX)

    assert response.status_code == 200
    body = response.content.decode()
    assert body.lstrip().startswith('<div id="job-state">')
    assert "6 goals and 3 KPIs created" in body


def test_errors_are_shown_in_their_cells_and_nothing_can_be_imported(client, acme):
    signed_in(client, acme.leader)
    before = snapshot()
    upload(client, acme.cycle, EXAMPLE.replace(",lee", ",nobody"))
    job = ImportJob.objects.get()

    page = parse(client.get(f"/cycles/{acme.cycle.pk}/import/{job.pk}/"))

    row = page.find(id="import-row-3")
    assert "has-error" in row.classes
    assert "No active member of the organization" in row.text
    assert "Import 3 rows" not in page.text
    assert "Fix them in the file" in page.text
    refused = client.post(f"/cycles/{acme.cycle.pk}/import/{job.pk}/confirm/")
    assert refused.status_code == 302
    assert snapshot() == before


def test_the_progress_piece_is_the_jobs_state_alone(client, innovation):
    acme = innovation
    signed_in(client, acme.leader)
    upload(client, acme.cycle, EXAMPLE)
    job = ImportJob.objects.get()
    piece = client.get(f"/cycles/{acme.cycle.pk}/import/{job.pk}/", headers=HTMX)
    body = piece.content.decode().strip()
    assert body.startswith('<div id="job-state">')  # finished: no polling any more
    assert "hx-trigger" not in body
    ImportJob.objects.filter(pk=job.pk).update(state="planning", done=1)
    polling = client.get(f"/cycles/{acme.cycle.pk}/import/{job.pk}/", headers=HTMX)
    body = polling.content.decode()
    assert 'hx-trigger="every 1s"' in body
    assert 'max="3" value="1"' in body


def test_a_job_no_worker_takes_says_the_worker_may_be_down(client, innovation):
    """Redis up but no worker: after half a minute the page says so instead of spinning
    in silence (and keeps following the job, which starts once a worker is back)."""
    acme = innovation
    signed_in(client, acme.leader)
    upload(client, acme.cycle, EXAMPLE)
    job = ImportJob.objects.get()
    ImportJob.objects.filter(pk=job.pk).update(state="queued", done=0)
    url = f"/cycles/{acme.cycle.pk}/import/{job.pk}/"
    assert "may be down" not in client.get(url, headers=HTMX).content.decode()
    ImportJob.objects.filter(pk=job.pk).update(created_at=timezone.now() - dt.timedelta(minutes=2))
    body = client.get(url, headers=HTMX).content.decode()
    assert "No background worker has picked this file up yet (queued 2" in body
    assert "the worker may be down" in body and 'hx-trigger="every 1s"' in body


@pytest.mark.parametrize(
    "content",
    [b"", bytes(range(256)) * 4, b"Colour\nred\n", b"PK\x03\x04broken"],
    ids=["empty", "binary", "unknown headers", "broken xlsx"],
)
def test_a_file_that_cannot_be_read_is_a_message_in_the_form(client, acme, content):
    signed_in(client, acme.leader)
    before = snapshot()
    response = upload(client, acme.cycle, content)
    assert response.status_code == 400
    assert 'class="field-error"' in response.content.decode()
    assert snapshot() == before
    assert not ImportJob.objects.exists()


def test_an_empty_file_is_said_as_the_api_says_it(client, acme):
    signed_in(client, acme.leader)
    response = upload(client, acme.cycle, b"")
    answer = client_for(acme.leader).post(
        f"{API}/cycles/{acme.cycle.pk}/import/", b"", content_type="text/csv"
    )
    assert response.status_code == answer.status_code == 400
    assert answer.json() == {"file": [EMPTY_FILE]}
    assert EMPTY_FILE in field_errors(parse(response), "id_file")


def test_a_closed_cycle_refuses_the_upload(client, acme):
    cycle_set_state(actor=acme.admin, cycle=acme.cycle, state="closed")
    signed_in(client, acme.leader)
    response = upload(client, acme.cycle, EXAMPLE)
    assert response.status_code == 409
    assert "closed" in response.content.decode()


@pytest.mark.parametrize("who", ["member", "manager", "reviewer"])
def test_only_leaders_and_admins_reach_the_import(client, innovation, who):
    acme = innovation
    signed_in(client, acme.leader)
    upload(client, acme.cycle, EXAMPLE)
    job = ImportJob.objects.get()
    signed_in(client, getattr(acme, who))
    before = snapshot()
    base = f"/cycles/{acme.cycle.pk}/import/"
    assert client.get(base).status_code == 403
    assert upload(client, acme.cycle, EXAMPLE).status_code == 403
    assert client.get(f"{base}{job.pk}/").status_code == 403
    assert client.post(f"{base}{job.pk}/confirm/").status_code == 403
    assert snapshot() == before
    assert ImportJob.objects.count() == 1


def test_another_organizations_cycle_is_not_found(client, acme, outsider):
    signed_in(client, acme.leader)
    assert client.get(f"/cycles/{outsider.cycle.pk}/import/").status_code == 404
    assert upload(client, outsider.cycle, EXAMPLE).status_code == 404
    assert client.get(f"/cycles/{outsider.cycle.pk}/export/").status_code == 404


def test_anonymous_visitors_are_sent_to_sign_in(client, acme):
    for url in (
        f"/cycles/{acme.cycle.pk}/import/",
        f"/cycles/{acme.cycle.pk}/export/",
        "/cycles/template/",
    ):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith("/accounts/login/")


def test_any_member_exports_the_cycle(client, acme, tree):
    signed_in(client, acme.member)
    response = client.get(f"/cycles/{acme.cycle.pk}/export/?format=csv")
    assert response.status_code == 200
    assert response["Content-Disposition"] == 'attachment; filename="cascade-2027.csv"'
    rows = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert len(rows) == 3
    assert client.get(f"/cycles/{acme.cycle.pk}/export/?format=pdf").status_code == 400


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_the_template_has_the_columns_and_one_example_row(client, acme, fmt):
    signed_in(client, acme.leader)
    response = client.get(f"/cycles/template/?format={fmt}")
    assert response.status_code == 200
    if fmt == "csv":
        rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    else:
        sheet = openpyxl.load_workbook(io.BytesIO(response.content)).active
        rows = [["" if v is None else str(v) for v in r] for r in sheet.iter_rows(values_only=True)]
    assert rows[0] == list(COLUMNS)
    assert len(rows) == 2
    assert rows[1][0] == "Improve customer experience"
