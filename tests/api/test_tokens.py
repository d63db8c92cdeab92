"""SPEC §8.2 and §9.2 tokens: stored hashed, many per person, revocable (DELETE
auth/token/ the one in use; a password change or reset and a deactivation all of
them), every one expiring within a year (90 days unless told); and service tokens made
by admins (tokens/, the People page): the key shown once, expired or revoked ones are
401, and what one records names it.

Service tokens answer to their maker: one acts as the admin who made it, as they are
now, within its scope (`read`, `write`, `admin`, `scim`). Its maker deactivated, it is
a 401 everywhere; its maker demoted, it loses what their role no longer allows (403).
Every refusal here changes nothing: no row, no token, no webhook."""

from __future__ import annotations

import datetime as dt
from contextlib import contextmanager

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.contrib.auth.tokens import default_token_generator
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.http import HttpRequest
from django.test import Client
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from drf_spectacular.generators import SchemaGenerator
from rest_framework.test import APIClient

from kpis.models import KpiUpdate
from org.models import ApiToken, Member, Webhook
from org.services import member_update
from org.tokens import (
    ADMIN_SCOPE_LAPSED,
    MAKER_DEACTIVATED,
    SCIM_ONLY,
    a_year_after,
    service_token_create,
    token_issue,
)

from ..conftest import NOW
from ..factories import MemberFactory
from ..pages.helpers import field_errors, parse
from .helpers import API, client_for, database, unchanged
from .test_auth import endpoints

pytestmark = pytest.mark.django_db


def with_key(key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


def works(key: str) -> bool:
    status = with_key(key).get(f"{API}/me/").status_code
    assert status in (200, 401), status
    return status == 200


# ---------------------------------------------------------------- personal tokens


def test_delete_revokes_the_token_in_use_and_no_other(acme):
    _, first = token_issue(acme.member.user)
    _, second = token_issue(acme.member.user)
    assert with_key(first).delete(f"{API}/auth/token/").status_code == 204
    assert not works(first)
    assert works(second)


def test_delete_without_a_token_is_401_and_revokes_nothing(acme):
    token_issue(acme.member.user)
    client = APIClient()
    client.force_login(acme.member.user)
    with unchanged():
        assert client.delete(f"{API}/auth/token/").status_code in (401, 403)
    assert ApiToken.objects.count() == 1


def test_changing_the_password_revokes_every_token_of_that_person_only(client, acme):
    _, mine = token_issue(acme.member.user)
    _, also_mine = token_issue(acme.member.user)
    _, theirs = token_issue(acme.manager.user)
    client.force_login(acme.member.user)
    response = client.post(
        "/accounts/password_change/",
        {
            "old_password": "pw-cascade-test",
            "new_password1": "a-much-longer-passphrase-7",
            "new_password2": "a-much-longer-passphrase-7",
        },
    )
    assert response.status_code == 302, response.content
    assert not works(mine) and not works(also_mine)
    assert works(theirs)


def test_resetting_the_password_revokes_every_token(client, acme):
    _, key = token_issue(acme.member.user)
    user = acme.member.user
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    link = client.get(f"/accounts/reset/{uid}/{default_token_generator.make_token(user)}/")
    response = client.post(
        link["Location"],
        {"new_password1": "a-fresh-passphrase-42", "new_password2": "a-fresh-passphrase-42"},
    )
    assert response.status_code == 302, response.content
    assert not works(key)


def test_a_token_expires_after_api_token_days(acme, settings):
    token, key = token_issue(acme.member.user)
    assert token.expiry is not None and (token.expiry - NOW).days in (89, 90)
    with time_machine.travel(NOW + dt.timedelta(days=89), tick=True):
        assert works(key)
    with time_machine.travel(NOW + dt.timedelta(days=91), tick=True):
        assert not works(key)
        assert not ApiToken.objects.exists()  # an expired token is deleted when used


def test_members_created_through_the_api_pass_the_password_rules(acme):
    client = client_for(acme.admin)
    for weak in ("12345678", "password", "sam-sam"):
        with unchanged():
            response = client.post(
                f"{API}/members/", {"username": "newbie", "password": weak}, format="json"
            )
        assert response.status_code == 400, weak
        assert response.json()["password"], weak
    response = client.post(
        f"{API}/members/",
        {"username": "newbie", "password": "correct-horse-battery-9"},
        format="json",
    )
    assert response.status_code == 201, response.content


# ---------------------------------------------------------------- service tokens


def make(client, **body):
    return client.post(f"{API}/tokens/", body, format="json")


def test_an_admin_makes_a_service_token_whose_key_is_shown_once(acme):
    admin = client_for(acme.admin)
    response = make(admin, name="Nightly BI sync", scope="write", expires_on="2027-06-30")
    assert response.status_code == 201, response.content
    made = response.json()
    assert made["name"] == "Nightly BI sync" and made["scope"] == "write"
    assert made["key"].startswith("cas_") and made["expiry"].startswith("2027-07-01")
    stored = ApiToken.objects.get(pk=made["id"])
    assert made["key"] not in (stored.digest, stored.token_key)
    listed = admin.get(f"{API}/tokens/").json()["results"]
    assert [(t["name"], t["key"]) for t in listed] == [("Nightly BI sync", None)]
    assert works(made["key"])


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": ""}, "name"),
        ({"name": "Two\nlines"}, "name"),
        ({"name": "x" * 101}, "name"),
        ({"name": "Sync", "scope": "root"}, "scope"),
        ({"name": "Sync", "scope": ""}, "scope"),
        ({"name": "Sync", "expires_on": "2027-03-15"}, "expires_on"),  # today
        ({"name": "Sync", "expires_on": "2026-01-01"}, "expires_on"),
        ({"name": "Sync", "expires_on": "someday"}, "expires_on"),
        ({"name": "Sync", "expires_on": "2028-03-15"}, "expires_on"),  # beyond a year
        ({"name": "Sync", "expires_on": "9999-12-31"}, "expires_on"),
        ({"name": "Sync", "expires_on": "1999-12-31"}, "expires_on"),
    ],
)
def test_a_bad_service_token_is_refused_with_the_reason(acme, body, field):
    with unchanged():
        response = make(client_for(acme.admin), **body)
    assert response.status_code == 400, response.content
    assert field in response.json()
    assert not ApiToken.objects.filter(organization=acme.org).exists()


def test_a_service_tokens_expiry_may_be_given_as_an_instant(acme):
    made = make(client_for(acme.admin), name="Trial", expiry="2027-03-15T18:00:00Z")
    assert made.status_code == 201, made.content
    assert made.json()["expiry"] == "2027-03-15T18:00:00Z"
    assert works(made.json()["key"])
    with time_machine.travel(dt.datetime(2027, 3, 15, 18, 1, tzinfo=dt.UTC), tick=True):
        assert not works(made.json()["key"])


@pytest.mark.parametrize(
    "body",
    [
        {"expiry": "2027-03-15T11:00:00Z"},  # an hour ago
        {"expiry": "2027-06-30T00:00:00Z", "expires_on": "2027-06-30"},  # both
        {"expiry": "2028-03-15T12:10:00Z"},  # a year and ten minutes (the test clock ticks)
        {"expiry": "9999-12-31T23:59:59Z"},
        {"expiry": "9999-12-31T23:59:59-01:00"},  # beyond what a datetime holds in UTC
    ],
)
def test_a_bad_service_token_expiry_is_refused(acme, body):
    with unchanged():
        response = make(client_for(acme.admin), name="Trial", **body)
    assert response.status_code == 400 and "expiry" in response.json()
    assert not ApiToken.objects.filter(organization=acme.org).exists()


def test_two_service_tokens_may_not_share_a_name(acme):
    admin = client_for(acme.admin)
    assert make(admin, name="Sync").status_code == 201
    response = make(admin, name="Sync")
    assert response.status_code == 400 and "name" in response.json()
    assert ApiToken.objects.filter(organization=acme.org).count() == 1


@pytest.mark.parametrize("role", ["leader", "manager", "member", "reviewer"])
def test_only_admins_see_make_or_revoke_service_tokens(acme, role):
    token, _ = service_token_create(actor=acme.admin, name="Sync")
    caller = client_for(getattr(acme, role))
    assert caller.get(f"{API}/tokens/").status_code == 403
    assert make(caller, name="Mine").status_code == 403
    assert caller.delete(f"{API}/tokens/{token.pk}/").status_code == 403
    assert list(ApiToken.objects.filter(organization=acme.org)) == [token]


def test_another_organizations_service_token_is_not_found(acme, outsider):
    token, key = service_token_create(actor=outsider, name="Their sync")
    admin = client_for(acme.admin)
    assert admin.get(f"{API}/tokens/").json()["results"] == []
    assert admin.delete(f"{API}/tokens/{token.pk}/").status_code == 404
    assert works(key)


def test_a_read_token_reads_but_cannot_write(acme, tree):
    _, key = service_token_create(actor=acme.admin, name="Dashboard wall", scope="read")
    reader = with_key(key)
    assert reader.get(f"{API}/goals/").status_code == 200
    kpi = tree.individual_kpi
    with unchanged():
        response = reader.post(f"{API}/kpis/{kpi.pk}/updates/", {"value": 5}, format="json")
        assert response.status_code == 403
        assert "read" in response.json()["detail"]
        patched = reader.patch(f"{API}/goals/{tree.strategic.pk}/", {"title": "X"}, format="json")
        assert patched.status_code == 403
        assert reader.delete(f"{API}/auth/token/").status_code == 403


def test_a_write_token_records_values_under_its_own_name(client, acme, tree):
    _, key = service_token_create(actor=acme.admin, name="Nightly BI sync")
    kpi = tree.individual_kpi
    response = with_key(key).post(
        f"{API}/kpis/{kpi.pk}/updates/", {"value": 5, "date": "2027-03-14"}, format="json"
    )
    assert response.status_code == 201, response.content
    assert response.json()["author_name"] == "Nightly BI sync"
    history = client_for(acme.member).get(f"{API}/kpis/{kpi.pk}/updates/").json()["results"]
    assert [h["author_name"] for h in history] == ["Nightly BI sync"]
    assert KpiUpdate.objects.get().author_token == "Nightly BI sync"  # kept if revoked
    client.force_login(acme.member.user)
    update = KpiUpdate.objects.get()
    page = client.get(f"/goals/{kpi.goal_id}/")
    row = parse(page).find(id=f"update-{update.pk}")
    assert "Nightly BI sync" in row.text


def test_revoked_and_expired_service_tokens_are_401(acme):
    admin = client_for(acme.admin)
    revoked = make(admin, name="Old sync").json()
    assert admin.delete(f"{API}/tokens/{revoked['id']}/").status_code == 204
    assert not works(revoked["key"])
    expiring = make(admin, name="Trial", expires_on="2027-03-16").json()
    assert works(expiring["key"])
    with time_machine.travel(NOW + dt.timedelta(days=1), tick=True):
        assert works(expiring["key"])  # through its last day
    with time_machine.travel(NOW + dt.timedelta(days=2), tick=True):
        assert not works(expiring["key"])


def test_a_service_token_outlives_its_makers_password_change(acme):
    _, key = service_token_create(actor=acme.admin, name="Sync")
    acme.admin.user.set_password("another-long-passphrase-3")
    acme.admin.user.save()
    assert works(key)


# ---------------------------------------------------------------- answering to the maker

A_GOOD_PASSWORD = "correct-horse-battery-9"
# What the review sent with a deactivated or demoted admin's `write` token: an admin
# account of its own, able to sign in.
BACKDOOR = {"username": "backdoor", "role": "admin", "password": A_GOOD_PASSWORD}


def everything() -> dict[str, list[dict]]:
    """Every row an API write could touch, the tokens and webhooks included."""
    return {
        **database(),
        "ApiToken": list(ApiToken.objects.order_by("pk").values()),
        "Webhook": list(Webhook.objects.order_by("pk").values()),
    }


@contextmanager
def nothing_changes():
    before = everything()
    yield
    assert everything() == before, "a refused call changed the database"


def another_admin(acme) -> Member:
    """A second admin, so the first may be deactivated or demoted (one must remain)."""
    return MemberFactory(organization=acme.org, role="admin", user__username="bo")


def fresh(member: Member) -> Member:
    return Member.objects.get(pk=member.pk)


def cannot_sign_in_as_backdoor() -> bool:
    signed_in = Client().login(request=HttpRequest(), username="backdoor", password=A_GOOD_PASSWORD)
    return not signed_in and not get_user_model().objects.filter(username="backdoor").exists()


def test_a_deactivated_admins_write_token_is_refused_everywhere(acme, tree):
    _, key = service_token_create(actor=acme.admin, name="Nightly BI sync", scope="write")
    member_update(actor=another_admin(acme), member=fresh(acme.admin), is_active=False)
    token = with_key(key)
    calls = [
        *endpoints(acme, tree),
        ("get", f"{API}/tokens/"),
        ("post", f"{API}/tokens/"),
        ("get", f"{API}/webhooks/"),
        ("post", f"{API}/webhooks/"),
        ("delete", f"{API}/auth/token/"),
        ("get", f"{API}/notifications/"),
    ]
    bodies = {
        f"{API}/tokens/": {"name": "Second key", "scope": "admin"},
        f"{API}/members/": BACKDOOR,
        f"{API}/members/{acme.admin.pk}/": {"is_active": True},
        f"{API}/webhooks/": {"url": "https://hooks.example/in", "events": ["review.completed"]},
        f"{API}/kpis/{tree.individual_kpi.pk}/updates/": {"value": 5},
    }
    with nothing_changes():
        for method, url in calls:
            response = getattr(token, method)(url, bodies.get(url, {"title": "x"}), format="json")
            assert response.status_code == 401, (method, url, response.status_code)
            assert response.json()["detail"] == MAKER_DEACTIVATED, (method, url)
    assert "deactivated" in MAKER_DEACTIVATED and "make a new one" in MAKER_DEACTIVATED
    assert cannot_sign_in_as_backdoor()


@pytest.mark.parametrize("role", ["leader", "manager", "member", "reviewer"])
def test_a_demoted_admins_token_cannot_make_tokens_or_members_and_me_shows_the_real_role(
    acme, role
):
    _, key = service_token_create(actor=acme.admin, name="Nightly BI sync", scope="write")
    member_update(actor=another_admin(acme), member=fresh(acme.admin), role=role)
    token = with_key(key)
    me = token.get(f"{API}/me/")
    assert me.status_code == 200 and me.json()["username"] == "ada"
    assert me.json()["role"] == role
    with nothing_changes():
        refusals = [
            token.post(f"{API}/tokens/", {"name": "Second key", "scope": "admin"}, format="json"),
            token.get(f"{API}/tokens/"),
            token.post(f"{API}/members/", BACKDOOR, format="json"),
            token.patch(f"{API}/members/{acme.admin.pk}/", {"role": "admin"}, format="json"),
            token.patch(f"{API}/members/{acme.member.pk}/", {"role": "admin"}, format="json"),
            token.post(
                f"{API}/webhooks/",
                {"url": "https://hooks.example/in", "events": ["review.completed"]},
                format="json",
            ),
            token.get(f"{API}/webhooks/"),
            token.post(f"{API}/departments/", {"name": "Shadow IT"}, format="json"),
        ]
        for response in refusals:
            assert response.status_code == 403, (response.request, response.content)
            assert "Only admins" in response.json()["detail"], response.content
    assert fresh(acme.admin).role == role
    assert cannot_sign_in_as_backdoor()


def test_a_write_token_writes_what_its_makers_role_allows_now(acme):
    _, key = service_token_create(actor=acme.admin, name="Planning sync", scope="write")
    token = with_key(key)
    goal = {"cycle": acme.cycle.pk, "level": "strategic", "title": "Grow"}
    boss = another_admin(acme)
    member_update(actor=boss, member=fresh(acme.admin), role="leader")
    made = token.post(f"{API}/goals/", goal, format="json")
    assert made.status_code == 201, made.content  # leaders set objectives
    member_update(actor=boss, member=fresh(acme.admin), role="member")
    with nothing_changes():
        response = token.post(f"{API}/goals/", {**goal, "title": "Grow more"}, format="json")
    assert response.status_code == 403  # members do not


def test_an_admin_tokens_scope_lapses_when_its_maker_is_no_longer_an_admin(acme):
    _, key = service_token_create(actor=acme.admin, name="Provisioning", scope="admin")
    token = with_key(key)
    made = token.post(f"{API}/tokens/", {"name": "Made by a token"}, format="json")
    assert made.status_code == 201, made.content  # the admin scope may, while it lasts
    member_update(actor=another_admin(acme), member=fresh(acme.admin), role="leader")
    with nothing_changes():
        for response in (
            token.get(f"{API}/me/"),
            token.get(f"{API}/goals/"),
            token.post(f"{API}/tokens/", {"name": "Another"}, format="json"),
            token.post(f"{API}/members/", BACKDOOR, format="json"),
        ):
            assert response.status_code == 403, response.content
            assert response.json()["detail"] == ADMIN_SCOPE_LAPSED
    assert ADMIN_SCOPE_LAPSED.startswith("This token's admin scope lapsed: its maker is no longer")
    assert cannot_sign_in_as_backdoor()


def test_a_token_whose_maker_left_is_401(acme):
    _, key = service_token_create(actor=acme.admin, name="Sync")
    Member.objects.filter(pk=acme.admin.pk).delete()
    response = with_key(key).get(f"{API}/me/")
    assert response.status_code == 401 and "make a new one" in response.json()["detail"]


# The scopes, for a token whose maker is an active admin: what each call answers with
# a `read`, a `write`, an `admin` and a `scim` token.
SCOPES = ("read", "write", "admin", "scim")
MATRIX = [
    ("get", "me/", None, (200, 200, 200, 403)),
    ("get", "goals/", None, (200, 200, 200, 403)),
    ("get", "members/", None, (200, 200, 200, 403)),
    ("post", "kpis/{kpi}/updates/", {"value": 5}, (403, 201, 201, 403)),
    ("post", "departments/", {"name": "Data"}, (403, 201, 201, 403)),
    ("get", "tokens/", None, (403, 403, 200, 403)),
    ("post", "tokens/", {"name": "Another"}, (403, 403, 201, 403)),
    ("post", "members/", {"username": "newbie", "password": A_GOOD_PASSWORD}, (403, 403, 201, 403)),
    ("patch", "members/{sam}/", {"role": "manager"}, (403, 403, 200, 403)),
    ("get", "webhooks/", None, (403, 403, 200, 403)),
]


@pytest.mark.parametrize("scope", SCOPES)
@pytest.mark.parametrize(("method", "path", "body", "answers"), MATRIX)
def test_each_scope_reaches_what_it_says_and_nothing_more(
    acme, tree, scope, method, path, body, answers
):
    _, key = service_token_create(actor=acme.admin, name="Integration", scope=scope)
    url = f"{API}/" + path.format(kpi=tree.individual_kpi.pk, sam=acme.member.pk)
    expected = answers[SCOPES.index(scope)]
    call = getattr(with_key(key), method)
    if expected >= 400:
        with nothing_changes():
            response = call(url, body, format="json")
        assert response.status_code == expected, response.content
        detail = response.json()["detail"]
        if scope == "scim":
            assert "/scim/v2/" in detail, detail
        elif scope == "read" and method != "get":
            assert "only read" in detail, detail
        else:  # the admin area
            assert "needs the admin scope" in detail, detail
    else:
        response = call(url, body, format="json")
        assert response.status_code == expected, response.content


def test_a_scim_token_is_refused_under_api_v1_and_says_where_it_works(acme):
    _, key = service_token_create(actor=acme.admin, name="Okta", scope="scim")
    credentials = {"username": "sam", "password": "pw-cascade-test"}
    with nothing_changes():
        for response in (
            with_key(key).get(f"{API}/me/"),
            with_key(key).post(f"{API}/auth/token/", credentials, format="json"),
            with_key(key).delete(f"{API}/auth/token/"),
        ):
            assert response.status_code == 403 and response.json()["detail"] == SCIM_ONLY


def test_an_admin_may_make_a_token_of_any_scope(acme):
    admin = client_for(acme.admin)
    for scope in SCOPES:
        made = make(admin, name=f"Token {scope}", scope=scope)
        assert made.status_code == 201 and made.json()["scope"] == scope, made.content


# ---------------------------------------------------------------- expiry


def test_every_token_expires_within_a_year_90_days_by_default(client, acme):
    ninety_days = NOW + dt.timedelta(days=90)
    personal = APIClient().post(
        f"{API}/auth/token/", {"username": "sam", "password": "pw-cascade-test"}, format="json"
    )
    assert personal.status_code == 200, personal.content
    by_api = make(client_for(acme.admin), name="By the API")
    assert by_api.status_code == 201, by_api.content
    client.force_login(acme.admin.user)
    page = client.get("/people/")
    assert parse(page).find(id="id_token-expires_on").attrs["value"] == "2027-06-13"
    made = client.post("/people/tokens/", {"token-name": "By the page", "token-scope": "read"})
    assert made.status_code == 200
    for expiry in (personal.json()["expiry"], by_api.json()["expiry"]):
        assert abs(dt.datetime.fromisoformat(expiry) - ninety_days) < dt.timedelta(minutes=1)
    by_page = ApiToken.objects.get(name="By the page")
    assert abs(by_page.expiry - ninety_days) < dt.timedelta(minutes=1)
    # The furthest allowed: the last day before the same date next year, or the instant.
    furthest = make(client_for(acme.admin), name="A year", expires_on="2028-03-14")
    assert furthest.status_code == 201, furthest.content
    instant = make(client_for(acme.admin), name="A year on", expiry="2028-03-15T12:00:00Z")
    assert instant.status_code == 201, instant.content
    assert ApiToken.objects.filter(organization=acme.org).count() == 4
    for token in ApiToken.objects.all():  # personal ones and service ones alike
        assert token.created < token.expiry <= a_year_after(token.created), token


def test_api_token_days_beyond_a_year_or_never_still_give_a_token_within_a_year(acme, settings):
    settings.REST_KNOX = {**settings.REST_KNOX, "TOKEN_TTL": None}  # what 0 used to mean
    token, _ = token_issue(acme.member.user)
    assert abs(token.expiry - token.created - dt.timedelta(days=90)) < dt.timedelta(seconds=5)
    settings.REST_KNOX = {**settings.REST_KNOX, "TOKEN_TTL": dt.timedelta(days=1000)}
    token, _ = token_issue(acme.member.user)
    assert token.expiry <= a_year_after(token.created)


def test_expires_on_9999_12_31_is_a_400_on_the_api_and_the_people_page(client, acme):
    admin = client_for(acme.admin)
    with nothing_changes():
        response = make(admin, name="x", expires_on="9999-12-31")
    assert response.status_code == 400, response.content
    assert response.json() == {"expires_on": ["Give a date between 2000-01-01 and 2100-12-31."]}
    client.force_login(acme.admin.user)
    with nothing_changes():
        page = client.post(
            "/people/tokens/",
            {"token-name": "x", "token-scope": "write", "token-expires_on": "9999-12-31"},
        )
    assert page.status_code == 400
    shown = parse(page)
    assert "between 2000-01-01 and 2100-12-31" in field_errors(shown, "id_token-expires_on")
    assert shown.find(id="new-key") is None
    assert not ApiToken.objects.filter(organization=acme.org).exists()


def test_the_schema_shows_the_scopes_and_the_expiry_rules():
    schema = SchemaGenerator().get_schema(request=None, public=True)
    components = schema["components"]["schemas"]
    assert components["ScopeEnum"]["enum"] == ["read", "write", "admin", "scim"]
    request = components["ServiceTokenRequest"]["properties"]
    assert request["scope"]["allOf"] == [{"$ref": "#/components/schemas/ScopeEnum"}]
    assert "as the admin who made it" in request["scope"]["description"]
    for field in ("expires_on", "expiry"):
        assert "at most a year" in request[field]["description"], field
        assert "90 days" in request[field]["description"], field
    assert "null" not in str(components["Token"]["properties"]["expiry"])


@pytest.mark.django_db(transaction=True)
def test_the_migration_gives_unexpiring_tokens_a_year_and_keeps_write_tokens_write(acme):
    executor = MigrationExecutor(connection)
    executor.migrate([("org", "0006_webhook_secret_encrypted")])
    old = executor.loader.project_state([("org", "0006_webhook_secret_encrypted")]).apps
    OldToken = old.get_model("org", "ApiToken")
    common = {"user_id": acme.admin.user_id, "token_key": "cas_0123456789a"}
    OldToken.objects.create(
        **common, digest="a" * 128, name="Forever", scope="write", organization_id=acme.org.pk
    )
    OldToken.objects.create(**common, digest="b" * 128, expiry=NOW + dt.timedelta(days=900))
    OldToken.objects.create(**common, digest="c" * 128, expiry=NOW + dt.timedelta(days=9))
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())
    a_year = NOW + dt.timedelta(days=365)
    stored = {t.digest[0]: t for t in ApiToken.objects.all()}
    assert abs(stored["a"].expiry - a_year) < dt.timedelta(minutes=1)
    assert stored["a"].scope == "write"  # least privilege: no longer an admin's rights
    assert abs(stored["b"].expiry - a_year) < dt.timedelta(minutes=1)
    assert stored["c"].expiry == NOW + dt.timedelta(days=9)
