"""Schemathesis's own run of the API, as an integrator would start it: every check
(`--checks all`) and every phase — examples, coverage, fuzzing and the stateful phase,
which follows the schema's links from a created goal to its KPIs, their values and a
correction. As an admin of the demo organization with DEBUG on, every phase; as a
member with DEBUG off, every phase but coverage (see PHASES). Business rules a schema
cannot state are tuned in tests/api/fuzz/schemathesis.toml, each with its reason; no
check is switched off.

tests/test_api_schema_fuzz.py adds the hostile shapes of SPEC §8.1 (deep JSON, NUL
bytes, 1e308, 20-digit ids) as explicit cases."""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
from pathlib import Path
from urllib.request import urlopen

import pytest
from django.core.management import call_command

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / "tests" / "api" / "fuzz" / "schemathesis.toml"
EXAMPLES = os.getenv("SCHEMATHESIS_EXAMPLES", "10")
# One seed, so a run is repeatable; SCHEMATHESIS_SEED=random explores anew.
SEED = os.getenv("SCHEMATHESIS_SEED", "20261127")


@pytest.fixture
def demo(transactional_db, settings, dns):
    call_command("demo", stdout=io.StringIO())
    # The run signs in with made-up passwords thousands of times and calls as fast as
    # it can: the sign-in lockout and the rates are tested in tests/api/test_auth.py
    # and test_throttling.py, not here.
    settings.AXES_FAILURE_LIMIT = 10**9
    settings.API_THROTTLE_RATES = {"caller": "1000000/minute", "address": "1000000/minute"}
    # Addresses the run makes up (webhooks, single sign-on, KPI data sources, which
    # `source/fetch/` reads at once) reach nothing inside: private, loopback and
    # link-local addresses are refused, and no host name resolves (a DNS server that
    # knows none); a public address written as one answers within a second or fails.
    settings.OUTBOUND_ALLOW_PRIVATE = False
    settings.KPI_SOURCE_TIMEOUT = 1
    dns({})


# The coverage phase sends each operation its boundary and invalid values (~3,000 of
# the ~4,300 requests of a run with every phase). An admin's reach validation, so the
# admin's run has it; a member's stop at the permission check (a 403 before a 400) for
# most writes, so the member's run leaves it out: its examples, fuzzing and stateful
# phases still send every operation generated input, with every check, as a member with
# DEBUG off.
PHASES = {
    "ada": "examples,coverage,fuzzing,stateful",
    "ivy": "examples,fuzzing,stateful",
}


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
    # A process's first build of the schema takes seconds, later ones a fraction of one;
    # schemathesis gives up loading it after 10 s, so on a busy machine the first build
    # happens here.
    with urlopen(f"{live_server.url}/api/schema/", timeout=300) as answer:
        assert answer.status == 200
    command = [
        *(sys.executable, "-m", "schemathesis.cli"),
        *("--config-file", str(CONFIG)),
        *("run", f"{live_server.url}/api/schema/"),
        *("--checks", "all", "--phases", PHASES[username]),
        *("--max-examples", EXAMPLES, "--no-color"),
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
