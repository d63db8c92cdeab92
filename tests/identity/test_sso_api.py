"""`GET/PUT /api/v1/sso/` (SPEC §9.1): an organization's single sign-on settings, for
its admins only; the client secret goes in and never comes out; the addresses to paste
into the provider are read-only; bad input is a 400 naming the field, with nothing
changed; each change is in the audit log; one organization never sees or changes
another's. Saved settings are checked against a real provider (oidc-provider)."""

from __future__ import annotations

import socket

import pytest
from django.core.exceptions import ValidationError
from rest_framework.test import APIClient

from audit.models import Entry
from identity.models import SSOConfig
from identity.services import sso_update
from org.tokens import service_token_create
from tests.api.helpers import API, assert_field_errors, client_for
from tests.factories import MemberFactory, OrganizationFactory
from tests.identity.oidc import oidc_provider  # noqa: F401

pytestmark = pytest.mark.django_db

URL = f"{API}/sso/"
SITE = "http://127.0.0.1:8000"  # settings.SITE_URL under the tests
READ_ONLY = ("login_url", "redirect_uri", "acs_url", "metadata_url_sp")


@pytest.fixture(autouse=True)
def _provider_on_loopback(settings):
    settings.OUTBOUND_ALLOW_PRIVATE = True  # the test provider listens on 127.0.0.1


def body(provider, **changes) -> dict:
    """A complete, valid PUT body for the test provider."""
    return {
        "protocol": "oidc",
        "issuer": provider.issuer,
        "client_id": provider.client_id,
        "client_secret": provider.client_secret,
        "email_domains": ["acme.example"],
        "default_role": "member",
        "jit": True,
        "enforced": False,
    } | changes


def stored(organization) -> dict | None:
    """Every column of the organization's settings, the secret included."""
    config = SSOConfig.objects.filter(organization=organization).first()
    if config is None:
        return None
    row = {field.name: getattr(config, field.name) for field in SSOConfig._meta.concrete_fields}
    row.pop("updated_at")
    return row


@pytest.fixture
def configured(acme, oidc_provider):  # noqa: F811
    """Acme signs in through the test provider (set by its admin over the API)."""
    answer = client_for(acme.admin).put(URL, body(oidc_provider), format="json")
    assert answer.status_code == 200, answer.content
    return acme


def a_closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]  # closed again on leaving: nothing listens there


# -- reading -------------------------------------------------------------------------------


def test_an_admin_reads_empty_settings_and_the_addresses_to_paste(acme):
    answer = client_for(acme.admin).get(URL)
    assert answer.status_code == 200
    data = answer.json()
    assert data["protocol"] is None and data["client_secret_set"] is False
    assert data["email_domains"] == [] and data["default_role"] == "member"
    assert data["jit"] is True and data["enforced"] is False
    slug = acme.org.slug
    assert data["login_url"] == f"{SITE}/sso/{slug}/login/"
    assert data["redirect_uri"] == f"{SITE}/sso/{slug}/oidc/callback/"
    assert data["acs_url"] == f"{SITE}/sso/{slug}/saml/acs/"
    assert data["metadata_url_sp"] == f"{SITE}/sso/{slug}/saml/metadata/"
    assert "client_secret" not in data


def test_an_admin_sets_oidc_and_reads_it_back_without_the_secret(acme, oidc_provider):  # noqa: F811
    admin = client_for(acme.admin)
    put = admin.put(
        URL,
        body(oidc_provider, email_domains=["ACME.example", "@acme.example"], enforced=True),
        format="json",
    )
    assert put.status_code == 200, put.content
    got = admin.get(URL).json()
    assert got == put.json()
    assert got["protocol"] == "oidc" and got["issuer"] == oidc_provider.issuer
    assert got["client_id"] == "cascade" and got["client_secret_set"] is True
    assert got["email_domains"] == ["acme.example"]  # lower case, once
    assert got["enforced"] is True
    assert "client_secret" not in got and oidc_provider.client_secret not in str(got)
    assert stored(acme.org)["client_secret"] == oidc_provider.client_secret


def test_the_secret_left_out_or_blank_keeps_the_one_stored(configured, oidc_provider):  # noqa: F811
    admin = client_for(configured.admin)
    without = body(oidc_provider, client_id="cascade")
    del without["client_secret"]
    assert admin.put(URL, without, format="json").status_code == 200
    blank = admin.put(URL, body(oidc_provider, client_secret=""), format="json")
    assert blank.status_code == 200 and blank.json()["client_secret_set"] is True
    assert stored(configured.org)["client_secret"] == oidc_provider.client_secret


def test_a_first_oidc_setting_without_a_secret_is_refused(acme, oidc_provider):  # noqa: F811
    answer = client_for(acme.admin).put(URL, body(oidc_provider, client_secret=""), format="json")
    errors = assert_field_errors(answer, "client_secret")
    assert errors["client_secret"] == ["The client secret is required for OpenID Connect."]
    assert stored(acme.org) is None


def test_read_only_addresses_sent_in_a_put_change_nothing(configured, oidc_provider):  # noqa: F811
    admin = client_for(configured.admin)
    before = admin.get(URL).json()
    sent = body(oidc_provider) | {name: "https://evil.example/" for name in READ_ONLY}
    sent |= {"client_secret_set": False, "updated_at": "2001-01-01T00:00:00Z"}
    answer = admin.put(URL, sent, format="json")
    assert answer.status_code == 200, answer.content  # read-only fields are ignored
    after = admin.get(URL).json()
    for name in READ_ONLY:
        assert after[name] == before[name]
    assert after["client_secret_set"] is True
    assert "evil.example" not in str(after)


# -- who may ----------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["leader", "manager", "reviewer", "member"])
def test_only_admins_read_or_change_the_settings(configured, oidc_provider, role):  # noqa: F811
    caller = client_for(getattr(configured, role))
    before = stored(configured.org)
    read = caller.get(URL)
    assert read.status_code == 403
    assert "Only admins manage single sign-on settings" in read.json()["detail"]
    assert "cascade" not in str(read.json())
    changed = caller.put(URL, body(oidc_provider, email_domains=["evil.example"]), format="json")
    assert changed.status_code == 403
    assert stored(configured.org) == before
    assert not Entry.objects.filter(action="sso.updated", actor_id=getattr(configured, role).pk)


def test_anonymous_callers_are_refused_and_change_nothing(configured, oidc_provider):  # noqa: F811
    before = stored(configured.org)
    assert APIClient().get(URL).status_code == 401
    put = APIClient().put(URL, body(oidc_provider, enforced=True), format="json")
    assert put.status_code == 401
    assert stored(configured.org) == before


@pytest.mark.parametrize(("scope", "allowed"), [("read", False), ("write", False), ("admin", True)])
def test_a_service_token_needs_the_admin_scope(acme, oidc_provider, scope, allowed):  # noqa: F811
    _token, key = service_token_create(actor=acme.admin, name=f"IT {scope}", scope=scope)
    caller = APIClient()
    caller.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert caller.get(URL).status_code == (200 if allowed else 403)
    put = caller.put(URL, body(oidc_provider), format="json")
    assert put.status_code == (200 if allowed else 403), put.content
    assert (stored(acme.org) is not None) == allowed


# -- bad input: a 400 on the field, nothing changed --------------------------------------


def bad_inputs(port: int) -> list[tuple[dict, str, str]]:
    """(changes to a valid body, the field refused, words of its message)."""
    return [
        ({"protocol": "ldap"}, "protocol", "Must be one of: oidc, saml."),
        ({"protocol": None}, "protocol", "Choose oidc or saml"),
        ({"issuer": "http://login.example.com"}, "issuer", "must be an https:// address"),
        ({"issuer": "ftp://login.example.com"}, "issuer", "must be an https:// address"),
        ({"issuer": ""}, "issuer", "The issuer is required for OpenID Connect"),
        ({"issuer": f"http://127.0.0.1:{port}"}, "issuer", "Could not read the discovery"),
        ({"client_id": ""}, "client_id", "The client ID is required"),
        ({"client_id": "two\nlines"}, "client_id", "Keep it to one line"),
        ({"email_domains": []}, "email_domains", "List at least one email domain"),
        ({"email_domains": ["not a domain"]}, "email_domains", "is not an email domain"),
        ({"email_domains": ["localhost"]}, "email_domains", "is not an email domain"),
        ({"email_domains": "acme.example"}, "email_domains", "list"),
        ({"default_role": "admin"}, "default_role", "Must be one of: leader, manager"),
        ({"default_role": "boss"}, "default_role", "Must be one of: leader, manager"),
        ({"jit": "perhaps"}, "jit", "Must be true or false."),
        ({"enforced": 7}, "enforced", "Must be true or false."),
    ]


@pytest.mark.parametrize("case", range(16))
def test_bad_input_is_a_400_naming_the_field_and_changes_nothing(
    configured,
    oidc_provider,  # noqa: F811
    case,
):
    changes, field, says = bad_inputs(a_closed_port())[case]
    before = stored(configured.org)
    entries = Entry.objects.count()
    answer = client_for(configured.admin).put(URL, body(oidc_provider, **changes), format="json")
    errors = assert_field_errors(answer, field)
    assert any(says in message for message in errors[field]), errors
    assert stored(configured.org) == before
    assert Entry.objects.count() == entries


def test_every_bad_field_is_named_at_once(acme):
    answer = client_for(acme.admin).put(
        URL,
        {
            "protocol": "oidc",
            "issuer": "http://login.example.com",
            "client_id": "",
            "email_domains": ["no"],
        },
        format="json",
    )
    errors = assert_field_errors(answer, None)
    assert {"issuer", "client_id", "client_secret", "email_domains"} <= set(errors)
    assert stored(acme.org) is None


def test_an_issuer_whose_discovery_names_another_issuer_is_refused(acme, oidc_provider):  # noqa: F811
    # The provider's issuer has no final slash; one typed with it is another issuer.
    answer = client_for(acme.admin).put(
        URL, body(oidc_provider, issuer=oidc_provider.issuer + "/"), format="json"
    )
    errors = assert_field_errors(answer, "issuer")
    assert "copy the issuer exactly" in errors["issuer"][0]
    assert stored(acme.org) is None


def test_a_domain_another_organization_signs_in_with_is_refused(
    configured,
    oidc_provider,  # noqa: F811
):
    globex = OrganizationFactory(name="Globex")
    gus = MemberFactory(organization=globex, role="admin", user__username="gus")
    answer = client_for(gus).put(
        URL, body(oidc_provider, email_domains=["globex.example", "Acme.Example"]), format="json"
    )
    errors = assert_field_errors(answer, "email_domains")
    assert errors["email_domains"] == [
        "acme.example already signs in to another organization on this Cascade: an email "
        "domain belongs to one organization. Ask Cascade's operators if it is yours."
    ]
    assert "Acme" not in str(errors)  # which organization is not told
    assert stored(globex) is None


def test_a_bad_body_shape_is_a_400_not_a_500(acme):
    admin = client_for(acme.admin)
    for raw in ("[]", '"oidc"', "null", "{", '{"protocol": "oidc", "email_domains": [1, {}]}'):
        answer = admin.put(URL, raw, content_type="application/json")
        assert answer.status_code == 400, (raw, answer.content)
    assert stored(acme.org) is None


# -- the audit log ------------------------------------------------------------------------------


def test_a_change_is_recorded_with_the_secret_hidden(configured, oidc_provider):  # noqa: F811
    first = Entry.objects.get(action="sso.updated")
    assert first.actor_id == configured.admin.pk
    assert first.organization_id == configured.org.pk
    assert first.changes["client_secret"] == [None, "(changed)"]
    assert first.changes["protocol"] == [None, "oidc"]
    put = client_for(configured.admin).put(
        URL,
        body(oidc_provider, client_secret="a-new-secret", default_role="reviewer"),
        format="json",
    )
    assert put.status_code == 200, put.content
    second = Entry.objects.filter(action="sso.updated").latest("id")
    assert second.changes["default_role"] == ["member", "reviewer"]
    assert second.changes["client_secret"] == ["(changed)", "(changed)"]
    texts = str(list(Entry.objects.values_list("changes", flat=True)))
    assert "a-new-secret" not in texts and oidc_provider.client_secret not in texts


def test_saving_the_same_settings_again_records_nothing(configured, oidc_provider):  # noqa: F811
    again = client_for(configured.admin).put(URL, body(oidc_provider), format="json")
    assert again.status_code == 200
    assert Entry.objects.filter(action="sso.updated").count() == 1


# -- tenancy ---------------------------------------------------------------------------------------


def test_another_organizations_admin_never_sees_or_changes_these_settings(
    configured,
    oidc_provider,  # noqa: F811
):
    acme_before = stored(configured.org)
    globex = OrganizationFactory(name="Globex")
    gus = client_for(MemberFactory(organization=globex, role="admin", user__username="gus"))
    seen = gus.get(URL).json()
    assert seen["protocol"] is None and seen["client_secret_set"] is False
    assert seen["email_domains"] == [] and globex.slug in seen["redirect_uri"]
    assert configured.org.slug not in str(seen)
    put = gus.put(
        URL, body(oidc_provider, email_domains=["globex.example"], enforced=True), format="json"
    )
    assert put.status_code == 200, put.content
    assert stored(configured.org) == acme_before
    assert stored(globex)["email_domains"] == ["globex.example"]
    acme_view = client_for(configured.admin).get(URL).json()
    assert acme_view["email_domains"] == ["acme.example"] and acme_view["enforced"] is False
    entry = Entry.objects.filter(action="sso.updated").latest("id")
    assert entry.organization_id == globex.pk


# -- query counts ----------------------------------------------------------------------------------


def other_organizations_with_sso(count: int) -> None:
    for n in range(count):
        org = OrganizationFactory(name=f"Other {n}")
        SSOConfig.objects.create(
            organization=org,
            protocol="oidc",
            issuer="https://login.example.com",
            client_id="x",
            client_secret="s",
            email_domains=[f"other{n}.example", f"more{n}.example"],
        )


@pytest.mark.parametrize("others", [1, 25])
def test_get_reads_in_a_fixed_number_of_queries(configured, django_assert_max_num_queries, others):
    other_organizations_with_sso(others)
    for n in range(others):
        MemberFactory(organization=configured.org, user__username=f"extra{n}")
    admin = client_for(configured.admin)
    with django_assert_max_num_queries(4):  # the token, the member, the settings
        assert admin.get(URL).status_code == 200


@pytest.mark.parametrize("domains", [1, 40])
def test_put_writes_in_a_fixed_number_of_queries(
    configured,
    oidc_provider,  # noqa: F811
    django_assert_max_num_queries,
    domains,
):
    other_organizations_with_sso(domains)
    sent = body(oidc_provider, email_domains=[f"d{n}.acme.example" for n in range(domains)])
    admin = client_for(configured.admin)
    # One query finds every other organization's claim, however many domains are sent
    # (twice: once more under the lock the saves take turns on).
    with django_assert_max_num_queries(16):
        assert admin.put(URL, sent, format="json").status_code == 200


# -- at the same instant (PostgreSQL: the saves take turns) -------------------------------------


def saving(actor, provider, domains):
    """A call saving `actor`'s organization's settings: its config, or its refusal."""

    def call():
        try:
            return sso_update(
                actor=actor,
                protocol="oidc",
                issuer=provider.issuer,
                client_id=provider.client_id,
                client_secret=provider.client_secret,
                email_domains=domains,
            )
        except ValidationError as refusal:
            return refusal

    return call


@pytest.mark.django_db(transaction=True)
def test_two_organizations_claiming_one_domain_at_once_get_it_once(
    acme,
    oidc_provider,  # noqa: F811
    require_postgres,
    together,
):
    globex = OrganizationFactory(name="Globex")
    gus = MemberFactory(organization=globex, role="admin", user__username="gus")
    results = together(
        [
            saving(acme.admin, oidc_provider, ["shared.example"]),
            saving(gus, oidc_provider, ["shared.example"]),
        ]
    )
    refused = [r for r in results if isinstance(r, ValidationError)]
    assert len(refused) == 1, results
    assert "shared.example already signs in to another organization" in str(refused[0])
    claims = SSOConfig.objects.filter(email_domains__icontains='"shared.example"')
    assert claims.count() == 1


@pytest.mark.django_db(transaction=True)
def test_two_first_saves_of_one_organization_at_once_leave_one_setting(
    acme,
    oidc_provider,  # noqa: F811
    require_postgres,
    together,
):
    leader = acme.leader
    leader.role = "admin"
    leader.save()
    results = together(
        [
            saving(acme.admin, oidc_provider, ["acme.example"]),
            saving(leader, oidc_provider, ["acme.example", "acme.example.org"]),
        ]
    )
    assert all(isinstance(r, SSOConfig) for r in results), results
    assert SSOConfig.objects.filter(organization=acme.org).count() == 1
    assert Entry.objects.filter(action="sso.updated").count() == 2
