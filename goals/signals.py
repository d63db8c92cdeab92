"""Telling the keepers of whole-cycle figures that a cycle changed.

Every change to a cycle's goals or KPIs ends in a roll-up that reports the cycle
changed; once the change commits, `cycles_committed` goes out with the cycles' ids
(cycles/summary.py recounts the dashboard's figures). Nothing is sent for a change that
rolls back."""

from __future__ import annotations

from django.db import transaction
from django.dispatch import Signal

# Sent with `cycle_ids`, a set, after the change to those cycles committed.
cycles_committed = Signal()


def cycles_changed(cycle_ids: set[int]) -> None:
    """Once the current transaction commits, tell the keepers these cycles changed."""
    if cycle_ids:
        ids = set(cycle_ids)
        transaction.on_commit(
            lambda: cycles_committed.send(sender=None, cycle_ids=ids), robust=True
        )
