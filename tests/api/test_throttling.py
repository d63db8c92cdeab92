"""SPEC §8.2 API throttling (DRF's throttles): each caller and each address has a rate,
set from the environment; over it, 429 with `Retry-After`, and nothing is done."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from kpis.models import KpiUpdate
from org.tokens import service_token_create

from .helpers import API, client_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def rates(settings):
    def set_rates(caller: str, address: str) -> None:
        settings.API_THROTTLE_RATES = {"caller": caller, "address": address}

    return set_rates


def test_a_caller_over_the_rate_gets_429_with_retry_after_and_others_go_on(acme, tree, rates):
    rates(caller="3/minute", address="1000/minute")
    sam, max_ = client_for(acme.member), client_for(acme.manager)
    assert [sam.get(f"{API}/goals/").status_code for _ in range(3)] == [200, 200, 200]
    refused = sam.post(f"{API}/kpis/{tree.individual_kpi.pk}/updates/", {"value": 5}, format="json")
    assert refused.status_code == 429
    assert 0 < int(refused["Retry-After"]) <= 60
    assert not KpiUpdate.objects.exists()
    assert max_.get(f"{API}/goals/").status_code == 200  # his own budget


def test_a_person_shares_one_budget_across_their_tokens_a_service_token_has_its_own(acme, rates):
    rates(caller="2/minute", address="1000/minute")
    first, second = client_for(acme.admin), client_for(acme.admin)  # two tokens of ada's
    assert [c.get(f"{API}/me/").status_code for c in (first, second, first)] == [200, 200, 429]
    _, key = service_token_create(actor=acme.admin, name="Sync")
    sync = APIClient()
    sync.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert sync.get(f"{API}/me/").status_code == 200


def test_an_address_over_its_rate_is_refused_whoever_calls_from_it(acme, rates):
    rates(caller="1000/minute", address="4/minute")
    sam, max_ = client_for(acme.member), client_for(acme.manager)
    answers = [c.get(f"{API}/me/").status_code for c in (sam, max_, sam, max_, sam)]
    assert answers == [200, 200, 200, 200, 429]
    assert max_.get(f"{API}/me/", REMOTE_ADDR="198.51.100.20").status_code == 200


def test_the_token_endpoint_is_throttled_by_address_too(acme, rates):
    rates(caller="1000/minute", address="2/minute")
    client = client_for(acme.member)
    body = {"username": "sam", "password": "pw-cascade-test"}
    answers = [client.post(f"{API}/auth/token/", body).status_code for _ in range(3)]
    assert answers == [200, 200, 429]


def test_with_the_cache_unreachable_requests_go_through_unthrottled(
    acme, tree, rates, settings, caplog
):
    rates(caller="1/minute", address="1/minute")
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:9/0",  # nothing listens there
        }
    }
    sam = client_for(acme.member)
    assert [sam.get(f"{API}/me/").status_code for _ in range(3)] == [200, 200, 200]
    response = sam.post(
        f"{API}/kpis/{tree.individual_kpi.pk}/updates/", {"value": 5}, format="json"
    )
    assert response.status_code == 201, response.content
    assert "API throttle skipped: the cache is unreachable" in caplog.text
