"""The chat platforms' own code (tests/chat/node: @slack/types, typescript,
adaptivecards and markdown-it, pinned in its package-lock.json), installed by `npm ci`
the first time (under a lock, as several test processes may get here together).
Without npm: a skip on a laptop, a failure in CI (CASCADE_REQUIRE_SERVICES=1; .ci/run
installs it)."""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent / "node"
MODULES = PACKAGE / "node_modules"
TSC = MODULES / "typescript" / "bin" / "tsc"
ADAPTIVE_CARDS = MODULES / "adaptivecards" / "dist" / "adaptivecards.min.js"
MARKDOWN_IT = MODULES / "markdown-it" / "dist" / "markdown-it.min.js"
REQUIRE_SERVICES = os.getenv("CASCADE_REQUIRE_SERVICES", "") not in ("", "0", "false")


def _unavailable(why: str) -> None:
    if REQUIRE_SERVICES:
        pytest.fail(why)
    pytest.skip(why)


def _installed() -> bool:
    """Whether `npm ci` finished here: npm writes node_modules/.package-lock.json last."""
    return (MODULES / ".package-lock.json").is_file() and TSC.is_file() and ADAPTIVE_CARDS.is_file()


def installed() -> Path:
    """tests/chat/node with its packages installed; its node_modules path."""
    if _installed():
        return MODULES
    npm = shutil.which("npm")
    if npm is None:
        _unavailable(
            "the chat payload checks need Node.js and npm (apt-get install nodejs npm); "
            "then npm ci --prefix tests/chat/node (.ci/run does)"
        )
    with (PACKAGE / "package.json").open("rb") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        try:
            if not _installed():
                done = subprocess.run(
                    [npm, "ci", "--no-audit", "--no-fund"],
                    cwd=PACKAGE,
                    capture_output=True,
                    text=True,
                    timeout=600,
                )
                if done.returncode != 0:
                    _unavailable(f"npm ci --prefix tests/chat/node failed: {done.stderr[-500:]}")
        finally:
            fcntl.flock(held, fcntl.LOCK_UN)
    return MODULES
