"""SAML 2.0 sign-in (SPEC §9.1), with python3-saml (SAML-Toolkits' maintained toolkit:
strict checks of signatures, audience, destination, issuer, timestamps and
InResponseTo; its XML parsed by defusedxml, so no DTD, no entity, no XML bomb).

Cascade is one service provider (SP) per organization, its settings built at run time
from the organization's SSOConfig:

- SP entity id (the Audience URI) = its metadata address,
  SITE_URL/sso/<slug>/saml/metadata/, published there; the ACS (assertion consumer
  service) = SITE_URL/sso/<slug>/saml/acs/, HTTP-POST binding.
- The IdP: read from its metadata (`load_metadata`, through core.egress, when an admin
  saves the metadata URL) and kept in SSOConfig.metadata_xml, so a sign-in reads
  nothing from the network.

A sign-in, step by step:
1. `start()`: an AuthnRequest over HTTP-Redirect (unsigned; the IdP's metadata may not
   ask for signed requests). Its id and a random RelayState are remembered in the
   session (`PENDING`), so an answer is taken only by the browser that asked.
2. The IdP posts its Response to the ACS (identity/saml_views.py). `finish()` reads it
   (a message that cannot be read is `Malformed`: 400) and checks it (`Rejected`, 403,
   recorded in the audit log): the RelayState is one this session is waiting for and
   is consumed (a replay finds nothing), InResponseTo is that request's id (an
   unsolicited, IdP-initiated response is refused), the assertion is signed by a
   certificate of the IdP's metadata (a signed assertion is required, whatever else is
   signed; deprecated algorithms such as SHA-1 refused), the audience is this
   organization's SP, the Destination and Recipient are this ACS, the times hold.
   A refused answer is recorded as `signin.sso_failed` (as OpenID Connect's are).
3. The email: the NameID when its format is emailAddress, else the attribute `email`,
   `mail` or the claims URI. A SAML IdP asserts the address as its own directory's, so
   Cascade treats it as verified — which is why only the organization's own IdP, for
   its own email domains, is trusted. identity.jit.sign_in() does the rest.
"""

from __future__ import annotations

import base64
import binascii
import secrets
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from onelogin.saml2.auth import OneLogin_Saml2_Auth
from onelogin.saml2.constants import OneLogin_Saml2_Constants as C
from onelogin.saml2.idp_metadata_parser import OneLogin_Saml2_IdPMetadataParser
from onelogin.saml2.response import OneLogin_Saml2_Response
from onelogin.saml2.settings import OneLogin_Saml2_Settings

from core import egress
from org.models import Organization

from . import jit
from .models import SSOConfig

# In the session: {"<relay state>": {"org": <organization id>, "id": <AuthnRequest id>,
# "next": <path>, "at": <unix time>}}, at most MAX_PENDING, none older than PENDING_TTL.
PENDING = "identity_saml_pending"
MAX_PENDING = 5
PENDING_TTL = 30 * 60  # seconds a person has to sign in at the IdP
MAX_RESPONSE = 512 * 1024  # characters of a posted SAMLResponse (base64)
MAX_METADATA = 1024 * 1024  # bytes of IdP metadata

EMAIL_ATTRIBUTES = (
    "email",
    "mail",
    "emailAddress",
    "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress",
    "urn:oid:0.9.2342.19200300.100.1.3",
)
FIRST_NAME_ATTRIBUTES = (
    "givenName",
    "firstName",
    "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/givenname",
    "urn:oid:2.5.4.42",
)
LAST_NAME_ATTRIBUTES = (
    "sn",
    "surname",
    "lastName",
    "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/surname",
    "urn:oid:2.5.4.4",
)


class Malformed(Exception):
    """The post cannot be read as a SAML response (400); str() says what is wrong."""


class Rejected(Exception):
    """A SAML response Cascade read and refuses (403); str() says why."""


@dataclass(frozen=True)
class SPUrls:
    """Where an organization's SP lives; `entity_id` is also its metadata address."""

    entity_id: str
    acs: str


def sp_urls(organization: Organization) -> SPUrls:
    base = settings.SITE_URL
    return SPUrls(
        entity_id=base + reverse("identity:saml-metadata", args=[organization.slug]),
        acs=base + reverse("identity:saml-acs", args=[organization.slug]),
    )


# -- settings ---------------------------------------------------------------------------


def _sp(organization: Organization) -> dict[str, Any]:
    urls = sp_urls(organization)
    return {
        "entityId": urls.entity_id,
        "assertionConsumerService": {"url": urls.acs, "binding": C.BINDING_HTTP_POST},
        "NameIDFormat": C.NAMEID_EMAIL_ADDRESS,
        "x509cert": "",
        "privateKey": "",
    }


SECURITY: dict[str, Any] = {
    "authnRequestsSigned": False,
    "wantAssertionsSigned": True,  # required: an unsigned assertion never signs in
    "wantMessagesSigned": False,  # a signed Response is checked when present
    "wantAssertionsEncrypted": False,
    "wantNameId": True,
    "wantAttributeStatement": False,  # the email may come as the NameID alone
    "requestedAuthnContext": False,  # the IdP decides how (password, MFA, passkey)
    "rejectDeprecatedAlgorithm": True,
    "signatureAlgorithm": C.RSA_SHA256,
    "digestAlgorithm": C.SHA256,
    # Intranet names (http://cascade/, an IdP at https://sso/) are addresses too.
    "allowSingleLabelDomains": True,
    "metadataValidUntil": None,
    "metadataCacheDuration": None,
}


def _settings(config: SSOConfig) -> OneLogin_Saml2_Settings:
    """The toolkit's settings for `config` (its IdP from the stored metadata)."""
    idp = parse_idp(config.metadata_xml)
    return OneLogin_Saml2_Settings(
        {
            "strict": True,
            "debug": False,
            "sp": _sp(config.organization),
            "idp": idp,
            "security": SECURITY,
        }
    )


def sp_metadata(organization: Organization) -> str:
    """The SP metadata XML an IdP is given (or reads from the metadata address)."""
    toolkit = OneLogin_Saml2_Settings(
        {"strict": True, "sp": _sp(organization), "security": SECURITY},
        sp_validation_only=True,
    )
    xml = toolkit.get_sp_metadata()
    errors = toolkit.validate_metadata(xml)
    if errors:  # our own settings: a bug, not the visitor's fault
        raise RuntimeError(f"SP metadata does not validate: {errors}")
    return xml.decode() if isinstance(xml, bytes) else xml


# -- the IdP's metadata -----------------------------------------------------------------


def parse_idp(xml: str) -> dict[str, Any]:
    """The IdP's settings read from its metadata; ValueError saying what is missing."""
    try:
        parsed = OneLogin_Saml2_IdPMetadataParser.parse(xml)
    except Exception as exc:  # lxml, defusedxml: anything unreadable
        raise ValueError(
            "The metadata is not a SAML metadata XML document: paste the IdP's metadata URL "
            "(often ending in /metadata or FederationMetadata.xml), not its sign-in page."
        ) from exc
    idp = parsed.get("idp") or {}
    if not idp.get("entityId"):
        raise ValueError("The metadata has no IdP (no EntityDescriptor with an IDPSSODescriptor).")
    if not idp.get("singleSignOnService", {}).get("url"):
        raise ValueError(
            "The IdP's metadata offers no sign-in address with the HTTP-Redirect binding, "
            "which Cascade uses: enable it in the IdP."
        )
    if not (idp.get("x509cert") or (idp.get("x509certMulti") or {}).get("signing")):
        raise ValueError(
            "The IdP's metadata has no signing certificate, so Cascade could not check its "
            "signed assertions: add one in the IdP."
        )
    if parsed.get("security", {}).get("authnRequestsSigned"):
        raise ValueError(
            "The IdP wants signed sign-in requests (WantAuthnRequestsSigned); Cascade sends "
            "unsigned ones: turn that requirement off for Cascade in the IdP."
        )
    return idp


def load_metadata(config: SSOConfig, url: str) -> None:
    """Fetch the IdP's metadata from `url` (through core.egress, the one outbound door),
    check it, and set config.metadata_url, metadata_xml and metadata_fetched_at (the
    caller saves). Raises ValidationError({"metadata_url": why}) when it is unreachable,
    not metadata, without a signing certificate or an HTTP-Redirect sign-in address."""
    try:
        answer = egress.send(
            "GET",
            url,
            headers={"Accept": "application/samlmetadata+xml, application/xml, text/xml"},
            timeout=10,
            max_bytes=MAX_METADATA,
        )
    except egress.EgressError as exc:
        raise ValidationError(
            {"metadata_url": f"Could not read the IdP's metadata: {exc}"}
        ) from exc
    if 300 <= answer.status < 400:
        where = answer.headers.get("Location", "")
        to = f" to {where}" if where else ""
        raise ValidationError(
            {
                "metadata_url": f"The address answered with a redirect{to}: paste the final "
                "address (Cascade does not follow redirects)."
            }
        )
    if answer.status != 200:
        raise ValidationError(
            {"metadata_url": f"The address answered {answer.status}, not the IdP's metadata."}
        )
    try:
        xml = answer.body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ValidationError({"metadata_url": "The metadata is not UTF-8 text."}) from exc
    try:
        parse_idp(xml)
    except ValueError as exc:
        raise ValidationError({"metadata_url": str(exc)}) from exc
    config.metadata_url = url
    config.metadata_xml = xml
    config.metadata_fetched_at = timezone.now()


# -- starting a sign-in -----------------------------------------------------------------


def _request_data(config: SSOConfig, post: dict[str, str] | None = None) -> dict[str, Any]:
    """The request as the toolkit reads it, at the ACS address SITE_URL names (not the
    Host header a proxy or a caller chose)."""
    site = urlsplit(settings.SITE_URL)
    return {
        "https": "on" if site.scheme == "https" else "off",
        "http_host": site.netloc,
        "script_name": reverse("identity:saml-acs", args=[config.organization.slug]),
        "get_data": {},
        "post_data": post or {},
    }


def _pending(request: HttpRequest) -> dict[str, dict[str, Any]]:
    """This session's sign-ins waiting for an answer, the stale ones dropped."""
    now = time.time()
    waiting = request.session.get(PENDING) or {}
    if not isinstance(waiting, dict):
        return {}
    return {
        k: v
        for k, v in waiting.items()
        if isinstance(v, dict) and now - float(v.get("at", 0)) < PENDING_TTL
    }


def start(request: HttpRequest, config: SSOConfig) -> HttpResponse:
    """Send the person to the IdP with an AuthnRequest (HTTP-Redirect), remembering its
    id and RelayState in the session."""
    try:
        toolkit = _settings(config)
    except ValueError as exc:
        return error_page(request, config, f"Single sign-on is not ready: {exc}", status=503)
    auth = OneLogin_Saml2_Auth(_request_data(config), toolkit)
    relay_state = secrets.token_urlsafe(24)
    url = auth.login(return_to=relay_state)
    after = request.GET.get("next", "")
    if not url_has_allowed_host_and_scheme(after, allowed_hosts={request.get_host()}):
        after = settings.LOGIN_REDIRECT_URL
    waiting = _pending(request)
    waiting[relay_state] = {
        "org": config.organization_id,
        "id": auth.get_last_request_id(),
        "next": after,
        "at": time.time(),
    }
    newest = sorted(waiting.items(), key=lambda item: item[1]["at"])[-MAX_PENDING:]
    request.session[PENDING] = dict(newest)
    return HttpResponseRedirect(url)


# -- the answer -------------------------------------------------------------------------


def read_post(post: Any) -> tuple[str, str]:
    """(SAMLResponse, RelayState) of a post, or Malformed: present, of a sane size,
    base64 of an XML document (parsed by defusedxml: no DTD, no entities)."""
    saml_response = post.get("SAMLResponse")
    relay_state = post.get("RelayState") or ""
    if not saml_response:
        raise Malformed("The post has no SAMLResponse: sign in again from Cascade.")
    if len(saml_response) > MAX_RESPONSE or len(relay_state) > 200:
        raise Malformed("The SAMLResponse is too large to be a sign-in.")
    try:
        compact = "".join(saml_response.split())
        xml = base64.b64decode(compact, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise Malformed("The SAMLResponse is not base64.") from exc
    if not xml.lstrip().startswith(b"<"):
        raise Malformed("The SAMLResponse is not an XML document.")
    return compact, relay_state


def finish(request: HttpRequest, config: SSOConfig, saml_response: str, relay_state: str) -> str:
    """Check the IdP's answer (see the module's steps) and sign the person in; returns
    the path to go on to. Raises Malformed, Rejected (recorded) or jit.Refusal
    (recorded by jit)."""
    try:
        toolkit = _settings(config)
    except ValueError as exc:
        raise Rejected(f"Single sign-on is not ready: {exc}") from exc
    try:
        response = OneLogin_Saml2_Response(toolkit, saml_response)
    except Exception as exc:  # lxml, defusedxml, the toolkit: an unreadable message
        raise Malformed("The SAMLResponse is not a SAML response Cascade can read.") from exc
    try:
        return _check_and_sign_in(request, config, response, relay_state)
    except Rejected as rejected:
        jit.record_failure(config, "signin.sso_failed", str(rejected))
        raise


def _check_and_sign_in(
    request: HttpRequest, config: SSOConfig, response: OneLogin_Saml2_Response, relay_state: str
) -> str:
    waiting = _pending(request)
    pending = waiting.pop(relay_state, None)
    request.session[PENDING] = waiting  # consumed, whatever comes next: no second try
    if pending is None or pending.get("org") != config.organization_id:
        raise Rejected(
            "This answer is not to a sign-in started in this browser, or it was used "
            "already: start again from Cascade's sign-in page."
        )
    request_id = pending["id"]
    try:
        in_response_to = response.get_in_response_to()
    except Exception as exc:  # noqa: BLE001 — the toolkit's reading of a hostile document
        raise Rejected("The SAML response cannot be read.") from exc
    if in_response_to != request_id:
        raise Rejected(
            "The SAML response does not answer the sign-in Cascade started "
            "(InResponseTo): start again from Cascade's sign-in page."
        )
    try:
        valid = response.is_valid(_request_data(config), request_id, raise_exceptions=True)
    except Exception as exc:  # noqa: BLE001 — the toolkit raises its own and others
        raise Rejected(f"The SAML response was refused: {_said(exc)}") from exc
    if not valid:
        raise Rejected("The SAML response was refused.")
    urls = sp_urls(config.organization)
    if urls.entity_id not in response.get_audiences():
        raise Rejected("The SAML assertion names no audience, or another one than Cascade's.")
    if response.document.get("Destination") != urls.acs:
        raise Rejected("The SAML response names no Destination, or another one than Cascade's.")
    attributes = response.get_attributes()
    email = ""
    if response.get_nameid_format() == C.NAMEID_EMAIL_ADDRESS:
        email = response.get_nameid() or ""
    if "@" not in email:
        email = _first(attributes, EMAIL_ATTRIBUTES)
    jit.sign_in(
        request,
        config,
        email=email,
        # A SAML IdP asserts the address from its own directory: verified (module doc).
        email_verified=True,
        first_name=_first(attributes, FIRST_NAME_ATTRIBUTES),
        last_name=_first(attributes, LAST_NAME_ATTRIBUTES),
    )
    return pending.get("next") or settings.LOGIN_REDIRECT_URL


def _first(attributes: dict[str, list[str]], names: tuple[str, ...]) -> str:
    for name in names:
        values = attributes.get(name) or []
        if values and isinstance(values[0], str) and values[0].strip():
            return values[0].strip()
    return ""


def _said(exc: Exception) -> str:
    """The toolkit's reason, short (it may quote ids and addresses, never secrets)."""
    text = str(exc).strip() or exc.__class__.__name__
    return text[:300]


def error_page(
    request: HttpRequest, config: SSOConfig, message: str, *, status: int
) -> HttpResponse:
    """The page of a sign-in that could not go on (the same as OpenID Connect's): what
    went wrong, and a link to start again."""
    organization = config.organization
    context = {
        "organization": organization,
        "message": message,
        "login_url": reverse("identity:sso-login", args=[organization.slug]),
    }
    return render(request, "identity/sso_error.html", context, status=status)


def refused(request: HttpRequest, config: SSOConfig, refusal: jit.Refusal) -> HttpResponse:
    """The page of a person Cascade refuses (identity/jit.py's reason), 403."""
    context = {"organization": config.organization, "reason": str(refusal)}
    return render(request, "identity/refused.html", context, status=403)
