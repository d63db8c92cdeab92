"""People in bulk (SPEC §9.1): `POST /api/v1/members/import/` takes a CSV or XLSX of
people, previews it with `?dry_run=true`, imports all rows or none, matches people by
external id or email so a second import changes nothing, and sends each new person the
email that lets them set a password."""

from __future__ import annotations

import io
import re

import openpyxl
import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext

from audit.models import Entry
from core.sheets import MAX_FILE_BYTES, MAX_IMPORT_ROWS, MEDIA_TYPES
from org.models import Department, Member

from ..api.helpers import API, client_for, unchanged

pytestmark = pytest.mark.django_db

URL = f"{API}/members/import/"
PEOPLE = """Email, Name, Department, Role, Manager_Email, External_ID
nora@acme.example,Nora Diaz,Customer Support,manager,,E-1
omar@acme.example,Omar Ali,Research,member,nora@acme.example,E-2
pia@acme.example,Pia Maria Berg,,,omar@acme.example,
"""


def send(member, text: str | bytes, query: str = "", fmt: str = "csv"):
    body = text.encode() if isinstance(text, str) else text
    return client_for(member).post(f"{URL}{query}", body, content_type=MEDIA_TYPES[fmt])


def xlsx(text: str) -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    for line in text.strip().splitlines():
        sheet.append(line.split(","))
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def person(email: str) -> Member:
    return Member.objects.select_related("user", "department", "manager__user").get(
        user__email=email
    )


def test_a_dry_run_previews_and_changes_nothing(acme):
    with unchanged():
        response = send(acme.admin, PEOPLE, "?dry_run=true")
    assert response.status_code == 200, response.content
    preview = response.json()
    assert preview["totals"] == {
        "rows": 3,
        "created": 3,
        "updated": 0,
        "unchanged": 0,
        "errors": 0,
        "departments_created": 1,
    }
    assert preview["departments_created"] == ["Research"]
    omar = preview["rows"][1]
    assert omar["row"] == 3 and omar["action"] == "create"
    assert omar["new_department"] == "Research"
    assert omar["changes"]["manager"] == {"old": None, "new": "nora@acme.example"}
    assert not Entry.objects.filter(action="people.imported").exists()


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_an_import_creates_the_people_and_emails_each_a_password_link(
    acme, fmt, django_capture_on_commit_callbacks
):
    body = PEOPLE if fmt == "csv" else xlsx(PEOPLE)
    with django_capture_on_commit_callbacks(execute=True):
        response = send(acme.admin, body, fmt=fmt)
    assert response.status_code == 201, response.content
    assert response.json()["totals"]["created"] == 3
    nora, omar, pia = (person(f"{n}@acme.example") for n in ("nora", "omar", "pia"))
    assert (nora.user.first_name, nora.user.last_name) == ("Nora", "Diaz")
    assert (pia.user.first_name, pia.user.last_name) == ("Pia Maria", "Berg")
    assert (nora.role, nora.department, nora.external_id) == ("manager", acme.support, "E-1")
    assert omar.department == Department.objects.get(organization=acme.org, name="Research")
    assert (omar.manager, pia.manager) == (nora, omar)
    assert (pia.role, pia.department, pia.external_id) == ("member", None, "")
    assert {m.organization_id for m in (nora, omar, pia)} == {acme.org.pk}
    assert not any(m.user.has_usable_password() for m in (nora, omar, pia))
    assert sorted(to for m in mail.outbox for to in m.to) == [
        "nora@acme.example",
        "omar@acme.example",
        "pia@acme.example",
    ]
    assert all(re.search(r"/accounts/reset/\S+", m.body) for m in mail.outbox)
    [entry] = Entry.objects.filter(action="people.imported")
    assert entry.actor_id == acme.admin.pk
    assert len(entry.changes["members_created"][1]) == 3
    assert entry.changes["departments_created"][1] == [
        {"id": omar.department_id, "label": "Research"}
    ]


def test_importing_the_same_file_again_changes_nothing(acme, django_capture_on_commit_callbacks):
    assert send(acme.admin, PEOPLE).status_code == 201
    sent = len(mail.outbox)
    with unchanged():
        response = send(acme.admin, PEOPLE)
    assert response.status_code == 201, response.content
    totals = response.json()["totals"]
    assert (totals["created"], totals["updated"], totals["unchanged"]) == (0, 0, 3)
    assert len(mail.outbox) == sent


def test_a_row_naming_a_member_updates_them_and_their_updated_at(acme):
    sam = acme.member
    before = sam.updated_at
    Member.objects.filter(pk=sam.pk).update(external_id="S-7")
    text = "email,name,department,role,manager email,external_id\n" + (
        "sam@example.com,Sam Stone,Marketing,leader,mia@example.com,S-7\n"
    )
    preview = send(acme.admin, text, "?dry_run=true").json()
    assert preview["rows"][0]["action"] == "update"
    assert preview["rows"][0]["changes"] == {
        "name": {"old": None, "new": "Sam Stone"},
        "role": {"old": "member", "new": "leader"},
        "department": {"old": "Customer Support", "new": "Marketing"},
        "manager": {"old": "max@example.com", "new": "mia@example.com"},
    }
    response = send(acme.admin, text)
    assert response.status_code == 201, response.content
    sam = person("sam@example.com")
    assert (sam.role, sam.department, sam.manager) == (
        "leader",
        acme.marketing,
        acme.marketing_manager,
    )
    assert sam.user.get_full_name() == "Sam Stone"
    assert sam.updated_at > before
    assert sam.sessions_ended_at is not None  # a new role: signed in again
    assert Member.objects.filter(organization=acme.org).count() == 8  # nobody added
    [entry] = Entry.objects.filter(action="people.imported")
    [changed] = entry.changes["members_updated"][1]
    assert changed["id"] == sam.pk and changed["changes"]["role"] == ["member", "leader"]


def test_a_member_is_found_by_external_id_before_email(acme):
    Member.objects.filter(pk=acme.member.pk).update(external_id="S-7")
    text = "email,external_id,role\nsam@example.com,S-7,reviewer\n"
    assert send(acme.admin, text).status_code == 201
    assert person("sam@example.com").role == "reviewer"
    other = send(acme.admin, "email,external_id\nsomeone@example.com,S-7\n")
    assert other.status_code == 400
    assert "sam@example.com" in other.json()["rows"]["2"]["email"][0]


def test_any_error_is_a_400_per_row_and_column_and_nothing_changes(acme, outsider):
    text = (
        "email,name,role,manager email,external_id\n"
        "ok@acme.example,Fine Person,member,,\n"
        "not-an-email,Bad Email,member,,\n"
        "wrong@acme.example,Wrong Role,boss,,\n"
        f"far@acme.example,Far Manager,member,{outsider.user.email},\n"
        ",No Email,member,,\n"
        "ok@acme.example,Twice,member,,\n"
    )
    before = Entry.objects.count()
    with unchanged():
        response = send(acme.admin, text)
    assert response.status_code == 400, response.content
    rows = response.json()["rows"]
    assert set(rows) == {"3", "4", "5", "6", "7"}
    assert rows["3"] == {"email": ["Enter a valid email address."]}
    assert rows["4"]["role"][0].startswith("Must be one of: admin, leader")
    # another organization's person is "not found", never revealed
    assert rows["5"] == {"manager email": ["Not found in your organization."]}
    assert rows["6"] == {"email": ["An email is required."]}
    assert rows["7"] == {"email": ["This person is in row 2 already."]}
    assert Entry.objects.count() == before
    assert not mail.outbox


def test_managers_that_go_round_in_a_circle_are_refused(acme):
    text = (
        "email,manager email\n"
        "a@acme.example,b@acme.example\n"
        "b@acme.example,a@acme.example\n"
        f"max@example.com,{acme.member.user.email}\n"  # sam reports to max already
    )
    with unchanged():
        response = send(acme.admin, text)
    assert response.status_code == 400
    rows = response.json()["rows"]
    assert set(rows) == {"2", "3", "4"}
    assert "circle" in rows["4"]["manager email"][0]


def test_the_last_admin_cannot_be_demoted_by_an_import(acme):
    with unchanged():
        response = send(acme.admin, "email,role\nada@example.com,member\n")
    assert response.status_code == 400
    assert "needs an admin" in response.json()["rows"]["2"]["role"][0]


@pytest.mark.parametrize(
    ("who", "status"),
    [("leader", 403), ("manager", 403), ("member", 403), ("reviewer", 403)],
)
def test_only_admins_import_people(acme, who, status):
    with unchanged():
        response = send(getattr(acme, who), PEOPLE)
        dry = send(getattr(acme, who), PEOPLE, "?dry_run=true")
    assert (response.status_code, dry.status_code) == (status, status)


@pytest.mark.parametrize(("scope", "status"), [("read", 403), ("write", 403), ("scim", 403)])
def test_a_service_token_imports_people_only_with_the_admin_scope(acme, scope, status):
    from rest_framework.test import APIClient

    from org.tokens import service_token_create

    _, key = service_token_create(actor=acme.admin, name=f"HR sync {scope}", scope=scope)
    _, admin_key = service_token_create(actor=acme.admin, name="HR sync", scope="admin")
    caller, admin = APIClient(), APIClient()
    caller.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    admin.credentials(HTTP_AUTHORIZATION=f"Token {admin_key}")
    with unchanged():
        refused = caller.post(f"{URL}?dry_run=true", PEOPLE.encode(), content_type="text/csv")
    assert refused.status_code == status
    taken = admin.post(URL, PEOPLE.encode(), content_type="text/csv")
    assert taken.status_code == 201, taken.content
    assert taken.json()["totals"]["created"] == 3


def test_the_import_is_refused_to_the_anonymous(acme):
    from rest_framework.test import APIClient

    response = APIClient().post(URL, PEOPLE.encode(), content_type="text/csv")
    assert response.status_code == 401


def test_a_file_too_large_is_a_400_naming_the_limit(acme):
    body = b"email\n" + b"x" * MAX_FILE_BYTES
    with unchanged():
        response = send(acme.admin, body)
    assert response.status_code == 400
    assert response.json() == {
        "file": ["The file is larger than 10 MB: split it into smaller files."]
    }


def test_a_file_with_too_many_rows_is_a_400_naming_the_limit(acme):
    body = "email\n" + "".join(f"p{n}@acme.example\n" for n in range(MAX_IMPORT_ROWS + 1))
    response = send(acme.admin, body, "?dry_run=true")
    assert response.status_code == 400
    assert response.json() == {
        "file": [f"The file has more than {MAX_IMPORT_ROWS:,} rows: split it."]
    }


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("name,role\nAna,member\n", "at least an “email” column"),
        ("email,shoe size\na@acme.example,42\n", "Unknown column: “shoe size”"),
        ("email\n", "no people"),
        ("", "The file is empty"),
    ],
)
def test_a_file_without_the_right_columns_is_a_400_on_the_file(acme, text, message):
    response = send(acme.admin, text, "?dry_run=true")
    assert response.status_code == 400
    assert message in response.json()["file"][0]


def test_another_media_type_is_a_415(acme):
    response = client_for(acme.admin).post(URL, {"email": "x"}, format="json")
    assert response.status_code == 415


def rows_of(count: int, start: int = 0) -> str:
    return "email,name,department,manager email\n" + "".join(
        f"p{n}@acme.example,Person {n},Dept {start}.{n % 7},"
        + (f"p{n - 1}@acme.example" if n > start else "max@example.com")
        + "\n"
        for n in range(start, start + count)
    )


def test_the_preview_and_the_import_take_the_same_queries_for_10_and_50_rows(acme):
    client = client_for(acme.admin)

    def measure(text: str, query: str = "") -> int:
        with CaptureQueriesContext(connection) as queries:
            response = client.post(f"{URL}{query}", text.encode(), content_type="text/csv")
        assert response.status_code in (200, 201), response.content
        return len(queries)

    measure(rows_of(3, 1000), "?dry_run=true")  # warm up
    assert measure(rows_of(10), "?dry_run=true") == measure(rows_of(50), "?dry_run=true")
    assert measure(rows_of(10, 100)) == measure(rows_of(50, 200))
    # and re-importing (every row an update) likewise
    assert measure(rows_of(10, 100).replace("Person", "Someone")) == measure(
        rows_of(50, 200).replace("Person", "Someone")
    )


# The members' and departments' fields and filters ---------------------------------


def test_members_carry_external_id_and_updated_at_and_filter_by_them(acme):
    client = client_for(acme.admin)
    made = client.post(
        f"{API}/members/",
        {"username": "dora", "email": "Dora@Acme.example", "external_id": "HR-9"},
        format="json",
    )
    assert made.status_code == 201, made.content
    assert made.json()["external_id"] == "HR-9" and made.json()["updated_at"]
    dora = made.json()["id"]

    def listed(**params) -> list[int]:
        response = client.get(f"{API}/members/", params)
        assert response.status_code == 200, response.content
        return [row["id"] for row in response.json()["results"]]

    assert listed(email="dora@acme.EXAMPLE") == [dora]
    assert listed(external_id="HR-9") == [dora]
    assert listed(external_id="HR") == []
    assert dora in listed(updated_since="2027-03-15T11:00:00Z")
    assert listed(updated_since="2027-03-16T00:00:00+01:00") == []
    bad = client.get(f"{API}/members/", {"updated_since": "last week"})
    assert bad.status_code == 400 and "2027-03-15T09:00:00Z" in bad.json()["updated_since"][0]
    far = client.get(f"{API}/members/", {"updated_since": "9999-12-31T23:59:59Z"})
    assert far.status_code == 400 and "2100-12-31" in far.json()["updated_since"][0]


def test_a_taken_external_id_is_a_clear_400_and_changes_nothing(acme):
    client = client_for(acme.admin)
    Member.objects.filter(pk=acme.member.pk).update(external_id="HR-1")
    with unchanged():
        made = client.post(
            f"{API}/members/", {"username": "eve", "external_id": "HR-1"}, format="json"
        )
        changed = client.patch(
            f"{API}/members/{acme.manager.pk}/", {"external_id": "HR-1"}, format="json"
        )
    for response in (made, changed):
        assert response.status_code == 400, response.content
        assert "already has this external id" in response.json()["external_id"][0]
    Department.objects.filter(pk=acme.ops.pk).update(external_id="D-1")
    with unchanged():
        dept = client.patch(
            f"{API}/departments/{acme.marketing.pk}/", {"external_id": "D-1"}, format="json"
        )
    assert dept.status_code == 400 and "external id" in dept.json()["external_id"][0]


def test_a_patch_changes_updated_at(acme):
    client = client_for(acme.admin)
    before = client.get(f"{API}/members/{acme.member.pk}/").json()["updated_at"]
    after = client.patch(
        f"{API}/members/{acme.member.pk}/", {"external_id": "HR-2"}, format="json"
    ).json()
    assert after["external_id"] == "HR-2" and after["updated_at"] > before
    dept = client.get(f"{API}/departments/{acme.ops.pk}/").json()
    changed = client.patch(
        f"{API}/departments/{acme.ops.pk}/", {"external_id": "D-9"}, format="json"
    ).json()
    assert changed["updated_at"] > dept["updated_at"]


def test_departments_filter_by_external_id_and_updated_since(acme):
    client = client_for(acme.admin)
    Department.objects.filter(pk=acme.marketing.pk).update(external_id="D-3")
    by_id = client.get(f"{API}/departments/", {"external_id": "D-3"}).json()["results"]
    assert [d["id"] for d in by_id] == [acme.marketing.pk]
    assert by_id[0]["external_id"] == "D-3"
    later = client.get(f"{API}/departments/", {"updated_since": "2027-03-16T00:00:00Z"})
    assert later.status_code == 200 and later.json()["results"] == []
    bad = client.get(f"{API}/departments/", {"updated_since": "soon"})
    assert bad.status_code == 400


def test_other_organizations_people_are_not_listed_by_email(acme, outsider):
    client = client_for(acme.admin)
    response = client.get(f"{API}/members/", {"email": outsider.user.email})
    assert response.json()["results"] == []


def test_listing_members_takes_the_same_queries_at_two_sizes(acme):
    from ..factories import MemberFactory

    client = client_for(acme.admin)
    url = f"{API}/members/?updated_since=2027-01-01T00:00:00Z&page_size=100"
    client.get(url)

    def measure() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert client.get(url).status_code == 200
        return len(queries)

    small = measure()
    for _ in range(30):
        MemberFactory(organization=acme.org, external_id="")
    assert measure() == small
    assert get_user_model().objects.count() > 30
