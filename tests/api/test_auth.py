"""SPEC §4 authentication: token and session, 401 for anonymous callers, me/, and
the OpenAPI schema with its offline docs. SPEC §9.2: a malformed `Authorization`
header (non-ASCII bytes, spaces, a NUL, a key far too long) is a 401 that says what to
send, never a 500."""

from __future__ import annotations

import http.client
import json
from urllib.parse import urlsplit

import pytest
from django.contrib.staticfiles import finders
from django.http import HttpRequest
from rest_framework.test import APIClient

from goals.models import Goal
from kpis.models import KpiUpdate
from org.models import ApiToken
from org.tokens import token_issue

from .helpers import API, client_for, unchanged

pytestmark = pytest.mark.django_db

PASSWORD = "pw-cascade-test"  # every factory-made user's password


def endpoints(acme, tree) -> list[tuple[str, str]]:
    """(method, url) of every API endpoint, with real ids of the organization."""
    goal, kpi = tree.individual.pk, tree.individual_kpi.pk
    return [
        ("get", f"{API}/me/"),
        ("get", f"{API}/members/"),
        ("post", f"{API}/members/"),
        ("get", f"{API}/members/{acme.member.pk}/"),
        ("patch", f"{API}/members/{acme.member.pk}/"),
        ("get", f"{API}/departments/"),
        ("post", f"{API}/departments/"),
        ("get", f"{API}/departments/{acme.support.pk}/"),
        ("patch", f"{API}/departments/{acme.support.pk}/"),
        ("get", f"{API}/cycles/"),
        ("post", f"{API}/cycles/"),
        ("get", f"{API}/cycles/{acme.cycle.pk}/"),
        ("patch", f"{API}/cycles/{acme.cycle.pk}/"),
        ("get", f"{API}/goals/"),
        ("post", f"{API}/goals/"),
        ("get", f"{API}/goals/{goal}/"),
        ("patch", f"{API}/goals/{goal}/"),
        ("get", f"{API}/goals/{goal}/tree/"),
        ("get", f"{API}/goals/{goal}/alignment/"),
        ("get", f"{API}/kpis/"),
        ("post", f"{API}/kpis/"),
        ("get", f"{API}/kpis/{kpi}/"),
        ("patch", f"{API}/kpis/{kpi}/"),
        ("get", f"{API}/kpis/{kpi}/updates/"),
        ("post", f"{API}/kpis/{kpi}/updates/"),
    ]


# ---------------------------------------------------------------- token


def test_token_for_username_and_password_is_stored_hashed(acme):
    response = APIClient().post(
        f"{API}/auth/token/", {"username": "sam", "password": PASSWORD}, format="json"
    )
    assert response.status_code == 200, response.content
    assert set(response.json()) == {"token", "expiry"}
    key = response.json()["token"]
    stored = ApiToken.objects.get(user=acme.member.user)
    assert key not in {stored.digest, stored.token_key} and len(stored.digest) == 128
    assert key.startswith(stored.token_key)  # only its first characters, to find it


def test_each_request_makes_another_token_and_each_works(acme):
    client = APIClient()
    first = client.post(f"{API}/auth/token/", {"username": "sam", "password": PASSWORD})
    second = client.post(f"{API}/auth/token/", {"username": "sam", "password": PASSWORD})
    assert first.status_code == second.status_code == 200
    assert first.json()["token"] != second.json()["token"]
    for response in (first, second):
        caller = APIClient()
        caller.credentials(HTTP_AUTHORIZATION=f"Token {response.json()['token']}")
        assert caller.get(f"{API}/me/").json()["username"] == "sam"


@pytest.mark.parametrize(
    "body",
    [
        pytest.param({"username": "sam", "password": "wrong-password"}, id="wrong_password"),
        pytest.param({"username": "nobody", "password": PASSWORD}, id="unknown_user"),
        pytest.param({"username": "sam"}, id="no_password"),
        pytest.param({}, id="empty_body"),
    ],
)
def test_token_refused_for_bad_credentials(acme, body):
    response = APIClient().post(f"{API}/auth/token/", body, format="json")
    assert response.status_code == 400, response.content
    assert "token" not in response.json()
    assert not ApiToken.objects.exists()


def test_token_header_authenticates(acme):
    key = (
        APIClient()
        .post(f"{API}/auth/token/", {"username": "max", "password": PASSWORD})
        .json()["token"]
    )
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    response = client.get(f"{API}/me/")
    assert response.status_code == 200, response.content
    assert response.json()["username"] == "max"


def test_an_unknown_token_is_401(acme):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Token 0123456789abcdef0123456789abcdef01234567")
    assert client.get(f"{API}/me/").status_code == 401


def test_session_authenticates(acme):
    client = APIClient()
    assert client.login(request=HttpRequest(), username="lena", password=PASSWORD)
    response = client.get(f"{API}/me/")
    assert response.status_code == 200, response.content
    assert response.json()["username"] == "lena"
    assert client.get(f"{API}/goals/").status_code == 200


def test_session_write_needs_the_csrf_token(acme, tree):
    client = APIClient(enforce_csrf_checks=True)
    assert client.login(request=HttpRequest(), username="lena", password=PASSWORD)
    with unchanged():
        response = client.patch(
            f"{API}/goals/{tree.strategic.pk}/", {"title": "Changed"}, format="json"
        )
    assert response.status_code == 403


def test_session_write_with_csrf_token(acme, tree):
    client = APIClient()
    assert client.login(request=HttpRequest(), username="lena", password=PASSWORD)
    response = client.patch(f"{API}/goals/{tree.strategic.pk}/", {"title": "New"}, format="json")
    assert response.status_code == 200, response.content
    assert Goal.objects.get(pk=tree.strategic.pk).title == "New"


def test_a_user_without_any_membership_is_403(acme, django_user_model):
    drifter = django_user_model.objects.create_user("drifter", password="pw-drifter-1")
    _token, key = token_issue(drifter)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert client.get(f"{API}/goals/").status_code == 403


def test_a_deactivated_members_token_is_401(acme):
    acme.member.is_active = False
    acme.member.save()
    response = client_for(acme.member).get(f"{API}/goals/")
    assert response.status_code == 401


# ---------------------------------------------------------------- malformed headers

# A WSGI server hands a header's bytes to Django decoded as Latin-1 (PEP 3333), so the
# bytes `cas_\xe4\xe4\xe4` arrive in META as these characters; the same text in UTF-8
# arrives as "Ã¤". The test client's extra keywords are that META.
NON_ASCII = ["Token cas_\xe4\xe4\xe4", "Token cas_\xc3\xa4\xc3\xa4\xc3\xa4"]
MALFORMED = [
    "Token",
    "Token    ",
    "Token cas_0123 4567",
    "Token  cas_0123\t4567 89ab",
    "Token " + "a" * 10_000,
    "Token cas_\x00abc",
    "Token \x00",
    "Token cas_\u20ac",  # beyond Latin-1: only a test client can send it
]


def malformed_answer(response) -> str:
    assert response.status_code == 401, (response.status_code, response.content)
    assert response["WWW-Authenticate"] == "Token"
    # JSON; on /api/schema/ the schema's own format, YAML, which folds long lines.
    detail = " ".join(response.content.decode().split())
    assert "Authorization: Token <key>" in detail, detail
    return detail


@pytest.mark.parametrize("header", NON_ASCII)
def test_a_non_ascii_authorization_header_is_a_401(acme, tree, header):
    client = APIClient()
    calls = [
        *endpoints(acme, tree),
        ("post", f"{API}/auth/token/"),
        ("delete", f"{API}/auth/token/"),
        ("post", f"{API}/tokens/"),
        ("get", f"{API}/webhooks/"),
        ("get", "/api/schema/"),
    ]
    with unchanged():
        for method, url in calls:
            response = getattr(client, method)(url, {"value": 5}, HTTP_AUTHORIZATION=header)
            detail = malformed_answer(response)
            assert "ASCII" in detail, (method, url)
    assert not ApiToken.objects.exists() and not KpiUpdate.objects.exists()


@pytest.mark.parametrize("header", MALFORMED)
def test_a_malformed_authorization_header_is_a_401(acme, tree, header):
    with unchanged():
        for method, url in [("get", f"{API}/me/"), ("post", f"{API}/goals/")]:
            response = getattr(APIClient(), method)(
                url, {"title": "x"}, format="json", HTTP_AUTHORIZATION=header
            )
            malformed_answer(response)


@pytest.mark.django_db(transaction=True)
def test_raw_authorization_bytes_over_http_are_a_401(acme, live_server):
    """Through a real HTTP server and its WSGI handler, the bytes as a client sends them."""
    address = urlsplit(live_server.url)
    for raw in (
        b"Token cas_\xe4\xe4\xe4",
        "Token cas_äää".encode(),
        b"Token",
        b"Token cas_0123 4567",
        b"Token " + b"a" * 10_000,
        b"Token cas_\x00abc",
    ):
        connection = http.client.HTTPConnection(address.hostname, address.port, timeout=10)
        connection.putrequest("GET", f"{API}/me/")
        connection.putheader("Authorization", raw)
        connection.endheaders()
        response = connection.getresponse()
        body = response.read()
        connection.close()
        assert response.status == 401, (raw[:30], response.status, body[:300])
        assert "Authorization: Token <key>" in json.loads(body)["detail"], raw[:30]


# ---------------------------------------------------------------- anonymous


def test_anonymous_is_401_on_every_endpoint(acme, tree):
    client = APIClient()
    with unchanged():
        for method, url in endpoints(acme, tree):
            body = {"value": 5} if url.endswith("updates/") else {"title": "x"}
            response = getattr(client, method)(url, body, format="json")
            assert response.status_code == 401, (method, url, response.status_code)
            assert response["WWW-Authenticate"] == "Token", (method, url)
    assert not KpiUpdate.objects.exists()


def test_every_endpoint_answers_a_signed_in_reader(acme, tree):
    """The same endpoints, read by a plain member: all open to everyone in the organization."""
    client = client_for(acme.member)
    for method, url in endpoints(acme, tree):
        if method == "get":
            assert client.get(url).status_code == 200, url


# ---------------------------------------------------------------- me/


def test_me_returns_exactly_the_callers_identity(acme):
    response = client_for(acme.manager).get(f"{API}/me/")
    assert response.status_code == 200
    assert response.json() == {
        "id": acme.manager.pk,
        "username": "max",
        "role": "manager",
        "department": acme.support.pk,
        "organization": {"id": acme.org.pk, "name": "Acme"},
    }


def test_me_without_department(acme):
    data = client_for(acme.reviewer).get(f"{API}/me/").json()
    assert data == {
        "id": acme.reviewer.pk,
        "username": "rey",
        "role": "reviewer",
        "department": None,
        "organization": {"id": acme.org.pk, "name": "Acme"},
    }


def test_me_is_read_only(acme):
    client = client_for(acme.member)
    assert client.post(f"{API}/me/", {"role": "admin"}, format="json").status_code == 405
    assert client.patch(f"{API}/me/", {"role": "admin"}, format="json").status_code == 405
    acme.member.refresh_from_db()
    assert acme.member.role == "member"


# ---------------------------------------------------------------- schema and docs


def test_openapi_schema(acme):
    response = client_for(acme.member).get("/api/schema/", {"format": "json"})
    assert response.status_code == 200
    schema = response.json()
    assert schema["openapi"].startswith("3.")
    for path in (
        "/api/v1/me/",
        "/api/v1/members/",
        "/api/v1/departments/",
        "/api/v1/cycles/",
        "/api/v1/goals/",
        "/api/v1/goals/{id}/tree/",
        "/api/v1/goals/{id}/alignment/",
        "/api/v1/kpis/",
        "/api/v1/kpis/{id}/updates/",
        "/api/v1/kpis/{id}/source/",
        "/api/v1/kpis/{id}/source/fetch/",
        "/api/v1/me/calendar/",
        "/api/v1/reviews/{id}/cancel/",
    ):
        assert path in schema["paths"], path
    for path, operations in schema["paths"].items():
        # SPEC §9.1: the single sign-on settings are replaced whole; §9.7: goals and KPIs
        # are upserted by external id; §9.6: a KPI's data source is set whole; nothing
        # else is PUT
        put = (
            "/api/v1/sso/",
            *(f"/api/v1/{r}/by-external-id/{{external_id}}/" for r in ("goals", "kpis")),
            "/api/v1/kpis/{id}/source/",
        )
        assert ("put" in operations) == (path in put), path
        # SPEC §8.1: a goal may be removed; §8.2: tokens revoked; §8.4: webhooks removed;
        # §9.6: a KPI's data source removed; nothing else is deleted
        deletable = (
            "/api/v1/goals/{id}/",
            "/api/v1/auth/token/",
            "/api/v1/tokens/{id}/",
            "/api/v1/webhooks/{id}/",
            "/api/v1/kpis/{id}/source/",
            "/api/v1/me/calendar/",  # §9.6: the caller's calendar address turned off
            "/api/v1/chat-targets/{id}/",  # §9.6: a chat target removed
        )
        assert ("delete" in operations) == (path in deletable), path


def test_openapi_schema_default_format(acme):
    response = client_for(acme.member).get("/api/schema/")
    assert response.status_code == 200
    assert b"openapi: 3." in response.content


def test_docs_are_served_offline(acme):
    client = APIClient()
    client.force_login(acme.member.user)
    response = client.get("/api/docs/")
    assert response.status_code == 200
    html = response.content.decode().lower()
    for cdn in ("cdn", "unpkg", "jsdelivr", "cloudflare", "https://", "http://"):
        assert cdn not in html, cdn
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in html
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui.css" in html


def test_docs_assets_exist_locally(acme):
    for asset in (
        "drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js",
        "drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-standalone-preset.js",
        "drf_spectacular_sidecar/swagger-ui-dist/swagger-ui.css",
    ):
        assert finders.find(asset), asset


def test_docs_script_points_at_our_schema(acme):
    client = APIClient()
    client.force_login(acme.member.user)
    response = client.get("/api/docs/", {"script": ""})
    assert response.status_code == 200
    script = response.content.decode()
    assert "/api/schema/" in script
    for cdn in ("cdn", "unpkg", "jsdelivr"):
        assert cdn not in script.lower(), cdn
