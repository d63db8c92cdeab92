"""SPEC §9.7 rate-limit headers: every API answer (a 200, a 4xx, a 429 beside its
`Retry-After`) says the throttles' policies and where the caller stands under each, in
the IETF draft httpapi-ratelimit-headers' structured fields, counted in Redis. With the
cache down, requests are answered and the fields left out (they could not be read)."""

from __future__ import annotations

import re

import pytest
import redis
from django.core.cache import cache
from drf_spectacular.generators import SchemaGenerator
from rest_framework.test import APIClient

from core import cache as core_cache

from .helpers import API, client_for

pytestmark = pytest.mark.django_db

REDIS = "redis://127.0.0.1:6379/13"
# "caller";r=4;t=60, "address";r=99;t=60
ITEM = re.compile(r'^"(?P<policy>[a-z]+)";r=(?P<r>\d+);t=(?P<t>\d+)$')


def standing(response) -> dict[str, tuple[int, int]]:
    """The RateLimit field parsed: policy → (remaining, seconds)."""
    found = {}
    for item in response["RateLimit"].split(", "):
        match = ITEM.match(item)
        assert match, response["RateLimit"]
        found[match["policy"]] = (int(match["r"]), int(match["t"]))
    return found


@pytest.fixture
def redis_cache(settings):
    """The throttles' counts in a real Redis, as CACHE_URL sets it."""
    settings.CACHES = {
        "default": {
            "BACKEND": "core.cache.ResilientRedisCache",
            "LOCATION": REDIS,
            # roomier than production's 0.3 s: a loaded test machine is not a Redis outage
            "OPTIONS": {"socket_connect_timeout": 5, "socket_timeout": 5},
        }
    }
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def rates(settings):
    def set_rates(caller: str, address: str) -> None:
        settings.API_THROTTLE_RATES = {"caller": caller, "address": address}

    return set_rates


def test_a_200_says_both_policies_and_the_remaining_count_falls_with_each_request(
    acme, redis_cache, rates
):
    rates(caller="5/minute", address="100/minute")
    client = client_for(acme.member)
    answers = [client.get(f"{API}/goals/") for _ in range(5)]
    assert {a.status_code for a in answers} == {200}
    for answer in answers:
        assert answer["RateLimit-Policy"] == '"caller";q=5;w=60, "address";q=100;w=60'
    seen = [standing(a) for a in answers]
    assert [s["caller"][0] for s in seen] == [4, 3, 2, 1, 0]
    assert [s["address"][0] for s in seen] == [99, 98, 97, 96, 95]
    assert seen[0]["caller"][1] == 60  # only this request counted: a whole window
    assert all(0 < s["caller"][1] <= 60 for s in seen)
    # counted in Redis itself
    stored = redis.Redis.from_url(REDIS).keys(f"*throttle_caller_user-{acme.member.user.pk}")
    assert len(stored) == 1


def test_a_429_keeps_retry_after_and_says_nothing_is_left(acme, redis_cache, rates):
    rates(caller="2/minute", address="100/minute")
    client = client_for(acme.member)
    assert [client.get(f"{API}/me/").status_code for _ in range(2)] == [200, 200]
    refused = client.get(f"{API}/me/")
    assert refused.status_code == 429
    remaining, reset = standing(refused)["caller"]
    assert remaining == 0
    # RateLimit's window ends no later than Retry-After says to come back (the draft)
    assert 0 < reset <= int(refused["Retry-After"]) <= 60
    assert refused["RateLimit-Policy"].startswith('"caller";q=2;w=60')
    assert standing(refused)["address"][0] == 97  # the refused request is not counted


def test_4xx_answers_carry_the_fields_too(acme, tree, redis_cache, rates):
    rates(caller="50/minute", address="100/minute")
    client = client_for(acme.member)
    answers = {
        404: client.get(f"{API}/goals/{10**9}/"),
        400: client.post(f"{API}/kpis/{tree.individual_kpi.pk}/updates/", {"value": "x"}),
        403: client.post(
            f"{API}/goals/", {"cycle": acme.cycle.pk, "level": "strategic", "title": "Mine"}
        ),
        405: client.put(f"{API}/goals/{tree.individual.pk}/", {}),
        415: client.post(f"{API}/goals/", "title=x", content_type="text/plain"),
    }
    for status, answer in answers.items():
        assert answer.status_code == status, (status, answer.content)
        assert answer["RateLimit-Policy"] == '"caller";q=50;w=60, "address";q=100;w=60'
    assert [standing(a)["caller"][0] for a in answers.values()] == [49, 48, 47, 46, 45]


def test_an_answer_refused_before_the_throttles_reports_the_standing_uncounted(
    acme, redis_cache, rates
):
    rates(caller="50/minute", address="100/minute")
    stranger = APIClient()
    stranger.credentials(HTTP_AUTHORIZATION="Token cas_not-a-token")
    first, second = stranger.get(f"{API}/goals/"), stranger.get(f"{API}/goals/")
    assert first.status_code == second.status_code == 401
    assert standing(first) == standing(second)  # looked at, not counted
    assert standing(first)["address"][0] == 100
    anonymous = APIClient().get(f"{API}/goals/")
    assert anonymous.status_code in (401, 403)
    assert standing(anonymous)["address"][0] == 100


def test_a_304_and_a_412_carry_the_fields(acme, tree, redis_cache, rates):
    rates(caller="50/minute", address="100/minute")
    client = client_for(acme.leader)
    url = f"{API}/goals/{tree.individual.pk}/"
    etag = client.get(url)["ETag"]
    unchanged = client.get(url, HTTP_IF_NONE_MATCH=etag)
    stale = client.patch(url, {"title": "x"}, format="json", HTTP_IF_MATCH='"older"')
    assert (unchanged.status_code, stale.status_code) == (304, 412)
    assert [standing(a)["caller"][0] for a in (unchanged, stale)] == [48, 47]


def test_with_redis_down_requests_are_answered_without_the_fields(acme, tree, settings, rates):
    rates(caller="1/minute", address="1/minute")
    settings.CACHES = {
        "default": {
            "BACKEND": "core.cache.ResilientRedisCache",
            "LOCATION": "redis://127.0.0.1:9/0",  # nothing listens there
            "OPTIONS": {"socket_connect_timeout": 0.3, "socket_timeout": 0.3},
        }
    }
    try:
        client = client_for(acme.member)
        answers = [client.get(f"{API}/goals/") for _ in range(3)]
        answers.append(client.post(f"{API}/kpis/{tree.individual_kpi.pk}/updates/", {"value": 5}))
        answers.append(APIClient().get(f"{API}/goals/"))  # refused before the throttles
        assert [a.status_code for a in answers][:4] == [200, 200, 200, 201]
        assert answers[4].status_code in (401, 403)
        for answer in answers:
            assert "RateLimit" not in answer and "RateLimit-Policy" not in answer
    finally:
        core_cache._down_until = 0.0  # the next test's cache is up


def test_with_a_cache_that_raises_requests_are_answered_without_the_fields(acme, settings, rates):
    rates(caller="1/minute", address="1/minute")
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:9/0",
        }
    }
    client = client_for(acme.member)
    answers = [client.get(f"{API}/me/") for _ in range(2)] + [APIClient().get(f"{API}/me/")]
    assert [a.status_code for a in answers][:2] == [200, 200]
    assert answers[2].status_code in (401, 403)
    assert not any("RateLimit" in a for a in answers)


def test_the_schema_documents_the_fields_on_every_answer():
    schema = SchemaGenerator().get_schema(request=None, public=True)
    assert set(schema["components"]["headers"]) == {"RateLimit-Policy", "RateLimit"}
    for operations in schema["paths"].values():
        for operation in operations.values():
            for answer in operation["responses"].values():
                assert answer["headers"]["RateLimit"] == {"$ref": "#/components/headers/RateLimit"}
    too_many = schema["paths"][f"{API}/goals/"]["get"]["responses"]["429"]["headers"]
    assert {"Retry-After", "RateLimit", "RateLimit-Policy"} <= set(too_many)
