"""Schemathesis's own run of the API, as an integrator would start it: every check
(`--checks all`) and every phase — examples, coverage, fuzzing and the stateful phase,
which follows the schema's links from a created goal to its KPIs, their values and a
correction. As a member of the demo organization with DEBUG off, and as an admin with
DEBUG on. Business rules a schema cannot state are tuned in tests/api/fuzz/schemathesis.toml,
each with its reason; no check is switched off.

tests/test_api_schema_fuzz.py adds the hostile shapes of SPEC §8.1 (deep JSON, NUL
bytes, 1e308, 20-digit ids) as explicit cases."""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import call_command

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / "tests" / "api" / "fuzz" / "schemathesis.toml"
EXAMPLES = os.getenv("SCHEMATHESIS_EXAMPLES", "10")
# One seed, so a run is repeatable; SCHEMATHESIS_SEED=random explores anew.
SEED = os.getenv("SCHEMATHESIS_SEED", "20261127")


@pytest.fixture
def demo(transactional_db, settings):
    call_command("demo", stdout=io.StringIO())
    # The run signs in with made-up passwords thousands of times and calls as fast as
    # it can: the sign-in lockout and the rates are tested in tests/api/test_auth.py
    # and test_throttling.py, not here.
    settings.AXES_FAILURE_LIMIT = 10**9
    settings.API_THROTTLE_RATES = {"caller": "1000000/minute", "address": "1000000/minute"}


# A member with DEBUG off, an admin with it on: each role and each error path once
# (a run takes one to two minutes).
@pytest.mark.slow
@pytest.mark.parametrize(
    "username, debug", [("ivy", False), ("ada", True)], ids=["member-production", "admin-debug"]
)
def test_schemathesis_with_every_check_and_the_stateful_phase_finds_nothing(
    live_server, demo, settings, username, debug
):
    settings.DEBUG = debug
    command = [
        *(sys.executable, "-m", "schemathesis.cli"),
        *("--config-file", str(CONFIG)),
        *("run", f"{live_server.url}/api/schema/"),
        *("--checks", "all", "--max-examples", EXAMPLES, "--no-color"),
        *(() if SEED == "random" else ("--seed", SEED)),
    ]
    environment = {**os.environ, "CASCADE_URL": live_server.url, "CASCADE_USER": username}
    run = subprocess.run(
        command, cwd=ROOT, env=environment, capture_output=True, text=True, timeout=900
    )
    output = run.stdout + run.stderr
    assert run.returncode == 0, output[-20000:]
    links = re.search(r"API Links:\s+(\d+) covered", output)
    assert links and int(links.group(1)) > 0, output[-5000:]  # the stateful phase ran
