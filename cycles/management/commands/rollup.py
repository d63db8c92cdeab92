from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from cycles.history import cycle_history
from cycles.models import Cycle
from kpis.rollup import cycle_rollup


class Command(BaseCommand):
    help = (
        "Recompute the stored progress and health of every cycle (repairs any drift); with "
        "--history, also rebuild each cycle's progress history from its KPI updates."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--cycle", type=int, help="only this cycle id")
        parser.add_argument(
            "--history",
            action="store_true",
            help="rebuild the progress history (a point per goal and KPI per day it changed)",
        )

    def handle(
        self, *args: Any, cycle: int | None = None, history: bool = False, **options: Any
    ) -> None:
        cycles = Cycle.objects.select_related("organization").order_by("id")
        if cycle is not None:
            cycles = cycles.filter(pk=cycle)
        total = points = 0
        for each in cycles:
            changed = cycle_rollup(each)
            total += changed
            line = f"{each.organization.name} / {each.name}: {changed} rows changed"
            if history:
                rebuilt = cycle_history(each)
                points += rebuilt
                line += f", {rebuilt} history points rewritten"
            self.stdout.write(line)
        done = f"Roll-up done: {total} rows changed"
        if history:
            done += f", {points} history points rewritten"
        self.stdout.write(self.style.SUCCESS(done + "."))
