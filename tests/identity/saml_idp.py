"""A real SAML 2.0 identity provider for the tests: SimpleSAMLphp from Debian
(`apt-get install simplesamlphp php-cli php-xml`), served by `php -S` from its www
folder with a configuration of its own in a temporary folder (SIMPLESAMLPHP_CONFIG_DIR):

- its own signing key and certificate, made here with `cryptography` when it starts;
- the authentication source `example-userpass` (`exampleauth:UserPass`) with the users
  of USERS below: one on Acme's email domain whom Cascade knows, one it does not (made
  a member just in time), one on a domain nobody signs in with;
- `saml20-idp-hosted` signing its assertions (RSA-SHA256), NameID = the email address
  (format emailAddress), the attributes `email`, `givenName`, `sn`;
- `saml20-sp-remote` for the service providers a test trusts with `trust()`, rewritten
  as tests go (SimpleSAMLphp reads its metadata files on every request).

`SamlIdp.shared()` starts one per test process (each pytest-xdist worker its own, on a
free port, with its own key), stopped when the process ends; the `saml_idp` fixture
skips when PHP or SimpleSAMLphp is absent, and fails instead in CI (where
CASCADE_REQUIRE_SERVICES is set: .ci/run installs them).
`sign_in(url)` walks the IdP as a browser would (with `requests`) and returns the
form it answers with: where it posts, SAMLResponse and RelayState.
"""

from __future__ import annotations

import atexit
import contextlib
import datetime as dt
import html
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urljoin

import pytest
import requests
import time_machine
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

SIMPLESAMLPHP = Path(os.getenv("SIMPLESAMLPHP_DIR", "/usr/share/simplesamlphp"))
PHP = shutil.which("php")
EMAIL_FORMAT = "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress"
AUTH_SOURCE = "example-userpass"
# PHP extensions SimpleSAMLphp cannot sign without (Debian: php-xml brings dom).
EXTENSIONS = ("dom", "openssl", "xml")
# In CI every service must be present (as tests/conftest.py says).
REQUIRE_SERVICES = os.getenv("CASCADE_REQUIRE_SERVICES", "") not in ("", "0", "false")


@dataclass(frozen=True)
class User:
    username: str
    password: str
    email: str
    first_name: str
    last_name: str


# Acme's domain in the tests is acme.test (tests/identity/test_saml*.py set it).
KNOWN = User("sam", "sam-secret-1", "sam@acme.test", "Sam", "Known")
NEWCOMER = User("nia", "nia-secret-1", "nia.new@acme.test", "Nia", "Newcomer")
STRANGER = User("eve", "eve-secret-1", "eve@elsewhere.test", "Eve", "Stranger")
USERS = (KNOWN, NEWCOMER, STRANGER)


@dataclass(frozen=True)
class PostForm:
    """What the IdP answers a sign-in with: a form the browser posts to the SP."""

    action: str
    saml_response: str
    relay_state: str | None


def key_and_certificate(common_name: str) -> tuple[str, str]:
    """A fresh RSA key and a self-signed certificate for it, both PEM."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=365))
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    return key_pem, cert.public_bytes(serialization.Encoding.PEM).decode()


def _php(value: object) -> str:
    """A Python value as a PHP literal (strings, booleans, lists, dicts)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"
    if isinstance(value, dict):
        return "[" + ", ".join(f"{_php(k)} => {_php(v)}" for k, v in value.items()) + "]"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_php(v) for v in value) + "]"
    raise TypeError(value)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class IdpDidNotStart(RuntimeError):
    """php -S ended, or SimpleSAMLphp answered with an error instead of its metadata;
    str() has what it said."""


class PortTaken(IdpDidNotStart):
    """Another process took the free port between its choice and php's bind."""


class SamlIdp:
    """One SimpleSAMLphp identity provider, running."""

    _shared: SamlIdp | None = None

    def __init__(self) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="cascade-simplesamlphp-"))
        self.key_pem, self.cert_pem = key_and_certificate("Cascade test IdP")
        self._trusted: dict[str, str] = {}
        self.process: subprocess.Popen | None = None
        self.log = None
        try:
            for attempt in range(5):
                self.port = _free_port()
                self.url = f"http://127.0.0.1:{self.port}"
                self.metadata_url = f"{self.url}/saml2/idp/metadata.php"
                self.entity_id = self.metadata_url
                self._write_config()
                try:
                    self._start()
                    break
                except PortTaken:
                    self._stop_process()
                    if attempt == 4:
                        raise
        except BaseException:
            self.stop()
            raise

    def _start(self) -> None:
        self.log = open(self.dir / "php.log", "wb")  # noqa: SIM115 — kept while it runs
        self.process = subprocess.Popen(
            [
                PHP,
                "-S",
                f"127.0.0.1:{self.port}",
                "-t",
                str(SIMPLESAMLPHP / "www"),
                str(self.dir / "router.php"),
            ],
            env={
                **os.environ,
                "SIMPLESAMLPHP_CONFIG_DIR": str(self.dir / "config"),
                "PHP_CLI_SERVER_WORKERS": "4",
            },
            stdout=self.log,
            stderr=subprocess.STDOUT,
            cwd=self.dir,
            # Its own process group: php's workers are stopped with it (stop()).
            start_new_session=True,
        )
        self._wait()

    @classmethod
    def shared(cls) -> SamlIdp:
        """The process's IdP, started on first use."""
        if cls._shared is None:
            cls._shared = cls()
            atexit.register(cls._shared.stop)
        return cls._shared

    def _said(self) -> str:
        return (self.dir / "php.log").read_text(errors="replace")[-4000:]

    def _wait(self) -> None:
        """Until this very IdP answers with its metadata, the XML naming its own
        certificate: not merely something on the port, which could be another
        process's server (another worker's IdP) that took it first."""
        certificate = "".join(self.cert_pem.splitlines()[1:-1])
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                said = self._said()
                if "Address already in use" in said:
                    raise PortTaken(said)
                raise IdpDidNotStart(f"php -S ended: {said}")
            try:
                answer = requests.get(self.metadata_url, timeout=5)
            except requests.ConnectionError:
                time.sleep(0.05)
                continue
            if certificate in answer.text:
                return
            if answer.headers.get("Content-Type", "").startswith("text/html"):
                # SimpleSAMLphp's error page: say its cause (a PHP extension missing,
                # a configuration it refuses) rather than wait for nothing.
                causes = re.findall(r"Caused by: [^<\n]+|SimpleSAML\\Error\\[^<\n]+", answer.text)
                raise IdpDidNotStart(
                    f"SimpleSAMLphp answered its metadata address with an error: "
                    f"{' / '.join(html.unescape(c) for c in causes) or answer.text[:1000]}\n"
                    f"{self._said()}"
                )
            raise PortTaken(f"another server answers on port {self.port}")
        raise IdpDidNotStart(f"SimpleSAMLphp did not answer in 30 s: {self._said()}")

    def _stop_process(self) -> None:
        """End php -S and the workers it forked (its process group)."""
        if self.process is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout=5)
            with contextlib.suppress(ProcessLookupError):  # a worker that lingers
                os.killpg(self.process.pid, signal.SIGKILL)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout=5)
            self.process = None
        if self.log is not None:
            self.log.close()
            self.log = None

    def stop(self) -> None:
        self._stop_process()
        shutil.rmtree(self.dir, ignore_errors=True)

    # -- configuration ------------------------------------------------------------------

    def _write_config(self) -> None:
        config, metadata, certs = (self.dir / d for d in ("config", "metadata", "cert"))
        for folder in (config, metadata, certs, self.dir / "data", self.dir / "tmp"):
            folder.mkdir(exist_ok=True)
        (self.dir / "sessions").mkdir(exist_ok=True)
        # php -S's router: the browser's /favicon.ico (SimpleSAMLphp has it elsewhere,
        # and a page without a link to it would log a 404 in the console); anything
        # else as php -S serves it.
        favicon = _php(str(SIMPLESAMLPHP / "www" / "resources" / "icons" / "favicon.ico"))
        (self.dir / "router.php").write_text(
            "<?php\n"
            "if (parse_url($_SERVER['REQUEST_URI'], PHP_URL_PATH) === '/favicon.ico') {\n"
            "    header('Content-Type: image/x-icon');\n"
            f"    readfile({favicon});\n"
            "    return true;\n"
            "}\n"
            "return false;\n"
        )
        (certs / "idp.key").write_text(self.key_pem)
        (certs / "idp.crt").write_text(self.cert_pem)
        settings = {
            "baseurlpath": f"{self.url}/",
            "certdir": f"{certs}/",
            "loggingdir": f"{self.dir}/",
            "datadir": f"{self.dir}/data/",
            "tempdir": f"{self.dir}/tmp",
            "metadatadir": f"{metadata}/",
            "attributenamemapdir": f"{SIMPLESAMLPHP}/config/attributemap/",
            "secretsalt": secrets.token_hex(16),
            "auth.adminpassword": secrets.token_hex(16),
            "technicalcontact_name": "Cascade tests",
            "technicalcontact_email": "tests@cascade.invalid",
            "timezone": "UTC",
            "enable.saml20-idp": True,
            "module.enable": {"exampleauth": True, "core": True, "saml": True},
            "session.cookie.secure": False,
            "language.cookie.secure": False,
            "session.phpsession.savepath": f"{self.dir}/sessions",
            "store.type": "phpsession",
            "admin.checkforupdates": False,
            "production": True,  # no "pre-production system" banner on its pages
            "metadata.sources": [{"type": "flatfile"}],
        }
        lines = ",\n".join(f"  {_php(k)} => {_php(v)}" for k, v in settings.items())
        (config / "config.php").write_text(
            "<?php\n$config = [\n"
            + lines
            + ",\n  'logging.level' => SimpleSAML\\Logger::WARNING,"
            + "\n  'logging.handler' => 'errorlog',\n];\n"
        )
        users = {
            f"{u.username}:{u.password}": {
                "email": u.email,
                "givenName": u.first_name,
                "sn": u.last_name,
            }
            for u in USERS
        }
        authsources = {
            "admin": ["core:AdminPassword"],
            AUTH_SOURCE: {0: "exampleauth:UserPass", **users},
        }
        (config / "authsources.php").write_text("<?php\n$config = " + _php(authsources) + ";\n")
        hosted = {
            "host": "__DEFAULT__",
            "privatekey": "idp.key",
            "certificate": "idp.crt",
            "auth": AUTH_SOURCE,
            "NameIDFormat": EMAIL_FORMAT,
            "simplesaml.nameidattribute": "email",
            "saml20.sign.assertion": True,
            "saml20.sign.response": False,
            "signature.algorithm": "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256",
        }
        (metadata / "saml20-idp-hosted.php").write_text(
            "<?php\n$metadata['__DYNAMIC:1__'] = " + _php(hosted) + ";\n"
        )
        self._write_trusted()

    def _write_trusted(self) -> None:
        body = "".join(
            f"$metadata[{_php(entity)}] = "
            + _php(
                {
                    "AssertionConsumerService": [
                        {
                            "index": 0,
                            "Binding": "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST",
                            "Location": acs,
                        }
                    ],
                    "NameIDFormat": EMAIL_FORMAT,
                    "simplesaml.nameidattribute": "email",
                }
            )
            + ";\n"
            for entity, acs in self._trusted.items()
        )
        path = self.dir / "metadata" / "saml20-sp-remote.php"
        temp = path.with_suffix(".new")
        temp.write_text("<?php\n" + body)
        temp.replace(path)  # a request reading it mid-write sees the old or the new

    def trust(self, entity_id: str, acs_url: str) -> None:
        """Let the service provider `entity_id` sign people in, its answers posted to
        `acs_url`."""
        self._trusted[entity_id] = acs_url
        self._write_trusted()

    # -- a person signing in ------------------------------------------------------------

    def sign_in(self, url: str, user: User, session: requests.Session | None = None) -> PostForm:
        """Follow `url` (the SP's redirect to the IdP, with its SAMLRequest) as a
        browser would, sign in as `user` on the IdP's login form, and return the form
        the IdP answers with."""
        browser = session or requests.Session()
        page = browser.get(url, timeout=20)
        page.raise_for_status()
        form = _form(page.text)
        if "password" not in page.text:
            raise AssertionError(f"no login form at {page.url}: {page.text[:2000]}")
        fields = {**form.fields, "username": user.username, "password": user.password}
        answer = browser.post(urljoin(page.url, form.action or page.url), data=fields, timeout=20)
        answer.raise_for_status()
        posted = _form(answer.text)
        if "SAMLResponse" not in posted.fields:
            raise AssertionError(f"no SAMLResponse from the IdP: {answer.text[:2000]}")
        return PostForm(
            posted.action, posted.fields["SAMLResponse"], posted.fields.get("RelayState")
        )


@dataclass
class _Form:
    action: str
    fields: dict[str, str]


def _form(page: str) -> _Form:
    """The first form of a page: its action and hidden fields."""
    match = re.search(r"<form[^>]*?action=\"([^\"]*)\"", page)
    action = html.unescape(match.group(1)) if match else ""
    fields = {}
    for tag in re.findall(r"<input[^>]*>", page):
        kind = re.search(r'type="([^"]*)"', tag)
        name = re.search(r'name="([^"]*)"', tag)
        value = re.search(r'value="([^"]*)"', tag)
        if name and kind and kind.group(1) == "hidden":
            fields[html.unescape(name.group(1))] = html.unescape(value.group(1) if value else "")
    return _Form(action, fields)


def available() -> str | None:
    """Why the IdP cannot run here, or None."""
    if PHP is None:
        return "needs PHP (apt-get install php-cli php-xml); .ci/run installs it"
    if not (SIMPLESAMLPHP / "www" / "saml2" / "idp" / "SSOService.php").exists():
        return "needs SimpleSAMLphp (apt-get install simplesamlphp); .ci/run installs it"
    loaded = subprocess.run(
        [PHP, "-r", "echo implode(',', get_loaded_extensions());"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    ).stdout.lower()
    missing = [name for name in EXTENSIONS if name not in loaded.split(",")]
    if missing:
        return (
            f"SimpleSAMLphp needs the PHP extensions {', '.join(missing)} "
            "(apt-get install php-xml); .ci/run installs them"
        )
    return None


@pytest.fixture
def idp_clock():
    """The IdP dates its assertions by the real clock, and the toolkit checks those
    dates: tests that use it run at the real time, not the suite's fixed instant."""
    with time_machine.travel(time_machine.escape_hatch.time.time(), tick=True):
        yield


@pytest.fixture(scope="session")
def saml_idp() -> SamlIdp:
    """The running SimpleSAMLphp IdP (skipped where PHP or SimpleSAMLphp is absent; in
    CI a failure, where nothing may pass by not running)."""
    missing = available()
    if missing:
        if REQUIRE_SERVICES:
            pytest.fail(missing)
        pytest.skip(missing)
    return SamlIdp.shared()
