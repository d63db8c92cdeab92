"""The digest's SQL per batch does not grow with the people in it (SPEC §9.6): each
batch claims its rows, reads every figure of all its people, and records what went in
the same fixed number of queries, with 20 people or 60, in the first batch or the
last, and whether or not its people have reviews coming."""

from __future__ import annotations

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from reviews.digest import digests_claim, digests_send_owed

from .conftest import MONDAY_MORNING, more_people

pytestmark = [pytest.mark.django_db, pytest.mark.slow]

BATCH = 10


def per_batch(queries: list[dict]) -> list[int]:
    """The queries of each batch: a batch starts with its claim (SELECT … FOR UPDATE
    SKIP LOCKED of the digest rows). The savepoints around the claim are the test's
    transaction's (the job runs in autocommit: BEGIN and COMMIT there), not counted."""
    batches: list[int] = []
    for query in queries:
        sql = query["sql"]
        if "SAVEPOINT" in sql.split(" ", 2)[:2]:
            continue
        if sql.startswith("SELECT") and sql.endswith("SKIP LOCKED"):
            batches.append(0)
        batches[-1] += 1
    return batches


def send_in_batches(settings) -> tuple[list[int], int]:
    settings.DIGEST_BATCH_SIZE = BATCH
    with time_machine.travel(MONDAY_MORNING, tick=False):
        digests_claim(MONDAY_MORNING)
        with CaptureQueriesContext(connection) as sql:
            sent = digests_send_owed(MONDAY_MORNING)
    return per_batch(sql.captured_queries), sent


@pytest.mark.parametrize("extra", [20, 60])
def test_each_batch_takes_the_same_queries_at_any_size(week, acme, smtp, settings, extra):
    more_people(acme, extra, prefix=f"p{extra}-")
    batches, sent = send_in_batches(settings)
    people = 8 + extra  # Acme's eight and the extra ones, all active
    assert len(batches) == -(-people // BATCH)
    # claim (2), goals, KPIs, actions, reviews, departments, participants, the record (1)
    assert batches == [9] * len(batches)
    assert sent == len(smtp.digests()) == 5 + extra


def test_a_batch_without_reviews_coming_takes_two_queries_fewer(acme, smtp, settings):
    more_people(acme, 20, prefix="q")
    batches, sent = send_in_batches(settings)
    assert batches == [7] * 3
    assert sent == 20
