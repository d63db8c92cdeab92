"""A Redis that dies or freezes never fails a saved write or a page (SPEC §8, issue:
reliability under faults). One Redis serves as broker and cache, as in the compose
layout; the test starts its own on a free port, then stops it or freezes it (SIGSTOP)
while values are recorded through the API and the page, and pages are read. Every
answer must be a success, every value saved exactly once, and the lost enqueue logged."""

from __future__ import annotations

import logging
import shutil
import signal
import socket
import subprocess
import time

import pytest
import redis

from cascade.celery import app as celery_app
from core import cache as core_cache
from kpis.models import KpiUpdate

from ..api.helpers import API, client_for
from ..pages.helpers import HTMX, record_data
from .conftest import broker_at

pytestmark = pytest.mark.slow  # run first (tests/conftest.py)

# A request must not hang on a frozen Redis: its socket timeouts are 0.3 s (cache) and
# 0.5 s (broker), so a few seconds means it waited on nothing else.
STALL = 3.0


class RedisProcess:
    """A redis-server of this test's own, on a free port, without persistence."""

    def __init__(self, directory):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.directory = directory
        self.process = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                *("redis-server", "--port", str(self.port), "--bind", "127.0.0.1"),
                *("--save", "", "--appendonly", "no", "--dir", str(self.directory)),
            ],
            stdout=subprocess.DEVNULL,
        )
        client = redis.Redis(port=self.port, socket_timeout=0.5)
        for _ in range(100):
            try:
                client.ping()
                return
            except redis.ConnectionError:
                time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(10)

    def freeze(self) -> None:
        self.process.send_signal(signal.SIGSTOP)

    def thaw(self) -> None:
        self.process.send_signal(signal.SIGCONT)


@pytest.fixture
def own_redis(tmp_path, transactional_db, settings):
    """Broker, cache and sessions on a Redis of the test's own (tasks are sent, not run
    inline)."""
    if shutil.which("redis-server") is None:
        pytest.skip("needs redis-server (.ci/run installs it)")
    server = RedisProcess(tmp_path)
    server.start()
    settings.CACHES = {
        "default": {
            "BACKEND": "core.cache.ResilientRedisCache",
            "LOCATION": server.url,
            "OPTIONS": {"socket_connect_timeout": 0.3, "socket_timeout": 0.3},
        }
    }
    settings.SHARED_CACHE = True
    # as CACHE_URL sets it: sessions read from Redis, written through to the database
    settings.SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
    celery_app.conf.update(task_always_eager=False)
    try:
        with broker_at(server.url):
            yield server
    finally:
        server.thaw()
        server.process.kill()
        server.process.wait(10)
        celery_app.conf.update(task_always_eager=True)
        core_cache._down_until = 0.0


def record_and_read(acme, tree, client, values) -> list[tuple[str, int, float]]:
    """Record each value through the API and the page in turn, reading the dashboard
    and My work between them: (what, status, seconds) of every request."""
    api = client_for(acme.member)
    client.force_login(acme.member.user)
    kpi = tree.individual_kpi
    answers = []

    def timed(what, send, *args, **kwargs):
        began = time.monotonic()
        response = send(*args, **kwargs)
        answers.append((what, response.status_code, time.monotonic() - began))

    for number, value in enumerate(values):
        if number % 2:
            form = record_data(kpi, str(value))
            timed("page", client.post, f"/kpis/{kpi.pk}/record/", form, headers=HTMX)
        else:
            timed("api", api.post, f"{API}/kpis/{kpi.pk}/updates/", {"value": value})
        timed("dashboard", client.get, "/")
        timed("my work", client.get, "/my/")
    return answers


def assert_all_answered_and_saved_once(answers, kpi, values) -> None:
    failed = [(what, status) for what, status, _ in answers if status >= 300]
    assert not failed, failed
    slowest = max(seconds for *_, seconds in answers)
    assert slowest < STALL, f"a request waited {slowest:.1f} s on Redis"
    saved = list(KpiUpdate.objects.filter(kpi=kpi).order_by("id").values_list("value", flat=True))
    assert saved == [float(v) for v in values]  # each once, in order


def test_a_stopped_redis_fails_no_write_and_no_page(acme, tree, client, own_redis, caplog):
    values = [1, 2, 3, 4, 5, 6]
    record_and_read(acme, tree, client, values[:2])  # Redis up: the cache is in use
    own_redis.stop()
    with caplog.at_level(logging.WARNING):
        answers = record_and_read(acme, tree, client, values[2:])
    assert_all_answered_and_saved_once(answers, tree.individual_kpi, values)
    # what the slipping values owe waits in the outbox (tests/jobs/test_outbox.py)
    assert "broker unreachable" in caplog.text and "it stays owed in the outbox" in caplog.text
    assert "Cache unreachable" in caplog.text


def test_a_frozen_redis_stalls_no_write_and_no_page(acme, tree, client, own_redis, caplog):
    values = [1, 2, 3, 4, 5, 6]
    record_and_read(acme, tree, client, values[:2])
    own_redis.freeze()
    with caplog.at_level(logging.WARNING):
        answers = record_and_read(acme, tree, client, values[2:])
    own_redis.thaw()
    assert_all_answered_and_saved_once(answers, tree.individual_kpi, values)
    assert "broker unreachable" in caplog.text and "Cache unreachable" in caplog.text


def test_once_redis_is_back_the_cache_is_used_again(acme, tree, client, own_redis, monkeypatch):
    own_redis.stop()
    record_and_read(acme, tree, client, [1, 2])
    assert core_cache._down_until > time.monotonic()  # pausing: not asking a dead Redis
    own_redis.start()
    monkeypatch.setattr(core_cache, "_down_until", 0.0)  # as when the pause has passed
    record_and_read(acme, tree, client, [3, 4])
    assert redis.Redis(port=own_redis.port).keys("*summary:*:queued")  # a recount queued


def test_healthz_reports_the_broker_and_stays_up_without_it(client, own_redis):
    assert client.get("/healthz/").json() == {"status": "ok", "database": "ok", "broker": "ok"}
    own_redis.stop()
    response = client.get("/healthz/")
    assert response.status_code == 200  # writes still succeed: only background work waits
    assert response.json() == {"status": "ok", "database": "ok", "broker": "unreachable"}
