"""Request ids (README, "Configuration"): a sound incoming X-Request-ID, or a new one,
is answered in the response, written in the request's log lines, and shown on the 500
page and in a 5xx JSON body. Through Django's whole stack (the test client, DEBUG off).
The 503 of a database outage: tests/test_operations.py. The same through gunicorn and
a real worker, reading their log output: tests/jobs/test_request_ids_in_logs.py."""

from __future__ import annotations

import logging
import re

import pytest
from django.test import Client, override_settings
from log_request_id.filters import RequestIDFilter

NEW_ID = re.compile(r"^[0-9a-f]{32}$")  # django-log-request-id's: a uuid4 in hex
SOUND = "trace-7f3a 2027/03/15 #42 (from the BI tool)"  # printable ASCII, with spaces


@pytest.mark.django_db
@pytest.mark.parametrize(
    "sent",
    [SOUND, "a" * 64, "x"],
    ids=["printable with spaces and punctuation", "64 characters", "one character"],
)
def test_a_sound_request_id_is_answered_as_sent(sent):
    response = Client().get("/healthz/", headers={"X-Request-ID": sent})

    assert response.status_code == 200
    assert response["X-Request-ID"] == sent


@pytest.mark.django_db
@pytest.mark.parametrize(
    "sent",
    ["a" * 65, "ab\x01cd", "tab\there", "del\x7f", "caf\u00e9", ""],
    ids=["65 characters", "a control character", "a tab", "DEL", "not ASCII", "empty"],
)
def test_an_unsound_request_id_is_replaced_by_a_new_one(sent):
    response = Client().get("/healthz/", headers={"X-Request-ID": sent})

    assert NEW_ID.match(response["X-Request-ID"]), response["X-Request-ID"]


@pytest.mark.django_db
def test_without_a_request_id_each_answer_has_a_new_one():
    first, second = (Client().get("/healthz/")["X-Request-ID"] for _ in range(2))

    assert NEW_ID.match(first) and NEW_ID.match(second) and first != second


@pytest.fixture(autouse=True)
def _ids_in_caplog(caplog):
    """caplog's records carry the request id, as the console handler's do."""
    caplog.handler.addFilter(RequestIDFilter())


def _broken_static_storage(tmp_path):
    """The production storage without `collectstatic` (an empty STATIC_ROOT): every
    page naming a static file fails, a real server error."""
    return override_settings(
        DEBUG=False,
        STATIC_ROOT=str(tmp_path),
        STORAGES={
            "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
            "staticfiles": {
                "BACKEND": "django.contrib.staticfiles.storage.ManifestStaticFilesStorage"
            },
        },
    )


@pytest.mark.django_db
def test_the_500_page_shows_the_request_id_that_is_in_its_log_line(tmp_path, caplog):
    client = Client(raise_request_exception=False)
    with _broken_static_storage(tmp_path), caplog.at_level(logging.ERROR):
        response = client.get("/accounts/login/", headers={"X-Request-ID": SOUND})

    assert response.status_code == 500
    assert response["X-Request-ID"] == SOUND
    assert f"<code>{SOUND}</code>" in response.content.decode()
    (logged,) = [r for r in caplog.records if r.name == "django.request"]
    assert logged.request_id == SOUND
    assert logged.exc_info  # a server error keeps its traceback


@pytest.mark.django_db
def test_an_api_500_body_has_the_request_id(acme, caplog):
    """A malformed rate (the period "fortnight") breaks every API call: a 500."""
    client = Client(raise_request_exception=False)
    client.force_login(acme.admin.user)
    rates = {"caller": "10/fortnight", "address": "10/fortnight"}
    with override_settings(API_THROTTLE_RATES=rates), caplog.at_level(logging.ERROR):
        response = client.get("/api/v1/kpis/")

    assert response.status_code == 500
    body = response.json()
    assert body["request_id"] == response["X-Request-ID"]
    assert NEW_ID.match(body["request_id"])
    (logged,) = [r for r in caplog.records if r.name == "django.request"]
    assert logged.request_id == body["request_id"]
