"""OpenID Connect sign-in (SPEC §9.1): the authorization code flow with PKCE, with
Authlib's protocol pieces (the grant URI, the S256 challenge, the token request, the ID
token's claim checks over joserfc) and every request to the provider through
core.egress, the one outbound door.

1. `discover(issuer)`: the provider's discovery document, checked (its issuer is the
   one configured, it has the endpoints a sign-in needs, over HTTPS) and cached.
2. `start(request, config)`: a state, a nonce and a PKCE verifier, kept in the session
   under the state (one entry per sign-in begun: two tabs don't clash), then off to
   the provider's authorization endpoint.
3. `finish(request, config)`: the callback. The parameters are read strictly (each at
   most once, short, printable ASCII) and the state is taken from the session — once:
   a replayed callback finds nothing — and must be a flow of this very organization.
   The code is exchanged (with the verifier) at the token endpoint; the ID token's
   signature is checked against the provider's JWKS, then iss, aud, azp, exp, iat,
   nonce and at_hash. Its claims go to identity.jit.sign_in, where every SSO sign-in
   ends.

`Malformed` (a 400: the callback is not one of ours, or not any more) and
`ProviderError` (the provider refused or failed; 400, or 502 when it did not answer)
carry a sentence for the person; identity/views.py renders them.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlsplit

from authlib.common.security import generate_token
from authlib.oauth2.rfc6749.parameters import prepare_grant_uri, prepare_token_request
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from authlib.oidc.core import CodeIDToken
from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest
from django.urls import reverse
from joserfc import jwt
from joserfc.errors import (
    ExpiredTokenError,
    InvalidClaimError,
    InvalidKeyIdError,
    InvalidTokenError,
    JoseError,
    MissingClaimError,
)
from joserfc.jwk import KeySet
from joserfc.jws import JWSRegistry

from core import egress

from .models import SSOConfig

SESSION_FLOWS = "identity_oidc_flows"
MAX_FLOWS = 5  # sign-ins begun and not finished, kept per session
FLOW_SECONDS = 15 * 60  # how long a sign-in at the provider may take
CACHE_SECONDS = 60 * 60  # discovery documents and key sets
LEEWAY = 60  # seconds of clock difference forgiven on exp and iat
SCOPE = "openid email profile"
# Signatures with a key pair only: never "none", never a shared secret.
ALGORITHMS = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512"]
ALGORITHMS += ["EdDSA", "Ed25519"]
PARAMETER = re.compile(r"[\x20-\x7e]+")
LIMITS = {"state": 200, "code": 4096, "error": 200, "error_description": 1000, "iss": 500}
DISCOVERY = "/.well-known/openid-configuration"


class OidcError(Exception):
    """A sign-in that cannot go on; str() says why, for the person."""

    status = 400


class Malformed(OidcError):
    """The callback is not a sign-in this browser began here (or it was used already)."""


class ProviderError(OidcError):
    """The provider refused, or answered what Cascade cannot take."""


class Unreachable(ProviderError):
    status = 502


@dataclass(frozen=True)
class Identity:
    """What the provider vouched for, from a checked ID token."""

    subject: str
    email: str
    email_verified: bool
    first_name: str
    last_name: str


def redirect_uri(config: SSOConfig) -> str:
    """The callback address the provider sends people back to (registered there)."""
    slug = config.organization.slug
    return settings.SITE_URL + reverse("identity:oidc-callback", args=[slug])


# -- the provider's documents --------------------------------------------------------


def issuer_refusal(issuer: str) -> str | None:
    """Why `issuer` cannot be an OpenID provider's address, or None. HTTPS, except a
    loopback address where OUTBOUND_ALLOW_PRIVATE allows it (a test provider)."""
    try:
        parts = urlsplit(issuer)
    except ValueError:
        return "Not a well-formed address: write it as https://login.example.com/."
    if parts.scheme == "https" and parts.hostname:
        return None
    loopback = parts.hostname in ("127.0.0.1", "localhost", "::1")
    if parts.scheme == "http" and loopback and settings.OUTBOUND_ALLOW_PRIVATE:
        return None
    return "The issuer must be an https:// address, such as https://login.example.com/."


def _get_json(url: str, what: str) -> dict[str, Any]:
    """A JSON object from `url`, through core.egress; ProviderError saying what failed."""
    refused = issuer_refusal(url)
    if refused is not None:
        raise ProviderError(f"The {what} address {url} is not https://.")
    try:
        answer = egress.send("GET", url, headers={"Accept": "application/json"}, timeout=10)
    except egress.Refused as exc:
        raise ProviderError(f"Cascade does not send to the {what} address: {exc}") from exc
    except egress.EgressError as exc:
        raise Unreachable(f"Could not read the {what} at {url}: {exc}") from exc
    if answer.status != 200:
        raise ProviderError(f"The {what} at {url} answered HTTP {answer.status}, not 200.")
    try:
        document = json.loads(answer.body)
    except ValueError as exc:
        raise ProviderError(f"The {what} at {url} is not JSON.") from exc
    if not isinstance(document, dict):
        raise ProviderError(f"The {what} at {url} is not a JSON object.")
    return document


def discover(issuer: str, *, fresh: bool = False) -> dict[str, Any]:
    """The provider's discovery document (OpenID Connect Discovery 1.0), checked:
    it names this issuer exactly, and gives the authorization, token and JWKS
    endpoints, each an https:// address; cached for an hour unless `fresh`."""
    key = "identity:oidc:discovery:" + hashlib.sha256(issuer.encode()).hexdigest()
    if not fresh and (cached := cache.get(key)) is not None:
        return cached
    url = issuer.rstrip("/") + DISCOVERY
    document = _get_json(url, "discovery document")
    if document.get("issuer") != issuer:
        raise ProviderError(
            f"The discovery document at {url} names the issuer "
            f"“{str(document.get('issuer'))[:200]}”, not “{issuer}”: copy the issuer exactly "
            "as the provider shows it (with or without its final slash)."
        )
    for name in ("authorization_endpoint", "token_endpoint", "jwks_uri"):
        value = document.get(name)
        if not isinstance(value, str) or issuer_refusal(value) is not None:
            raise ProviderError(f"The discovery document at {url} has no https:// {name}.")
    methods = document.get("code_challenge_methods_supported")
    if isinstance(methods, list) and "S256" not in methods:
        raise ProviderError("The provider does not offer PKCE with S256, which Cascade requires.")
    cache.set(key, document, CACHE_SECONDS)
    return document


def _key_set(metadata: dict[str, Any], *, fresh: bool = False) -> KeySet:
    uri = metadata["jwks_uri"]
    key = "identity:oidc:jwks:" + hashlib.sha256(uri.encode()).hexdigest()
    document = None if fresh else cache.get(key)
    if document is None:
        document = _get_json(uri, "key set (JWKS)")
        cache.set(key, document, CACHE_SECONDS)
    try:
        return KeySet.import_key_set(document)  # type: ignore[arg-type]
    except (JoseError, ValueError, TypeError, KeyError) as exc:
        raise ProviderError(f"The provider's key set at {uri} holds no usable key.") from exc


# -- 1. off to the provider -------------------------------------------------------------


def start(request: HttpRequest, config: SSOConfig, next_url: str = "") -> str:
    """The provider's authorization address for a new sign-in, its state, nonce and
    PKCE verifier kept in the session."""
    metadata = discover(config.issuer)
    state, nonce, verifier = generate_token(32), generate_token(32), generate_token(64)
    flows = _live_flows(request.session.get(SESSION_FLOWS))
    flows[state] = {
        "organization": config.organization_id,
        "nonce": nonce,
        "verifier": verifier,
        "next": next_url,
        "at": time.time(),
    }
    newest = sorted(flows.items(), key=lambda item: item[1]["at"])[-MAX_FLOWS:]
    request.session[SESSION_FLOWS] = dict(newest)
    return prepare_grant_uri(
        metadata["authorization_endpoint"],
        client_id=config.client_id,
        response_type="code",
        redirect_uri=redirect_uri(config),
        scope=SCOPE,
        state=state,
        nonce=nonce,
        code_challenge=create_s256_code_challenge(verifier),
        code_challenge_method="S256",
    )


def _live_flows(flows: Any) -> dict[str, dict[str, Any]]:
    """The session's sign-ins begun within FLOW_SECONDS (anything odd dropped)."""
    if not isinstance(flows, dict):
        return {}
    now = time.time()
    return {
        state: flow
        for state, flow in flows.items()
        if isinstance(flow, dict) and now - flow.get("at", 0) < FLOW_SECONDS
    }


# -- 2. back from the provider ----------------------------------------------------------


@dataclass(frozen=True)
class Finished:
    identity: Identity
    next_url: str


def callback_parameters(query: Any) -> dict[str, str]:
    """The callback's parameters Cascade reads, each sent at most once, printable
    ASCII and short; Malformed otherwise. Others (session_state, scope…) are ignored."""
    found: dict[str, str] = {}
    for name, limit in LIMITS.items():
        values = query.getlist(name)
        if len(values) > 1:
            raise Malformed(f"The sign-in answer carries “{name}” more than once.")
        if not values:
            continue
        value = values[0]
        if len(value) > limit or not PARAMETER.fullmatch(value):
            raise Malformed(f"The sign-in answer's “{name}” is not one an identity provider sends.")
        found[name] = value
    return found


def finish(request: HttpRequest, config: SSOConfig) -> Finished:
    """Check the callback and the ID token it leads to; the identity the provider
    vouched for, or OidcError."""
    params = callback_parameters(request.GET)
    state = params.get("state")
    if not state:
        raise Malformed("The sign-in answer has no state: start the sign-in again.")
    flows = _live_flows(request.session.get(SESSION_FLOWS))
    flow = flows.pop(state, None)
    request.session[SESSION_FLOWS] = flows  # used once, whatever follows
    if flow is None:
        raise Malformed(
            "This sign-in answer is not one this browser is waiting for (it was used "
            "already, is older than 15 minutes, or began elsewhere): start the sign-in again."
        )
    if flow["organization"] != config.organization_id:
        raise Malformed("This sign-in answer belongs to another sign-in: start the sign-in again.")
    if "iss" in params and params["iss"] != config.issuer:  # RFC 9207: no mix-up
        raise Malformed("This sign-in answer comes from another identity provider.")
    if "error" in params:
        said = params.get("error_description", "")
        raise ProviderError(
            f"The identity provider did not sign you in ({params['error']}"
            + (f": {said}" if said else "")
            + ")."
        )
    code = params.get("code")
    if not code:
        raise Malformed("The sign-in answer has no code: start the sign-in again.")
    metadata = discover(config.issuer)
    tokens = _exchange(config, metadata, code, flow["verifier"])
    claims = id_token_claims(
        config,
        metadata,
        tokens["id_token"],
        nonce=flow["nonce"],
        access_token=tokens.get("access_token"),
    )
    return Finished(identity_of(config, claims), flow.get("next") or "")


def _exchange(config: SSOConfig, metadata: dict[str, Any], code: str, verifier: str) -> dict:
    """The code and verifier for tokens, at the token endpoint (the client's secret by
    HTTP Basic, or in the body where the provider takes only that)."""
    fields: dict[str, str] = {"code": code, "redirect_uri": redirect_uri(config)}
    fields["code_verifier"] = verifier
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        "Accept": "application/json",
    }
    methods = metadata.get("token_endpoint_auth_methods_supported") or ["client_secret_basic"]
    if "client_secret_basic" in methods:
        # RFC 6749 §2.3.1: each form-encoded, then Basic.
        pair = f"{quote(config.client_id, safe='')}:{quote(config.client_secret, safe='')}"
        headers["Authorization"] = "Basic " + base64.b64encode(pair.encode()).decode("ascii")
    else:
        fields.update(client_id=config.client_id, client_secret=config.client_secret)
    body = prepare_token_request("authorization_code", **fields)
    url = metadata["token_endpoint"]
    try:
        answer = egress.send("POST", url, headers=headers, body=body.encode(), timeout=10)
    except egress.EgressError as exc:
        raise Unreachable(f"Could not reach the identity provider's token endpoint: {exc}") from exc
    try:
        tokens = json.loads(answer.body)
    except ValueError:
        tokens = None
    if not isinstance(tokens, dict):
        raise ProviderError(
            f"The identity provider's token endpoint answered HTTP {answer.status}."
        )
    if answer.status != 200 or "error" in tokens:
        error = str(tokens.get("error", f"HTTP {answer.status}"))[:100]
        raise ProviderError(
            f"The identity provider refused the sign-in code ({error}): start the sign-in again."
        )
    if not isinstance(tokens.get("id_token"), str):
        raise ProviderError(
            "The identity provider sent no ID token: is the “openid” scope allowed?"
        )
    return tokens


def id_token_claims(
    config: SSOConfig,
    metadata: dict[str, Any],
    id_token: str,
    *,
    nonce: str,
    access_token: str | None = None,
    now: int | None = None,
) -> dict[str, Any]:
    """The ID token's claims once its signature (the provider's JWKS; a key pair, never
    "none") and its claims hold: iss is the issuer, aud holds the client id (and azp,
    if there, is it), exp not passed, iat present, nonce the one sent, at_hash matches
    the access token. ProviderError naming what failed otherwise."""
    offered = metadata.get("id_token_signing_alg_values_supported") or ["RS256"]
    algorithms = [alg for alg in offered if alg in ALGORITHMS] or ["RS256"]
    registry = JWSRegistry(algorithms=algorithms)
    try:
        try:
            token = jwt.decode(id_token, _key_set(metadata), registry=registry)
        except InvalidKeyIdError:
            # The provider may have rotated its keys since they were cached.
            token = jwt.decode(id_token, _key_set(metadata, fresh=True), registry=registry)
    except (JoseError, ValueError, TypeError) as exc:
        raise ProviderError(
            "The ID token's signature does not check out against the provider's keys."
        ) from exc
    options = {
        "iss": {"essential": True, "value": config.issuer},
        "aud": {"essential": True, "value": config.client_id},
    }
    params: dict[str, Any] = {"nonce": nonce, "client_id": config.client_id}
    if access_token:
        params["access_token"] = access_token
    claims = CodeIDToken(token.claims, token.header, options, params)  # type: ignore[arg-type]
    try:
        claims.validate(now=now, leeway=LEEWAY)
    except ExpiredTokenError as exc:
        raise ProviderError("The ID token has expired: start the sign-in again.") from exc
    except (MissingClaimError, InvalidClaimError) as exc:
        claim = getattr(exc, "claim", None) or str(exc)
        raise ProviderError(f"The ID token's “{claim}” claim is not as Cascade expects.") from exc
    except (InvalidTokenError, JoseError) as exc:
        raise ProviderError(f"The ID token is not valid ({exc.error}).") from exc
    if not claims.get("nonce"):  # CodeIDToken checks it when present; it must be
        raise ProviderError("The ID token's “nonce” claim is not as Cascade expects.")
    return dict(claims)


def identity_of(config: SSOConfig, claims: dict[str, Any]) -> Identity:
    """The person an ID token names. `email_verified` only when the provider says so
    (a JSON true), or, for Microsoft Entra ID, which sends no email_verified, when it
    vouches that the address's domain is the tenant's own (`xms_edov`)."""
    verified = claims.get("email_verified") is True
    if not verified and config.issuer.startswith("https://login.microsoftonline.com/"):
        verified = claims.get("xms_edov") is True
    return Identity(
        subject=str(claims.get("sub", "")),
        email=str(claims.get("email") or ""),
        email_verified=verified,
        first_name=str(claims.get("given_name") or ""),
        last_name=str(claims.get("family_name") or ""),
    )
