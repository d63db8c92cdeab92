from __future__ import annotations

from celery import shared_task

from .models import Cycle
from .rollup import cycle_rollup


@shared_task
def cycle_rollup_task(cycle_id: int) -> int:
    """Recompute one cycle's stored progress and health."""
    cycle = Cycle.objects.select_related("organization").filter(pk=cycle_id).first()
    return cycle_rollup(cycle) if cycle else 0


@shared_task
def rollup_all_cycles() -> int:
    """Recompute every cycle: health moves with the calendar even without updates."""
    return sum(cycle_rollup(cycle) for cycle in Cycle.objects.select_related("organization"))
