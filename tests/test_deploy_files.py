"""docker-compose.yml and the Dockerfile stay true to the README and to the code:
every service the README names exists, there is exactly one beat, and every
command they run exists in the project."""

from __future__ import annotations

import importlib
import os
import re
import shlex
import signal
import socket
import subprocess
import time
from pathlib import Path
from urllib.request import urlopen

import pytest
import yaml
from django.core.management import get_commands

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


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
    named = set(re.findall(r"`(db|redis|migrate|web|worker|beat)`", section))
    assert named == {"db", "redis", "migrate", "web", "worker", "beat"}
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


def test_bin_run_serves_on_the_port_it_is_given(tmp_path):
    port = free_port()
    env = {
        **os.environ,
        "PORT": str(port),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'run.sqlite3'}",
        "DJANGO_SETTINGS_MODULE": "cascade.settings",
    }
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    server = subprocess.Popen(
        [str(ROOT / "bin" / "run")],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        answer = None
        for _ in range(600):
            try:
                answer = urlopen(f"http://127.0.0.1:{port}/accounts/login/", timeout=2)
                break
            except OSError:
                if server.poll() is not None:
                    break
                time.sleep(0.2)
        assert answer is not None and answer.status == 200, server.stdout.read().decode()[-2000:]
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)


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
