"""Fill goals.Goal.has_data: a value on an active KPI at or below the goal, or a done
goal below it. Computed per cycle from the leaves up, as the roll-up keeps it."""

from django.db import migrations

LEVELS = ["individual", "team", "department", "strategic"]  # deepest first


def fill(apps, schema_editor):
    Goal = apps.get_model("goals", "Goal")
    Kpi = apps.get_model("kpis", "Kpi")
    with_data = set(
        Kpi.objects.filter(state="active", current__isnull=False).values_list("goal_id", flat=True)
    )
    goals = Goal.objects.values_list("id", "parent_id", "level", "state")
    for goal_id, parent_id, _level, state in sorted(goals, key=lambda g: LEVELS.index(g[2])):
        if parent_id is not None and (goal_id in with_data or state == "done"):
            with_data.add(parent_id)
    ids = sorted(with_data)
    for start in range(0, len(ids), 1000):
        Goal.objects.filter(id__in=ids[start : start + 1000]).update(has_data=True)


class Migration(migrations.Migration):
    dependencies = [
        ("goals", "0006_goal_has_data"),
        ("kpis", "0015_cycle_summary"),
    ]

    operations = [migrations.RunPython(fill, migrations.RunPython.noop)]
