"""Whatever reaches the OpenID Connect callback (`GET /sso/<slug>/oidc/callback/`) is
answered with a page that says what to do — a 400 — never a 500, and signs nobody in:
parameters repeated, missing, empty, huge, unicode, control characters, bytes that are
not UTF-8, with and without the state of a sign-in this browser really began (so the
code reaches the real provider's token endpoint, which refuses it)."""

from __future__ import annotations

from urllib.parse import parse_qs, quote, urlsplit

import pytest
from django.contrib.auth import SESSION_KEY
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from identity.services import sso_update
from org.models import Member
from tests.identity.oidc import oidc_provider  # noqa: F401

pytestmark = pytest.mark.django_db

NAMES = ["code", "state", "error", "error_description", "iss", "session_state", "scope", "x"]
ODD = [
    "",
    " ",
    "%",
    "%ff%fe",  # not UTF-8 once decoded
    "%00",
    "\u202e",
    "é" * 3000,
    "a" * 100_000,
    "<script>alert(1)</script>",
    "access_denied",
    "invalid_request",
    "https://evil.example",
    "null",
    "[]",
    "{'a': 1}",
    "..%2f..%2f",
]
VALUE = st.one_of(
    st.sampled_from(ODD),
    st.text(max_size=300),
    st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=5000),
    st.binary(max_size=200).map(lambda b: b.decode("latin-1")),
)
# A pair is written raw (its % sequences kept as sent) or percent-encoded.
PAIR = st.tuples(st.one_of(st.sampled_from(NAMES), st.text(max_size=20)), VALUE, st.booleans())


@pytest.fixture(autouse=True)
def _fixed_clock():
    """The provider works with the real clock: keep it (no travel to 2027)."""
    yield


@pytest.fixture
def sso(acme, oidc_provider, settings):  # noqa: F811
    settings.OUTBOUND_ALLOW_PRIVATE = True  # the provider listens on 127.0.0.1
    sso_update(
        actor=acme.admin,
        protocol="oidc",
        issuer=oidc_provider.issuer,
        client_id=oidc_provider.client_id,
        client_secret=oidc_provider.client_secret,
        email_domains=["acme.example"],
    )
    acme.members = Member.objects.count()
    return acme


def encoded(name: str, value: str, raw: bool) -> str:
    if raw:
        return f"{name}={value}".replace("&", "%26").replace("#", "%23").replace(" ", "+")
    return f"{quote(name, safe='')}={quote(value, safe='')}"


@hypothesis_settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    pairs=st.lists(PAIR, max_size=6),
    with_real_state=st.booleans(),
    slug=st.sampled_from(["acme", "acme", "nobody", "ACME", "acme-"]),
)
def test_the_callback_never_fails_and_signs_nobody_in_whatever_it_is_sent(
    client, sso, pairs, with_real_state, slug
):
    query = [encoded(name, value, raw) for name, value, raw in pairs]
    if with_real_state:
        start = client.get("/sso/acme/login/")
        state = parse_qs(urlsplit(start["Location"]).query)["state"][0]
        query.insert(0, f"state={state}")
    path = f"/sso/{slug}/oidc/callback/"

    answer = client.get(path + ("?" + "&".join(query) if query else ""))

    assert answer.status_code in (400, 404), (answer.status_code, answer.content[:500])
    assert SESSION_KEY not in client.session
    assert Member.objects.count() == sso.members  # no one made just in time


def test_a_real_state_with_a_made_up_code_reaches_the_provider_and_is_a_400(client, sso):
    start = client.get("/sso/acme/login/")
    state = parse_qs(urlsplit(start["Location"]).query)["state"][0]
    answer = client.get(f"/sso/acme/oidc/callback/?state={state}&code={'é' * 10}")
    assert answer.status_code == 400
    assert "is not one an identity provider sends" in answer.content.decode()
    start = client.get("/sso/acme/login/")
    state = parse_qs(urlsplit(start["Location"]).query)["state"][0]
    answer = client.get(f"/sso/acme/oidc/callback/?state={state}&code=made-up")
    assert "refused the sign-in code (invalid_grant)" in answer.content.decode()


def test_a_parameter_sent_twice_is_a_400(client, sso):
    start = client.get("/sso/acme/login/")
    state = parse_qs(urlsplit(start["Location"]).query)["state"][0]
    answer = client.get(f"/sso/acme/oidc/callback/?state={state}&code=a&code=b")
    assert answer.status_code == 400
    assert "carries “code” more than once" in answer.content.decode()
