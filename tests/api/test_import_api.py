"""Issue 17 in the API: `POST cycles/{id}/import/` takes a spreadsheet as the body
(CSV or XLSX, the one exception to JSON-only), previews with `?dry_run=true`, imports
all rows or none; `GET cycles/{id}/export/?format=csv|xlsx` gives the file."""

from __future__ import annotations

import csv
import io

import openpyxl
import pytest
from drf_spectacular.generators import SchemaGenerator
from rest_framework.test import APIClient

from cycles.services import cycle_set_state
from goals.models import Goal

from ..cycles.imports import EXAMPLE, xlsx
from ..factories import DepartmentFactory, MemberFactory
from .helpers import API, client_for, unchanged

pytestmark = pytest.mark.django_db

CSV_TYPE = "text/csv"
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@pytest.fixture
def innovation(acme):
    DepartmentFactory(organization=acme.org, name="Innovation")
    MemberFactory(organization=acme.org, user__username="ivy")
    return acme


def post(client, cycle, body, content_type=CSV_TYPE, query=""):
    body = body.encode() if isinstance(body, str) else body
    return client.post(f"{API}/cycles/{cycle.pk}/import/{query}", body, content_type=content_type)


def test_a_dry_run_previews_every_row_and_writes_nothing(innovation):
    acme = innovation
    with unchanged():
        response = post(client_for(acme.leader), acme.cycle, EXAMPLE, query="?dry_run=true")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["totals"]["create"] == 9 and body["totals"]["errors"] == 0
    first = body["rows"][0]
    assert first["row"] == 2
    assert [a["action"] for a in first["actions"]] == ["create"] * 3
    assert first["tree"]["ok"] is True
    assert first["smart"]["measurable"]["ok"] is True  # the individual KPI: a KPI, 0 → 100 %
    assert first["errors"] == {}
    assert body["individual_kpi"]["applied"] == "kpi"  # the default (test_import_article_api)


@pytest.mark.parametrize("fmt", ["csv", "xlsx", "xlsx sent as text/csv"])
def test_an_import_creates_the_tree_and_answers_201_with_the_totals(innovation, fmt):
    acme = innovation
    body, media = {
        "csv": (EXAMPLE, CSV_TYPE),
        "xlsx": (xlsx(EXAMPLE), XLSX_TYPE),
        # A generated client may send any file as text/csv: a workbook is read as one.
        "xlsx sent as text/csv": (xlsx(EXAMPLE), CSV_TYPE),
    }[fmt]
    response = post(client_for(acme.admin), acme.cycle, body, media)
    assert response.status_code == 201, response.content
    assert response.json()["totals"]["goals_created"] == 6  # and a KPI on each department goal
    assert response.json()["totals"]["kpis_created"] == 3
    assert response["Location"].endswith(f"{API}/goals/?cycle={acme.cycle.pk}")
    assert Goal.objects.filter(cycle=acme.cycle).count() == 6

    again = post(client_for(acme.admin), acme.cycle, body, media)
    assert again.status_code == 201
    assert again.json()["totals"]["create"] == 0
    assert again.json()["totals"]["unchanged"] == 9


def test_a_file_with_errors_is_a_400_by_row_and_column_and_writes_nothing(acme):
    text = EXAMPLE.replace(",lee", ",nobody")  # row 3: Marketing's individual goal
    with unchanged():
        response = post(client_for(acme.leader), acme.cycle, text)
    assert response.status_code == 400
    errors = response.json()["rows"]
    assert set(errors) == {"3", "4"}  # and row 4: no department Innovation, nor ivy
    assert "No active member" in errors["3"]["Owner"][0]
    assert "Department" in errors["4"]


@pytest.mark.parametrize(
    "body, content_type",
    [
        (b'{"rows": []}', "application/json"),
        (b"Strategic goal\nS\n", "text/plain"),
        (b"Strategic goal\nS\n", "application/octet-stream"),
        (b"", "application/json"),
    ],
)
def test_other_media_types_are_a_415_and_change_nothing(acme, body, content_type):
    with unchanged():
        response = post(client_for(acme.leader), acme.cycle, body, content_type)
    assert response.status_code == 415, response.content
    assert "detail" in response.json()


def test_a_multipart_upload_is_a_415(acme):
    with unchanged():
        response = client_for(acme.leader).post(
            f"{API}/cycles/{acme.cycle.pk}/import/",
            {"file": io.BytesIO(b"Strategic goal\nS\n")},
            format="multipart",
        )
    assert response.status_code == 415


@pytest.mark.parametrize(
    "body, content_type",
    [
        (b"", CSV_TYPE),
        (bytes(range(256)) * 8, CSV_TYPE),
        (b"\xff\xfe\x00S\x00", CSV_TYPE),
        (b"Strategic goal,Colour\nS,red\n", CSV_TYPE),
        (b"Strategic goal\nS\n", XLSX_TYPE),
        (b"PK\x03\x04junk", XLSX_TYPE),
        (b"=cmd|' /C calc'!A0\n", CSV_TYPE),
    ],
)
def test_junk_files_are_a_400_with_a_clear_message_never_a_500(acme, body, content_type):
    with unchanged():
        response = post(client_for(acme.leader), acme.cycle, body, content_type)
    assert response.status_code == 400, response.content
    assert response.json()["file"][0]


def test_ten_thousand_rows_import_in_the_request(acme):
    lines = ["Strategic goal,Department goal,Department,KPI,Unit,Baseline,Target"]
    lines += [f"Objective {n % 5},Goal {n},Marketing,KPI {n},%,0,10" for n in range(10_000)]
    response = post(client_for(acme.leader), acme.cycle, "\n".join(lines))
    assert response.status_code == 201, response.content[:300]
    assert response.json()["totals"]["create"] == 5 + 2 * 10_000
    assert Goal.objects.filter(cycle=acme.cycle).count() == 10_005


def test_a_bad_dry_run_flag_is_a_400(acme):
    response = post(client_for(acme.leader), acme.cycle, EXAMPLE, query="?dry_run=maybe")
    assert response.status_code == 400
    assert "dry_run" in response.json()


@pytest.mark.parametrize("who", ["member", "manager", "reviewer"])
def test_only_leaders_and_admins_import_through_the_api(acme, who):
    actor = getattr(acme, who)
    for query in ("", "?dry_run=true"):
        with unchanged():
            response = post(client_for(actor), acme.cycle, EXAMPLE, query=query)
        assert response.status_code == 403


def test_another_organizations_cycle_is_a_404(acme, outsider):
    with unchanged():
        response = post(client_for(acme.leader), outsider.cycle, EXAMPLE)
    assert response.status_code == 404
    assert client_for(acme.leader).get(f"{API}/cycles/{outsider.cycle.pk}/export/").status_code == (
        404
    )


def test_anonymous_callers_get_401(acme):
    with unchanged():
        response = post(APIClient(), acme.cycle, EXAMPLE)
    assert response.status_code == 401
    assert APIClient().get(f"{API}/cycles/{acme.cycle.pk}/export/").status_code == 401


def test_a_closed_cycle_refuses_the_import_with_a_409(acme):
    cycle_set_state(actor=acme.admin, cycle=acme.cycle, state="closed")
    with unchanged():
        response = post(client_for(acme.leader), acme.cycle, EXAMPLE)
    assert response.status_code == 409
    assert "closed" in str(response.json())


def test_the_export_is_a_csv_download_by_default_for_any_member(acme, tree):
    response = client_for(acme.member).get(f"{API}/cycles/{acme.cycle.pk}/export/")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="cascade-2027.csv"'
    rows = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert {row["KPI"] for row in rows} == {
        "Customer satisfaction score",
        "First response time",
        "Average ticket resolution time",
    }


def test_the_export_as_xlsx(acme, tree):
    response = client_for(acme.reviewer).get(f"{API}/cycles/{acme.cycle.pk}/export/?format=xlsx")
    assert response.status_code == 200
    assert response["Content-Type"] == XLSX_TYPE
    assert response["Content-Disposition"].endswith('filename="cascade-2027.xlsx"')
    sheet = openpyxl.load_workbook(io.BytesIO(response.content)).active
    assert sheet["A1"].value == "Strategic goal"
    assert sheet.max_row == 4


def test_an_unknown_export_format_is_a_400(acme):
    response = client_for(acme.member).get(f"{API}/cycles/{acme.cycle.pk}/export/?format=pdf")
    assert response.status_code == 400
    assert "format" in response.json()


def test_the_schema_documents_the_spreadsheet_bodies_and_downloads():
    schema = SchemaGenerator().get_schema(request=None, public=True)
    imported = schema["paths"][f"{API}/cycles/{{id}}/import/"]["post"]
    assert set(imported["requestBody"]["content"]) == {CSV_TYPE, XLSX_TYPE}
    assert {"200", "201", "400", "403", "404", "409", "415"} <= set(imported["responses"])
    exported = schema["paths"][f"{API}/cycles/{{id}}/export/"]["get"]
    assert set(exported["responses"]["200"]["content"]) == {"text/csv; charset=utf-8", XLSX_TYPE}
