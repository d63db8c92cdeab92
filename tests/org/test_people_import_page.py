"""People in bulk on the People page: an admin uploads a CSV or XLSX of people, reads
the preview (who is added, updated, left as they are; each row's errors by column),
confirms, and reads the summary. Nothing is written before the confirmation; anyone
but an admin is refused and changes nothing."""

from __future__ import annotations

import re

import pytest
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from audit.models import Entry
from core.errors import NOT_FOUND, one_of
from org.models import Member, Role
from org.people_import import COLUMNS, EMPTY_FILE, NO_ROWS
from org.people_import_views import EXPIRED, TOO_LARGE_TO_CONFIRM

from ..api.helpers import unchanged
from ..factories import MemberFactory
from .test_people_import import person, rows_of, xlsx

pytestmark = pytest.mark.django_db

PAGE, CONFIRM, TEMPLATE = "/people/import/", "/people/import/confirm/", "/people/import/template/"
PEOPLE = """email,name,department,role,manager email,external_id
nora@acme.example,Nora Diaz,Customer Support,manager,,E-1
omar@acme.example,Omar Ali,Research,,nora@acme.example,E-2
{sam},,,leader,,
"""
BAD_ROW = """email,name,role
nora@acme.example,Nora Diaz,manager
not-an-email,Omar Ali,boss
"""


def signed_in(member) -> Client:
    client = Client()
    client.force_login(member.user)
    return client


def upload(client: Client, text: str | bytes, name: str = "people.csv", **headers):
    content = text.encode() if isinstance(text, str) else text
    return client.post(PAGE, {"file": SimpleUploadedFile(name, content)}, **headers)


def signed_rows(response) -> str:
    found = re.search(r'name="rows" value="([^"]+)"', response.content.decode())
    assert found, "the preview offers no confirmation"
    return found.group(1)


def people_file(acme) -> str:
    return PEOPLE.format(sam=acme.member.user.email)


def test_the_people_page_offers_the_import_with_its_template(acme):
    html = signed_in(acme.admin).get("/people/").content.decode()
    assert 'id="import-people-h">Import people</h2>' in html
    assert f'action="{PAGE}" enctype="multipart/form-data"' in html
    assert f'href="{TEMPLATE}" download' in html
    assert "Spreadsheet of people" in html


def test_the_template_is_a_csv_of_the_header_row_that_the_import_reads(acme):
    client = signed_in(acme.admin)
    response = client.get(TEMPLATE)
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert 'filename="cascade-people-template.csv"' in response["Content-Disposition"]
    assert response.content.decode("utf-8-sig").splitlines() == [",".join(COLUMNS)]
    refused = upload(client, response.content, "cascade-people-template.csv")
    assert refused.status_code == 400
    assert NO_ROWS in refused.content.decode()


def test_an_upload_previews_who_is_added_updated_and_unchanged_and_writes_nothing(acme):
    text = people_file(acme) + f"{acme.manager.user.email},,,,,\n"
    client = signed_in(acme.admin)
    with unchanged():
        response = upload(client, text)
    assert response.status_code == 200
    html = response.content.decode()
    totals = re.sub(r"\s+", " ", re.search(r'aria-label="Totals">(.*?)</ul>', html, re.S)[1])
    for said in ("<strong>2</strong> to add", "<strong>1</strong> to update"):
        assert said in totals
    assert "<strong>1</strong> unchanged" in totals and "<strong>0</strong> rows with" in totals
    assert "new department: Research" in totals
    omar = re.search(r'<tr id="import-row-3".*?</tr>', html, re.S)[0]
    assert ">add</span>" in omar and "manager: — → nora@acme.example" in omar
    sam = re.search(r'<tr id="import-row-4".*?</tr>', html, re.S)[0]
    assert ">update</span>" in sam and "role: member → leader" in sam
    assert ">unchanged</span>" in re.search(r'<tr id="import-row-5".*?</tr>', html, re.S)[0]
    assert "Import 4 rows" in html
    assert not Entry.objects.filter(action="people.imported").exists()


def test_row_errors_show_by_row_and_column_and_nothing_can_be_confirmed(acme):
    client = signed_in(acme.admin)
    with unchanged():
        response = upload(client, BAD_ROW)
    assert response.status_code == 200
    html = response.content.decode()
    row = re.search(r'<tr id="import-row-3" class="has-error">.*?</tr>', html, re.S)[0]
    assert 'email: <span class="error">not-an-email</span>' in row
    assert "Enter a valid email address." in row
    assert 'role: <span class="error">boss</span>' in row
    assert one_of(Role.values) in row
    assert 'id="import-row-2"' in html  # the good row, shown too
    assert "1 row of 2 has errors" in html
    assert 'name="rows"' not in html and CONFIRM not in html
    assert 'enctype="multipart/form-data"' in html  # the corrected file goes up from here


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_confirming_imports_every_row_and_shows_the_summary(
    acme, fmt, django_capture_on_commit_callbacks
):
    client = signed_in(acme.admin)
    text = people_file(acme)
    body = text if fmt == "csv" else xlsx(text)
    preview = upload(client, body, f"people.{fmt}")
    assert preview.status_code == 200, preview.content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        done = client.post(CONFIRM, {"rows": signed_rows(preview)})
    assert done.status_code == 200
    html = re.sub(r"\s+", " ", done.content.decode())
    assert f"Imported people.{fmt}: 2 people added, 1 updated, 0 left as they were; " in html
    assert "1 department created." in html
    assert 'href="/people/#people-h">See everyone</a>' in html
    omar = person("omar@acme.example")
    assert omar.department.name == "Research" and omar.manager.user.email == "nora@acme.example"
    assert omar.external_id == "E-2" and omar.role == "member"
    assert Member.objects.get(pk=acme.member.pk).role == "leader"
    assert sorted(m.to[0] for m in mail.outbox) == ["nora@acme.example", "omar@acme.example"]
    everyone = client.get("/people/").content.decode()
    assert "Nora Diaz" in everyone and "Omar Ali" in everyone


def test_confirming_with_htmx_swaps_in_the_summary_alone(acme):
    client = signed_in(acme.admin)
    preview = upload(client, people_file(acme))
    done = client.post(CONFIRM, {"rows": signed_rows(preview)}, headers={"HX-Request": "true"})
    assert done.status_code == 200
    html = done.content.decode()
    assert html.lstrip().startswith('<div id="import-state">') and "<html" not in html
    assert "2 people added" in html


def test_a_tampered_or_another_admins_preview_is_refused_and_changes_nothing(acme):
    client = signed_in(acme.admin)
    signed = signed_rows(upload(client, people_file(acme)))
    other_admin = signed_in(
        MemberFactory(organization=acme.org, role="admin", user__username="ava")
    )
    with unchanged():
        tampered = client.post(CONFIRM, {"rows": signed[:-3] + "abc"})
        missing = client.post(CONFIRM, {})
        someone_elses = other_admin.post(CONFIRM, {"rows": signed})
    for response in (tampered, missing, someone_elses):
        assert response.status_code == 400
        assert EXPIRED in response.content.decode()


def test_with_htmx_a_refused_preview_is_answered_in_place(acme):
    client = signed_in(acme.admin)
    with unchanged():
        response = client.post(CONFIRM, {"rows": "forged"}, headers={"HX-Request": "true"})
    assert response["X-Answer-Status"] == "400"
    html = response.content.decode()
    assert html.lstrip().startswith('<div id="import-state">') and "<html" not in html
    assert EXPIRED in html and 'enctype="multipart/form-data"' in html


def test_a_preview_that_no_longer_holds_comes_back_with_its_errors(acme):
    client = signed_in(acme.admin)
    signed = signed_rows(upload(client, people_file(acme)))
    Member.objects.filter(pk=acme.reviewer.pk).update(external_id="E-2")  # meanwhile
    with unchanged():
        response = client.post(CONFIRM, {"rows": signed})
    assert response.status_code == 400
    html = response.content.decode()
    assert "changed since the preview" in html
    row = re.search(r'<tr id="import-row-3" class="has-error">.*?</tr>', html, re.S)[0]
    assert f"has the email {acme.reviewer.user.email}" in row


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", EMPTY_FILE),
        ("mail,name\nx@acme.example,X\n", "Unknown column: “mail”"),
        ("email,email\nx@acme.example,y@acme.example\n", "appears twice"),
    ],
)
def test_a_file_that_cannot_be_read_is_a_400_with_its_message(acme, text, message):
    client = signed_in(acme.admin)
    with unchanged():
        response = upload(client, text)
    assert response.status_code == 400
    assert message in response.content.decode()


@pytest.mark.parametrize("role", ["leader", "manager", "member", "reviewer"])
def test_only_admins_reach_the_import_and_others_change_nothing(acme, role):
    client = signed_in(getattr(acme, role))
    signed = signed_rows(upload(signed_in(acme.admin), people_file(acme)))
    with unchanged():
        answers = [
            client.get(PAGE),
            upload(client, people_file(acme)),
            client.post(CONFIRM, {"rows": signed}),
            client.get(TEMPLATE),
            client.get("/people/"),
        ]
    assert [r.status_code for r in answers] == [403] * 5


def test_the_anonymous_are_sent_to_sign_in(acme):
    with unchanged():
        for response in (Client().get(PAGE), Client().post(CONFIRM), Client().get(TEMPLATE)):
            assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_another_organizations_people_are_never_named_as_managers(acme, outsider):
    text = f"email,manager email\nnew@globex.example,{acme.manager.user.email}\n"
    client = signed_in(outsider)
    with unchanged():
        response = upload(client, text)
    html = response.content.decode()
    row = re.search(r'<tr id="import-row-2" class="has-error">.*?</tr>', html, re.S)[0]
    assert NOT_FOUND in row and 'name="rows"' not in html


def test_the_preview_page_takes_the_same_queries_for_10_and_50_rows(acme):
    client = signed_in(acme.admin)

    def measure(text: str) -> int:
        with CaptureQueriesContext(connection) as queries:
            response = upload(client, text)
        assert response.status_code == 200, response.content.decode()
        assert "rows with errors" in response.content.decode()
        return len(queries)

    measure(rows_of(3, 1000))  # warm up
    assert measure(rows_of(10)) == measure(rows_of(50))


def test_confirming_takes_the_same_queries_for_10_and_50_rows(acme):
    client = signed_in(acme.admin)

    def measure(text: str) -> int:
        signed = signed_rows(upload(client, text))
        with CaptureQueriesContext(connection) as queries:
            response = client.post(CONFIRM, {"rows": signed})
        assert response.status_code == 200, response.content.decode()
        return len(queries)

    assert measure(rows_of(10, 100)) == measure(rows_of(50, 200))


def test_a_preview_too_large_to_post_back_says_to_use_the_api(acme, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 5000  # Django's limit of a request's fields
    client = signed_in(acme.admin)
    with unchanged():
        response = upload(client, rows_of(50))
    html = response.content.decode()
    assert TOO_LARGE_TO_CONFIRM in html and 'name="rows"' not in html
