"""Cached whole-cycle summaries and when they go stale.

Each cycle has a version in the shared cache; every change to a cycle's goals or KPIs
bumps it once the change commits, so a summary cached under the old version is never
read again (see kpis.selectors.dashboard_summary)."""

from __future__ import annotations

from django.core.cache import cache
from django.db import transaction


def _version_key(cycle_id: int) -> str:
    return f"cycle:{cycle_id}:version"


def cycle_version(cycle_id: int) -> int:
    return cache.get_or_set(_version_key(cycle_id), 1, None)


def cycles_changed(cycle_ids: set[int]) -> None:
    """Once the current transaction commits, cached summaries of these cycles are stale."""
    if cycle_ids:
        transaction.on_commit(lambda: expire_summaries(cycle_ids), robust=True)


def expire_summaries(cycle_ids) -> None:
    """Make cached summaries of these cycles stale now."""
    for cycle_id in set(cycle_ids):
        try:
            cache.incr(_version_key(cycle_id))
        except ValueError:
            cache.set(_version_key(cycle_id), 2, None)
