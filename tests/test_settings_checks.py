"""SPEC §9.2 deployment: with DEBUG=false Cascade refuses to start with a SECRET_KEY
shorter than 50 characters or of fewer than 5 different ones, or without a
FIELD_ENCRYPTION_KEY, and says how to make one; development (DEBUG on) needs neither.
Each case starts `manage.py check` in its own process, as a deployment would."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

ROOT = Path(__file__).resolve().parent.parent
GOOD_KEY = secrets.token_urlsafe(50)
FERNET_KEY = Fernet.generate_key().decode()
MAKE_SECRET = 'python -c "import secrets; print(secrets.token_urlsafe(50))"'
MAKE_FERNET = (
    'python -c "from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())"'
)
OURS = ("DEBUG", "SECRET_KEY", "FIELD_ENCRYPTION_KEY", "DJANGO_ALLOW_ASYNC_UNSAFE")


def check(**env: str) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if k not in OURS}
    return subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=ROOT,
        env=base | {"ALLOWED_HOSTS": "cascade.example.com"} | env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize(
    "key",
    [
        pytest.param("x", id="one_character"),
        pytest.param("", id="empty"),
        pytest.param(GOOD_KEY[:49], id="49_characters"),
        pytest.param("ab" * 40, id="two_different_characters"),
        pytest.param("abcd" * 20, id="four_different_characters"),
    ],
)
def test_a_weak_secret_key_stops_production_from_starting(key):
    result = check(DEBUG="false", SECRET_KEY=key, FIELD_ENCRYPTION_KEY=FERNET_KEY)
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert "SECRET_KEY must be at least 50 characters" in result.stderr
    assert MAKE_SECRET in result.stderr


def test_production_without_a_field_encryption_key_does_not_start():
    result = check(DEBUG="false", SECRET_KEY=GOOD_KEY)
    assert result.returncode != 0
    assert "FIELD_ENCRYPTION_KEY must be set when DEBUG is off" in result.stderr
    assert MAKE_FERNET in result.stderr


def test_production_with_real_keys_starts():
    result = check(DEBUG="false", SECRET_KEY=GOOD_KEY, FIELD_ENCRYPTION_KEY=FERNET_KEY)
    assert result.returncode == 0, result.stderr
    assert "System check identified no issues" in result.stdout


def test_development_needs_neither_key():
    result = check(DEBUG="true", SECRET_KEY="x")
    assert result.returncode == 0, result.stderr
    assert check(DEBUG="true").returncode == 0


@pytest.mark.parametrize(
    ("name", "value"),
    [("SESSION_IDLE_MINUTES", "two hours"), ("SESSION_MAX_DAYS", "0")],
)
def test_a_bad_session_limit_stops_start_up_naming_it(name, value):
    result = check(**{name: value})
    assert result.returncode != 0
    assert name in result.stderr
