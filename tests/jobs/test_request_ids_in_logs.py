"""With LOG_FORMAT=json, gunicorn (with compose's configuration, cascade/gunicorn_conf.py)
and a real Celery worker process write only JSON lines, and a request's X-Request-ID is
in its access line (with its duration), in Django's lines of it, and in every line of
the task it enqueued: a large import, planned by the worker (cycles/import_jobs.py).
PostgreSQL and Redis are the test's own; the log output of both processes is read."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
import requests
from django.conf import settings
from django.db import connection
from django.test import Client

from cycles.models import ImportJob

from .conftest import until
from .test_import_job import large_file
from .test_worker_killed_mid_send import free_port

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def _env(broker_url: str) -> dict[str, str]:
    db = connection.settings_dict
    return {
        **os.environ,
        "DATABASE_URL": f"postgres://{db['USER']}:{db['PASSWORD'] or ''}@"
        f"{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}",
        "CELERY_BROKER_URL": broker_url,
        "LOG_FORMAT": "json",
        "LOG_LEVEL": "INFO",
        "DJANGO_SETTINGS_MODULE": "cascade.settings",
    }


def _start(command: list[str], env: dict[str, str], log: Path) -> subprocess.Popen:
    return subprocess.Popen(
        command,
        cwd=settings.BASE_DIR,
        env=env,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(30)


def _answers(url: str) -> bool:
    try:
        return requests.get(url, timeout=10).status_code == 200
    except requests.ConnectionError:  # not listening yet
        return False


def _records(log: Path) -> list[dict]:
    """Every line of the log as the object it must be."""
    records = []
    for line in log.read_text().splitlines():
        if line.strip():
            try:
                records.append(json.loads(line))
            except ValueError:
                pytest.fail(f"not a JSON line in {log.name}: {line[:300]}")
    return records


def test_every_line_is_json_and_a_request_id_follows_the_request_into_its_task(
    acme, tree, broker, tmp_path
):
    env = _env(os.environ["CELERY_BROKER_URL"])
    if not env["DATABASE_URL"].startswith("postgres://") or connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL, shared with the server and the worker (.ci/run)")
    port = free_port()
    web_log, worker_log = tmp_path / "web.log", tmp_path / "worker.log"
    web = _start(
        [
            *(sys.executable, "-m", "gunicorn", "cascade.wsgi:application"),
            *("--config", str(settings.BASE_DIR / "cascade" / "gunicorn_conf.py")),
            *("--bind", f"127.0.0.1:{port}", "--workers", "1"),
            *("--control-socket", str(tmp_path / "gunicorn.ctl")),
        ],
        env,
        web_log,
    )
    worker = _start(
        [
            *(sys.executable, "-m", "celery", "-A", "cascade", "worker"),
            *("--pool=prefork", "--concurrency=1"),
            *("--without-gossip", "--without-mingle", "--without-heartbeat"),
        ],
        env,
        worker_log,
    )
    request_id = f"import {uuid.uuid4().hex[:8]} (from the test)"
    base = f"http://127.0.0.1:{port}"
    try:
        until(lambda: _answers(f"{base}/healthz/live/"), 60, "gunicorn answering")
        until(lambda: "ready." in worker_log.read_text(), 60, "the worker ready")
        signed_in = Client()
        signed_in.force_login(acme.leader.user)
        session = requests.Session()
        session.cookies.set("sessionid", signed_in.cookies["sessionid"].value)
        page = f"{base}/cycles/{acme.cycle.pk}/import/"
        session.get(page, timeout=10).raise_for_status()  # sets the CSRF cookie
        upload = session.post(
            page,
            files={"file": ("large.csv", large_file(), "text/csv")},
            headers={"X-Request-ID": request_id, "X-CSRFToken": session.cookies["csrftoken"]},
            allow_redirects=False,
            timeout=30,
        )
        missing = session.get(
            f"{base}/cycles/{acme.cycle.pk}/import/999999/",
            headers={"X-Request-ID": request_id},
            timeout=10,
        )
        unsound = session.get(f"{base}/healthz/live/", headers={"X-Request-ID": "x" * 65})
        assert upload.status_code == 302, upload.text[:500]
        assert upload.headers["X-Request-ID"] == request_id
        assert missing.status_code == 404 and missing.headers["X-Request-ID"] == request_id
        assert unsound.headers["X-Request-ID"] != "x" * 65
        until(lambda: ImportJob.objects.get().state == "previewed", 60, "the planning task")
        until(lambda: " succeeded in " in worker_log.read_text(), 60, "the task's last line")
    finally:
        _stop(web)
        _stop(worker)

    web_lines, worker_lines = _records(web_log), _records(worker_log)
    access = [r for r in web_lines if r["logger"] == "gunicorn.access"]
    (post,) = [r for r in access if r["method"] == "POST"]
    assert post["request_id"] == request_id and post["status"] == 302
    assert post["duration_ms"] > 0 and post["message"].endswith(f"ms {request_id}")
    (not_found,) = [r for r in web_lines if r["message"].startswith("Not Found: /cycles/")]
    assert not_found["logger"] == "django.request" and not_found["request_id"] == request_id
    assert not any(r.get("request_id") == "x" * 65 for r in web_lines)
    job = ImportJob.objects.get()
    task_lines = [r for r in worker_lines if "kpis.tasks.plan_import[" in r["message"]]
    assert [line["message"].split("] ")[1][:9] for line in task_lines] == [
        "received",
        "succeeded",
    ], task_lines
    assert all(line["request_id"] == request_id for line in task_lines), task_lines
    assert job.state == "previewed"
    # Lines of no request (start-up, shutdown) carry no id; none carries another's.
    ids = {r.get("request_id") for r in web_lines + worker_lines} - {None}
    assert request_id in ids and all(
        i == request_id or i == unsound.headers["X-Request-ID"] or i.isalnum() for i in ids
    )
