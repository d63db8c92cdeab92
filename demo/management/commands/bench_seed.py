"""Build a large organization for the benchmarks (see README, "Benchmarks")."""

from __future__ import annotations

import random
import time

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import connection

from demo.bench import build, org_name
from org.models import Department, Member, Organization


class Command(BaseCommand):
    help = (
        "Build the benchmark organization “Bench N”: N people in departments and teams, "
        "5 strategic objectives, ~3 goals, 6 KPIs and 60 values per person. PostgreSQL only."
    )

    def add_arguments(self, parser):
        parser.add_argument("--people", type=int, default=10000)
        parser.add_argument("--seed", type=int, default=7)
        parser.add_argument(
            "--reset", action="store_true", help="delete and rebuild it if it exists"
        )

    def handle(self, *args, people, seed, reset, **options):
        if connection.vendor != "postgresql":
            raise CommandError("bench_seed writes with COPY: point DATABASE_URL at PostgreSQL.")
        if people < 50:
            raise CommandError("--people must be at least 50.")
        existing = Organization.objects.filter(name=org_name(people)).first()
        if existing and not reset:
            self.stdout.write(f"“{existing.name}” exists already (use --reset to rebuild).")
            return
        started = time.perf_counter()
        if existing:
            self._delete(existing)
        counts = build(people, random.Random(seed), self.stdout.write)
        self.stdout.write(
            self.style.SUCCESS(
                f"Built “{org_name(people)}” in {time.perf_counter() - started:.0f} s: "
                + ", ".join(f"{n:,} {what}" for what, n in counts.items())
            )
        )

    def _delete(self, organization: Organization) -> None:
        with connection.cursor() as cursor:
            org = organization.pk
            cursor.execute(
                "DELETE FROM kpis_kpiupdate WHERE kpi_id IN "
                "(SELECT id FROM kpis_kpi WHERE organization_id = %s)",
                [org],
            )
            for table in ("kpis_checkinreminder", "org_notification"):
                cursor.execute(
                    f"DELETE FROM {table} WHERE member_id IN "
                    "(SELECT id FROM org_member WHERE organization_id = %s)",
                    [org],
                )
            cursor.execute("DELETE FROM kpis_kpi WHERE organization_id = %s", [org])
            cursor.execute(
                "UPDATE goals_goal SET parent_id = NULL, level = 'strategic' "
                "WHERE organization_id = %s",
                [org],
            )
            cursor.execute("DELETE FROM goals_goal WHERE organization_id = %s", [org])
        users = list(
            Member.objects.filter(organization=organization).values_list("user_id", flat=True)
        )
        Department.objects.filter(organization=organization).update(head=None, parent=None)
        organization.delete()
        get_user_model().objects.filter(pk__in=users).delete()
