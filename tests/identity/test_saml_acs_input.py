"""Whatever is posted to the SAML ACS, the answer is a page saying what is wrong (400
for what cannot be read, 403 for a SAML response refused), never a 500, and nobody is
signed in: missing or oversized fields, text that is not base64, base64 that is not
XML, XML bombs and external entities (defusedxml refuses any DTD), an unknown
organization, an organization that does not sign in with SAML; then hypothesis posts
whatever it makes up."""

from __future__ import annotations

import base64

import pytest
from django.contrib.auth import SESSION_KEY
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from identity.models import SSOConfig

from .saml_idp import idp_clock, saml_idp  # noqa: F401  (fixtures)
from .test_saml import begin, sso  # noqa: F401  (fixtures)


def b64(data: bytes | str) -> str:
    return base64.b64encode(data.encode() if isinstance(data, str) else data).decode()


BOMB = """<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol">&lol3;</samlp:Response>"""
EXTERNAL = """<?xml version="1.0"?>
<!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>
<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol">&x;</samlp:Response>"""
NOT_A_RESPONSE = """<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol"
 ID="_1" Version="2.0" IssueInstant="2026-01-01T00:00:00Z"/>"""


@pytest.fixture
def waiting(sso, client):  # noqa: F811
    """Acme's sign-in started in the test client: its session waits for an answer."""
    begin(client, sso.config)
    return sso


@pytest.mark.parametrize(
    ("fields", "status", "said"),
    [
        ({}, 400, "has no SAMLResponse"),
        ({"SAMLResponse": ""}, 400, "has no SAMLResponse"),
        ({"SAMLResponse": "not base64!"}, 400, "not base64"),
        ({"SAMLResponse": b64("just some text")}, 400, "not an XML document"),
        ({"SAMLResponse": b64(b"\x00\xff\xfe binary")}, 400, "not an XML document"),
        ({"SAMLResponse": b64("<unclosed")}, 400, "not a SAML response Cascade can read"),
        ({"SAMLResponse": b64(BOMB)}, 400, "not a SAML response Cascade can read"),
        ({"SAMLResponse": b64(EXTERNAL)}, 400, "not a SAML response Cascade can read"),
        ({"SAMLResponse": "A" * (600 * 1024)}, 400, "too large"),
        ({"SAMLResponse": b64(NOT_A_RESPONSE), "RelayState": "x" * 500}, 400, "too large"),
        ({"SAMLResponse": b64(NOT_A_RESPONSE), "RelayState": "made-up"}, 403, "not to a sign-in"),
    ],
    ids=[
        "missing",
        "empty",
        "not-base64",
        "not-xml",
        "binary",
        "broken-xml",
        "xml-bomb",
        "external-entity",
        "oversized",
        "oversized-relay-state",
        "unknown-relay-state",
    ],
)
def test_acs_answers_a_post_it_cannot_take_with_a_reason(waiting, client, fields, status, said):
    answer = client.post(f"/sso/{waiting.org.slug}/saml/acs/", fields)

    assert answer.status_code == status
    assert said in answer.content.decode()
    assert SESSION_KEY not in client.session


def test_acs_of_an_unknown_organization_is_a_bad_request(db, client):
    answer = client.post("/sso/nobody/saml/acs/", {"SAMLResponse": b64(NOT_A_RESPONSE)})

    assert answer.status_code == 400
    assert "No organization signs in with SAML at this address" in answer.content.decode()


def test_acs_of_an_organization_signing_in_with_openid_connect_is_a_bad_request(acme, client):
    SSOConfig.objects.create(
        organization=acme.org, protocol="oidc", issuer="https://idp.example.com", client_id="c"
    )

    answer = client.post(f"/sso/{acme.org.slug}/saml/acs/", {"SAMLResponse": b64(NOT_A_RESPONSE)})

    assert answer.status_code == 400


def test_acs_takes_posts_only(waiting, client):
    assert client.get(f"/sso/{waiting.org.slug}/saml/acs/").status_code == 405


TEXT = st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"))
XMLISH = st.one_of(
    st.binary(max_size=300),
    TEXT.map(lambda t: f"<samlp:Response xmlns:samlp='urn:oasis:names:tc:SAML:2.0:protocol'>{t}"),
    st.builds(
        lambda id_, version, body: (
            f'<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" '
            f'xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="{id_}" '
            f'Version="{version}" InResponseTo="{id_}">{body}</samlp:Response>'
        ),
        st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,20}", fullmatch=True),
        st.sampled_from(["2.0", "1.1", ""]),
        st.sampled_from(
            [
                "",
                "<saml:Assertion/>",
                "<saml:Assertion ID='a' Version='2.0'><saml:Subject/></saml:Assertion>",
                "<saml:Issuer>x</saml:Issuer><saml:Assertion/><saml:Assertion/>",
                "<ds:Signature xmlns:ds='http://www.w3.org/2000/09/xmldsig#'/>",
            ]
        ),
    ),
)


@hypothesis_settings(
    max_examples=120,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    saml_response=st.one_of(TEXT, XMLISH.map(b64)),
    relay_state=st.one_of(st.none(), TEXT),
    extra=st.dictionaries(TEXT.filter(bool), TEXT, max_size=3),
)
def test_acs_never_fails_whatever_is_posted(waiting, client, saml_response, relay_state, extra):
    fields = {**extra, "SAMLResponse": saml_response}
    if relay_state is not None:
        fields["RelayState"] = relay_state

    answer = client.post(f"/sso/{waiting.org.slug}/saml/acs/", fields)

    assert answer.status_code in (400, 403), answer.content[:500]
    assert SESSION_KEY not in client.session
