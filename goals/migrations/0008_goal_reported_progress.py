"""Goal.reported_progress (SPEC §9.3): the weighted mean of only the parts that have
data, which health now grades. Filled per goal from the leaves up, as the roll-up keeps
it — active KPIs with a value at their progress, child goals that reported something at
their reported progress, done ones at 100, cancelled ones left out; a done goal reads
100, a goal with nothing reported None — and each goal's health graded anew from it on
its organization's today, so a migrated database reads as a full roll-up would."""

import datetime as dt
import zoneinfo
from collections import defaultdict

from django.db import migrations, models

LEVELS = ["individual", "team", "department", "strategic"]  # deepest first


def grade(goal, reported, today):
    """goals.progress.goal_health as this migration was written."""
    if goal["state"] == "cancelled":
        return "cancelled"
    if goal["state"] == "done" or goal["progress"] >= 100:
        return "done"
    if today < goal["start"]:
        return "not_started"
    if reported is None:
        return "no_data"
    span = (goal["due"] - goal["start"]).days
    if span <= 0:
        expected = 100.0 if today >= goal["due"] else 0.0
    else:
        expected = 100.0 * max(0.0, min(1.0, (today - goal["start"]).days / span))
    if reported >= expected - 10:
        return "on_track"
    if reported >= expected - 25:
        return "at_risk"
    return "off_track"


def fill(apps, schema_editor):
    Goal = apps.get_model("goals", "Goal")
    Kpi = apps.get_model("kpis", "Kpi")
    Organization = apps.get_model("org", "Organization")
    now = dt.datetime.now(dt.UTC)
    today = {
        pk: now.astimezone(zoneinfo.ZoneInfo(zone)).date()
        for pk, zone in Organization.objects.values_list("pk", "timezone")
    }
    parts = defaultdict(list)  # goal id → [(weight, reported progress)]
    kpis = Kpi.objects.filter(state="active", current__isnull=False).order_by("id")
    for goal_id, weight, progress in kpis.values_list("goal_id", "weight", "progress"):
        parts[goal_id].append((weight, progress))
    fields = ("id", "organization_id", "parent_id", "level", "state", "weight", "start", "due")
    goals = Goal.objects.order_by("id").values(*fields, "progress", "health")
    changed = []
    for goal in sorted(goals, key=lambda goal: LEVELS.index(goal["level"])):
        total = sum(weight for weight, _progress in parts[goal["id"]])
        if goal["state"] == "done":
            reported = 100.0
        elif total > 0:
            mean = sum(weight * progress for weight, progress in parts[goal["id"]]) / total
            reported = max(0.0, min(100.0, mean))
        else:
            reported = None
        if goal["parent_id"] is not None and goal["state"] != "cancelled" and reported is not None:
            parts[goal["parent_id"]].append((goal["weight"], reported))
        health = grade(goal, reported, today[goal["organization_id"]])
        if reported is not None or health != goal["health"]:
            changed.append(Goal(id=goal["id"], reported_progress=reported, health=health))
    Goal.objects.bulk_update(changed, ["reported_progress", "health"], batch_size=1000)


class Migration(migrations.Migration):
    dependencies = [
        ("goals", "0007_cycles_move_out"),
    ]

    operations = [
        migrations.AddField(
            model_name="goal",
            name="reported_progress",
            field=models.FloatField(blank=True, editable=False, null=True),
        ),
        migrations.RunPython(fill, migrations.RunPython.noop),
    ]
