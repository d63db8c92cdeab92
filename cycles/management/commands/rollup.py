from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from cycles.history import cycle_history
from cycles.models import Cycle
from kpis.models import Kpi
from kpis.rollup import cycle_drift, cycle_rollup

SHOWN = 20  # drifting rows named per cycle by --check


class Command(BaseCommand):
    help = (
        "Recompute the stored progress and health of every cycle (repairs any drift); with "
        "--history, also rebuild each cycle's progress history from its KPI updates; with "
        "--check, write nothing: name the rows that drift and exit 1 if any does."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--cycle", type=int, help="only this cycle id")
        parser.add_argument(
            "--history",
            action="store_true",
            help="rebuild the progress history (a point per goal and KPI per day it changed)",
        )
        parser.add_argument(
            "--check",
            action="store_true",
            help="write nothing; list the KPIs and goals whose stored figures drift, exit 1 if any",
        )

    def handle(
        self,
        *args: Any,
        cycle: int | None = None,
        history: bool = False,
        check: bool = False,
        **options: Any,
    ) -> None:
        cycles = Cycle.objects.select_related("organization").order_by("id")
        if cycle is not None:
            cycles = cycles.filter(pk=cycle)
        if check:
            self.check_drift(list(cycles))
            return
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

    def check_drift(self, cycles: list[Cycle]) -> None:
        """Each cycle's drifting rows, stored → computed, read in a transaction that
        writes nothing."""
        drifting = 0
        for each in cycles:
            with transaction.atomic():
                drift = cycle_drift(each, today=each.organization.today())
                stored_kpis = {
                    row["id"]: f"{row['progress']} {row['health']}"
                    for row in Kpi.objects.filter(
                        pk__in=[kpi.id for kpi in drift.kpis[:SHOWN]]
                    ).values("id", "progress", "health")
                }
            stored_goals = {goal.id: goal for goal in drift.goals}
            rows = len(drift.kpis) + len(drift.changed_goals)
            drifting += rows
            self.stdout.write(f"{each.organization.name} / {each.name}: {rows} rows drift")
            for kpi in drift.kpis[:SHOWN]:
                self.stdout.write(
                    f"  KPI {kpi.id}: stored {stored_kpis.get(kpi.id, '?')}"
                    f" → computed {kpi.progress} {kpi.health}"
                )
            for goal in drift.changed_goals[:SHOWN]:
                was = stored_goals[goal.id]
                self.stdout.write(
                    f"  goal {goal.id}: stored {was.progress} {was.health}"
                    f" → computed {goal.progress} {goal.health}"
                )
        if drifting:
            raise CommandError(
                f"{drifting} rows drift from their inputs: `manage.py rollup` repairs them."
            )
        self.stdout.write(self.style.SUCCESS("No drift: every stored figure is as computed."))
