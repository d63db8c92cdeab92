"""SPEC §9.7 conditional requests: a single object's GET answers its `ETag` (a hash of
the body, so it moves whenever the body does, a roll-up from below included);
`If-None-Match` naming it is a 304 with no body; PATCH and DELETE with a stale
`If-Match` are a 412 that changes nothing; `*` matches any existing object; a write
answers the new ETag, the one the next GET answers."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from drf_spectacular.generators import SchemaGenerator

from core.api import STALE
from cycles.models import Cycle
from goals.models import Goal
from kpis.models import Kpi
from org.models import Department, Member, Webhook
from reviews.models import Review
from reviews.services import review_create

from .helpers import API, client_for

pytestmark = pytest.mark.django_db

STRONG = re.compile(r'^"[0-9a-f]{32}"$')


@dataclass
class Resource:
    """One kind of single object: where it lives, who may change it, a change, and
    where the database keeps what the change touches."""

    path: str
    who: str  # an attribute of `acme`
    field: str
    values: tuple[str, str]  # a first change, then a second one
    read: Callable[[int], str]


def _review(acme) -> Review:
    return review_create(
        actor=acme.leader,
        cycle=acme.cycle,
        title="Q1 check-in",
        period="2027-Q1",
        scheduled_for=dt.datetime(2027, 3, 29, 10, tzinfo=dt.UTC),
    )


def _webhook(acme) -> Webhook:
    return Webhook.objects.create(
        organization=acme.org,
        url="https://hooks.example.com/in",
        secret="s" * 32,
        events=["kpi.update_recorded"],
    )


RESOURCES = {
    "goals": Resource(
        "goals", "leader", "title", ("Delight customers", "Keep customers"),
        lambda pk: Goal.objects.get(pk=pk).title,
    ),
    "kpis": Resource(
        "kpis", "leader", "name", ("Hours to resolve", "Hours to close"),
        lambda pk: Kpi.objects.get(pk=pk).name,
    ),
    "cycles": Resource(
        "cycles", "leader", "name", ("FY 2027", "Year 2027"),
        lambda pk: Cycle.objects.get(pk=pk).name,
    ),
    "members": Resource(
        "members", "admin", "external_id", ("hr-1", "hr-2"),
        lambda pk: Member.objects.get(pk=pk).external_id,
    ),
    "departments": Resource(
        "departments", "admin", "name", ("Growth", "Brand"),
        lambda pk: Department.objects.get(pk=pk).name,
    ),
    "reviews": Resource(
        "reviews", "leader", "title", ("Q1 review", "Q1 retro"),
        lambda pk: Review.objects.get(pk=pk).title,
    ),
}  # fmt: skip


def object_id(acme, tree, name: str) -> int:
    return {
        "goals": lambda: tree.individual.pk,
        "kpis": lambda: tree.individual_kpi.pk,
        "cycles": lambda: acme.cycle.pk,
        "members": lambda: acme.member.pk,
        "departments": lambda: acme.marketing.pk,
        "reviews": lambda: _review(acme).pk,
        "webhooks": lambda: _webhook(acme).pk,
    }[name]()


@pytest.mark.parametrize("name", [*RESOURCES, "webhooks"])
def test_a_single_object_answers_its_etag_and_a_304_to_a_caller_who_holds_it(acme, tree, name):
    url = f"{API}/{name}/{object_id(acme, tree, name)}/"
    client = client_for(acme.admin)
    read = client.get(url)
    assert read.status_code == 200, read.content
    etag = read["ETag"]
    assert STRONG.match(etag), etag
    assert client.get(url)["ETag"] == etag  # the same body, the same tag

    for held in (etag, "*", f"W/{etag}", f'"older", {etag}'):
        again = client.get(url, HTTP_IF_NONE_MATCH=held)
        assert again.status_code == 304, held
        assert again.content == b""
        assert again["ETag"] == etag
    other = client.get(url, HTTP_IF_NONE_MATCH='"older"')
    assert other.status_code == 200 and other.json() == read.json()


@pytest.mark.parametrize("name", RESOURCES)
def test_a_stale_if_match_is_a_412_and_changes_nothing(acme, tree, name):
    r = RESOURCES[name]
    pk = object_id(acme, tree, name)
    url = f"{API}/{name}/{pk}/"
    client = client_for(getattr(acme, r.who))
    stale = client.get(url)["ETag"]
    first = client.patch(url, {r.field: r.values[0]}, format="json")  # someone else's change
    assert first.status_code == 200, first.content
    assert first["ETag"] != stale

    refused = client.patch(url, {r.field: r.values[1]}, format="json", HTTP_IF_MATCH=stale)
    assert refused.status_code == 412, refused.content
    assert refused.json() == {"detail": STALE}
    assert r.read(pk) == r.values[0]  # read back from the database: unchanged
    assert client.get(url)["ETag"] == first["ETag"]


@pytest.mark.parametrize("name", RESOURCES)
def test_a_matching_if_match_writes_and_answers_the_new_etag_the_next_get_answers(acme, tree, name):
    r = RESOURCES[name]
    pk = object_id(acme, tree, name)
    url = f"{API}/{name}/{pk}/"
    client = client_for(getattr(acme, r.who))
    current = client.get(url)["ETag"]
    changed = client.patch(url, {r.field: r.values[0]}, format="json", HTTP_IF_MATCH=current)
    assert changed.status_code == 200, changed.content
    assert r.read(pk) == r.values[0]
    assert STRONG.match(changed["ETag"]) and changed["ETag"] != current
    assert client.get(url)["ETag"] == changed["ETag"]
    # one of several tags is enough
    listed = f'"older", {changed["ETag"]}'
    again = client.patch(url, {r.field: r.values[1]}, format="json", HTTP_IF_MATCH=listed)
    assert again.status_code == 200, again.content
    assert r.read(pk) == r.values[1]


@pytest.mark.parametrize("name", RESOURCES)
def test_if_match_star_matches_any_existing_object_and_no_missing_one(acme, tree, name):
    r = RESOURCES[name]
    pk = object_id(acme, tree, name)
    client = client_for(getattr(acme, r.who))
    changed = client.patch(
        f"{API}/{name}/{pk}/", {r.field: r.values[0]}, format="json", HTTP_IF_MATCH="*"
    )
    assert changed.status_code == 200, changed.content
    assert r.read(pk) == r.values[0]
    missing = client.patch(
        f"{API}/{name}/{10**9}/", {r.field: r.values[1]}, format="json", HTTP_IF_MATCH="*"
    )
    assert missing.status_code == 404


def test_a_weak_or_malformed_if_match_matches_nothing(acme, tree):
    client = client_for(acme.leader)
    url = f"{API}/goals/{tree.individual.pk}/"
    etag = client.get(url)["ETag"]
    for given in (f"W/{etag}", etag.strip('"'), "nope", '""'):
        refused = client.patch(url, {"title": "Changed"}, format="json", HTTP_IF_MATCH=given)
        assert refused.status_code == 412, given
    assert Goal.objects.get(pk=tree.individual.pk).title == tree.individual.title


def test_if_none_match_star_on_a_write_refuses_to_touch_an_existing_object(acme, tree):
    client = client_for(acme.leader)
    url = f"{API}/goals/{tree.individual.pk}/"
    refused = client.patch(url, {"title": "Changed"}, format="json", HTTP_IF_NONE_MATCH="*")
    assert refused.status_code == 412
    assert "already exists" in refused.json()["detail"]
    assert Goal.objects.get(pk=tree.individual.pk).title == tree.individual.title


@pytest.mark.parametrize("name", ["goals", "webhooks"])
def test_a_delete_with_a_stale_if_match_deletes_nothing_and_with_the_current_one_does(
    acme, tree, name
):
    model = {"goals": Goal, "webhooks": Webhook}[name]
    pk = tree.individual.pk if name == "goals" else _webhook(acme).pk
    client = client_for(acme.admin)
    url = f"{API}/{name}/{pk}/"
    current = client.get(url)["ETag"]
    refused = client.delete(url, HTTP_IF_MATCH='"older"')
    assert refused.status_code == 412
    assert refused.json() == {"detail": STALE}
    assert model.objects.filter(pk=pk).exists()
    if name == "goals":  # a goal with a KPI is cancelled, not deleted: it answers itself
        cancelled = client.delete(url, HTTP_IF_MATCH=current)
        assert cancelled.status_code == 200
        assert cancelled["ETag"] != current and client.get(url)["ETag"] == cancelled["ETag"]
        assert Goal.objects.get(pk=pk).state == "cancelled"
    else:
        assert client.delete(url, HTTP_IF_MATCH=current).status_code == 204
        assert not model.objects.filter(pk=pk).exists()


def test_the_etag_moves_when_a_value_recorded_below_rolls_progress_into_the_goal(acme, tree):
    client = client_for(acme.leader)
    url = f"{API}/goals/{tree.strategic.pk}/"
    before = client.get(url)
    held = before["ETag"]

    recorded = client_for(acme.member).post(
        f"{API}/kpis/{tree.individual_kpi.pk}/updates/", {"value": 5}, format="json"
    )
    assert recorded.status_code == 201, recorded.content

    after = client.get(url, HTTP_IF_NONE_MATCH=held)
    assert after.status_code == 200  # not a 304: the goal's progress moved
    assert after.json()["progress"] != before.json()["progress"]
    assert after["ETag"] != held
    stale = client.patch(url, {"title": "Changed"}, format="json", HTTP_IF_MATCH=held)
    assert stale.status_code == 412
    assert Goal.objects.get(pk=tree.strategic.pk).title == tree.strategic.title


def test_a_refusal_comes_before_the_precondition_and_the_precondition_before_validation(acme, tree):
    url = f"{API}/goals/{tree.strategic.pk}/"
    forbidden = client_for(acme.member).patch(
        url, {"title": "Mine now"}, format="json", HTTP_IF_MATCH='"older"'
    )
    assert forbidden.status_code == 403  # not allowed at all: a 412 would say nothing
    invalid = client_for(acme.leader).patch(
        url, {"title": ""}, format="json", HTTP_IF_MATCH='"older"'
    )
    assert invalid.status_code == 412  # RFC 9110 §13.2.1: before the body is processed


def test_another_organizations_object_is_a_404_whatever_the_precondition(acme, tree, outsider):
    client = client_for(outsider)
    url = f"{API}/goals/{tree.strategic.pk}/"
    assert client.get(url, HTTP_IF_NONE_MATCH="*").status_code == 404
    assert client.patch(url, {"title": "x"}, format="json", HTTP_IF_MATCH="*").status_code == 404


def test_etags_and_304s_take_no_query_more_than_the_plain_read(acme, tree):
    client = client_for(acme.leader)
    url = f"{API}/goals/{tree.strategic.pk}/"
    etag = client.get(url)["ETag"]  # warm up
    counts = []
    for headers in ({}, {"HTTP_IF_NONE_MATCH": etag}):
        with CaptureQueriesContext(connection) as queries:
            client.get(url, **headers)
        counts.append(len(queries))
    assert counts[0] == counts[1], counts


def test_lists_and_other_reads_carry_no_etag(acme, tree):
    client = client_for(acme.leader)
    assert "ETag" not in client.get(f"{API}/goals/")
    assert "ETag" not in client.get(f"{API}/goals/{tree.strategic.pk}/tree/")


@pytest.fixture(scope="module")
def schema():
    return SchemaGenerator().get_schema(request=None, public=True)


@pytest.mark.parametrize("name", [*RESOURCES, "webhooks"])
def test_the_schema_documents_etag_if_none_match_and_304_on_each_read(schema, name):
    read = schema["paths"][f"{API}/{name}/{{id}}/"]["get"]
    headers = {p["name"] for p in read["parameters"] if p["in"] == "header"}
    assert headers == {"If-None-Match"}
    assert "ETag" in read["responses"]["200"]["headers"]
    assert "ETag" in read["responses"]["304"]["headers"]
    assert "content" not in read["responses"]["304"]


@pytest.mark.parametrize("name", [*RESOURCES, "webhooks"])
def test_the_schema_documents_if_match_and_412_on_each_write(schema, name):
    operations = schema["paths"][f"{API}/{name}/{{id}}/"]
    for method in ("patch", "put", "delete"):
        if method not in operations:
            continue
        write = operations[method]
        assert {p["name"] for p in write["parameters"] if p["in"] == "header"} == {"If-Match"}
        failed = write["responses"]["412"]["content"]["application/json"]["schema"]
        assert failed == {"$ref": "#/components/schemas/Error"}
        if "200" in write["responses"]:
            assert "ETag" in write["responses"]["200"]["headers"]
