"""SPEC §8.2 with the production settings of the README (`DEBUG=false`,
`SECURE_COOKIES=true`): `check --deploy` finds nothing; every page and API list,
fetched signed in, carries HSTS, Permissions-Policy, CSP and the rest, and nothing
answered to a signed-in request may be kept by a shared cache; /healthz/ never shows
an exception's text; a `next` pointing off the site is never followed."""

from __future__ import annotations

import io
import json
import os
import re
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from django.core.management import call_command

from goals.models import Goal
from kpis.models import Kpi, KpiUpdate
from org.models import ChatTarget, Member, Webhook
from org.tokens import service_token_create, token_issue
from reviews.models import Review
from reviews.services import action_create, review_start

from .test_api_schema_fuzz import published_schema
from .test_hostile_input import route_patterns

ROOT = Path(__file__).resolve().parent.parent


def env_example() -> dict[str, str]:
    """The settings of .env.example, as docker compose reads them."""
    lines = (ROOT / ".env.example").read_text().splitlines()
    return dict(line.split("=", 1) for line in lines if line and not line.startswith("#"))


# The README's production settings: .env.example with its keys filled in as it says,
# and what docker-compose.yml adds for web.
PRODUCTION = env_example() | {
    "SECRET_KEY": "k7#vQ2!pX9@mL4$wR8^tZ1&nB6*cF3(hJ5)dG0-sY2+eU7=aI4",
    "FIELD_ENCRYPTION_KEY": Fernet.generate_key().decode(),
    "TRUSTED_PROXY_COUNT": "1",
}
SECURITY_SETTINGS = (
    "SECURE_HSTS_SECONDS",
    "SECURE_HSTS_INCLUDE_SUBDOMAINS",
    "SECURE_HSTS_PRELOAD",
    "SECURE_SSL_REDIRECT",
    "SECURE_REDIRECT_EXEMPT",
    "SECURE_PROXY_SSL_HEADER",
    "SESSION_COOKIE_SECURE",
    "CSRF_COOKIE_SECURE",
)


def production_env() -> dict:
    ignored = ("DJANGO_ALLOW_ASYNC_UNSAFE", "DATABASE_URL", "CELERY_BROKER_URL")  # the tests'
    env = {k: v for k, v in os.environ.items() if k not in ignored and k not in PRODUCTION}
    return env | PRODUCTION


def test_the_production_settings_are_those_of_env_example():
    assert PRODUCTION["DEBUG"] == "false" and PRODUCTION["SECURE_COOKIES"] == "true"
    assert PRODUCTION["ALLOWED_HOSTS"] == "cascade.example.com"
    assert env_example()["TRUSTED_PROXY_COUNT"] == "0"


def test_check_deploy_with_the_production_settings_finds_nothing():
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=production_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout, result.stdout
    assert "WARNING" not in result.stdout + result.stderr


@pytest.fixture
def production(settings):
    """The security settings exactly as the production environment computes them."""
    code = (
        "import json; from cascade import settings as s; "
        f"print(json.dumps({{n: getattr(s, n) for n in {SECURITY_SETTINGS!r}}}))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=production_env(),
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    values = json.loads(out)
    assert values["SECURE_HSTS_SECONDS"] == 31536000 and values["SECURE_SSL_REDIRECT"]
    settings.DEBUG = False
    settings.ALLOWED_HOSTS = ["cascade.example.com"]
    for name, value in values.items():
        setattr(
            settings, name, tuple(value) if isinstance(value, list) and "HEADER" in name else value
        )
    return settings


@pytest.fixture
def demo(db):
    call_command("demo", stdout=io.StringIO())
    return Member.objects.get(user__username="ada")


def page_urls(ada: Member) -> list[str]:
    """Every page route, each id a real one of ada's organization."""
    org = ada.organization
    review = review_start(actor=ada, review=Review.objects.filter(organization=org).first())
    action = action_create(
        actor=ada, review=review, title="Call back", owner=ada, due=review.scheduled_for.date()
    )
    token, _ = service_token_create(actor=ada, name="Sync")
    ids = {
        "goal_id": Goal.objects.filter(organization=org).first().pk,
        "kpi_id": Kpi.objects.filter(goal__organization=org).first().pk,
        "update_id": KpiUpdate.objects.filter(kpi__goal__organization=org).first().pk,
        "department_id": org.departments.first().pk,
        "member_id": ada.pk,
        "notification_id": getattr(ada.notifications.first(), "pk", 1),
        "review_id": review.pk,
        "item_id": review.items.first().pk,
        "action_id": action.pk,
        "token_id": token.pk,
        "cycle_id": org.cycles.first().pk,
        "job_id": 1,  # an import job: none yet, so its page is a 404 (headers alike)
        "delivery_id": 1,  # a webhook delivery: redelivering is a POST (a GET is a 405)
        "webhook_id": Webhook.objects.create(
            organization=org, url="https://hooks.example/x", secret="s" * 32, events=[]
        ).pk,
        "target_id": ChatTarget.objects.create(  # a chat target: its forms are POSTs
            organization=org, platform="slack", name="#x", url="https://hooks.example/x"
        ).pk,
    }
    resolved = []
    for pattern in route_patterns(skip=("api/", "admin/", "healthz/")):
        resolved.append(re.sub(r"<int:(\w+)>", lambda m: str(ids[m.group(1)]), pattern))
    return sorted(set(resolved))


def api_lists() -> list[str]:
    return [
        path
        for path, operations in published_schema()["paths"].items()
        if "get" in operations and "{" not in path
    ]


def assert_secure_and_private(url: str, response) -> None:
    headers = response.headers
    assert headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains", url
    assert "camera=()" in headers["Permissions-Policy"], url
    assert "default-src 'self'" in headers["Content-Security-Policy"], url
    assert headers["X-Content-Type-Options"] == "nosniff", url
    assert headers["X-Frame-Options"] == "DENY", url
    assert headers["Referrer-Policy"] == "same-origin", url
    cache = {part.strip().split("=")[0] for part in headers["Cache-Control"].split(",")}
    assert {"private", "no-store"} <= cache and not cache & {"public", "s-maxage"}, url


def test_every_page_and_api_list_signed_in_is_secure_and_private(client, production, demo):
    client.force_login(demo.user)
    _, key = token_issue(demo.user)
    https = {"secure": True, "headers": {"host": "cascade.example.com"}}
    answers = {}
    for url in page_urls(demo):
        response = client.get(url, **https)
        answers[url] = response.status_code
        assert_secure_and_private(url, response)
    for url in api_lists():
        for auth in ({}, {"Authorization": f"Token {key}"}):
            response = client.get(url, secure=True, headers={"host": "cascade.example.com", **auth})
            answers[url] = response.status_code
            assert response.status_code == 200, (url, response.content[:200])
            assert_secure_and_private(url, response)
    assert len(answers) > 40
    assert [url for url, status in answers.items() if status >= 500] == []
    assert answers["/"] == 200 and answers["/people/"] == 200


def test_plain_http_is_sent_to_https_but_health_checks_are_not(client, production, db):
    response = client.get("/accounts/login/", headers={"host": "cascade.example.com"})
    assert response.status_code == 301
    assert response["Location"] == "https://cascade.example.com/accounts/login/"
    assert client.get("/healthz/", headers={"host": "cascade.example.com"}).status_code == 200


def test_healthz_never_shows_the_exception_text(client, monkeypatch, db):
    class Unreachable:
        def cursor(self):
            raise RuntimeError('password authentication failed for user "cascade" at 10.0.0.5')

    monkeypatch.setattr("cascade.health.connection", Unreachable())
    response = client.get("/healthz/")
    assert response.status_code == 503
    assert response["Retry-After"] == "30"  # a load balancer knows when to ask again
    body = response.json()
    assert (body["status"], body["database"]) == ("error", "unreachable")
    assert "password" not in response.content.decode()


@pytest.mark.parametrize(
    "target", ["https://evil.example/x", "//evil.example/x", "javascript:alert(1)", "/\\evil"]
)
def test_a_next_off_the_site_is_never_followed(client, acme, tree, target):
    client.force_login(acme.member.user)
    kpi = tree.individual_kpi
    response = client.post(
        f"/kpis/{kpi.pk}/record/?next={target}", {f"kpi{kpi.pk}-value": "5", "next": target}
    )
    assert response.status_code in (200, 302, 400), response.status_code
    assert "evil" not in response.get("Location", "") and "javascript" not in response.get(
        "Location", ""
    )
    client.logout()
    response = client.post(
        "/accounts/login/", {"username": "sam", "password": "pw-cascade-test", "next": target}
    )
    assert response.status_code == 302
    assert response["Location"] == "/"


def test_the_content_security_policy_allows_no_base_objects_frames_or_foreign_forms(client, db):
    policy = client.get("/accounts/login/").headers["Content-Security-Policy"]
    directives = {part.split()[0]: part.split()[1:] for part in policy.split("; ")}
    assert directives["base-uri"] == ["'none'"]
    assert directives["object-src"] == ["'none'"]
    assert directives["form-action"] == ["'self'"]
    assert directives["frame-ancestors"] == ["'none'"]
    assert directives["default-src"] == ["'self'"]


# ---------------------------------------------------------------- X-Forwarded-For


def sign_in(client, username: str, password: str, address: str, forwarded: str):
    return client.post(
        "/accounts/login/",
        {"username": username, "password": password},
        REMOTE_ADDR=address,
        HTTP_X_FORWARDED_FOR=forwarded,
    )


def test_a_forged_x_forwarded_for_neither_dodges_the_lockout_nor_locks_out_another(
    client, acme, settings
):
    """With TRUSTED_PROXY_COUNT=0 (the default) the connection's address counts: five
    failures from one address, each with another X-Forwarded-For, lock that address,
    and none of the forged addresses."""
    assert settings.TRUSTED_PROXY_COUNT == 0
    usernames = ("ada", "lena", "max", "mia", "nobody")  # no username fails five times
    answers = [
        sign_in(client, name, "wrong-password", "203.0.113.9", f"10.9.9.{n}").status_code
        for n, name in enumerate(usernames)
    ]
    assert answers == [200, 200, 200, 200, 429]
    locked = sign_in(client, "sam", "pw-cascade-test", "203.0.113.9", "10.9.9.77")
    assert locked.status_code == 429
    for n in range(5):  # each forged address signs in as usual
        other = type(client)()
        response = sign_in(other, "rey", "pw-cascade-test", f"10.9.9.{n}", "")
        assert response.status_code == 302, (n, response.status_code)


def test_behind_one_proxy_the_address_it_saw_counts_not_what_the_client_wrote(
    client, acme, settings
):
    """TRUSTED_PROXY_COUNT=1 (compose, behind Caddy): the last X-Forwarded-For entry is
    the proxy's to write; anything a client put before it is ignored."""
    settings.TRUSTED_PROXY_COUNT = 1
    proxy = "172.18.0.5"
    for n, name in enumerate(("ada", "lena", "max", "mia", "nobody")):
        sign_in(client, name, "wrong-password", proxy, f"10.9.9.{n}, 198.51.100.7")
    assert sign_in(client, "sam", "pw-cascade-test", proxy, "198.51.100.7").status_code == 429
    other = type(client)()
    assert sign_in(other, "rey", "pw-cascade-test", proxy, "10.9.9.1").status_code == 302


def test_healthz_with_its_database_unreachable_is_a_503_with_retry_after_and_one_log_line(
    client, monkeypatch, db, caplog, tmp_path
):
    """A real driver failing to connect (PostgreSQL: a port nobody listens on; SQLite: a
    file in a folder that does not exist)."""
    from django.db import connections

    connection = connections["default"]
    settings = {**connection.settings_dict}
    if connection.vendor == "postgresql":
        with socket.socket() as free:
            free.bind(("127.0.0.1", 0))
            port = free.getsockname()[1]
        settings |= {"HOST": "127.0.0.1", "PORT": str(port), "OPTIONS": {"connect_timeout": 2}}
    else:
        settings["NAME"] = str(tmp_path / "missing" / "db.sqlite3")
    unreachable = type(connection)(settings, alias="default")  # its own, unopened
    monkeypatch.setattr("cascade.health.connection", unreachable)
    with caplog.at_level("WARNING", logger="cascade.health"):
        response = client.get("/healthz/")
    assert (response.status_code, response["Retry-After"]) == (503, "30")
    lines = [r for r in caplog.records if r.name == "cascade.health"]
    assert len(lines) == 1 and lines[0].exc_info is None  # one line, no traceback
    assert "the database is unreachable (OperationalError" in lines[0].getMessage()
    unreachable.close()
