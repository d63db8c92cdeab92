"""Nothing owed is lost when the broker is down (SPEC §9.4). The test's own Redis is
killed; values that change a KPI's health are recorded through the API; every one is
saved, and what they owe — the goal owner's notifications and the webhook deliveries —
waits in the outbox. Redis comes back, a real worker runs the minute's sweeps (as beat
would), and every owed notification and delivery exists exactly once, each delivery
received once by a real HTTP receiver; sweeping again changes nothing."""

from __future__ import annotations

import json
import shutil

import pytest
from celery.contrib.testing.worker import start_worker
from django.db import transaction

from cascade.celery import app as celery_app
from kpis.models import KpiUpdate
from kpis.services import kpi_create, kpi_record_value
from org.models import Notification, OwedJob, WebhookDelivery
from org.outbox import sweep_owed_jobs
from org.webhooks import resend_due_webhooks, webhook_create

from ..api.helpers import API, client_for
from .conftest import broker_at, until
from .test_redis_faults import RedisProcess
from .test_webhooks import Receiver

pytestmark = pytest.mark.slow  # run first (tests/conftest.py)


@pytest.fixture
def own_broker(tmp_path, transactional_db, settings):
    """A Redis of the test's own as the broker (tasks are sent, not run inline), with
    results stored there so the test can wait on the sweeps."""
    if shutil.which("redis-server") is None:
        pytest.skip("needs redis-server (.ci/run installs it)")
    server = RedisProcess(tmp_path)
    server.start()
    celery_app.conf.update(task_always_eager=False, result_backend=server.url)
    celery_app._backend_cache = None
    celery_app._local.backend = None
    try:
        with broker_at(server.url):
            yield server
    finally:
        server.process.kill()
        server.process.wait(10)
        celery_app.conf.update(task_always_eager=True, result_backend=None)
        celery_app._backend_cache = None
        celery_app._local.backend = None


@pytest.fixture
def hook(settings, acme):
    settings.OUTBOUND_ALLOW_PRIVATE = True  # the receiver is on 127.0.0.1
    receiver = Receiver([])
    webhook_create(
        actor=acme.admin, url=receiver.url, events=["kpi.update_recorded", "goal.health_changed"]
    )
    yield receiver
    receiver.close()


def received(receiver: Receiver) -> list[dict]:
    return [json.loads(body) for _, _, body in receiver.seen]


def test_with_the_broker_down_health_notifications_and_deliveries_wait_and_go_out_once(
    acme, tree, own_broker, hook, caplog
):
    kpi = kpi_create(  # on the department goal, owned by max: the leader's values notify him
        actor=acme.leader, goal=tree.department, name="Uptime", unit="%", baseline=0, target=100
    )
    own_broker.stop()
    leader = client_for(acme.leader)
    for value in (100, 0, 100, 0):  # done, slips, done, slips: two notifications owed
        answer = leader.post(f"{API}/kpis/{kpi.pk}/updates/", {"value": value})
        assert answer.status_code == 201, answer.content

    updates = list(KpiUpdate.objects.filter(kpi=kpi).order_by("id").values_list("pk", flat=True))
    assert len(updates) == 4  # every write saved
    assert not Notification.objects.filter(kind="kpi_health").exists()  # nothing sent yet
    assert OwedJob.objects.filter(done_at=None).count() == 2  # one per slip
    owed_deliveries = set(WebhookDelivery.objects.values_list("pk", flat=True))
    assert WebhookDelivery.objects.filter(state="pending").count() == len(owed_deliveries)
    assert hook.seen == []
    assert "it stays owed in the outbox, and the sweep does it" in caplog.text

    own_broker.start()  # Redis is back, empty: every task sent while it was down is gone
    with start_worker(celery_app, pool="threads", concurrency=2, perform_ping_check=False):
        for sweep in (sweep_owed_jobs, resend_due_webhooks):
            sweep.delay().get(timeout=30)
        until(lambda: len(hook.seen) >= len(owed_deliveries))
        for sweep in (sweep_owed_jobs, resend_due_webhooks):  # a second minute: nothing new
            sweep.delay().get(timeout=30)

    notified = Notification.objects.filter(member=acme.manager, kind="kpi_health")
    assert sorted(notified.values_list("key", flat=True)) == [
        f"kpi_health:{updates[1]}",
        f"kpi_health:{updates[3]}",
    ]
    assert not OwedJob.objects.filter(done_at=None).exists()
    assert set(WebhookDelivery.objects.values_list("state", flat=True)) == {"delivered"}
    events = received(hook)
    assert sorted(event["id"] for event in events) == sorted(owed_deliveries)  # once each
    told = [event["data"]["update"] for event in events if event["event"] == "kpi.update_recorded"]
    assert sorted(told) == updates  # each value told once
    moved = [event["data"]["to"] for event in events if event["event"] == "goal.health_changed"]
    assert moved  # the department goal's health moved with its KPI, and was told


def test_a_write_that_rolls_back_owes_nothing(acme, tree, own_broker, hook):
    kpi = kpi_create(
        actor=acme.leader, goal=tree.department, name="Uptime", unit="%", baseline=0, target=100
    )
    kpi_record_value(actor=acme.leader, kpi=kpi, value=100)
    before = (OwedJob.objects.count(), WebhookDelivery.objects.count())
    assert before[1] > 0
    with pytest.raises(RuntimeError), transaction.atomic():
        kpi_record_value(actor=acme.leader, kpi=kpi, value=0)  # a slip, then a failure
        raise RuntimeError("the request fails after the value")
    assert (OwedJob.objects.count(), WebhookDelivery.objects.count()) == before
