"""SPEC §9.6, KPI data sources fed by a JSON endpoint, through the services
(kpis.feeds.source_set / source_fetch, dry run or not, and the scheduled
fetch_scheduled) against a real HTTP server on 127.0.0.1 and a real DNS server:
what is recorded and when, every way a fetch fails (a clear message, nothing
recorded, the KPI untouched, the error kept on the source), the egress guard's
refusals (tests/test_egress.py's lists) at setup and at fetch time, secrets
encrypted at rest and absent from the audit log, and a source failing three times
in a row: backed off, its KPI's owner told once.

SQL sources, against a real PostgreSQL database the test creates, are in
test_data_sources_sql.py; the schedule run by a real Celery worker and beat in
tests/jobs/test_data_source_schedule.py."""

from __future__ import annotations

import datetime as dt
import json

import pytest
import time_machine
from cryptography.fernet import Fernet
from django.core.exceptions import ValidationError
from django.db import connection
from django.utils import timezone

from audit.models import Entry
from core import egress
from kpis.feeds import (
    INTERNAL_ERROR,
    fetch_scheduled,
    notify_source_failing,
    slot_of,
    source_fetch,
    source_set,
)
from kpis.models import Kpi, KpiSource, KpiUpdate
from kpis.services import kpi_record_value, kpi_value_correct, kpi_value_retract
from org.models import Notification, OwedJob
from org.outbox import do_owed_job

from ..factories import KpiFactory, MemberFactory
from ..outbound import Answer
from ..test_egress import INTERNAL, MISREAD, PUBLIC_ONLY

pytestmark = pytest.mark.django_db

SECRET = "Bearer s3cr3t-4f9a-never-shown"
NOTIFY = "kpis.feeds.notify_source_failing"


@pytest.fixture
def private(settings):
    """Sources on 127.0.0.1 (the test's servers), and a 1 s timeout for the slow ones."""
    settings.OUTBOUND_ALLOW_PRIVATE = True
    settings.KPI_SOURCE_TIMEOUT = 1
    return settings


@pytest.fixture
def lone_kpi(db) -> Kpi:
    """A KPI and a leader of its organization, and nothing else (the ~80 refusals
    need no more, and run in a fraction of `tree`'s time)."""
    kpi = KpiFactory()
    kpi.leader = MemberFactory(organization=kpi.organization, role="leader")
    return kpi


def json_answer(document: object) -> Answer:
    return Answer(200, {"Content-Type": "application/json"}, json.dumps(document).encode())


def feed(actor, kpi: Kpi, url: str, pointer: str = "/value", **fields) -> KpiSource:
    return source_set(actor=actor, kpi=kpi, kind="http_json", url=url, pointer=pointer, **fields)


def state(kpi: Kpi) -> tuple:
    """What a fetch could change on a KPI and its goal chain."""
    kpi.refresh_from_db()
    goal = kpi.goal
    chain = []
    while goal is not None:
        goal.refresh_from_db()
        chain.append((goal.pk, goal.progress, goal.health))
        goal = goal.parent
    return (kpi.current, kpi.progress, kpi.health, tuple(chain))


# --- a number in a JSON answer --------------------------------------------------------------


def test_a_number_in_a_json_answer_is_recorded_from_the_source_and_rolls_up(
    acme, tree, listen, private
):
    """sam's "Average ticket resolution time" (6 → 4 hours, down) read from a JSON
    endpoint: 5 hours is half way, on the KPI, its goal and the goals above."""
    endpoint = listen(answers=[json_answer({"data": {"hours": 5, "tickets": 12}})] * 2)
    kpi = tree.individual_kpi
    feed(
        acme.leader,
        kpi,
        f"http://127.0.0.1:{endpoint.port}/stats?team=tier-1",
        "/data/hours",
        headers={"Authorization": SECRET},
        name="Helpdesk",
    )
    before = state(kpi)

    preview = source_fetch(actor=acme.leader, kpi=kpi, dry_run=True)
    assert (preview.value, preview.error, preview.update, preview.would_record) == (
        5.0,
        None,
        None,
        True,
    )
    assert KpiUpdate.objects.count() == 0 and state(kpi) == before

    fetched = source_fetch(actor=acme.leader, kpi=kpi, dry_run=False)
    update = fetched.update
    assert fetched.ok and fetched.value == 5.0 and update is not None
    update.refresh_from_db()
    assert (update.value, update.date, update.author, update.source_name) == (
        5.0,
        dt.date(2027, 3, 15),
        None,
        "Helpdesk",
    )
    assert update.author_name == "from Helpdesk"
    assert KpiUpdate.objects.get().source == kpi.source

    kpi.refresh_from_db()
    assert (kpi.current, round(kpi.progress, 1)) == (5.0, 50.0)
    tree.individual.refresh_from_db()
    assert round(tree.individual.progress, 1) == 50.0  # its one KPI
    # The chain above, each the mean of its KPI (no value yet: 0) and its child goal.
    tree.department.refresh_from_db()
    tree.strategic.refresh_from_db()
    assert (tree.department.progress, tree.strategic.progress) == (25.0, 12.5)
    source = KpiSource.objects.get(kpi=kpi)
    assert (source.last_value, source.last_success_at is not None, source.last_error) == (
        5.0,
        True,
        "",
    )

    assert [(seen.method, seen.path) for seen in endpoint.seen] == [
        ("GET", "/stats?team=tier-1")
    ] * 2
    for seen in endpoint.seen:  # the secret header reaches the endpoint, each time
        assert seen.headers["Authorization"] == SECRET
        assert seen.headers["Accept"] == "application/json"


# Every way an answer gives no number, and what the KPI's page then says (`{port}`: the
# endpoint's). Each is answered twice: a dry run, then a fetch that records.
FAILURES = [
    (
        "slow",
        Answer(delay=3, body=b'{"value": 1}'),
        "/value",
        "127.0.0.1 (port {port}) did not answer within 1 seconds.",
    ),
    (
        "500",
        Answer(500, body=b'{"value": 7}'),
        "/value",
        "The address answered 500 instead of 200: check the address and its headers "
        "(a token that expired?).",
    ),
    (
        "redirect to a private address",
        Answer(302, {"Location": "http://169.254.169.254/latest/meta-data/"}, b""),
        "/value",
        "The address answered 302, a redirect to http://169.254.169.254/latest/meta-data/: "
        "Cascade does not follow redirects. Give the final address.",
    ),
    (
        "not JSON",
        Answer(200, {"Content-Type": "text/html"}, b"<html><body>Sign in</body></html>"),
        "/value",
        "The answer is not JSON (it starts “<html><body>Sign in</body></html>”).",
    ),
    (
        "5 MB",
        Answer(200, body=b'{"value": 1, "padding": "' + b"x" * 5_000_000 + b'"}'),
        "/value",
        "The answer was longer than 1,048,576 bytes.",
    ),
    (
        "no such pointer",
        json_answer({"data": {"count": 3}}),
        "/data/total",
        "The answer has nothing at /data/total.",
    ),
    (
        "a text",
        json_answer({"value": "42"}),
        "/value",
        "The value at /value is a text (“42”), not a number.",
    ),
    (
        "NaN",
        Answer(200, body=b'{"value": NaN}'),
        "/value",
        "The answer holds NaN, which is not a number (nor JSON).",
    ),
    (
        "Infinity",
        Answer(200, body=b'{"value": -Infinity}'),
        "/value",
        "The answer holds -Infinity, which is not a number (nor JSON).",
    ),
    (
        "an overflowing number",
        Answer(200, body=b'{"value": 1e999}'),
        "/value",
        "The value at /value is not a finite number.",
    ),
    (
        "beyond 1e12",
        json_answer({"value": 1e13}),
        "/value",
        "The value at /value (1e+13) is beyond ±1e12, more than Cascade records.",
    ),
    ("true", json_answer({"value": True}), "/value", "The value at /value is true, not a number."),
    ("null", json_answer({"value": None}), "/value", "The value at /value is null, not a number."),
    (
        "an object",
        json_answer({"value": {"count": 3}}),
        "/value",
        "The value at /value is an object, not a number.",
    ),
    (
        "a list, as the whole answer",
        json_answer([1, 2]),
        "",
        "The value of the answer is a list of 2, not a number.",
    ),
    (
        "the place after a list's end",
        json_answer({"counts": [4, 5]}),
        "/counts/-",
        "The answer has nothing at /counts/-.",
    ),
    (
        "nested too deeply",
        Answer(200, body=b"[" * 200_000 + b"]" * 200_000),
        "/0",
        "The answer is nested too deeply to read.",
    ),
]


@pytest.mark.parametrize(
    ("answer", "pointer", "says"),
    [case[1:] for case in FAILURES],
    ids=[case[0] for case in FAILURES],
)
def test_an_answer_without_a_number_records_nothing_and_says_why(
    lone_kpi, listen, private, answer, pointer, says
):
    endpoint = listen(answers=[answer, answer])
    kpi, leader = lone_kpi, lone_kpi.leader
    kpi_record_value(actor=leader, kpi=kpi, value=40)  # typed before
    feed(leader, kpi, f"http://127.0.0.1:{endpoint.port}/numbers", pointer)
    says = says.format(port=endpoint.port)
    before, updates = state(kpi), KpiUpdate.objects.count()

    preview = source_fetch(actor=leader, kpi=kpi, dry_run=True)
    assert (preview.value, preview.error, preview.update) == (None, says, None)
    source = KpiSource.objects.get(kpi=kpi)
    assert source.last_error == ""  # a dry run keeps nothing

    fetched = source_fetch(actor=leader, kpi=kpi, dry_run=False)
    assert (fetched.value, fetched.error, fetched.update) == (None, says, None)
    assert KpiUpdate.objects.count() == updates and state(kpi) == before
    source.refresh_from_db()
    assert (source.last_error, source.last_error_at is not None) == (says, True)
    assert (source.last_value, source.last_success_at) == (None, None)
    assert len(endpoint.seen) == 2


def test_a_redirect_is_not_followed_even_to_an_allowed_address(acme, tree, listen, private):
    inside = listen(answers=[json_answer({"value": 5})])
    redirecting = listen(answers=[Answer(302, {"Location": f"http://127.0.0.1:{inside.port}/"})])
    kpi = tree.individual_kpi
    feed(acme.leader, kpi, f"http://127.0.0.1:{redirecting.port}/")
    fetched = source_fetch(actor=acme.leader, kpi=kpi, dry_run=False)
    assert fetched.error.startswith("The address answered 302, a redirect to http://127.0.0.1:")
    assert inside.seen == [] and len(redirecting.seen) == 1
    assert KpiUpdate.objects.count() == 0


# --- secrets ------------------------------------------------------------------------------


def test_secret_headers_are_encrypted_at_rest_and_kept_out_of_the_audit_log(
    acme, tree, listen, private
):
    endpoint = listen(answers=[json_answer({"value": 5})] * 2)
    kpi = tree.individual_kpi
    url = f"http://127.0.0.1:{endpoint.port}/numbers"
    source = feed(acme.leader, kpi, url, headers={"Authorization": SECRET, "X-Api-Key": "k-7781"})
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT headers FROM {KpiSource._meta.db_table} WHERE id = %s", [source.pk])
        (raw,) = cursor.fetchone()
    assert raw and SECRET not in raw and "s3cr3t" not in raw and "k-7781" not in raw
    assert source.header_names == ["Authorization", "X-Api-Key"]

    source_fetch(actor=acme.leader, kpi=kpi, dry_run=False)
    assert endpoint.seen[0].headers["Authorization"] == SECRET
    assert endpoint.seen[0].headers["X-Api-Key"] == "k-7781"

    # Changed without its headers: they stay. Then the token rotated: the log says so.
    feed(acme.leader, kpi, url, "/value", schedule="hourly")
    source_fetch(actor=acme.leader, kpi=kpi, dry_run=True)
    assert endpoint.seen[1].headers["Authorization"] == SECRET
    feed(
        acme.leader,
        kpi,
        url,
        "/value",
        schedule="hourly",
        headers={"Authorization": "Bearer rotated-1"},
    )

    entries = list(Entry.objects.filter(action__startswith="kpi.source").order_by("id"))
    assert [entry.action for entry in entries] == [
        "kpi.source_set",
        "kpi.source_changed",
        "kpi.source_changed",
    ]
    assert entries[1].changes == {"schedule": ["daily", "hourly"]}
    assert "headers" in entries[2].changes  # a new secret is a change, never shown
    logged = json.dumps([entry.changes for entry in entries])
    for secret in ("s3cr3t", "k-7781", "rotated-1", "Bearer"):
        assert secret not in logged


@pytest.mark.parametrize(
    ("headers", "says"),
    [
        ({"Authorization": "Bearer caf\u00e9"}, "The value of Authorization may hold only ASCII"),
        ({"X-Key": "a\x00b"}, "The value of X-Key may hold only ASCII"),
        ({"X-Key": "a\r\nHost: evil"}, "The value of X-Key must be one line"),
        ({"Host": "numbers.example"}, "Cascade sets Host itself."),
        ({"X Key": "1"}, "“X Key” is not a header name."),
        ({"X-Key": 1}, "Give headers as names and texts"),
    ],
)
def test_a_header_http_cannot_send_is_refused_when_saved(lone_kpi, headers, says):
    with pytest.raises(ValidationError) as refused:
        source_set(
            actor=lone_kpi.leader,
            kpi=lone_kpi,
            kind="http_json",
            url="https://93.184.216.34/numbers",
            headers=headers,
        )
    (said,) = refused.value.message_dict["headers"]
    assert said.startswith(says)
    assert not KpiSource.objects.exists()


# --- recorded only when the value or its period changed --------------------------------


def test_a_value_is_recorded_only_when_it_or_its_period_changed(acme, tree, listen, private):
    """The cycle's cadence is quarterly: 5 twice in March is one value; 4.5 is news; 4.5
    again on March 31 is not; 4.5 in April (the next quarter) is."""
    answers = [json_answer({"value": v}) for v in (5, 5, 5, 4.5, 4.5, 4.5, 4.5)]
    endpoint = listen(answers=answers)
    kpi = tree.individual_kpi
    feed(acme.leader, kpi, f"http://127.0.0.1:{endpoint.port}/")

    def fetch(dry_run: bool = False):
        return source_fetch(actor=acme.leader, kpi=kpi, dry_run=dry_run)

    first = fetch()
    assert first.update is not None and first.update.value == 5
    again = fetch()
    assert (again.ok, again.value, again.update) == (True, 5.0, None)
    assert fetch(dry_run=True).would_record is False
    changed = fetch()
    assert changed.update is not None and changed.update.value == 4.5
    with time_machine.travel(dt.datetime(2027, 3, 31, 12, tzinfo=dt.UTC), tick=True):
        assert fetch().update is None  # the same quarter
    with time_machine.travel(dt.datetime(2027, 4, 2, 12, tzinfo=dt.UTC), tick=True):
        assert fetch(dry_run=True).would_record is True
        next_quarter = fetch()
    assert next_quarter.update is not None
    assert [(u.value, u.date) for u in KpiUpdate.objects.order_by("id")] == [
        (5.0, dt.date(2027, 3, 15)),
        (4.5, dt.date(2027, 3, 15)),
        (4.5, dt.date(2027, 4, 2)),
    ]
    assert len(endpoint.seen) == 7


# --- the egress guard, as for webhooks -------------------------------------------------


def refusal_at_setup(kpi: Kpi, url: str) -> str:
    with pytest.raises(ValidationError) as refused:
        source_set(actor=kpi.leader, kpi=kpi, kind="http_json", url=url, pointer="/value")
    (said,) = refused.value.message_dict["url"]
    assert not KpiSource.objects.exists()
    return said


@pytest.mark.parametrize(("url", "kind"), INTERNAL)
def test_a_source_at_an_internal_address_is_refused_as_a_webhook_is(lone_kpi, url, kind):
    said = refusal_at_setup(lone_kpi, url)
    assert kind in said and said.endswith(PUBLIC_ONLY)
    assert said == egress.refusal(url)


@pytest.mark.parametrize(
    ("url", "says"),
    # An empty address is a missing one: "Give the address that answers with JSON."
    [case for case in MISREAD if case[0]],
)
def test_a_source_address_another_parser_could_read_differently_is_refused(lone_kpi, url, says):
    said = refusal_at_setup(lone_kpi, url)
    assert says in said and said == egress.refusal(url)


def test_a_source_saved_while_private_addresses_were_allowed_is_refused_at_fetch_time(
    acme, tree, listen, settings
):
    settings.OUTBOUND_ALLOW_PRIVATE = True
    endpoint = listen(answers=[json_answer({"value": 5})] * 3)
    kpi = tree.individual_kpi
    source = feed(acme.leader, kpi, f"http://127.0.0.1:{endpoint.port}/")
    settings.OUTBOUND_ALLOW_PRIVATE = False
    said = f"127.0.0.1 is a loopback address: {PUBLIC_ONLY}"

    assert source_fetch(actor=acme.leader, kpi=kpi, dry_run=True).error == said
    assert source_fetch(actor=acme.leader, kpi=kpi, dry_run=False).error == said
    now = timezone.now()
    assert fetch_scheduled(source.pk, slot_of(source.schedule, now), now) == "failed"
    source.refresh_from_db()
    assert (source.last_error, source.failures) == (said, 1)
    assert KpiUpdate.objects.count() == 0 and endpoint.seen == []


def test_a_source_name_that_rebinds_to_loopback_is_refused_at_fetch_and_never_reached(
    acme, tree, listen, dns
):
    """Public when it is saved, 127.0.0.1 when it is fetched: refused, the listener on
    127.0.0.1 hears nothing."""
    endpoint = listen(answers=[json_answer({"value": 5})])
    server = dns({"numbers.test": ["93.184.216.34", "127.0.0.1"]})
    kpi = tree.individual_kpi
    feed(acme.leader, kpi, f"http://numbers.test:{endpoint.port}/count")
    assert server.asked == ["numbers.test"]

    fetched = source_fetch(actor=acme.leader, kpi=kpi, dry_run=False)
    assert (
        fetched.error == f"“numbers.test” resolves to 127.0.0.1, a loopback address: {PUBLIC_ONLY}"
    )
    assert server.asked == ["numbers.test", "numbers.test"]
    assert endpoint.seen == [] and KpiUpdate.objects.count() == 0
    assert KpiSource.objects.get(kpi=kpi).last_error == fetched.error


# --- failing in a row: backoff, and the owner told once ------------------------------


def test_three_failed_fetches_in_a_row_back_off_and_tell_the_kpis_owner_once(
    acme, tree, listen, private
):
    endpoint = listen(answers=[Answer(503, body=b"down")] * 4 + [json_answer({"value": 5})])
    kpi = tree.individual_kpi  # owned by sam
    source = feed(acme.leader, kpi, f"http://127.0.0.1:{endpoint.port}/", name="Helpdesk")
    said = (
        "The address answered 503 instead of 200: check the address and its headers "
        "(a token that expired?)."
    )

    now, pauses = timezone.now(), []
    for failures in (1, 2, 3):
        assert fetch_scheduled(source.pk, slot_of(source.schedule, now), now) == "failed"
        source.refresh_from_db()
        assert (source.failures, source.last_error) == (failures, said)
        assert source.claim_until is None and source.queued_until is None
        pauses.append(source.next_fetch_at - now)
        owed = OwedJob.objects.filter(task=NOTIFY)
        assert owed.count() == (1 if failures == 3 else 0)
        now = source.next_fetch_at  # the next try, when it is due
    assert pauses == [dt.timedelta(minutes=1), dt.timedelta(minutes=2), dt.timedelta(minutes=4)]
    assert KpiUpdate.objects.count() == 0

    (job,) = OwedJob.objects.filter(task=NOTIFY)
    assert job.kwargs["source_id"] == source.pk
    assert do_owed_job(job.pk) == "done"
    (told,) = Notification.objects.filter(kind="kpi_source")
    assert told.member == acme.member
    assert told.title == "“Average ticket resolution time” gets no values from Helpdesk"
    assert said in told.body and "3 fetches failed" in told.body
    assert told.link == f"/goals/{tree.individual.pk}/#kpi-{kpi.pk}"
    assert do_owed_job(job.pk) == "skipped"  # done already
    assert notify_source_failing(**job.kwargs) == 0  # even run again: made once
    assert Notification.objects.filter(kind="kpi_source").count() == 1

    # A fourth failure owes nothing more; a success resets the count.
    assert fetch_scheduled(source.pk, slot_of(source.schedule, now), now) == "failed"
    source.refresh_from_db()
    assert source.failures == 4 and OwedJob.objects.filter(task=NOTIFY).count() == 1
    now = source.next_fetch_at
    assert fetch_scheduled(source.pk, slot_of(source.schedule, now), now) == "recorded"
    source.refresh_from_db()
    assert (source.failures, source.last_error, source.last_value) == (0, "", 5.0)
    assert source.next_fetch_at == dt.datetime(2027, 3, 16, tzinfo=dt.UTC)  # the next day
    assert KpiUpdate.objects.get().author_name == "from Helpdesk"


def test_a_source_whose_secrets_no_key_decrypts_fails_visibly_and_records_nothing(
    acme, tree, listen, private, settings
):
    server = listen(answers=[json_answer({"value": 7})])
    source = feed(
        acme.leader,
        tree.strategic_kpi,
        f"http://127.0.0.1:{server.port}/n",
        headers={"Authorization": "Bearer k"},
    )
    settings.FIELD_ENCRYPTION_KEY = [Fernet.generate_key().decode()]  # the old key is gone
    slot = slot_of(source.schedule, timezone.now())
    assert fetch_scheduled(source.pk, slot) == "failed"
    failed = KpiSource.objects.defer("headers", "database_url").get(pk=source.pk)
    assert failed.last_error == INTERNAL_ERROR and failed.failures == 1
    assert not KpiUpdate.objects.filter(kpi=tree.strategic_kpi).exists()
    assert server.seen == []


def test_a_fetched_value_is_corrected_and_retracted_like_a_typed_one(acme, tree, listen, private):
    endpoint = listen(answers=[json_answer({"value": 5})] * 3)
    kpi = tree.individual_kpi
    feed(acme.leader, kpi, f"http://127.0.0.1:{endpoint.port}/hours", name="Helpdesk")
    fetched = source_fetch(actor=acme.leader, kpi=kpi, dry_run=False).update
    assert fetched.author_name == "from Helpdesk"
    # Its KPI's owner corrects it (the source wrote it; nobody is its author).
    correction = kpi_value_correct(actor=acme.member, update=fetched, value=4.5)
    assert (correction.author_id, correction.replaces_id) == (acme.member.pk, fetched.pk)
    kpi.refresh_from_db()
    assert kpi.current == 4.5
    retracted = kpi_value_retract(actor=acme.manager, update=correction, reason="Wrong week")
    assert retracted.retracted_at is not None
    kpi.refresh_from_db()
    assert kpi.current is None  # nothing live: the source's 5 was replaced, 4.5 withdrawn
    # The next fetch of the same 5 is news again: the KPI's latest live value is gone.
    again = source_fetch(actor=acme.leader, kpi=kpi, dry_run=False).update
    assert again is not None and again.value == 5 and again.author_name == "from Helpdesk"
