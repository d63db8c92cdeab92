"""`bin/run` as someone starts it in a fresh clone: a copy of this working tree (what a
commit would hold: tracked and new files, nothing git ignores) sharing this .venv, on
a free port, with none of the services the test run itself may use (no DATABASE_URL,
no CELERY_BROKER_URL): SQLite in the copy's db.sqlite3, the broker in its var/."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.request import urlopen

import pytest

ROOT = Path(__file__).resolve().parent.parent
# What the test run may be configured with and a fresh clone has not.
NOT_IN_A_FRESH_CLONE = (
    "DATABASE_URL",
    "CELERY_BROKER_URL",
    "CELERY_RESULT_BACKEND",
    "CACHE_URL",
    "EMAIL_URL",
    "DJANGO_ALLOW_ASYNC_UNSAFE",
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def fresh_clone(to: Path) -> Path:
    """Copy the working tree's files to `to`, with a link to this .venv (installing
    Cascade again would take minutes). The venv must be current: bin/run in the copy
    would otherwise install the copy into it."""
    pyproject = (ROOT / "pyproject.toml").stat().st_mtime
    stamps = [stamp.stat().st_mtime for stamp in (ROOT / ".venv").glob(".installed*")]
    if not any(stamp > pyproject for stamp in stamps):
        pytest.fail(".venv is older than pyproject.toml: run bin/test (or bin/run) once first")
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout
    for name in filter(None, listed.split(b"\0")):
        source, target = ROOT / os.fsdecode(name), to / os.fsdecode(name)
        if source.is_file() or source.is_symlink():  # not deleted since it was added
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target, follow_symlinks=False)
    (to / ".venv").symlink_to(ROOT / ".venv")
    return to


@dataclass
class Running:
    port: int
    login_page: bytes
    checkout: Path
    log: Path  # everything bin/run and what it started wrote

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def output(self) -> str:
        return self.log.read_text(errors="replace")


@contextmanager
def bin_run(
    tmp_path: Path,
    tries: int,
    stop_with: int = signal.SIGTERM,
    checkout: Path | None = None,
    **settings: str,
) -> Iterator[Running]:
    """`bin/run` in a fresh clone under `tmp_path` (or in `checkout`, where bin/run ran
    before), with `settings` added to the environment, until its login page answers 200.
    Afterwards it is sent `stop_with` (as Ctrl-C sends SIGINT to the terminal's
    foreground process group: its own), and every process it started must be gone once
    it has exited."""
    checkout = checkout or fresh_clone(tmp_path / "clone")
    port = free_port()
    env = {**os.environ, "PORT": str(port), **settings}
    for name in NOT_IN_A_FRESH_CLONE:
        env.pop(name, None)
    log = tmp_path / "bin-run.log"
    with log.open("wb") as out:
        server = subprocess.Popen(
            [str(checkout / "bin" / "run")],
            cwd=checkout,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            # As from a terminal: Ctrl-C's signal is heard. A pytest-xdist worker ignores
            # SIGINT, and a shell cannot trap a signal ignored when it started.
            preexec_fn=heed_ctrl_c,
        )
    running = Running(port, b"", checkout, log)
    try:
        for _ in range(tries):
            try:
                with urlopen(f"{running.url}/accounts/login/", timeout=2) as answer:
                    assert answer.status == 200
                    running.login_page = answer.read()
                break
            except OSError:
                if server.poll() is not None:
                    break
                time.sleep(0.2)
        assert running.login_page, running.output()[-3000:]
        yield running
    finally:
        started = descendants(server.pid)
        os.killpg(server.pid, stop_with)
        server.wait(timeout=60)
        left = [pid for pid in started if alive(pid)]
        assert not left, f"still running after bin/run stopped: {left}\n{running.output()[-3000:]}"


def heed_ctrl_c() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def descendants(pid: int) -> list[int]:
    """Every process below `pid` (Linux's /proc; elsewhere none are known)."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rpartition(")")[2].split()
        except OSError:  # it ended meanwhile
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
    except OSError:
        return False
    return state != "Z"  # a zombie has ended; only its exit status is left
