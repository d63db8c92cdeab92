"""Tampered ID tokens (SPEC §9.1: the ID token's signature and claims are checked).

Each is made from a real token of the real provider (oidc-provider), changed, and
signed again with the provider's own private key (the fixture holds it) — so only the
one change is wrong — or signed with another key, or not at all (alg "none").

First, unit level: identity.oidc.id_token_claims refuses each, saying what is wrong,
and takes the unchanged control. Then through the whole sign-in: the provider's token
endpoint is reached through a relay that swaps the ID token in its answer for the
tampered one (a man in the middle, or a provider that went wrong); the callback is a
400 page, nobody is signed in, nobody is made a member, and the audit log keeps the
reason (`signin.sso_failed`, as for SAML: an answer Cascade could not take)."""

from __future__ import annotations

import base64
import hashlib
import json
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from django.contrib.auth import SESSION_KEY
from django.core.cache import cache
from joserfc import jwt
from joserfc.jwk import RSAKey

from audit.models import Entry
from identity import oidc
from identity.services import sso_update
from org.models import Member
from tests.factories import MemberFactory
from tests.identity.oidc import KID, oidc_provider, sign_in_at_provider  # noqa: F401

pytestmark = pytest.mark.django_db

NONCE = "the-nonce-cascade-sent"


@pytest.fixture(autouse=True)
def _fixed_clock():
    """The provider signs with the real clock: keep it (no travel to 2027)."""
    yield


@pytest.fixture
def sso(acme, oidc_provider, settings):  # noqa: F811
    settings.OUTBOUND_ALLOW_PRIVATE = True  # the provider listens on 127.0.0.1
    MemberFactory(organization=acme.org, user__username="alice", user__email="alice@acme.example")
    acme.config = sso_update(
        actor=acme.admin,
        protocol="oidc",
        issuer=oidc_provider.issuer,
        client_id=oidc_provider.client_id,
        client_secret=oidc_provider.client_secret,
        email_domains=["acme.example"],
    )
    acme.metadata = oidc.discover(oidc_provider.issuer)
    return acme


# -- making tampered tokens ------------------------------------------------------------------


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def signed(claims: dict, key: RSAKey, *, kid: str = KID) -> str:
    return jwt.encode({"alg": "RS256", "kid": kid, "typ": "JWT"}, claims, key)


def unsigned(claims: dict) -> str:
    """alg "none": a header, the claims, and no signature at all."""
    header = {"alg": "none", "kid": KID, "typ": "JWT"}
    return f"{b64(json.dumps(header).encode())}.{b64(json.dumps(claims).encode())}."


def another_key() -> RSAKey:
    return RSAKey.generate_key(2048, parameters={"kid": KID, "alg": "RS256"}, private=True)


def with_claims(**changes) -> Callable[[dict, RSAKey], str]:
    return lambda claims, key: signed(claims | changes, key)


def expired(claims: dict, key: RSAKey) -> str:
    now = int(time.time())
    return signed(claims | {"iat": now - 7200, "exp": now - 3600}, key)


def without(name: str) -> Callable[[dict, RSAKey], str]:
    return lambda claims, key: signed({k: v for k, v in claims.items() if k != name}, key)


# (tamper, words of the refusal)
TAMPERED = {
    "wrong_audience": (with_claims(aud="another-client"), "“aud” claim"),
    "audience_list_without_cascade": (with_claims(aud=["another-client"]), "“aud” claim"),
    "wrong_nonce": (with_claims(nonce="a-nonce-nobody-sent"), "“nonce” claim"),
    "no_nonce": (without("nonce"), "“nonce” claim"),
    "no_subject": (without("sub"), "“sub” claim"),
    "no_expiry": (without("exp"), "“exp” claim"),
    "expired": (expired, "The ID token has expired"),
    "wrong_issuer": (with_claims(iss="https://evil.example"), "“iss” claim"),
    "wrong_azp": (with_claims(azp="another-client"), "“azp” claim"),
    "other_key": (lambda claims, key: signed(claims, another_key()), "signature"),
    "alg_none": (lambda claims, key: unsigned(claims), "signature"),
    "signature_stripped": (
        lambda claims, key: signed(claims, key).rsplit(".", 1)[0] + ".",
        "signature",
    ),
    "claims_changed_after_signing": (
        lambda claims, key: swap_payload(
            signed(claims, key), claims | {"email": "ada@acme.example"}
        ),
        "signature",
    ),
}


def swap_payload(token: str, claims: dict) -> str:
    """The provider's signature over other claims: the claims edited, not signed again."""
    header, _payload, signature = token.split(".")
    return f"{header}.{b64(json.dumps(claims).encode())}.{signature}"


def fresh_claims(provider) -> dict:
    """The claims of a token as the provider issues them, for this nonce."""
    now = int(time.time())
    return {
        "iss": provider.issuer,
        "sub": "alice",
        "aud": provider.client_id,
        "exp": now + 600,
        "iat": now,
        "nonce": NONCE,
        "email": "alice@acme.example",
        "email_verified": True,
    }


# -- unit level --------------------------------------------------------------------------------


def test_the_untampered_control_is_taken(sso, oidc_provider):  # noqa: F811
    token = signed(fresh_claims(oidc_provider), oidc_provider.key)
    claims = oidc.id_token_claims(sso.config, sso.metadata, token, nonce=NONCE)
    assert claims["email"] == "alice@acme.example"


@pytest.mark.parametrize("case", sorted(TAMPERED))
def test_a_tampered_id_token_is_refused_saying_what_is_wrong(sso, oidc_provider, case):  # noqa: F811
    tamper, says = TAMPERED[case]
    token = tamper(fresh_claims(oidc_provider), oidc_provider.key)
    with pytest.raises(oidc.ProviderError) as refused:
        oidc.id_token_claims(sso.config, sso.metadata, token, nonce=NONCE)
    assert says in str(refused.value)


def test_an_access_token_that_is_not_the_one_the_id_token_hashes_is_refused(
    sso,
    oidc_provider,  # noqa: F811
):
    access = "the-access-token"
    digest = hashlib.sha256(access.encode()).digest()
    at_hash = b64(digest[: len(digest) // 2])
    token = signed(fresh_claims(oidc_provider) | {"at_hash": at_hash}, oidc_provider.key)
    oidc.id_token_claims(sso.config, sso.metadata, token, nonce=NONCE, access_token=access)
    with pytest.raises(oidc.ProviderError, match="at_hash"):
        oidc.id_token_claims(sso.config, sso.metadata, token, nonce=NONCE, access_token="other")


def test_a_token_signed_with_a_shared_secret_is_refused(sso, oidc_provider):  # noqa: F811
    """HS256 with the client secret as key: whoever knows the secret could forge it."""
    from joserfc.jwk import OctKey

    secret = OctKey.import_key(oidc_provider.client_secret)
    token = jwt.encode({"alg": "HS256", "kid": KID}, fresh_claims(oidc_provider), secret)
    with pytest.raises(oidc.ProviderError, match="signature"):
        oidc.id_token_claims(sso.config, sso.metadata, token, nonce=NONCE)


def test_garbage_in_place_of_a_token_is_refused(sso):
    for token in ("", "a.b", "a.b.c", "...", "é.é.é", "x" * 10000):
        with pytest.raises(oidc.ProviderError):
            oidc.id_token_claims(sso.config, sso.metadata, token, nonce=NONCE)


# -- through the whole sign-in -------------------------------------------------------------------


class TokenRelay:
    """An HTTP server that passes each request to the provider's token endpoint and
    gives back its answer, with the ID token replaced by `tamper(claims, key)`."""

    def __init__(self, token_endpoint: str, key: RSAKey):
        self.tamper: Callable[[dict, RSAKey], str] | None = None
        relay = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 — http.server's name
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                headers = {
                    name: self.headers[name]
                    for name in ("Authorization", "Content-Type", "Accept")
                    if name in self.headers
                }
                answer = requests.post(token_endpoint, data=body, headers=headers, timeout=10)
                tokens = answer.json()
                if "id_token" in tokens and relay.tamper is not None:
                    claims = jwt.decode(tokens["id_token"], key).claims
                    tokens["id_token"] = relay.tamper(claims, key)
                data = json.dumps(tokens).encode()
                self.send_response(answer.status_code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/token"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def relay(sso, oidc_provider):  # noqa: F811
    """Cascade reaches the token endpoint through the relay: the discovery document it
    keeps (identity.oidc.discover's cache) names the relay as the token endpoint."""
    made = TokenRelay(sso.metadata["token_endpoint"], oidc_provider.key)
    key = "identity:oidc:discovery:" + hashlib.sha256(oidc_provider.issuer.encode()).hexdigest()
    assert cache.get(key) == sso.metadata
    cache.set(key, sso.metadata | {"token_endpoint": made.url}, 600)
    yield made
    made.close()


def callback_path(client, login: str) -> str:
    start = client.get("/sso/acme/login/")
    assert start.status_code == 302
    parts = urlsplit(sign_in_at_provider(start["Location"], login))
    assert parse_qs(parts.query)["code"]
    return f"{parts.path}?{parts.query}"


def test_through_the_relay_an_untouched_token_signs_in(client, sso, relay):
    relay.tamper = lambda claims, key: signed(claims, key)  # signed again, unchanged
    answer = client.get(callback_path(client, "alice"))
    assert answer.status_code == 302, answer.content.decode()[:2000]
    assert client.session.get(SESSION_KEY) is not None


@pytest.mark.parametrize(
    "case", ["wrong_audience", "wrong_nonce", "expired", "wrong_issuer", "other_key", "alg_none"]
)
def test_a_tampered_token_at_the_callback_signs_nobody_in_and_is_recorded(client, sso, relay, case):
    relay.tamper, says = TAMPERED[case]
    answer = client.get(callback_path(client, "bruno"))  # unknown yet: would be made a member
    assert answer.status_code == 400
    assert says in answer.content.decode()
    assert client.session.get(SESSION_KEY) is None
    assert not Member.objects.filter(user__email="bruno@acme.example").exists()
    entry = Entry.objects.get(action="signin.sso_failed")
    assert entry.organization_id == sso.org.pk and says in entry.changes["reason"][1]
    assert not Entry.objects.filter(action__in=["signin.succeeded", "member.created"]).exists()
