"""SCIM 2.0 at /scim/v2/ (SPEC §9.1), as identity providers call it: only a `scim`
service token gets in, and only to its own organization; Users are members and
Groups departments; writes go through the services (audited, rules kept); a
deactivation takes effect at once and a re-activation gives access back; Okta's and
Microsoft Entra's real payloads work; reads cost a fixed number of queries; nothing a
client sends makes a 500."""

from __future__ import annotations

import json

import pytest
from django.contrib.sessions.backends.db import SessionStore
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from audit.models import Entry
from identity.jit import Refusal, sign_in
from identity.models import SSOConfig
from org.models import ApiToken, Department, Member
from org.services import member_update
from org.tokens import service_token_create, token_issue
from tests.factories import DepartmentFactory, GoalFactory, MemberFactory
from tests.pages.helpers import parse

SCIM = "application/scim+json"
BASE = "/scim/v2"
USER = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
SEARCH = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"
ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
PASSWORD = "pw-cascade-test"  # tests/factories.py


class Scim:
    """A SCIM client with a bearer key, over the Django test client."""

    def __init__(self, client, key: str) -> None:
        self.client, self.headers = client, {"HTTP_AUTHORIZATION": f"Bearer {key}"}

    def _send(self, method: str, path: str, body=None, raw: str | None = None):
        data = raw if raw is not None else (json.dumps(body) if body is not None else None)
        kwargs = {"content_type": SCIM} if data is not None else {}
        return getattr(self.client, method)(BASE + path, data, **kwargs, **self.headers)

    def get(self, path, **params):
        return self.client.get(BASE + path, params, **self.headers)

    def post(self, path, body=None, raw=None):
        return self._send("post", path, body, raw)

    def put(self, path, body):
        return self._send("put", path, body)

    def patch(self, path, body=None, raw=None):
        return self._send("patch", path, body, raw)

    def delete(self, path):
        return self.client.delete(BASE + path, **self.headers)


def ops(*operations) -> dict:
    return {"schemas": [PATCH], "Operations": list(operations)}


@pytest.fixture
def scim(acme, client):
    _, key = service_token_create(actor=acme.admin, name="Okta", scope="scim")
    return Scim(client, key)


def assert_scim_error(response, status: int, scim_type: str | None = None) -> dict:
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith(SCIM)
    body = response.json()
    assert body["schemas"] == [ERROR]
    assert body["status"] == str(status)
    assert body["detail"]
    if scim_type is not None:
        assert body.get("scimType") == scim_type, body
    return body


# -- Who gets in -----------------------------------------------------------------------


def test_scim_without_a_token_is_a_401_in_scims_error_body(acme, client):
    response = client.get(BASE + "/Users")
    assert_scim_error(response, 401)
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert_scim_error(client.get(BASE + "/Users", HTTP_AUTHORIZATION="Bearer nope nope"), 401)
    assert_scim_error(client.get(BASE + "/Users", HTTP_AUTHORIZATION="Bearer cas_unknown"), 401)


@pytest.mark.parametrize("scope", ["read", "write", "admin"])
def test_read_write_and_admin_tokens_are_refused_on_scim(acme, client, scope):
    _, key = service_token_create(actor=acme.admin, name=f"BI {scope}", scope=scope)
    response = client.get(BASE + "/Users", HTTP_AUTHORIZATION=f"Bearer {key}")
    assert "scope scim" in assert_scim_error(response, 403)["detail"]
    response = client.post(
        BASE + "/Users",
        json.dumps({"schemas": [USER], "userName": "intruder"}),
        content_type=SCIM,
        HTTP_AUTHORIZATION=f"Token {key}",
    )
    assert_scim_error(response, 403)
    assert not Member.objects.filter(user__username="intruder").exists()


def test_a_personal_token_is_refused_on_scim(acme, client):
    _, key = token_issue(acme.admin.user)
    assert_scim_error(client.get(BASE + "/Users", HTTP_AUTHORIZATION=f"Bearer {key}"), 403)


def test_a_scim_token_is_refused_under_api_v1(acme, client):
    _, key = service_token_create(actor=acme.admin, name="Okta", scope="scim")
    response = client.get("/api/v1/members/", HTTP_AUTHORIZATION=f"Token {key}")
    assert response.status_code == 403
    assert "/scim/v2/" in response.json()["detail"]


def test_an_admin_makes_the_scim_token_on_the_people_page_or_through_the_api(acme, client):
    client.force_login(acme.admin.user)
    page = client.post(
        "/people/tokens/", {"token-name": "Okta provisioning", "token-scope": "scim"}
    )
    assert page.status_code == 200
    shown = parse(page)
    key = shown.find(id="new-key").text.strip()
    assert "http://testserver/scim/v2" in page.content.decode()
    assert "Authorization: Bearer" in page.content.decode()
    assert Scim(Client(), key).get("/Users").status_code == 200
    api = Client()
    made = api.post(
        "/api/v1/tokens/",
        json.dumps({"name": "Entra provisioning", "scope": "scim"}),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Token {token_issue(acme.admin.user)[1]}",
    )
    assert made.status_code == 201 and made.json()["scope"] == "scim", made.content
    assert Scim(Client(), made.json()["key"]).get("/Groups").status_code == 200
    # Nobody but an admin makes one.
    client.force_login(acme.leader.user)
    refused = client.post("/people/tokens/", {"token-name": "Mine", "token-scope": "scim"})
    assert refused.status_code == 403
    assert not ApiToken.objects.filter(name="Mine").exists()


def test_a_scim_token_stops_when_its_maker_is_deactivated_or_no_longer_an_admin(acme, scim, client):
    second_admin = MemberFactory(organization=acme.org, role="admin")
    member_update(actor=second_admin, member=acme.admin, role="leader")
    assert "no longer an admin" in assert_scim_error(scim.get("/Users"), 403)["detail"]
    member_update(actor=second_admin, member=acme.admin, role="admin", is_active=False)
    assert_scim_error(scim.get("/Users"), 401)
    member_update(actor=second_admin, member=acme.admin, is_active=True)
    assert scim.get("/Users").status_code == 200


def test_answers_are_scim_json(acme, scim):
    for path in ("/Users", "/Groups", "/ServiceProviderConfig", "/ResourceTypes", "/Schemas"):
        response = scim.get(path)
        assert response.status_code == 200, path
        assert response["Content-Type"] == SCIM
    config = scim.get("/ServiceProviderConfig").json()
    assert config["patch"]["supported"] and config["filter"]["supported"]
    assert not config["bulk"]["supported"]
    assert config["authenticationSchemes"][0]["type"] == "oauthbearertoken"
    assert_scim_error(scim.get("/Nothing"), 404)


# -- Users are members -----------------------------------------------------------------


def test_a_user_is_the_member_and_their_account(acme, scim):
    member = acme.member
    member.external_id = "00u1"
    member.save()
    member.user.first_name, member.user.last_name = "Sam", "Smith"
    member.user.save()
    body = scim.get(f"/Users/{member.pk}").json()
    assert body["id"] == str(member.pk)
    assert body["userName"] == "sam"
    assert body["name"] == {"givenName": "Sam", "familyName": "Smith"}
    assert body["displayName"] == "Sam Smith"
    assert body["emails"] == [{"value": "sam@example.com"}]
    assert body["active"] is True
    assert body["externalId"] == "00u1"
    assert body["groups"][0]["value"] == str(acme.support.pk)
    assert body["meta"]["resourceType"] == "User"
    assert body["meta"]["location"].endswith(f"/scim/v2/Users/{member.pk}")


def test_users_filter_by_username_external_id_and_email(acme, scim):
    acme.member.external_id = "ext-9"
    acme.member.save()
    for filter_ in (
        'userName eq "SAM"',
        'externalId eq "ext-9"',
        'emails.value eq "sam@example.com"',
        'emails[value eq "sam@example.com"]',
    ):
        body = scim.get("/Users", filter=filter_).json()
        assert body["totalResults"] == 1, filter_
        assert body["Resources"][0]["userName"] == "sam"
    assert scim.get("/Users", filter='externalId eq "EXT-9"').json()["totalResults"] == 0
    assert scim.get("/Users", filter='userName eq "nobody"').json()["totalResults"] == 0
    both = scim.get("/Users", filter='userName eq "sam" or userName sw "ti"').json()
    assert {r["userName"] for r in both["Resources"]} == {"sam", "tia"}


def test_users_are_paged_with_start_index_and_count(acme, scim):
    everyone = scim.get("/Users").json()
    total = everyone["totalResults"]
    assert total == Member.objects.filter(organization=acme.org).count()
    page = scim.get("/Users", startIndex=2, count=3).json()
    assert page["startIndex"] == 2 and page["itemsPerPage"] == 3 and page["totalResults"] == total
    assert [r["id"] for r in page["Resources"]] == [r["id"] for r in everyone["Resources"][1:4]]
    assert scim.get("/Users", count=0).json()["Resources"] == []
    assert_scim_error(scim.get("/Users", count="many"), 400, "invalidValue")


def test_post_put_and_delete_of_a_user_go_through_the_services_and_keep_history(acme, scim):
    response = scim.post(
        "/Users",
        {
            "schemas": [USER],
            "userName": "nina@acme.example",
            "name": {"givenName": "Nina", "familyName": "Novak"},
            "emails": [{"value": "nina@acme.example", "type": "work", "primary": True}],
            "externalId": "00u-nina",
            "active": True,
            "password": "ignored-on-purpose",
        },
    )
    assert response.status_code == 201, response.content
    assert response["Location"].endswith(f"/scim/v2/Users/{response.json()['id']}")
    member = Member.objects.get(pk=response.json()["id"])
    assert member.organization == acme.org and member.role == "member"
    assert member.external_id == "00u-nina" and member.user.email == "nina@acme.example"
    assert not member.user.has_usable_password()
    created = Entry.objects.get(action="member.created", object_id=str(member.pk))
    assert created.actor_id == acme.admin.pk and created.token == "Okta"

    response = scim.put(
        f"/Users/{member.pk}",
        {
            "schemas": [USER],
            "userName": "nina.novak@acme.example",
            "active": True,
            "name": {"givenName": "Nina", "familyName": "Novak-Kraus"},
        },
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["userName"] == "nina.novak@acme.example"
    assert body["name"] == {"givenName": "Nina", "familyName": "Novak-Kraus"}
    assert "emails" not in body and "externalId" not in body  # PUT replaces the whole user
    assert Entry.objects.filter(action="member.updated", object_id=str(member.pk)).exists()

    assert scim.delete(f"/Users/{member.pk}").status_code == 204
    member.refresh_from_db()
    assert member.is_active is False  # deactivated, never deleted: history stays
    assert_scim_error(scim.get(f"/Users/{member.pk}"), 404)
    assert (
        scim.get("/Users", filter='userName eq "nina.novak@acme.example"').json()["totalResults"]
        == 0
    )
    # The provider assigns her again: the same member comes back, with her history.
    again = scim.post("/Users", {"schemas": [USER], "userName": "nina.novak@acme.example"})
    assert again.status_code == 201 and again.json()["id"] == str(member.pk)
    member.refresh_from_db()
    assert member.is_active is True


def test_a_taken_username_or_email_is_a_409_uniqueness(acme, outsider, scim):
    for username in ("sam", "OSCAR"):
        response = scim.post("/Users", {"schemas": [USER], "userName": username})
        assert_scim_error(response, 409, "uniqueness")
    response = scim.post(
        "/Users",
        {"schemas": [USER], "userName": "samuel", "emails": [{"value": "SAM@example.com"}]},
    )
    assert_scim_error(response, 409, "uniqueness")
    assert not Member.objects.filter(user__username="samuel").exists()


def test_bad_values_are_a_400_and_change_nothing(acme, scim):
    for body in (
        {"schemas": [USER]},
        {"schemas": [USER], "userName": "has space"},
        {"schemas": [USER], "userName": "ok", "emails": [{"value": "not-an-address"}]},
        {"schemas": [USER], "userName": "ok", "active": "perhaps"},
        {"schemas": [USER], "userName": "ok", "name": {"givenName": "x" * 151}},
    ):
        assert_scim_error(scim.post("/Users", body), 400, "invalidValue")
    assert not Member.objects.filter(user__username="ok").exists()


def test_deactivating_the_last_admin_over_scim_is_refused(acme, scim):
    response = scim.patch(
        f"/Users/{acme.admin.pk}", ops({"op": "replace", "path": "active", "value": False})
    )
    assert_scim_error(response, 400, "invalidValue")
    acme.admin.refresh_from_db()
    assert acme.admin.is_active


# -- Deactivation takes effect at once ------------------------------------------------------


def test_scim_active_false_ends_the_persons_session_and_tokens_and_reactivation_restores(
    acme, scim, client
):
    person = acme.leader
    browser = Client()
    signed_in = browser.post("/accounts/login/", {"username": "lena", "password": PASSWORD})
    assert signed_in.status_code == 302
    assert browser.get("/").status_code == 200
    _, personal_key = token_issue(person.user)
    # A service token the person made while an admin (then made a leader again).
    person.role = "admin"
    person.save()
    _, service_key = service_token_create(actor=person, name="Lena's sync", scope="read")
    person.role = "leader"
    person.save()
    api = Client()
    assert api.get("/api/v1/me/", HTTP_AUTHORIZATION=f"Token {service_key}").status_code == 200

    response = scim.patch(f"/Users/{person.pk}", ops({"op": "replace", "value": {"active": False}}))
    assert response.status_code == 200 and response.json()["active"] is False

    page = browser.get("/")
    assert page.status_code == 302 and page["Location"].startswith("/accounts/login/")
    refused = browser.post("/accounts/login/", {"username": "lena", "password": PASSWORD})
    assert refused.status_code != 302
    assert api.get("/api/v1/me/", HTTP_AUTHORIZATION=f"Token {personal_key}").status_code == 401
    assert api.get("/api/v1/me/", HTTP_AUTHORIZATION=f"Token {service_key}").status_code == 401

    response = scim.patch(
        f"/Users/{person.pk}", ops({"op": "replace", "path": "active", "value": True})
    )
    assert response.status_code == 200 and response.json()["active"] is True
    assert (
        browser.post("/accounts/login/", {"username": "lena", "password": PASSWORD}).status_code
        == 302
    )
    assert browser.get("/").status_code == 200
    assert api.get("/api/v1/me/", HTTP_AUTHORIZATION=f"Token {service_key}").status_code == 200
    changes = [
        e.changes["is_active"]
        for e in Entry.objects.filter(action="member.updated", object_id=str(person.pk)).order_by(
            "id"
        )
        if "is_active" in e.changes
    ]
    assert changes == [[True, False], [False, True]]


def test_scim_active_false_refuses_single_sign_on_too_until_reactivated(acme, scim, rf):
    person = acme.leader
    config = SSOConfig.objects.create(
        organization=acme.org, protocol="oidc", email_domains=["example.com"], jit=True
    )

    def sso():
        request = rf.get("/sso/acme/callback/")
        request.session = SessionStore()
        return sign_in(request, config, email=person.user.email, email_verified=True)

    assert person.user.email.endswith("@example.com")
    assert sso() == person
    scim.patch(f"/Users/{person.pk}", ops({"op": "replace", "path": "active", "value": False}))
    with pytest.raises(Refusal, match="deactivated"):
        sso()
    scim.patch(f"/Users/{person.pk}", ops({"op": "replace", "path": "active", "value": True}))
    assert sso() == person
    assert Member.objects.filter(organization=acme.org, user=person.user).count() == 1


# -- Okta and Microsoft Entra, as they send it ------------------------------------------------


def test_okta_provisions_deactivates_and_pushes_groups(acme, scim):
    # Okta's "Create User" (Okta SCIM 2.0 reference), after its userName eq lookup.
    assert (
        scim.get(
            "/Users", filter='userName eq "dana@acme.example"', startIndex=1, count=100
        ).json()["totalResults"]
        == 0
    )
    response = scim.post(
        "/Users",
        {
            "schemas": [USER],
            "userName": "dana@acme.example",
            "name": {"givenName": "Dana", "familyName": "Diaz"},
            "emails": [{"primary": True, "value": "dana@acme.example", "type": "work"}],
            "displayName": "Dana Diaz",
            "locale": "en-US",
            "externalId": "00ujl29u0le5T6Aj10h7",
            "groups": [],
            "password": "1mz050nq",
            "active": True,
        },
    )
    assert response.status_code == 201, response.content
    dana = response.json()["id"]
    # Profile push: a PUT of the whole user.
    put = scim.put(
        f"/Users/{dana}",
        {
            "schemas": [USER],
            "id": dana,
            "userName": "dana@acme.example",
            "name": {"givenName": "Dana", "familyName": "Diaz-Ortiz"},
            "emails": [{"primary": True, "value": "dana@acme.example", "type": "work"}],
            "externalId": "00ujl29u0le5T6Aj10h7",
            "active": True,
            "meta": {"resourceType": "User"},
        },
    )
    assert put.status_code == 200 and put.json()["name"]["familyName"] == "Diaz-Ortiz"
    # Group push: create, add a member, rename, remove the member by value filter.
    group = scim.post("/Groups", {"schemas": [GROUP], "displayName": "Platform", "members": []})
    assert group.status_code == 201, group.content
    platform = group.json()["id"]
    added = scim.patch(
        f"/Groups/{platform}",
        ops(
            {
                "op": "add",
                "path": "members",
                "value": [{"value": dana, "display": "dana@acme.example"}],
            }
        ),
    )
    assert added.status_code == 200 and added.json()["members"][0]["value"] == dana
    assert Member.objects.get(pk=dana).department_id == int(platform)
    renamed = scim.patch(
        f"/Groups/{platform}",
        ops({"op": "replace", "value": {"id": platform, "displayName": "Platform Team"}}),
    )
    assert renamed.json()["displayName"] == "Platform Team"
    removed = scim.patch(
        f"/Groups/{platform}", ops({"op": "remove", "path": f'members[value eq "{dana}"]'})
    )
    assert removed.status_code == 200 and "members" not in removed.json()
    assert Member.objects.get(pk=dana).department_id is None
    # Deactivation: a PATCH with no path.
    off = scim.patch(f"/Users/{dana}", ops({"op": "replace", "value": {"active": False}}))
    assert off.json()["active"] is False
    assert Member.objects.get(pk=dana).is_active is False


def test_microsoft_entra_provisions_with_its_own_payloads(acme, scim):
    # Entra's probe: a filter on a random attribute value, expecting an empty list.
    probe = scim.get("/Users", filter='userName eq "ba2a7f49-9a3e-4b65-8a89-1f5b5a8ff2d4"')
    assert probe.status_code == 200 and probe.json()["totalResults"] == 0
    response = scim.post(
        "/Users",
        {
            "schemas": [USER, ENTERPRISE],
            "externalId": "0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef",
            "userName": "Test_User_ab6490ee@acme.example",
            "active": True,
            "emails": [
                {"primary": True, "type": "work", "value": "Test_User_fd0ea19b@acme.example"}
            ],
            "meta": {"resourceType": "User"},
            "name": {
                "formatted": "givenName familyName",
                "familyName": "familyName",
                "givenName": "givenName",
            },
            "roles": [],
            ENTERPRISE: {"department": "Sales", "employeeNumber": "42"},
        },
    )
    assert response.status_code == 201, response.content
    user = response.json()["id"]
    # Entra's update: capitalised ops, paths with value filters and attributes Cascade
    # does not keep (accepted and left out), and "False" as a string.
    response = scim.patch(
        f"/Users/{user}",
        ops(
            {
                "op": "Replace",
                "path": 'emails[type eq "work"].value',
                "value": "updated@acme.example",
            },
            {"op": "Replace", "path": "name.familyName", "value": "updatedFamilyName"},
            {"op": "Add", "path": "title", "value": "Engineer"},
            {"op": "Add", "path": f"{ENTERPRISE}:department", "value": "R&D"},
            {"op": "Replace", "path": "active", "value": "False"},
        ),
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["emails"] == [{"value": "updated@acme.example"}]
    assert body["name"]["familyName"] == "updatedFamilyName"
    assert body["active"] is False
    # Entra's replace with no path, booleans as strings.
    response = scim.patch(
        f"/Users/{user}", ops({"op": "Replace", "value": {"active": "True", "externalId": "new"}})
    )
    assert response.json()["active"] is True and response.json()["externalId"] == "new"
    # Groups: lookup by displayName without members, then add and remove members.
    empty = scim.get(
        "/Groups", filter='displayName eq "Customer Support"', excludedAttributes="members"
    )
    found = empty.json()["Resources"]
    assert len(found) == 1 and "members" not in found[0]
    group = found[0]["id"]
    added = scim.patch(
        f"/Groups/{group}", ops({"op": "Add", "path": "members", "value": [{"value": user}]})
    )
    assert added.status_code == 200
    assert user in [m["value"] for m in added.json()["members"]]
    gone = scim.patch(
        f"/Groups/{group}", ops({"op": "Remove", "path": "members", "value": [{"value": user}]})
    )
    assert user not in [m["value"] for m in gone.json()["members"]]
    assert str(acme.member.pk) in [m["value"] for m in gone.json()["members"]]  # others stay


def test_groups_are_departments(acme, scim):
    body = scim.get(f"/Groups/{acme.support.pk}").json()
    assert body["displayName"] == "Customer Support"
    assert {m["value"] for m in body["members"]} == {str(acme.manager.pk), str(acme.member.pk)}
    listed = scim.get("/Groups", filter=f'members.value eq "{acme.member.pk}"').json()
    assert [g["id"] for g in listed["Resources"]] == [str(acme.support.pk)]
    response = scim.post("/Groups", {"schemas": [GROUP], "displayName": "Marketing"})
    assert_scim_error(response, 409, "uniqueness")
    response = scim.put(
        f"/Groups/{acme.marketing.pk}",
        {
            "schemas": [GROUP],
            "displayName": "Growth",
            "externalId": "g-1",
            "members": [{"value": str(acme.marketing_member.pk)}],
        },
    )
    assert response.status_code == 200, response.content
    acme.marketing.refresh_from_db()
    acme.marketing_manager.refresh_from_db()
    assert acme.marketing.name == "Growth" and acme.marketing.external_id == "g-1"
    assert acme.marketing_manager.department_id is None  # PUT replaced the members
    assert Entry.objects.filter(
        action="department.updated", object_id=str(acme.marketing.pk)
    ).exists()


def test_deleting_a_group_with_history_is_refused_and_an_empty_one_goes(acme, scim):
    assert_scim_error(scim.delete(f"/Groups/{acme.support.pk}"), 409)  # a department below it
    strategic = GoalFactory(organization=acme.org, cycle=acme.cycle)
    GoalFactory(
        organization=acme.org,
        cycle=acme.cycle,
        level="department",
        parent=strategic,
        department=acme.tier2,
    )
    refused = assert_scim_error(scim.delete(f"/Groups/{acme.tier2.pk}"), 409)
    assert "goals" in refused["detail"]
    assert Department.objects.filter(pk=acme.tier2.pk).exists()
    assert scim.delete(f"/Groups/{acme.marketing.pk}").status_code == 204
    assert not Department.objects.filter(pk=acme.marketing.pk).exists()
    acme.marketing_member.refresh_from_db()
    assert acme.marketing_member.department_id is None and acme.marketing_member.is_active
    assert Entry.objects.filter(action="department.deleted").count() == 1


# -- POST .search (RFC 7644 §3.4.3) -----------------------------------------------------


def test_post_search_filters_pages_and_cuts_like_a_get(acme, scim):
    body = {"schemas": [SEARCH], "filter": 'userName eq "sam"', "attributes": ["userName"]}
    found = scim.post("/Users/.search", body).json()
    assert found["totalResults"] == 1
    assert found["Resources"] == [{"schemas": [USER], "id": str(acme.member.pk), "userName": "sam"}]
    groups = scim.post(
        "/Groups/.search",
        {
            "schemas": [SEARCH],
            "filter": 'displayName eq "Marketing"',
            "excludedAttributes": "members",
        },
    ).json()
    assert [g["displayName"] for g in groups["Resources"]] == ["Marketing"]
    assert "members" not in groups["Resources"][0]
    got = scim.get("/Users", startIndex=2, count=3).json()
    posted = scim.post("/Users/.search", {"startIndex": 2, "count": "3", "sortBy": "userName"})
    assert posted.json() == got  # sortBy is ignored, as on a GET


def test_post_search_at_the_root_lists_users_then_groups(acme, scim):
    users = Member.objects.filter(organization=acme.org).count()
    groups = Department.objects.filter(organization=acme.org).count()
    everything = scim.post("/.search", {"schemas": [SEARCH]}).json()
    assert everything["totalResults"] == users + groups
    kinds = [r["schemas"][0] for r in everything["Resources"]]
    assert kinds == [USER] * users + [GROUP] * groups
    # A page across the boundary: the last two Users, then the first Group.
    page = scim.post("/.search", {"startIndex": users - 1, "count": 3}).json()
    assert [r["schemas"][0] for r in page["Resources"]] == [USER, USER, GROUP]
    assert page["Resources"] == everything["Resources"][users - 2 : users + 1]
    assert page["totalResults"] == users + groups
    # A filter on an attribute of one resource type finds only that type.
    only_users = scim.post("/.search", {"filter": 'userName sw "s"'}).json()
    assert {r["userName"] for r in only_users["Resources"]} == {"sam"}
    only_groups = scim.post("/.search", {"filter": 'displayName eq "Marketing"'}).json()
    assert [r["displayName"] for r in only_groups["Resources"]] == ["Marketing"]
    assert_scim_error(scim.post("/.search", {"filter": 'nope eq "x"'}), 400, "invalidFilter")


def test_a_bad_search_body_is_a_400_and_get_on_search_a_405(acme, scim):
    for body, scim_type in (
        ({"schemas": [PATCH]}, "invalidSyntax"),
        ({"filter": 3}, "invalidValue"),
        ({"count": "many"}, "invalidValue"),
        ({"count": True}, "invalidValue"),
        ({"attributes": [1]}, "invalidValue"),
    ):
        for path in ("/.search", "/Users/.search", "/Groups/.search"):
            assert_scim_error(scim.post(path, body), 400, scim_type)
    assert_scim_error(scim.post("/.search", raw="[]"), 400, "invalidSyntax")
    assert_scim_error(scim.get("/.search"), 405)


def test_bulk_is_refused_as_not_implemented(acme, scim):
    body = {"schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"], "Operations": []}
    assert "not supported" in assert_scim_error(scim.post("/Bulk", body), 501)["detail"]


# -- Tenancy -------------------------------------------------------------------------------


def test_a_scim_token_never_sees_or_changes_another_organization(acme, outsider, scim):
    oscar, globex_sales = outsider, outsider.department
    oscar.department = globex_sales
    oscar.save()
    assert_scim_error(scim.get(f"/Users/{oscar.pk}"), 404)
    assert_scim_error(scim.put(f"/Users/{oscar.pk}", {"schemas": [USER], "userName": "x"}), 404)
    assert_scim_error(
        scim.patch(f"/Users/{oscar.pk}", ops({"op": "replace", "path": "active", "value": False})),
        404,
    )
    assert_scim_error(scim.delete(f"/Users/{oscar.pk}"), 404)
    assert_scim_error(scim.get(f"/Groups/{globex_sales.pk}"), 404)
    assert_scim_error(scim.delete(f"/Groups/{globex_sales.pk}"), 404)
    assert scim.get("/Users", filter='userName eq "oscar"').json()["totalResults"] == 0
    assert scim.get("/Groups", filter='displayName eq "Globex Sales"').json()["totalResults"] == 0
    ids = {r["id"] for r in scim.get("/Users", count=200).json()["Resources"]}
    assert str(oscar.pk) not in ids
    searched = scim.post("/.search", {"count": 200}).json()["Resources"]
    ours = {
        USER: {
            str(pk)
            for pk in Member.objects.filter(organization=acme.org).values_list("pk", flat=True)
        },
        GROUP: {
            str(pk)
            for pk in Department.objects.filter(organization=acme.org).values_list("pk", flat=True)
        },
    }
    for urn, mine in ours.items():
        assert {r["id"] for r in searched if r["schemas"] == [urn]} == mine
    assert scim.post("/.search", {"filter": 'userName eq "oscar"'}).json()["totalResults"] == 0
    # Pulling another organization's person into a group is "no such user".
    response = scim.patch(
        f"/Groups/{acme.support.pk}",
        ops({"op": "add", "path": "members", "value": [{"value": str(oscar.pk)}]}),
    )
    assert_scim_error(response, 400, "invalidValue")
    oscar.refresh_from_db()
    assert oscar.is_active and oscar.department_id == globex_sales.pk
    assert Department.objects.filter(pk=globex_sales.pk).exists()


def test_an_account_shared_with_another_organization_is_not_renamed(acme, outsider, scim):
    shared = MemberFactory(organization=outsider.organization, user=acme.member.user)
    response = scim.patch(
        f"/Users/{acme.member.pk}", ops({"op": "replace", "path": "userName", "value": "renamed"})
    )
    assert_scim_error(response, 409)
    shared.user.refresh_from_db()
    assert shared.user.username == "sam"


# -- Reads cost a fixed number of queries ------------------------------------------------


def _queries(scim, path: str, search: dict | None = None) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = scim.get(path) if search is None else scim.post(path, search)
    assert response.status_code == 200, response.content
    return len(queries)


def _list_queries(scim) -> dict[str, int]:
    everything = {"schemas": [SEARCH], "count": 200}
    return {
        "/Users": _queries(scim, "/Users"),
        "/Groups": _queries(scim, "/Groups"),
        "/Users/.search": _queries(scim, "/Users/.search", {"schemas": [SEARCH]}),
        "/Groups/.search": _queries(scim, "/Groups/.search", {"schemas": [SEARCH]}),
        "/.search": _queries(scim, "/.search", everything),
    }


def test_listing_and_searching_take_the_same_queries_at_two_sizes(acme, scim):
    small = _list_queries(scim)
    for n in range(40):
        department = DepartmentFactory(organization=acme.org, name=f"Team {n}")
        MemberFactory.create_batch(3, organization=acme.org, department=department)
    large = _list_queries(scim)
    assert large == small, (small, large)
    assert small["/Users"] <= 5 and small["/Groups"] <= 6, small
    assert scim.get("/Users").json()["totalResults"] > 120
    assert len(scim.post("/.search", {"count": 200}).json()["Resources"]) > 160


# -- Malformed input is a 400, never a 500 --------------------------------------------------


def test_malformed_bodies_and_filters_are_400s_with_their_scim_type(acme, scim):
    assert_scim_error(scim.post("/Users", raw="{not json"), 400, "invalidSyntax")
    assert_scim_error(scim.post("/Users", raw="[1, 2]"), 400, "invalidSyntax")
    assert_scim_error(scim.post("/Users", raw='{"userName": "a\\ud800"}'), 400, "invalidSyntax")
    assert_scim_error(scim.post("/Users", raw='{"userName": "a\\u0000"}'), 400, "invalidValue")
    assert_scim_error(
        scim.patch(f"/Users/{acme.member.pk}", {"Operations": "no"}), 400, "invalidSyntax"
    )
    assert_scim_error(
        scim.patch(f"/Users/{acme.member.pk}", ops({"op": "move", "path": "x"})),
        400,
        "invalidSyntax",
    )
    assert_scim_error(
        scim.patch(f"/Users/{acme.member.pk}", ops({"op": "remove"})), 400, "noTarget"
    )
    assert_scim_error(
        scim.patch(f"/Users/{acme.member.pk}", ops({"op": "add", "path": "[[", "value": 1})),
        400,
        "invalidPath",
    )
    for filter_ in (
        "userName eq",
        'userName xx "a"',
        'nope eq "a"',
        'active eq "yes"',
        'meta.lastModified gt "yesterday"',
        'meta.created gt "9999-12-31T00:00:00Z"',
        'id gt "3"',
        "(((",
        'userName eq "a" and',
    ):
        assert_scim_error(scim.get("/Users", filter=filter_), 400, "invalidFilter")
    assert_scim_error(scim.get("/Groups", filter='members.display eq "x"'), 400, "invalidFilter")
    assert scim.get("/Users", filter='id eq "99999999999999999999999"').json()["totalResults"] == 0
