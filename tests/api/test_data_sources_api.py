"""SPEC §9.6 through the API: `GET/PUT/DELETE kpis/{id}/source/` and `POST
kpis/{id}/source/fetch/` (`?dry_run=true` previews). Whoever may edit the KPI sets,
changes, removes and fetches its source and sees its address; everyone else sees its
name and how it fares. Secrets (headers, a database URL) are write-only and kept when a
PUT leaves them out. A fetched value is a value like any other, whose author is the
source ("from <name>"), and stays when the source goes. A refusal or a bad body changes
nothing. Real HTTP listeners on 127.0.0.1 (OUTBOUND_ALLOW_PRIVATE on for them).

The services' own cases (every failure of a fetch, the egress guard's lists, SQL
against a real database, the schedule) are in tests/kpis/test_data_sources*.py and
tests/jobs/test_data_source_schedule.py."""

from __future__ import annotations

import json
import time

import pytest
from cryptography.fernet import Fernet
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from audit.models import Entry
from cycles.services import cycle_set_state
from goals.services import goal_create
from kpis.feeds import source_set
from kpis.models import KpiSource, KpiUpdate
from kpis.serializers import HIDDEN
from kpis.services import kpi_create
from org.models import Change, Webhook, WebhookDelivery
from org.tokens import service_token_create
from tests.outbound import Answer

from .helpers import API, assert_field_errors, client_for, unchanged
from .test_query_counts import Sizes, grow

pytestmark = pytest.mark.django_db

SECRET = "Bearer s3cr3t-api-7d41"
PASSWORD = "pw-9c2e-never-shown"


def source_url(kpi) -> str:
    return f"{API}/kpis/{kpi.pk}/source/"


def fetch_url(kpi, dry_run: str | None = None) -> str:
    return f"{API}/kpis/{kpi.pk}/source/fetch/" + (f"?dry_run={dry_run}" if dry_run else "")


def numbers(*values: object) -> list[Answer]:
    """JSON answers with each value at /data/qualified, in turn."""
    return [
        Answer(
            200,
            {"Content-Type": "application/json"},
            json.dumps({"data": {"qualified": v}}).encode(),
        )
        for v in values
    ]


def crm_body(listener, **fields) -> dict:
    return {
        "kind": "http_json",
        "name": "CRM",
        "url": f"http://127.0.0.1:{listener.port}/reports/leads?period=month",
        "pointer": "/data/qualified",
        "headers": {"Authorization": SECRET},
        "schedule": "daily",
        **fields,
    }


@pytest.fixture
def local(settings):
    """Sources on the test's own listeners (127.0.0.1), with a short timeout."""
    settings.OUTBOUND_ALLOW_PRIVATE = True
    settings.KPI_SOURCE_TIMEOUT = 2
    return settings


def stored(kpi) -> dict | None:
    """The KPI's source row as stored (secrets decrypted), or None."""
    return KpiSource.objects.filter(kpi=kpi).values().first()


def raw_secrets() -> str:
    """The secret columns as the database holds them."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT headers, database_url FROM {KpiSource._meta.db_table}")
        return json.dumps(cursor.fetchall())


# -- setting one up ---------------------------------------------------------------------


def test_put_creates_a_source_then_changes_it_and_a_put_without_secrets_keeps_them(
    acme, tree, local, listen
):
    leader, kpi = client_for(acme.leader), tree.strategic_kpi
    crm = listen()
    created = leader.put(source_url(kpi), crm_body(crm), format="json")
    assert created.status_code == 201, created.content
    shown = created.json()
    assert shown["kind"] == "http_json" and shown["name"] == "CRM"
    assert shown["url"] == crm_body(crm)["url"] and shown["pointer"] == "/data/qualified"
    assert shown["header_names"] == ["Authorization"] and shown["schedule"] == "daily"
    assert shown["query"] is None and shown["database_url_set"] is False
    assert shown["failures"] == 0 and shown["last_error"] == "" and shown["next_fetch_at"]
    assert "headers" not in shown and "database_url" not in shown
    assert SECRET not in created.content.decode()
    # Encrypted at rest: the column holds no trace of it.
    assert json.loads(stored(kpi)["headers"]) == {"Authorization": SECRET}
    assert "s3cr3t" not in raw_secrets()

    changed = leader.put(
        source_url(kpi),
        {"kind": "http_json", "name": "CRM leads", "url": shown["url"], "schedule": "hourly"},
        format="json",
    )
    assert changed.status_code == 200, changed.content
    assert changed.json()["name"] == "CRM leads" and changed.json()["schedule"] == "hourly"
    assert changed.json()["pointer"] == ""  # left out: the whole answer
    assert changed.json()["header_names"] == ["Authorization"]  # kept, still secret
    assert json.loads(stored(kpi)["headers"]) == {"Authorization": SECRET}
    assert KpiSource.objects.filter(kpi=kpi).count() == 1
    assert leader.get(source_url(kpi)).json() == changed.json()

    # `{}` removes them.
    emptied = leader.put(source_url(kpi), {**crm_body(crm), "headers": {}}, format="json")
    assert emptied.status_code == 200 and emptied.json()["header_names"] == []
    assert stored(kpi)["headers"] == ""


def test_a_sql_sources_database_url_is_write_only_and_kept_while_it_stays_sql(
    acme, tree, local, listen
):
    leader, kpi = client_for(acme.leader), tree.strategic_kpi
    database_url = f"postgresql://reader:{PASSWORD}@127.0.0.1:5432/warehouse"
    body = {"kind": "sql", "name": "Warehouse", "database_url": database_url, "query": "SELECT 42"}
    created = leader.put(source_url(kpi), body, format="json")
    assert created.status_code == 201, created.content
    shown = created.json()
    assert (shown["query"], shown["database_url_set"]) == ("SELECT 42", True)
    assert shown["url"] is None and shown["pointer"] is None and shown["header_names"] is None
    assert "database_url" not in shown and PASSWORD not in created.content.decode()
    assert PASSWORD not in raw_secrets()

    kept = leader.put(source_url(kpi), {"kind": "sql", "query": "SELECT 43"}, format="json")
    assert kept.status_code == 200, kept.content
    assert kept.json()["database_url_set"] is True and kept.json()["query"] == "SELECT 43"
    assert stored(kpi)["database_url"] == database_url
    assert kept.json()["name"] == "warehouse on 127.0.0.1"  # no name given: where it reads
    for response in (leader.get(source_url(kpi)), kept):
        assert PASSWORD not in response.content.decode()

    # Another kind drops the other kind's secret; back to sql, one must be given again.
    crm = listen()
    assert leader.put(source_url(kpi), crm_body(crm), format="json").status_code == 200
    assert stored(kpi)["database_url"] == ""
    again = leader.put(source_url(kpi), {"kind": "sql", "query": "SELECT 1"}, format="json")
    assert_field_errors(again, "database_url")
    assert stored(kpi)["kind"] == "http_json"


def test_an_editor_sees_the_address_a_member_who_may_not_edit_sees_only_the_name(
    acme, tree, local, listen
):
    kpi = tree.strategic_kpi  # sam, a member, may see it but not edit it
    crm = listen()
    assert (
        client_for(acme.leader).put(source_url(kpi), crm_body(crm), format="json").status_code
        == 201
    )

    editor = client_for(acme.leader).get(source_url(kpi))
    assert editor.status_code == 200
    assert editor.json()["url"] == crm_body(crm)["url"]
    assert editor.json()["header_names"] == ["Authorization"]

    member = client_for(acme.member).get(source_url(kpi))
    assert member.status_code == 200, member.content
    seen = member.json()
    assert (seen["name"], seen["kind"], seen["schedule"]) == ("CRM", "http_json", "daily")
    assert seen["url"] is None and seen["pointer"] is None
    assert seen["header_names"] is None and seen["query"] is None
    assert seen["database_url_set"] is False
    assert set(seen) == set(editor.json())  # the same fields, some of them null
    assert "127.0.0.1" not in member.content.decode()
    assert SECRET not in member.content.decode() + editor.content.decode()

    # On a KPI of their own goal, the member is an editor.
    own = tree.individual_kpi
    put = client_for(acme.member).put(source_url(own), crm_body(crm), format="json")
    assert put.status_code == 201, put.content
    assert client_for(acme.member).get(source_url(own)).json()["url"] == crm_body(crm)["url"]


def test_delete_removes_the_source_and_the_values_it_recorded_stay_from_its_name(
    acme, tree, local, listen
):
    leader, kpi = client_for(acme.leader), tree.strategic_kpi
    crm = listen(answers=numbers(75))
    leader.put(source_url(kpi), crm_body(crm), format="json")
    fetched = leader.post(fetch_url(kpi))
    assert fetched.status_code == 200 and fetched.json()["recorded"] is True, fetched.content

    assert leader.delete(source_url(kpi)).status_code == 204
    assert leader.get(source_url(kpi)).status_code == 404
    assert leader.post(fetch_url(kpi, "true")).status_code == 404
    assert not KpiSource.objects.exists()

    update = KpiUpdate.objects.get(kpi=kpi)
    assert (update.value, update.author_id, update.source_id) == (75, None, None)
    assert update.source_name == "CRM" and update.author_name == "from CRM"
    (shown,) = leader.get(f"{API}/kpis/{kpi.pk}/updates/").json()["results"]
    assert (shown["value"], shown["author"], shown["source"]) == (75, None, "CRM")
    assert shown["author_name"] == "from CRM"
    kpi.refresh_from_db()
    assert kpi.current == 75


@pytest.mark.django_db(transaction=True)
def test_two_first_puts_at_once_make_one_source_one_201_and_one_200(
    acme, tree, local, together, require_postgres
):
    """Both once found no source and inserted one: the second was a 500."""
    kpi = tree.strategic_kpi
    body = {"kind": "http_json", "url": "http://127.0.0.1:8080/leads"}

    def put(member, name):
        client = client_for(member)
        return lambda: client.put(source_url(kpi), {**body, "name": name}, format="json")

    answers = together([put(acme.leader, "First"), put(acme.admin, "Second")])
    assert sorted(answer.status_code for answer in answers) == [200, 201], answers
    assert KpiSource.objects.filter(kpi=kpi).count() == 1
    last = next(answer for answer in answers if answer.status_code == 200)
    assert stored(kpi)["name"] == last.json()["name"]


# -- fetching ---------------------------------------------------------------------------


def test_a_dry_run_records_nothing_a_fetch_records_once_and_again_only_on_news(
    acme, tree, local, listen
):
    leader, kpi = client_for(acme.leader), tree.strategic_kpi
    crm = listen(answers=numbers(42, 42, 42, 42, 43))
    leader.put(source_url(kpi), crm_body(crm), format="json")
    source_before = stored(kpi)

    with unchanged():
        preview = leader.post(fetch_url(kpi, "true"))
    assert preview.status_code == 200, preview.content
    assert preview.json() == {
        "ok": True,
        "dry_run": True,
        "value": 42.0,
        "error": None,
        "recorded": False,
        "would_record": True,
        "update": None,
    }
    assert stored(kpi) == source_before  # not even its last success

    first = leader.post(fetch_url(kpi, "false"))
    assert first.status_code == 200, first.content
    result = first.json()
    assert (result["ok"], result["dry_run"], result["recorded"]) == (True, False, True)
    update = result["update"]
    assert (update["value"], update["author"], update["source"]) == (42, None, "CRM")
    assert update["author_name"] == "from CRM" and update["kpi"] == kpi.pk
    assert KpiUpdate.objects.filter(kpi=kpi).count() == 1
    assert client_for(acme.member).get(f"{API}/kpis/{kpi.pk}/").json()["current"] == 42
    assert stored(kpi)["last_value"] == 42 and stored(kpi)["last_success_at"] is not None

    again = leader.post(fetch_url(kpi))  # the same number in the same period
    assert again.status_code == 200
    assert again.json()["ok"] is True and again.json()["recorded"] is False
    assert again.json()["update"] is None and again.json()["value"] == 42
    preview = leader.post(fetch_url(kpi, "true")).json()
    assert preview["would_record"] is False and preview["value"] == 42
    assert KpiUpdate.objects.filter(kpi=kpi).count() == 1

    moved = leader.post(fetch_url(kpi)).json()
    assert moved["recorded"] is True and moved["update"]["value"] == 43
    assert KpiUpdate.objects.filter(kpi=kpi).count() == 2

    assert [seen.path for seen in crm.seen] == ["/reports/leads?period=month"] * 5
    assert all(seen.headers["Authorization"] == SECRET for seen in crm.seen)


def test_a_failing_source_answers_ok_false_with_the_reason_and_records_nothing(
    acme, tree, local, listen
):
    leader, kpi = client_for(acme.leader), tree.strategic_kpi
    crm = listen(answers=[Answer(500, body=b"oops"), *numbers("many")])
    leader.put(source_url(kpi), crm_body(crm), format="json")
    failed = leader.post(fetch_url(kpi))
    assert failed.status_code == 200
    assert failed.json()["ok"] is False and failed.json()["recorded"] is False
    assert failed.json()["error"].startswith("The address answered 500 instead of 200")
    assert leader.get(source_url(kpi)).json()["last_error"] == failed.json()["error"]
    # Who may not edit the KPI learns that it fails, not why (hosts, answers stay hidden).
    member = client_for(acme.member).get(source_url(kpi)).json()
    assert member["last_error"] == HIDDEN and member["failures"] == 0

    text = leader.post(fetch_url(kpi, "true")).json()
    assert text["ok"] is False and text["value"] is None
    assert text["error"] == "The value at /data/qualified is a text (“many”), not a number."
    assert not KpiUpdate.objects.exists()


def test_dry_run_is_true_or_false_and_anything_else_is_a_400(acme, tree, local, listen):
    leader, kpi = client_for(acme.leader), tree.strategic_kpi
    crm = listen()
    leader.put(source_url(kpi), crm_body(crm), format="json")
    with unchanged():
        for bad in ("maybe", "1", "True"):
            assert_field_errors(leader.post(fetch_url(kpi, bad)), "dry_run")
    assert crm.seen == []


def test_a_kpi_without_a_source_has_none_to_get_fetch_or_delete(acme, tree):
    leader, kpi = client_for(acme.leader), tree.strategic_kpi
    assert leader.get(source_url(kpi)).status_code == 404
    assert leader.post(fetch_url(kpi, "true")).status_code == 404
    assert leader.delete(source_url(kpi)).status_code == 404
    assert not Entry.objects.filter(action__startswith="kpi.source").exists()


def test_options_on_the_source_and_its_fetch_answer_and_change_nothing(acme, tree):
    """OPTIONS once answered a 500 here (the viewset gives every serializer the
    caller's organization)."""
    leader, kpi = client_for(acme.leader), tree.strategic_kpi
    with unchanged():
        source = leader.options(source_url(kpi))
        fetch = leader.options(fetch_url(kpi))
    assert source.status_code == 200, source.content
    assert {"kind", "url", "pointer", "headers", "database_url", "query"} <= set(
        source.json()["actions"]["PUT"]
    )
    assert fetch.status_code == 200, fetch.content
    assert not KpiSource.objects.exists()


# -- refusals ---------------------------------------------------------------------------


def test_who_may_not_edit_the_kpi_may_not_set_remove_or_fetch_its_source(acme, tree, local, listen):
    kpi = tree.strategic_kpi
    crm = listen()
    client_for(acme.leader).put(source_url(kpi), crm_body(crm), format="json")
    _, key = service_token_create(actor=acme.admin, name="Dashboard wall", scope="read")
    before, audited = stored(kpi), Entry.objects.count()
    reader = APIClient()  # an admin's token, but one that only reads
    reader.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    for who, client in (("member", client_for(acme.member)), ("read token", reader)):
        with unchanged():
            changed = client.put(source_url(kpi), crm_body(crm, name="Mine"), format="json")
            assert changed.status_code == 403, (who, changed.content)
            # Forbidden and invalid: the refusal answers first.
            assert client.put(source_url(kpi), {"kind": "csv"}, format="json").status_code == 403
            assert client.delete(source_url(kpi)).status_code == 403, who
            assert client.post(fetch_url(kpi)).status_code == 403, who
            assert client.post(fetch_url(kpi, "true")).status_code == 403, who
        assert client.get(source_url(kpi)).status_code == 200  # reading is everyone's
    assert stored(kpi) == before and Entry.objects.count() == audited
    assert crm.seen == []  # no fetch reached the source
    # A read token's refusal names its scope.
    assert "read" in reader.put(source_url(kpi), crm_body(crm), format="json").json()["detail"]


def test_another_organizations_kpi_is_not_found(acme, outsider, local, listen):
    goal = goal_create(actor=outsider, cycle=outsider.cycle, level="strategic", title="Theirs")
    kpi = kpi_create(
        actor=outsider, goal=goal, name="Their leads", unit="leads", baseline=0, target=9
    )
    crm = listen()
    source_set(actor=outsider, kpi=kpi, **crm_body(crm))
    before = stored(kpi)
    leader = client_for(acme.admin)
    with unchanged():
        assert leader.get(source_url(kpi)).status_code == 404
        assert leader.put(source_url(kpi), crm_body(crm), format="json").status_code == 404
        assert leader.delete(source_url(kpi)).status_code == 404
        assert leader.post(fetch_url(kpi)).status_code == 404
        assert leader.post(fetch_url(kpi, "true")).status_code == 404
    assert stored(kpi) == before and crm.seen == []


BAD = {
    "unknown_kind": ({"kind": "csv"}, "kind"),
    "missing_url": ({"url": None}, "url"),
    "blank_url": ({"url": ""}, "url"),
    "private_url": ({"url": "http://10.1.2.3/leads"}, "url"),
    "loopback_url": ({"url": "http://127.0.0.1:8000/leads"}, "url"),
    "not_a_url": ({"url": "crm.example.com/leads"}, "url"),
    "pointer_without_slash": ({"pointer": "data/x"}, "pointer"),
    "headers_not_an_object": ({"headers": ["Authorization: Bearer x"]}, "headers"),
    "header_value_not_a_text": ({"headers": {"X-Key": 7}}, "headers"),
    "header_with_a_line_break": ({"headers": {"X-Key": "a\r\nHost: evil"}}, "headers"),
    "header_not_ascii": ({"headers": {"Authorization": "Bearer …"}}, "headers"),
    "header_name_with_a_space": ({"headers": {"X Key": "1"}}, "headers"),
    "eleven_headers": ({"headers": {f"X-Key-{i}": "1" for i in range(11)}}, "headers"),
    "schedule_weekly": ({"schedule": "weekly"}, "schedule"),
    "name_too_long": ({"name": "n" * 101}, "name"),
    "sql_without_database_url": ({"kind": "sql", "query": "SELECT 1"}, "database_url"),
    "database_url_with_options": (
        {
            "kind": "sql",
            "database_url": "postgresql://u:p@db.example.com/x?options=-c%20search_path%3Devil",
            "query": "SELECT 1",
        },
        "database_url",
    ),
    "database_url_not_postgres": (
        {"kind": "sql", "database_url": "mysql://u:p@db.example.com/x", "query": "SELECT 1"},
        "database_url",
    ),
    "database_url_private": (
        {"kind": "sql", "database_url": "postgresql://u:p@10.0.0.5/x", "query": "SELECT 1"},
        "database_url",
    ),
    "query_empty": (
        {"kind": "sql", "database_url": "postgresql://u:p@93.184.216.34/x", "query": ""},
        "query",
    ),
    "query_blank": (
        {"kind": "sql", "database_url": "postgresql://u:p@93.184.216.34/x", "query": "  \n "},
        "query",
    ),
    "query_missing": (
        {"kind": "sql", "database_url": "postgresql://u:p@93.184.216.34/x"},
        "query",
    ),
}


@pytest.mark.parametrize(("change", "field"), BAD.values(), ids=BAD.keys())
def test_a_bad_source_is_a_400_on_its_field_and_nothing_is_saved(
    acme, tree, settings, change, field
):
    """Private addresses are refused here (OUTBOUND_ALLOW_PRIVATE off), as in production."""
    settings.OUTBOUND_ALLOW_PRIVATE = False
    leader, kpi = client_for(acme.leader), tree.strategic_kpi
    body = {
        "kind": "http_json",
        "name": "CRM",
        "url": "http://93.184.216.34/leads",  # public: checked, never fetched here
        "pointer": "/data/qualified",
        **change,
    }
    audited = Entry.objects.count()
    with unchanged():
        response = leader.put(source_url(kpi), body, format="json")
    assert_field_errors(response, field)
    assert not KpiSource.objects.exists() and Entry.objects.count() == audited

    # Nor does it change a source already there.
    source_set(
        actor=acme.leader, kpi=kpi, kind="http_json", name="Kept", url="http://93.184.216.34/"
    )
    before = stored(kpi)
    assert_field_errors(leader.put(source_url(kpi), body, format="json"), field)
    assert stored(kpi) == before


def test_a_closed_cycle_refuses_a_new_source_with_a_409(acme, tree, local, listen):
    leader, kpi = client_for(acme.leader), tree.strategic_kpi
    crm = listen(answers=numbers(5))
    assert leader.put(source_url(kpi), crm_body(crm), format="json").status_code == 201
    cycle_set_state(actor=acme.leader, cycle=acme.cycle, state="closed")
    before = stored(kpi)
    with unchanged():
        changed = leader.put(source_url(kpi), crm_body(crm, name="Later"), format="json")
        assert changed.status_code == 409, changed.content
        assert "closed" in json.dumps(changed.json()).lower()
        # A fetch says the cycle is closed, without asking the source.
        fetched = leader.post(fetch_url(kpi))
        assert leader.delete(source_url(kpi)).status_code == 409
    assert fetched.status_code == 200 and fetched.json()["ok"] is False
    assert "closed" in fetched.json()["error"].lower() and fetched.json()["recorded"] is False
    assert crm.seen == []
    assert stored(kpi)["name"] == before["name"] == "CRM"


# -- the audit log, webhooks and the changes feed ---------------------------------------


def test_the_audit_log_keeps_each_source_change_without_its_secrets(acme, tree, local, listen):
    leader, kpi = client_for(acme.leader), tree.strategic_kpi
    crm = listen()
    leader.put(source_url(kpi), crm_body(crm), format="json")
    leader.put(source_url(kpi), crm_body(crm), format="json")  # the same: nothing to log
    leader.put(source_url(kpi), crm_body(crm, schedule="hourly", name="CRM 2"), format="json")
    database_url = f"postgresql://reader:{PASSWORD}@127.0.0.1/warehouse"
    sql = {"kind": "sql", "name": "Warehouse", "database_url": database_url, "query": "SELECT 1"}
    leader.put(source_url(kpi), sql, format="json")
    assert leader.delete(source_url(kpi)).status_code == 204

    entries = list(
        Entry.objects.filter(action__startswith="kpi.source").order_by("at", "id").values()
    )
    assert [e["action"] for e in entries] == [
        "kpi.source_set",
        "kpi.source_changed",
        "kpi.source_changed",
        "kpi.source_removed",
    ]
    assert all(e["object_id"] == str(kpi.pk) and e["actor_id"] == acme.leader.pk for e in entries)
    made, renamed, to_sql, removed = (e["changes"] for e in entries)
    assert made["url"] == [None, crm_body(crm)["url"]]
    assert made["headers"] == [None, "(secret, 1)"]
    assert renamed == {"name": ["CRM", "CRM 2"], "schedule": ["daily", "hourly"]}
    assert to_sql["database_url"] == ["", "(secret)"] and to_sql["kind"] == ["http_json", "sql"]
    assert removed == {"name": ["Warehouse", None]}
    logged = json.dumps(entries, default=str)
    assert "s3cr3t" not in logged and PASSWORD not in logged


@pytest.mark.django_db(transaction=True)
def test_a_fetched_value_tells_the_webhooks_and_shows_in_the_changes_feed(
    acme, tree, local, listen
):
    leader, kpi = client_for(acme.leader), tree.strategic_kpi
    Webhook.objects.create(
        organization=acme.org,
        url="https://hooks.example.com/in",
        secret="s" * 32,
        events=["kpi.update_recorded"],
    )
    crm = listen(answers=numbers(81))
    leader.put(source_url(kpi), crm_body(crm), format="json")
    cursor = leader.get(f"{API}/changes/").json()["next_cursor"]
    update = leader.post(fetch_url(kpi)).json()["update"]
    assert update is not None

    (delivery,) = WebhookDelivery.objects.filter(event="kpi.update_recorded")
    data = delivery.payload["data"]
    assert (data["kpi"], data["update"], data["value"]) == (kpi.pk, update["id"], 81)
    assert Change.objects.filter(kind="update", object_id=update["id"], action="created").exists()

    # The feed shows a change once every transaction writing when it committed has
    # ended (org/changes.py): other tests' writes on the server may hold it back a while.
    deadline, seen = time.monotonic() + 120, []
    while ("update", update["id"], "created") not in seen:
        assert time.monotonic() < deadline, f"the feed never showed the value: {seen}"
        page = leader.get(f"{API}/changes/", {"since": cursor, "limit": 1000}).json()
        seen += [(item["type"], item["id"], item["action"]) for item in page["results"]]
        cursor = page["next_cursor"]
        time.sleep(0.05)
    assert ("kpi", kpi.pk, "updated") in seen


# -- queries ------------------------------------------------------------------------------


def statements(call) -> tuple[int, object]:
    """SQL statements of one request, less the SAVEPOINT pairs of the test's enclosing
    transaction (served, the write is the outermost transaction)."""
    with CaptureQueriesContext(connection) as queries:
        response = call()
    assert response.status_code in (200, 201), response.content
    return sum("SAVEPOINT" not in query["sql"] for query in queries), response


def test_put_and_fetch_take_the_same_queries_on_a_larger_tree(acme, tree, local, listen):
    """On a KPI three goals down: setting a source, a dry run, a fetch that records (the
    chain rolled up) and one that finds nothing new cost the same whatever the tree's
    width."""
    s = Sizes(acme, tree)
    leader, kpi = client_for(acme.leader), tree.individual_kpi
    crm = listen(answers=numbers(*[value for value in (5.5, 5.4, 5.3) for _ in range(3)]))

    def measured(round_: int) -> dict[str, int]:
        body = crm_body(crm, name=f"CRM {round_}")
        counts = {}
        counts["put"], _ = statements(lambda: leader.put(source_url(kpi), body, format="json"))
        counts["dry_run"], _ = statements(lambda: leader.post(fetch_url(kpi, "true")))
        counts["fetch"], recorded = statements(lambda: leader.post(fetch_url(kpi)))
        assert recorded.json()["recorded"] is True, recorded.json()
        counts["unchanged"], same = statements(lambda: leader.post(fetch_url(kpi)))
        assert same.json()["recorded"] is False, same.json()
        return counts

    measured(0)  # warm up (first-use caches), and the source exists from here on
    grow(s, 2)
    small = measured(1)
    grow(s, 7)
    large = measured(2)
    assert small == large, f"{small} statements on the small tree, {large} on the large"
    print(f"\nsource statements (a KPI three goals down), on both sizes: {large}")


def test_a_source_whose_key_was_lost_can_still_be_deleted_and_set_again(acme, tree, settings):
    settings.OUTBOUND_ALLOW_PRIVATE = True
    leader, kpi = client_for(acme.leader), tree.strategic_kpi
    source_set(actor=acme.leader, kpi=kpi, kind="http_json", name="CRM",
               url="http://127.0.0.1:8/n", pointer="", headers={"X-Key": "k"})  # fmt: skip
    settings.FIELD_ENCRYPTION_KEY = [Fernet.generate_key().decode()]  # the old key is gone
    assert leader.delete(source_url(kpi)).status_code == 204
    assert not KpiSource.objects.filter(kpi=kpi).exists()
    body = {"kind": "http_json", "name": "CRM", "url": "http://127.0.0.1:8/n", "pointer": ""}
    assert leader.put(source_url(kpi), body, format="json").status_code == 201
