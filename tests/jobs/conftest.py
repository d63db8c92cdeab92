"""Job tests: a real Celery worker (threads in this process) consuming from the real
Redis broker named by CELERY_BROKER_URL. Without it they skip locally; in CI they
must run (a skip fails there)."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from contextlib import contextmanager

import pytest
import redis
from celery.contrib.testing.worker import start_worker

from cascade.celery import app as celery_app


def _broker() -> str:
    """The broker for this test process: with pytest-xdist each worker takes its own
    Redis database (15, 14, …) so their queues and purges never meet."""
    url = os.getenv("CELERY_BROKER_URL", "")
    if not url.startswith("redis"):
        pytest.skip("needs Redis: set CELERY_BROKER_URL=redis://127.0.0.1:6379/15 (.ci/run does)")
    worker = int(os.getenv("PYTEST_XDIST_WORKER", "gw0")[2:])
    base, _, db = url.rpartition("/")
    return f"{base}/{int(db or 0) - worker}" if worker else url


@contextmanager
def broker_at(url: str):
    """Point the app's producers at `url` for the duration (new connection pools).
    Celery reads CELERY_BROKER_URL from the environment before its own settings."""
    saved = os.environ.get("CELERY_BROKER_URL")
    os.environ["CELERY_BROKER_URL"] = url
    celery_app._pool = None
    celery_app.amqp._producer_pool = None
    try:
        yield
    finally:
        if saved is None:
            os.environ.pop("CELERY_BROKER_URL", None)
        else:
            os.environ["CELERY_BROKER_URL"] = saved
        celery_app._pool = None
        celery_app.amqp._producer_pool = None


@pytest.fixture
def broker(transactional_db):
    """The real broker, empty, with results stored there so tests can wait on tasks.
    Empty means the whole Redis database: a task left unacknowledged by a killed
    worker would otherwise come back in a later test (time travel makes it look old)."""
    url = _broker()
    celery_app.conf.update(task_always_eager=False, result_backend=url)
    _forget_result_backend()
    redis.Redis.from_url(url).flushdb()
    with broker_at(url):
        yield celery_app
    celery_app.conf.update(result_backend=None)
    _forget_result_backend()


def _forget_result_backend() -> None:
    """The app caches its result backend; make it read the configuration again."""
    celery_app._backend_cache = None
    celery_app._local.backend = None


@pytest.fixture
def worker(broker):
    """A worker with two threads, so two tasks can truly run at once."""
    with start_worker(
        broker,
        pool="threads",
        concurrency=2,
        perform_ping_check=False,
        loglevel="WARNING",
        shutdown_timeout=30,
    ):
        yield broker


def wait(results, timeout: float = 60):
    """Each task's return value, once the worker has run it."""
    return [result.get(timeout=timeout) for result in results]


def until[T](
    condition: Callable[[], T],
    timeout: float = 30.0,
    what: str = "it",
    explain: Callable[[], str] = lambda: "",
) -> T:
    """Poll `condition` (a worker's or a server's work showing in the database, a log,
    a receiver) until it is truthy, and return it; fail after `timeout` seconds, naming
    `what` and adding `explain()` (a log's tail, say). No assertion on how long it took."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"{what} did not happen within {timeout} s{explain()}")
