"""A real OpenID provider for the single sign-on tests: the npm package `oidc-provider`
(tests/identity/oidc_provider/provider.js), started once per test session on a free
port, with a signing key the tests hold (so they can sign tampered ID tokens with the
provider's own key), and a way to sign in at it as a browser would.

Import the fixture into a test module: `from tests.identity.oidc import oidc_provider`.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from html import unescape
from pathlib import Path
from urllib.parse import urljoin

import pytest
import requests
from joserfc.jwk import RSAKey

HERE = Path(__file__).resolve().parent / "oidc_provider"
CLIENT_ID = "cascade"
CLIENT_SECRET = "cascade-test-secret"
KID = "cascade-test-key"
# In CI every service must be present (as tests/conftest.py says).
REQUIRE_SERVICES = os.getenv("CASCADE_REQUIRE_SERVICES", "") not in ("", "0", "false")


@dataclass(frozen=True)
class Provider:
    issuer: str
    key: RSAKey  # the provider's signing key, private half included

    client_id: str = CLIENT_ID
    client_secret: str = CLIENT_SECRET


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _installed() -> bool:
    """Whether `npm ci` finished here: npm writes node_modules/.package-lock.json last."""
    modules = HERE / "node_modules"
    return (modules / ".package-lock.json").is_file() and (modules / "oidc-provider").is_dir()


def install_provider() -> None:
    """`npm ci` in oidc_provider/, once: several test processes (pytest-xdist's workers,
    or two runs in one checkout) may get here together, so each takes an exclusive lock
    on package.json and looks again under it; the first installs, the others find it
    done. CI installs it beforehand (`npm ci --prefix tests/identity/oidc_provider`)."""
    if _installed():
        return
    npm = shutil.which("npm")
    if npm is None:
        _missing("npm")
    with (HERE / "package.json").open("rb") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        try:
            if not _installed():
                subprocess.run(
                    [npm, "ci", "--no-audit", "--no-fund"], cwd=HERE, check=True, timeout=600
                )
        finally:
            fcntl.flock(held, fcntl.LOCK_UN)


def _missing(program: str) -> None:
    """No Node.js here: a skip on a laptop, a failure in CI, where nothing may pass by
    not running (tests/conftest.py turns skips into failures there too)."""
    why = f"needs {program} (Node.js 20+: apt-get install nodejs npm); .ci/run installs it"
    if REQUIRE_SERVICES:
        pytest.fail(why)
    pytest.skip(why)


@pytest.fixture(scope="session")
def oidc_provider(tmp_path_factory):
    """One provider per test process (each pytest-xdist worker starts its own, on its
    own port, with its own key)."""
    node = shutil.which("node")
    if node is None:
        _missing("node")
    install_provider()
    folder = tmp_path_factory.mktemp("oidc-provider")
    key = RSAKey.generate_key(
        2048, parameters={"kid": KID, "use": "sig", "alg": "RS256"}, private=True
    )
    jwks_file = folder / "jwks.json"
    jwks_file.write_text(json.dumps({"keys": [key.as_dict(private=True)]}))
    port = _free_port()
    log_path = folder / "provider.log"
    log = log_path.open("w")
    process = subprocess.Popen(
        [node, "provider.js"],
        cwd=HERE,
        env={"PATH": "/usr/bin:/bin", "PORT": str(port), "JWKS_FILE": str(jwks_file)},
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    issuer = f"http://127.0.0.1:{port}"
    # Ready once this very process says it listens (not merely when something answers
    # on the port: another worker's provider could, had both been given the same port).
    deadline = time.monotonic() + 30
    while f"listening on {issuer}" not in log_path.read_text():
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            log.close()
            pytest.fail(f"oidc-provider did not start: {log_path.read_text()}")
        time.sleep(0.05)
    requests.get(f"{issuer}/.well-known/openid-configuration", timeout=5).raise_for_status()
    try:
        yield Provider(issuer=issuer, key=key)
    finally:
        process.terminate()
        process.wait(timeout=10)
        log.close()


FORM_ACTION = re.compile(r'<form[^>]*action="([^"]+)"')


def sign_in_at_provider(authorization_url: str, login: str) -> str:
    """What a person does at the provider, over HTTP: open the authorization address,
    fill in the login form, consent. Returns the address the provider sends the
    browser back to (Cascade's callback, with code and state)."""
    browser = requests.Session()
    url = authorization_url
    for _ in range(12):
        answer = browser.get(url, allow_redirects=False, timeout=10)
        while answer.status_code in (302, 303):
            location = urljoin(url, answer.headers["Location"])
            if "/sso/" in location:
                return location
            url = location
            answer = browser.get(url, allow_redirects=False, timeout=10)
        form = FORM_ACTION.search(answer.text)
        assert form, answer.text[:2000]
        action = urljoin(url, unescape(form.group(1)))
        if 'name="login"' in answer.text:
            data = {"prompt": "login", "login": login, "password": "any"}
        else:
            data = {"prompt": "consent"}
        answer = browser.post(action, data=data, allow_redirects=False, timeout=10)
        assert answer.status_code in (302, 303), answer.text[:2000]
        url = urljoin(action, answer.headers["Location"])
        if "/sso/" in url:
            return url
    raise AssertionError("the provider never sent the browser back")
