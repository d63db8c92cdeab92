"""docker-compose.yml and the Dockerfile stay true to the README and to the code:
every service the README names exists, there is exactly one beat, and every
command they run exists in the project."""

from __future__ import annotations

import importlib
import os
import re
import shlex
import subprocess
from pathlib import Path

import pytest
import yaml
from django.core.management import get_commands

ROOT = Path(__file__).resolve().parent.parent


COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SERVICES = COMPOSE["services"]
README = (ROOT / "README.md").read_text()


def argv(command) -> list[str]:
    return command if isinstance(command, list) else shlex.split(command)


def assert_runs_something_real(args: list[str]) -> None:
    """The program and what it is asked to run exist in this project."""
    program = args[0]
    if program == "python" and args[1] == "manage.py":
        assert args[2] in get_commands(), f"no management command {args[2]!r}"
    elif program == "python" and args[1] == "-c":
        compile(args[2], "<healthcheck>", "exec")
    elif program == "gunicorn":
        module, _, attr = args[1].partition(":")
        assert callable(getattr(importlib.import_module(module), attr))
    elif program == "celery":
        assert args[1] == "-A"
        app = importlib.import_module(args[2]).celery_app
        assert args[3] in ("worker", "beat", "inspect")
        assert app.main == "cascade"
    elif program in ("redis-server", "redis-cli", "pg_isready"):
        pass  # provided by the official images
    else:
        pytest.fail(f"unexpected program {program!r} in {args}")


def test_every_service_the_readme_names_is_in_compose():
    section = README.split("## Deploy", 1)[1].split("\n## ", 1)[0]
    named = set(re.findall(r"`(db|redis|migrate|web|proxy|worker|beat)`", section))
    assert named == {"db", "redis", "migrate", "web", "proxy", "worker", "beat"}
    assert named == set(SERVICES)


def test_exactly_one_beat_runs():
    beats = [
        name
        for name, svc in SERVICES.items()
        if "command" in svc and "beat" in argv(svc["command"])
    ]
    assert beats == ["beat"]
    assert SERVICES["beat"].get("deploy", {}).get("replicas", 1) == 1


@pytest.mark.parametrize("name", sorted(SERVICES))
def test_every_command_a_service_runs_exists_in_the_project(name):
    service = SERVICES[name]
    if "command" in service and name not in ("redis",):
        assert_runs_something_real(argv(service["command"]))
    test = service.get("healthcheck", {}).get("test")
    if test:
        kind, *rest = test
        args = rest if kind == "CMD" else shlex.split(rest[0].replace("$$", "$"))
        assert_runs_something_real(args)


def test_app_services_wait_for_migrations_and_use_postgres_and_redis():
    for name in ("web", "worker", "beat"):
        service = SERVICES[name]
        assert service["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
        assert service["environment"]["DATABASE_URL"].startswith("postgres://")
        assert service["environment"]["CELERY_BROKER_URL"].startswith("redis://redis:")
    assert "pgdata" in COMPOSE["volumes"]
    assert all("healthcheck" in SERVICES[name] for name in ("db", "redis", "web", "worker"))


def test_dockerfile_default_command_exists():
    dockerfile = (ROOT / "Dockerfile").read_text()
    cmd = re.search(r"^CMD (\[.*\])$", dockerfile, re.MULTILINE)
    assert_runs_something_real(yaml.safe_load(cmd.group(1)))


def test_env_example_sets_what_compose_requires():
    keys = {
        line.split("=", 1)[0]
        for line in (ROOT / ".env.example").read_text().splitlines()
        if line and not line.startswith("#")
    }
    assert {"SECRET_KEY", "POSTGRES_PASSWORD", "ALLOWED_HOSTS", "DEBUG"} <= keys


def env_example() -> dict[str, str]:
    lines = (ROOT / ".env.example").read_text().splitlines()
    return dict(line.split("=", 1) for line in lines if line and not line.startswith("#"))


def test_web_publishes_no_port_and_only_the_proxy_is_reachable():
    """A client reaching gunicorn directly could write its own X-Forwarded-For."""
    published = {name for name, svc in SERVICES.items() if svc.get("ports")}
    assert published == {"proxy"}
    assert SERVICES["web"]["expose"] == ["8000"]
    proxy = SERVICES["proxy"]
    assert proxy["image"] == "caddy:2"
    ports = {port.split(":")[-1] for port in proxy["ports"]}
    assert {"80", "443"} <= ports
    assert "./deploy/Caddyfile:/etc/caddy/Caddyfile:ro" in proxy["volumes"]
    assert proxy["depends_on"]["web"]["condition"] == "service_healthy"


def test_the_proxy_sends_everything_to_web_and_trusts_no_clients_forwarded_headers():
    caddyfile = (ROOT / "deploy" / "Caddyfile").read_text()
    directives = [
        line.strip() for line in caddyfile.splitlines() if line.strip() and line[0] != "#"
    ]
    assert directives[0] == "{$SITE_URL}"
    assert "reverse_proxy {" in directives
    assert "dynamic a web 8000 {" in directives  # every web container, port 8000
    # With no trusted_proxies, Caddy replaces a client's X-Forwarded-For with the address
    # it sees: the one entry web believes (TRUSTED_PROXY_COUNT=1).
    assert not any(line.startswith("trusted_proxies") for line in directives)
    assert not any("header_up" in line and "Forwarded" in line for line in directives)
    assert SERVICES["proxy"]["environment"]["SITE_URL"].startswith("${SITE_URL")


def test_web_behind_the_proxy_trusts_one_hop_and_the_default_trusts_none():
    assert SERVICES["web"]["environment"]["TRUSTED_PROXY_COUNT"] == "1"
    for name in ("worker", "beat", "migrate"):
        assert "TRUSTED_PROXY_COUNT" not in SERVICES[name]["environment"]
    assert env_example()["TRUSTED_PROXY_COUNT"] == "0"
    text = (ROOT / ".env.example").read_text()
    assert "docker-compose.yml sets 1 for its web service" in text


def test_env_example_says_how_to_make_each_key():
    keys = env_example()
    assert keys["SECRET_KEY"] == "" and keys["FIELD_ENCRYPTION_KEY"] == ""  # refused until set
    text = (ROOT / ".env.example").read_text()
    assert 'python -c "import secrets; print(secrets.token_urlsafe(50))"' in text
    assert "Fernet.generate_key().decode()" in text
    assert "WEB_PORT" not in text


# bin/run on the port it is given, with its jobs, stopped by Ctrl-C with nothing left,
# then again with DEBUG off serving its static files (README, "Run it"):
# tests/jobs/test_embedded_default.py.


def test_bin_run_refuses_a_port_that_is_not_a_number():
    result = subprocess.run(
        [str(ROOT / "bin" / "run")],
        cwd=ROOT,
        env={**os.environ, "PORT": "80a"},
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 2
    assert 'PORT must be a port number, not "80a"' in result.stderr
