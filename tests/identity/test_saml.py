"""SAML 2.0 sign-in against a real IdP (SimpleSAMLphp, tests/identity/saml_idp.py):
its signed assertion signs the right member in; the same assertion unsigned, re-signed
with another key, meant for another organization's SP, or replayed is refused; what
the ACS cannot read is a 400, never a 500; the SP metadata is valid; sign-ins and
refusals are in the audit log."""

from __future__ import annotations

import base64
import re
from urllib.parse import parse_qs, urlsplit

import pytest
from django.contrib.auth import SESSION_KEY, get_user_model
from django.core.exceptions import ValidationError
from django.db import connection
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext
from lxml import etree
from onelogin.saml2.utils import OneLogin_Saml2_Utils
from onelogin.saml2.xml_utils import OneLogin_Saml2_XML

from audit.models import Entry
from identity import saml
from identity.models import SSOConfig
from org.models import Member
from tests.conftest import AnswerClient
from tests.factories import MemberFactory
from tests.outbound import Answer

from .saml_idp import (  # noqa: F401  (fixtures)
    KNOWN,
    NEWCOMER,
    STRANGER,
    PostForm,
    idp_clock,
    key_and_certificate,
    saml_idp,
)

SITE = "http://testserver"


@pytest.fixture
def sso(acme, saml_idp, idp_clock, settings):  # noqa: F811
    """Acme signs in with SAML through the test IdP; sam is sam@acme.test."""
    settings.SITE_URL = SITE
    settings.OUTBOUND_ALLOW_PRIVATE = True
    acme.member.user.email = KNOWN.email
    acme.member.user.save()
    acme.config = saml_config(acme.org, saml_idp)
    return acme


def saml_config(organization, idp) -> SSOConfig:
    config = SSOConfig(
        organization=organization,
        protocol="saml",
        email_domains=["acme.test"],
        default_role="member",
    )
    saml.load_metadata(config, idp.metadata_url)
    config.save()
    urls = saml.sp_urls(organization)
    idp.trust(urls.entity_id, urls.acs)
    return config


def begin(client, config: SSOConfig) -> str:
    """Start a sign-in in the test client's session, as /sso/<slug>/login/ does; the
    IdP address it sends the browser to."""
    session = client.session
    request = RequestFactory().get(f"/sso/{config.organization.slug}/login/")
    request.session = session
    answer = saml.start(request, config)
    session.save()
    assert answer.status_code == 302
    return answer["Location"]


def signed_in_as(client) -> int | None:
    value = client.session.get(SESSION_KEY)
    return int(value) if value is not None else None


def acs(config: SSOConfig) -> str:
    return f"/sso/{config.organization.slug}/saml/acs/"


def post(client, config, form: PostForm, saml_response: str | None = None):
    return client.post(
        acs(config),
        {"SAMLResponse": saml_response or form.saml_response, "RelayState": form.relay_state},
    )


def xml_of(form: PostForm) -> bytes:
    return base64.b64decode(form.saml_response)


def encoded(xml: bytes) -> str:
    return base64.b64encode(xml).decode()


def without_signatures(xml: bytes) -> bytes:
    document = OneLogin_Saml2_XML.to_etree(xml)
    for signature in document.xpath(
        "//ds:Signature", namespaces={"ds": "http://www.w3.org/2000/09/xmldsig#"}
    ):
        signature.getparent().remove(signature)
    return etree.tostring(document)


def refusals(org, action="signin.sso_refused") -> list[Entry]:
    """Cascade's refusals of a person (identity/jit.py), or with action
    "signin.sso_failed" the answers it could not take."""
    return list(Entry.objects.filter(organization_id=org.pk, action=action))


# -- a real signed assertion ------------------------------------------------------------


def test_idp_signed_assertion_signs_the_known_member_in(sso, saml_idp, client):  # noqa: F811
    form = saml_idp.sign_in(begin(client, sso.config), KNOWN)
    assert form.action == f"{SITE}{acs(sso.config)}"

    answer = post(client, sso.config, form)

    assert answer.status_code == 302 and answer["Location"] == "/"
    assert signed_in_as(client) == sso.member.user.pk
    assert client.get("/").status_code == 200
    entry = Entry.objects.get(action="signin.succeeded")
    assert entry.organization_id == sso.org.pk and entry.object_id == str(sso.member.pk)


def test_unknown_person_of_the_domain_becomes_a_member_just_in_time(sso, saml_idp, client):  # noqa: F811
    form = saml_idp.sign_in(begin(client, sso.config), NEWCOMER)

    answer = post(client, sso.config, form)

    assert answer.status_code == 302
    member = Member.objects.select_related("user").get(user__email=NEWCOMER.email)
    assert member.organization == sso.org and member.role == "member" and member.is_active
    assert (member.user.first_name, member.user.last_name) == (
        NEWCOMER.first_name,
        NEWCOMER.last_name,
    )
    assert not member.user.has_usable_password()
    assert signed_in_as(client) == member.user.pk
    assert Entry.objects.filter(action="member.created", object_id=str(member.pk)).exists()


def test_person_outside_the_organizations_domains_is_refused_and_recorded(sso, saml_idp, client):  # noqa: F811
    form = saml_idp.sign_in(begin(client, sso.config), STRANGER)

    answer = post(client, sso.config, form)

    assert answer.status_code == 403
    assert "is not on a domain Acme signs in with" in answer.content.decode()
    assert signed_in_as(client) is None
    assert not get_user_model().objects.filter(email=STRANGER.email).exists()
    [entry] = refusals(sso.org)
    assert entry.actor == STRANGER.email


# -- the same assertion, tampered with --------------------------------------------------


def test_assertion_with_its_signature_stripped_is_refused(sso, saml_idp, client):  # noqa: F811
    form = saml_idp.sign_in(begin(client, sso.config), KNOWN)
    unsigned = without_signatures(xml_of(form))
    assert b"Signature" not in unsigned

    answer = post(client, sso.config, form, encoded(unsigned))

    assert answer.status_code == 403
    assert "not signed" in answer.content.decode() or "No Signature" in answer.content.decode()
    assert signed_in_as(client) is None
    [entry] = refusals(sso.org, "signin.sso_failed")
    assert "refused" in entry.changes["reason"][1]


def test_assertion_re_signed_with_another_key_is_refused(sso, saml_idp, client):  # noqa: F811
    form = saml_idp.sign_in(begin(client, sso.config), KNOWN)
    key, cert = key_and_certificate("Not the IdP")
    document = OneLogin_Saml2_XML.to_etree(without_signatures(xml_of(form)))
    assertion = document.find("{urn:oasis:names:tc:SAML:2.0:assertion}Assertion")
    # The forger's signature goes where the IdP's was: after the assertion's Issuer.
    resigned_assertion = OneLogin_Saml2_Utils.add_sign(
        etree.tostring(assertion),
        key,
        cert,
        sign_algorithm="http://www.w3.org/2001/04/xmldsig-more#rsa-sha256",
        digest_algorithm="http://www.w3.org/2001/04/xmlenc#sha256",
    )
    document.replace(assertion, OneLogin_Saml2_XML.to_etree(resigned_assertion))
    forged = etree.tostring(document)
    assert b"SignatureValue" in forged

    answer = post(client, sso.config, form, encoded(forged))

    assert answer.status_code == 403
    assert "Signature validation failed" in answer.content.decode()
    assert signed_in_as(client) is None


def test_the_untampered_control_of_the_tampering_tests_is_accepted(sso, saml_idp, client):  # noqa: F811
    """The tampering tests re-encode the XML they change; so does this one, unchanged,
    so a refusal there is the tampering's, not the re-encoding's."""
    form = saml_idp.sign_in(begin(client, sso.config), KNOWN)

    answer = post(client, sso.config, form, encoded(xml_of(form)))

    assert answer.status_code == 302 and signed_in_as(client) == sso.member.user.pk


def test_response_replayed_is_refused(sso, saml_idp, client):  # noqa: F811
    form = saml_idp.sign_in(begin(client, sso.config), KNOWN)
    assert post(client, sso.config, form).status_code == 302
    client.post("/accounts/logout/")
    assert signed_in_as(client) is None

    again = post(client, sso.config, form)

    assert again.status_code == 403
    assert "used already" in again.content.decode()
    assert signed_in_as(client) is None


def test_response_posted_into_another_browser_is_refused(sso, saml_idp, client):  # noqa: F811
    """A response captured (or one an attacker got for themselves) signs nobody in
    elsewhere: the other session never started that sign-in."""
    form = saml_idp.sign_in(begin(client, sso.config), KNOWN)
    other = AnswerClient()
    begin(other, sso.config)  # a session of its own, waiting for another answer

    answer = post(other, sso.config, form)

    assert answer.status_code == 403 and signed_in_as(other) is None


def test_response_for_another_organization_is_refused(sso, saml_idp, client, outsider):  # noqa: F811
    globex = saml_config(outsider.organization, saml_idp)
    form = saml_idp.sign_in(begin(client, sso.config), KNOWN)

    answer = post(client, globex, form)  # Acme's answer, posted to Globex's ACS

    assert answer.status_code == 403 and signed_in_as(client) is None


def test_assertion_whose_audience_is_another_organizations_sp_is_refused(
    sso,
    saml_idp,  # noqa: F811
    client,
    outsider,
):
    """Globex's sign-in, answered by the IdP with an assertion for Acme's SP (the
    request's issuer and ACS swapped on the way): the signature and InResponseTo hold,
    the audience and destination do not."""
    globex = saml_config(outsider.organization, saml_idp)
    redirect = urlsplit(begin(client, globex))
    query = parse_qs(redirect.query)
    request_xml = OneLogin_Saml2_Utils.decode_base64_and_inflate(query["SAMLRequest"][0])
    swapped = request_xml.replace(b"/sso/globex/", b"/sso/acme/")
    assert swapped != request_xml
    query["SAMLRequest"] = [OneLogin_Saml2_Utils.deflate_and_base64_encode(swapped)]
    from urllib.parse import urlencode

    form = saml_idp.sign_in(redirect._replace(query=urlencode(query, doseq=True)).geturl(), KNOWN)
    assert form.action.endswith("/sso/acme/saml/acs/")

    answer = post(client, globex, form)

    assert answer.status_code == 403
    text = answer.content.decode()
    assert "audience" in text or "received at" in text
    assert signed_in_as(client) is None
    assert refusals(outsider.organization, "signin.sso_failed")


def test_unsolicited_response_is_refused(sso, saml_idp, client):  # noqa: F811
    form = saml_idp.sign_in(begin(client, sso.config), KNOWN)
    fresh = client.__class__()
    fresh.session.save()  # a session, never asked for this answer

    answer = post(fresh, sso.config, form)

    assert answer.status_code == 403 and signed_in_as(fresh) is None


# -- a cross-site post without the session cookie ---------------------------------------


def test_post_without_the_session_cookie_is_posted_again_from_cascade(sso, saml_idp, client):  # noqa: F811
    """A SameSite=Lax cookie stays home on the IdP's cross-site post: Cascade answers
    with a form that posts the answer again from its own origin, with the cookie."""
    form = saml_idp.sign_in(begin(client, sso.config), KNOWN)
    cookieless = client.__class__()

    bounce = post(cookieless, sso.config, form)

    assert bounce.status_code == 200
    page = bounce.content.decode()
    fields = dict(re.findall(r'name="([^"]+)" value="([^"]*)"', page))
    assert fields["SAMLResponse"] == form.saml_response and fields[saml_views_marker()] == "1"
    assert signed_in_as(cookieless) is None
    answer = client.post(acs(sso.config), fields)
    assert answer.status_code == 302 and signed_in_as(client) == sso.member.user.pk


def saml_views_marker() -> str:
    from identity.saml_views import RESUBMITTED

    return RESUBMITTED


# -- the IdP's metadata ------------------------------------------------------------------


def test_metadata_is_read_from_the_idp_through_egress(acme, saml_idp, settings):  # noqa: F811
    settings.OUTBOUND_ALLOW_PRIVATE = True
    config = SSOConfig(organization=acme.org, protocol="saml")

    saml.load_metadata(config, saml_idp.metadata_url)

    assert config.metadata_url == saml_idp.metadata_url
    assert saml_idp.entity_id in config.metadata_xml and config.metadata_fetched_at
    idp = saml.parse_idp(config.metadata_xml)
    assert idp["singleSignOnService"]["url"] == f"{saml_idp.url}/saml2/idp/SSOService.php"


def test_metadata_on_a_private_address_is_refused_unless_allowed(acme, saml_idp, settings):  # noqa: F811
    settings.OUTBOUND_ALLOW_PRIVATE = False
    config = SSOConfig(organization=acme.org, protocol="saml")

    with pytest.raises(ValidationError) as refused:
        saml.load_metadata(config, saml_idp.metadata_url)

    assert "loopback" in refused.value.message_dict["metadata_url"][0]
    assert config.metadata_xml == ""


METADATA = """<?xml version="1.0"?>
<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata"
    xmlns:ds="http://www.w3.org/2000/09/xmldsig#" entityID="https://idp.example.com/">
  <md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">
    {keys}
    <md:SingleSignOnService Binding="{binding}" Location="https://idp.example.com/sso"/>
  </md:IDPSSODescriptor>
</md:EntityDescriptor>"""
KEY = """<md:KeyDescriptor use="signing"><ds:KeyInfo><ds:X509Data>
<ds:X509Certificate>MIIC</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>"""
REDIRECT = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect"
POST = "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST"


@pytest.mark.parametrize(
    ("answer", "said"),
    [
        (Answer(body=b"<html><body>Sign in</body></html>"), "has no IdP"),
        (Answer(body=b"not xml at all"), "not a SAML metadata"),
        (
            Answer(body=METADATA.format(keys="", binding=REDIRECT).encode()),
            "no signing certificate",
        ),
        (Answer(body=METADATA.format(keys=KEY, binding=POST).encode()), "HTTP-Redirect"),
        (Answer(status=404, body=b"gone"), "answered 404"),
        (Answer(status=302, headers={"Location": "https://elsewhere/"}), "redirect"),
        (
            Answer(body=b'<!DOCTYPE x [<!ENTITY a "aaaa">]><x>&a;</x>'),
            "not a SAML metadata",
        ),
    ],
    ids=["html", "text", "no-cert", "no-redirect-binding", "404", "redirect", "dtd"],
)
def test_metadata_that_cannot_be_used_is_refused_with_a_reason(
    acme, listen, settings, answer, said
):
    settings.OUTBOUND_ALLOW_PRIVATE = True
    server = listen(answers=[answer])
    config = SSOConfig(organization=acme.org, protocol="saml")

    with pytest.raises(ValidationError) as refused:
        saml.load_metadata(config, f"http://127.0.0.1:{server.port}/metadata")

    assert said in refused.value.message_dict["metadata_url"][0]
    assert config.metadata_xml == "" and config.metadata_fetched_at is None


def test_metadata_address_where_nothing_answers_is_refused(acme, settings):
    settings.OUTBOUND_ALLOW_PRIVATE = True
    config = SSOConfig(organization=acme.org, protocol="saml")

    with pytest.raises(ValidationError) as refused:
        saml.load_metadata(config, "http://127.0.0.1:9/metadata")  # port 9: refused by egress

    assert refused.value.message_dict["metadata_url"][0].startswith("Could not read")


# -- the SP's metadata -------------------------------------------------------------------


def test_sp_metadata_is_valid_and_names_this_organizations_addresses(
    acme, client, settings, django_assert_num_queries
):
    settings.SITE_URL = "https://cascade.example.com"

    with django_assert_num_queries(1):
        answer = client.get(f"/sso/{acme.org.slug}/saml/metadata/")

    assert answer.status_code == 200
    assert answer["Content-Type"] == "application/samlmetadata+xml"
    document = OneLogin_Saml2_XML.to_etree(answer.content)
    assert not isinstance(
        OneLogin_Saml2_XML.validate_xml(answer.content, "saml-schema-metadata-2.0.xsd"), str
    )
    ns = {"md": "urn:oasis:names:tc:SAML:2.0:metadata"}
    base = f"https://cascade.example.com/sso/{acme.org.slug}/saml"
    assert document.get("entityID") == f"{base}/metadata/"
    [sp] = document.xpath("md:SPSSODescriptor", namespaces=ns)
    assert sp.get("WantAssertionsSigned") == "true" and sp.get("AuthnRequestsSigned") == "false"
    [consumer] = sp.xpath("md:AssertionConsumerService", namespaces=ns)
    assert consumer.get("Location") == f"{base}/acs/"
    assert consumer.get("Binding") == POST
    assert sp.xpath("md:NameIDFormat/text()", namespaces=ns) == [
        "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress"
    ]


def test_sp_metadata_takes_one_query_however_large_the_organization(
    acme, client, django_assert_num_queries
):
    for size in (1, 40):
        MemberFactory.create_batch(size, organization=acme.org)
        with django_assert_num_queries(1):
            assert client.get(f"/sso/{acme.org.slug}/saml/metadata/").status_code == 200


def test_a_sign_in_at_the_acs_takes_as_many_queries_however_large_the_organization(
    sso,
    saml_idp,  # noqa: F811
):
    counts = []
    for size in (1, 40):
        MemberFactory.create_batch(size, organization=sso.org)
        browser = AnswerClient()
        form = saml_idp.sign_in(begin(browser, sso.config), KNOWN)
        with CaptureQueriesContext(connection) as queries:
            assert post(browser, sso.config, form).status_code == 302
        assert signed_in_as(browser) == sso.member.user.pk
        counts.append(len(queries))

    assert counts[0] == counts[1], counts


def test_sp_metadata_of_no_organization_is_not_found(db, client):
    assert client.get("/sso/nobody/saml/metadata/").status_code == 404
