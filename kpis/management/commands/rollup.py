from __future__ import annotations

from django.core.management.base import BaseCommand

from goals.models import Cycle
from kpis.rollup import cycle_rollup


class Command(BaseCommand):
    help = "Recompute the stored progress and health of every cycle (repairs any drift)."

    def add_arguments(self, parser):
        parser.add_argument("--cycle", type=int, help="only this cycle id")

    def handle(self, *args, cycle=None, **options):
        cycles = Cycle.objects.select_related("organization").order_by("id")
        if cycle is not None:
            cycles = cycles.filter(pk=cycle)
        total = 0
        for each in cycles:
            changed = cycle_rollup(each)
            total += changed
            self.stdout.write(f"{each.organization.name} / {each.name}: {changed} rows changed")
        self.stdout.write(self.style.SUCCESS(f"Roll-up done: {total} rows changed."))
