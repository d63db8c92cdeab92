"""Fault test: Cascade laid out as in compose (PostgreSQL, one Redis for broker and
cache, gunicorn, a Celery worker), under a bounded load, while Redis is stopped,
frozen and PostgreSQL is stopped and started again. It prints, per phase, the
requests, their answers and their latency, and at the end the writes that were
acknowledged but lost, and the writes stored twice. It also reads what gunicorn and
the worker logged (LOG_FORMAT=json, the gunicorn configuration of compose): every line
must be a JSON object, and each 503 of the database outage one line, no traceback.

    bin/faults                      # about two minutes
    bin/faults --seconds 5          # each phase 5 s instead of 15
    bin/faults --writers 8 --readers 4 --workers 4
    bin/faults --log-format text    # the text log instead (its tracebacks are counted)

Everything runs on this machine, in processes of its own (its own PostgreSQL cluster
and redis-server on free ports, in a temporary folder): nothing else is stopped.
Needs redis-server and PostgreSQL's server binaries (initdb, pg_ctl).

The load is what a careful integration and people do: each writer records values
through the API with an `Idempotency-Key`, and retries the same write with the same
key on an error or a dropped connection until it is acknowledged; each reader opens
the dashboard and My work with a signed-in session.
"""

from __future__ import annotations

import argparse
import contextlib
import glob
import json
import os
import pwd
import secrets
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter, defaultdict
from pathlib import Path

import psycopg
import requests
from cryptography.fernet import Fernet

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.client import free_port, login  # noqa: E402

PASSWORD = "cascade-demo"  # the demo organization's (demo/acme.py)
RETRY_PAUSE = 0.5


def postgres_bin(name: str) -> str:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}")) or [shutil.which(name)]
    if not found[-1]:
        raise SystemExit(f"{name} not found: install PostgreSQL's server (apt install postgresql)")
    return found[-1]


class Postgres:
    """A PostgreSQL cluster of this run's own, in `folder`, on a free port. As root it
    runs as the `postgres` user (PostgreSQL refuses root)."""

    def __init__(self, folder: Path):
        self.data, self.port = folder / "pg", free_port()
        self.url = f"postgres://postgres@127.0.0.1:{self.port}/cascade"
        self.as_user = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []

    def run(self, *command: str) -> None:
        subprocess.run([*self.as_user, *command], check=True, capture_output=True)

    def create(self) -> None:
        self.data.mkdir()
        if self.as_user:
            user = pwd.getpwnam("postgres")
            os.chown(self.data, user.pw_uid, user.pw_gid)
        self.run(postgres_bin("initdb"), "-D", str(self.data), "-U", "postgres", "-A", "trust")
        self.start()
        with psycopg.connect(self.url.rsplit("/", 1)[0] + "/postgres", autocommit=True) as db:
            db.execute("CREATE DATABASE cascade")

    def start(self) -> None:
        options = f"-p {self.port} -k {self.data} -c listen_addresses=127.0.0.1"
        self.run(
            *(postgres_bin("pg_ctl"), "-D", str(self.data), "-o", options),
            *("-l", str(self.data / "log"), "-w", "start"),
        )

    def stop(self) -> None:
        self.run(postgres_bin("pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop")


class Redis:
    """A redis-server of this run's own, on a free port, without persistence."""

    def __init__(self, folder: Path):
        self.folder, self.port, self.process = folder, free_port(), None
        self.url = f"redis://127.0.0.1:{self.port}"

    def start(self) -> None:
        if not shutil.which("redis-server"):
            raise SystemExit("redis-server not found: install Redis (apt install redis-server)")
        self.process = subprocess.Popen(
            [
                *("redis-server", "--port", str(self.port), "--bind", "127.0.0.1"),
                *("--save", "", "--appendonly", "no", "--dir", str(self.folder)),
            ],
            stdout=subprocess.DEVNULL,
        )
        wait_for(lambda: subprocess.run(["redis-cli", "-p", str(self.port), "ping"], **QUIET))

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(10)

    def freeze(self) -> None:
        self.process.send_signal(signal.SIGSTOP)

    def thaw(self) -> None:
        self.process.send_signal(signal.SIGCONT)


QUIET = {"check": True, "capture_output": True, "timeout": 5}


class Supervised:
    """A process kept running as compose's `restart: unless-stopped` keeps it."""

    def __init__(self, command: list[str], env: dict, log: Path):
        self.command, self.env, self.log = command, env, log.open("a")
        self.exits, self.stopping = 0, threading.Event()
        self.process = self._start()
        threading.Thread(target=self._watch, daemon=True).start()

    def _start(self) -> subprocess.Popen:
        return subprocess.Popen(
            self.command,
            cwd=ROOT,
            env=self.env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def _watch(self) -> None:
        while not self.stopping.is_set():
            if self.process.poll() is not None and not self.stopping.is_set():
                self.exits += 1
                time.sleep(1)
                self.process = self._start()
            time.sleep(0.2)

    def restarts(self) -> int:
        return self.exits

    def stop(self) -> None:
        self.stopping.set()
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(30)


def wait_for(ready, what: str = "a service", seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while True:
        try:
            ready()
            return
        except Exception:
            if time.monotonic() > deadline:
                raise SystemExit(f"{what} did not start") from None
            time.sleep(0.1)


class Load:
    """Writers and readers, each in a thread, until `stop`; every request is logged
    under the phase it started in."""

    def __init__(self, base: str, token: str, kpis: list[int], run: str):
        self.base, self.token, self.kpis, self.run = base, token, kpis, run
        self.phase = ""
        self.stop = threading.Event()
        self.drain_deadline = 0.0  # after `stop`, a write in hand is retried until then
        self.lock = threading.Lock()
        self.requests: dict[str, list[tuple[str, float]]] = defaultdict(list)
        self.acknowledged: set[str] = set()
        self.unacknowledged: set[str] = set()
        self.retries = 0

    def log(self, phase: str, outcome: str, seconds: float) -> None:
        with self.lock:
            self.requests[phase].append((outcome, seconds))

    def request(self, session, method, url, **kwargs) -> requests.Response | None:
        phase, started = self.phase, time.monotonic()
        try:
            response = session.request(method, url, timeout=30, **kwargs)
        except requests.RequestException as error:
            self.log(phase, type(error).__name__, time.monotonic() - started)
            return None
        self.log(phase, str(response.status_code), time.monotonic() - started)
        return response

    def writer(self, number: int) -> None:
        session = requests.Session()
        session.headers["Authorization"] = f"Token {self.token}"
        count = 0
        while not self.stop.is_set():
            count += 1
            mark = f"{self.run}-{number}-{count}"
            kpi = self.kpis[count % len(self.kpis)]
            body = {"value": count % 100, "note": mark}
            key = {"Idempotency-Key": mark}
            while True:  # the same write, with the same key, until it is acknowledged
                url = f"{self.base}/api/v1/kpis/{kpi}/updates/"
                response = self.request(session, "POST", url, json=body, headers=key)
                if response is not None and response.status_code == 201:
                    self.acknowledged.add(mark)
                    break
                if self.stop.is_set() and time.monotonic() > self.drain_deadline:
                    self.unacknowledged.add(mark)
                    return
                self.retries += 1
                time.sleep(RETRY_PAUSE)

    def reader(self, number: int) -> None:
        session = login(self.base, "lena", PASSWORD)
        pages = [f"{self.base}/", f"{self.base}/my/"]
        count = 0
        while not self.stop.is_set():
            count += 1
            if self.request(session, "GET", pages[count % 2]) is None:
                time.sleep(RETRY_PAUSE)


def percentile(samples: list[float], share: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(len(ordered) * share))] * 1000 if ordered else 0


def phase_rows(load: Load) -> list[dict]:
    rows = []
    for phase, logged in load.requests.items():
        outcomes = Counter(outcome for outcome, _ in logged)
        times = [seconds for _, seconds in logged]
        rows.append(
            {
                "phase": phase,
                "requests": len(logged),
                "ok": sum(n for outcome, n in outcomes.items() if outcome[:1] in "23"),
                "answers": dict(sorted(outcomes.items())),
                "p50_ms": round(statistics.median(times) * 1000, 1) if times else 0,
                "p95_ms": round(percentile(times, 0.95), 1),
                "max_ms": round(max(times, default=0) * 1000, 1),
            }
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=15, help="length of each phase")
    parser.add_argument("--writers", type=int, default=6)
    parser.add_argument("--readers", type=int, default=2)
    parser.add_argument("--workers", type=int, default=4, help="gunicorn workers")
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument(
        "--log-format", choices=("json", "text"), default="json", help="LOG_FORMAT of the run"
    )
    options = parser.parse_args()

    folder = Path(tempfile.mkdtemp(prefix="cascade-faults-"))
    os.chmod(folder, 0o755)
    postgres, redis = Postgres(folder), Redis(folder)
    processes: list[subprocess.Popen] = []
    try:
        print(f"Setting up in {folder}: PostgreSQL, Redis, migrate, demo data …", flush=True)
        postgres.create()
        redis.start()
        env = {
            **os.environ,
            "DATABASE_URL": postgres.url,
            "CELERY_BROKER_URL": f"{redis.url}/0",
            "CELERY_RESULT_BACKEND": f"{redis.url}/0",
            "CACHE_URL": f"{redis.url}/1",
            "DEBUG": "false",
            "SECRET_KEY": secrets.token_urlsafe(50),
            "FIELD_ENCRYPTION_KEY": Fernet.generate_key().decode(),
            "ALLOWED_HOSTS": "127.0.0.1",
            "SECURE_COOKIES": "false",
            "TRUSTED_PROXY_COUNT": "0",
            "LOG_LEVEL": "WARNING",
            "LOG_FORMAT": options.log_format,
            # Emails (the demo review's calendar invitations) are not what this test
            # measures, and the console backend would print them between the log lines.
            "EMAIL_BACKEND": "django.core.mail.backends.dummy.EmailBackend",
            # Its own static files, not the checkout's staticfiles/ (which every test
            # client's WhiteNoise would then scan).
            "STATIC_ROOT": str(folder / "static"),
            "API_RATE_PER_CALLER": "1000000/minute",
            "API_RATE_PER_ADDRESS": "1000000/minute",
        }
        manage = [sys.executable, "manage.py"]
        for command in (["migrate", "-v0"], ["demo"], ["collectstatic", "--noinput", "-v0"]):
            subprocess.run([*manage, *command], cwd=ROOT, env=env, check=True, capture_output=True)
        port = free_port()
        logs = (folder / "processes.log").open("a")
        processes.append(
            subprocess.Popen(
                [
                    *(sys.executable, "-m", "gunicorn", "cascade.wsgi:application"),
                    *("--bind", f"127.0.0.1:{port}", "--workers", str(options.workers)),
                    *("--control-socket", str(folder / "gunicorn.ctl"), "--timeout", "60"),
                    *("--config", str(ROOT / "cascade" / "gunicorn_conf.py")),
                ],
                cwd=ROOT,
                env=env,
                stdout=logs,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        )
        # The worker as compose runs it (`restart: unless-stopped`): started again if it
        # exits, and each exit counted.
        worker = Supervised(
            [*(sys.executable, "-m", "celery", "-A", "cascade", "worker"), "-c", "2", "-l", "INFO"],
            env,
            folder / "worker.log",
        )
        base = f"http://127.0.0.1:{port}"
        wait_for(lambda: requests.get(f"{base}/healthz/", timeout=2).raise_for_status(), "gunicorn")
        token = requests.post(
            f"{base}/api/v1/auth/token/", json={"username": "ada", "password": PASSWORD}, timeout=10
        ).json()["token"]
        kpis = [
            row["id"]
            for row in requests.get(
                f"{base}/api/v1/kpis/?page_size=200",
                headers={"Authorization": f"Token {token}"},
                timeout=10,
            ).json()["results"]
            if row["state"] == "active"
        ]

        run = uuid.uuid4().hex[:8]
        load = Load(base, token, kpis, run)
        threads = [threading.Thread(target=load.writer, args=(n,)) for n in range(options.writers)]
        threads += [threading.Thread(target=load.reader, args=(n,)) for n in range(options.readers)]
        phases = [
            ("steady", None),
            ("Redis stopped", redis.stop),
            ("Redis started", redis.start),
            ("Redis frozen", redis.freeze),
            ("Redis thawed", redis.thaw),
            ("PostgreSQL stopped", postgres.stop),
            ("PostgreSQL started", postgres.start),
        ]
        print(
            f"Load: {options.writers} writers, {options.readers} readers; gunicorn with "
            f"{options.workers} workers, a Celery worker; {options.seconds:g} s per phase",
            flush=True,
        )
        load.phase = phases[0][0]
        for thread in threads:
            thread.start()
        for name, fault in phases:
            load.phase = name  # a request that meets the fault counts in its phase
            print(f"  {name} …", flush=True)
            if fault:
                fault()
            time.sleep(options.seconds)
        load.phase = "drain"  # writers finish the write in hand (retrying), then stop
        load.drain_deadline = time.monotonic() + 60
        load.stop.set()
        for thread in threads:
            thread.join(120)

        with psycopg.connect(postgres.url) as db:
            stored = Counter(
                dict(
                    db.execute(
                        "SELECT note, count(*) FROM kpis_kpiupdate"
                        " WHERE note LIKE %s GROUP BY note",
                        [f"{run}-%"],
                    ).fetchall()
                )
            )
        job = subprocess.run(
            [
                *manage,
                "shell",
                "-c",
                "from cycles.tasks import rollup_all_cycles; "
                "print(rollup_all_cycles.delay().get(timeout=60))",
            ],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
        )
        results = {
            "setup": {
                "writers": options.writers,
                "readers": options.readers,
                "gunicorn_workers": options.workers,
                "phase_seconds": options.seconds,
            },
            "phases": phase_rows(load),
            "writes": {
                "acknowledged": len(load.acknowledged),
                "stored": len(stored),
                "lost": len(load.acknowledged - set(stored)),
                "duplicated": sum(1 for n in stored.values() if n > 1),
                "retried_requests": load.retries,
                "never_acknowledged": len(load.unacknowledged),
            },
            "worker_after_faults": "ran a task" if job.returncode == 0 else job.stderr[-300:],
            "worker_restarts": worker.restarts(),
            "logs": read_logs(options.log_format, folder / "processes.log", folder / "worker.log"),
        }
        print(report(results))
        if options.json:
            options.json.write_text(json.dumps(results, indent=2) + "\n")
        logs_failed = results["logs"]["not_json"] or results["logs"]["outage_503s_not_one_line"]
        failed = (
            results["writes"]["lost"]
            or results["writes"]["duplicated"]
            or job.returncode
            or logs_failed
        )
        if failed:
            print("\nThe worker's log ends with:\n" + (folder / "worker.log").read_text()[-20000:])
        sys.exit(1 if failed else 0)
    finally:
        with contextlib.suppress(NameError):
            worker.stop()
        for process in processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
                process.wait(30)
        if redis.process and redis.process.poll() is None:
            redis.thaw()
            redis.stop()
        with contextlib.suppress(subprocess.CalledProcessError):  # already stopped
            postgres.stop()
        shutil.rmtree(folder, ignore_errors=True)


OUTAGE_LOGGERS = ("cascade.outage", "cascade.health")  # the one line of a 503 (database down)


def read_logs(log_format: str, web: Path, worker: Path) -> dict:
    """What gunicorn (with Django) and the worker logged. With JSON: the lines that are
    no JSON object (none may be), and each 503 answer of the database outage, found
    by its request id in the access log: logged in exactly one other line, with no
    traceback. With text: the tracebacks in gunicorn's log."""
    texts = {"web": web.read_text(errors="replace"), "worker": worker.read_text(errors="replace")}
    lines = {
        name: [line for line in text.splitlines() if line.strip()] for name, text in texts.items()
    }
    result: dict = {
        "format": log_format,
        "lines": {name: len(found) for name, found in lines.items()},
        "not_json": 0,
        "not_json_examples": [],
        "answers_503": 0,
        "outage_503s_not_one_line": 0,
        "tracebacks": sum(
            text.count("Traceback (most recent call last)") for text in texts.values()
        ),
    }
    if log_format != "json":
        return result
    by_request: dict[str, list[dict]] = defaultdict(list)
    answered_503: set[str] = set()
    for name, found in lines.items():
        for line in found:
            try:
                record = json.loads(line)
                if not isinstance(record, dict):
                    raise ValueError("not an object")
            except ValueError:
                result["not_json"] += 1
                if len(result["not_json_examples"]) < 5:
                    result["not_json_examples"].append(f"{name}: {line[:200]}")
                continue
            request_id = record.get("request_id")
            if name != "web" or not request_id:
                continue
            if record.get("logger") == "gunicorn.access":
                if record.get("status") == 503:
                    answered_503.add(request_id)
            else:
                by_request[request_id].append(record)
    result["answers_503"] = len(answered_503)
    result["outage_503s_not_one_line"] = sum(
        1
        for request_id in answered_503
        if len(by_request[request_id]) != 1
        or by_request[request_id][0].get("logger") not in OUTAGE_LOGGERS
        or "exception" in by_request[request_id][0]
    )
    return result


def report(results: dict) -> str:
    lines = [
        "| phase | requests | 2xx/3xx | answers | p50 ms | p95 ms | max ms |",
        "|---|---:|---:|---|---:|---:|---:|",
    ]
    for row in results["phases"]:
        answers = ", ".join(f"{outcome}: {n}" for outcome, n in row["answers"].items())
        lines.append(
            f"| {row['phase']} | {row['requests']} | {row['ok']} | {answers} "
            f"| {row['p50_ms']} | {row['p95_ms']} | {row['max_ms']} |"
        )
    w = results["writes"]
    lines += [
        "",
        f"Writes: {w['acknowledged']} acknowledged, {w['stored']} stored; "
        f"lost {w['lost']}, stored twice {w['duplicated']}; "
        f"{w['retried_requests']} requests retried (same Idempotency-Key); "
        f"{w['never_acknowledged']} still unacknowledged at the end.",
        f"Celery worker after the faults: {results['worker_after_faults']}; it exited and was "
        f"started again {results['worker_restarts']} time(s).",
    ]
    logs = results["logs"]
    lines.append(
        f"Logs ({logs['format']}): {logs['lines']['web']} lines from gunicorn and Django, "
        f"{logs['lines']['worker']} from the worker; {logs['tracebacks']} with a traceback."
    )
    if logs["format"] == "json":
        lines.append(
            f"  {logs['not_json']} lines not JSON; {logs['answers_503']} answers 503, of "
            f"which {logs['outage_503s_not_one_line']} not logged in exactly one line "
            "without a traceback."
        )
        lines += [f"  not JSON: {example}" for example in logs["not_json_examples"]]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
