"""GoalPoint.reported_progress (SPEC §9.3): a goal's health on a past day grades the
mean of only the parts that had data that day. A goal's reported progress may change on
a day its progress does not (a first value at the baseline beside others), so the goal
points are rebuilt, cycle by cycle, from the stored KPI points and the tree as
cycles/history.py builds them (`manage.py rollup --history` finds nothing to change)."""

import math
from bisect import bisect_right
from collections import defaultdict

from django.db import migrations, models

LEVELS = ["individual", "team", "department", "strategic"]  # deepest first


def _standing(series, day):
    """The point standing on `day` (the last one dated on or before it), or None."""
    i = bisect_right([point[0] for point in series], day)
    return series[i - 1] if i else None


def _mean(parts):
    total = sum(weight for weight, _progress in parts)
    if total <= 0:
        return None
    return max(0.0, min(100.0, sum(weight * progress for weight, progress in parts) / total))


def _same(old, new):
    return all(
        math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)
        if isinstance(a, float) and isinstance(b, float)
        else a == b
        for a, b in zip(old, new, strict=True)
    )


def _goal_series(goal, kpis, children):
    """(day, progress, has_data, reported progress) on each day one of them changed."""
    if goal["state"] == "done":
        return [(goal["start"], 100.0, True, 100.0)]
    always_data = any(child["state"] == "done" for child, _series in children)
    days = sorted(
        {goal["start"]}
        | {point[0] for _weight, series in kpis for point in series}
        | {point[0] for _child, series in children for point in series}
    )
    points, last = [], (0.0, False, None)
    for day in days:
        parts, reported, has_data = [], [], always_data
        for weight, series in kpis:
            point = _standing(series, day)
            parts.append((weight, point[1] if point else 0.0))
            if point is not None:
                reported.append((weight, point[1]))
                has_data = True
        for child, series in children:
            if child["state"] == "done":
                parts.append((child["weight"], 100.0))
                reported.append((child["weight"], 100.0))
                continue
            point = _standing(series, day)
            if child["state"] != "cancelled":
                parts.append((child["weight"], point[1] if point else 0.0))
                if point is not None and point[3] is not None:
                    reported.append((child["weight"], point[3]))
            has_data = has_data or (point is not None and point[2])
        now = (_mean(parts) or 0.0, has_data, _mean(reported))
        if not _same(last, now):
            points.append((day, *now))
            last = now
    return points


def rebuild(apps, schema_editor):
    Cycle = apps.get_model("cycles", "Cycle")
    Goal = apps.get_model("goals", "Goal")
    Kpi = apps.get_model("kpis", "Kpi")
    GoalPoint = apps.get_model("cycles", "GoalPoint")
    KpiPoint = apps.get_model("cycles", "KpiPoint")
    for cycle_id in Cycle.objects.order_by("id").values_list("id", flat=True):
        goals = {
            goal["id"]: goal
            for goal in Goal.objects.filter(cycle_id=cycle_id)
            .order_by("id")
            .values("id", "parent_id", "level", "state", "weight", "start")
        }
        if not goals:
            continue
        kpi_series = defaultdict(list)
        kpi_points = KpiPoint.objects.filter(kpi__goal__cycle_id=cycle_id).order_by("kpi_id", "day")
        for kpi_id, day, progress in kpi_points.values_list("kpi_id", "day", "progress"):
            kpi_series[kpi_id].append((day, progress))
        kpis_of = defaultdict(list)
        active = Kpi.objects.filter(goal__cycle_id=cycle_id, state="active").order_by("id")
        for kpi_id, goal_id, weight in active.values_list("id", "goal_id", "weight"):
            kpis_of[goal_id].append((weight, kpi_series[kpi_id]))
        children = defaultdict(list)
        for goal in goals.values():
            if goal["parent_id"] is not None:
                children[goal["parent_id"]].append(goal)
        series = {}
        for goal in sorted(
            goals.values(), key=lambda goal: (LEVELS.index(goal["level"]), goal["id"])
        ):
            series[goal["id"]] = _goal_series(
                goal,
                kpis_of[goal["id"]],
                [(child, series[child["id"]]) for child in children[goal["id"]]],
            )
        GoalPoint.objects.filter(goal__cycle_id=cycle_id).delete()
        GoalPoint.objects.bulk_create(
            [
                GoalPoint(
                    goal_id=goal_id,
                    day=day,
                    progress=progress,
                    has_data=has_data,
                    reported_progress=reported,
                )
                for goal_id, points in series.items()
                for day, progress, has_data, reported in points
            ],
            batch_size=1000,
        )


class Migration(migrations.Migration):
    dependencies = [
        ("cycles", "0001_initial"),
        ("goals", "0007_cycles_move_out"),
        ("kpis", "0019_cycles_move_out"),
    ]

    operations = [
        migrations.AddField(
            model_name="goalpoint",
            name="reported_progress",
            field=models.FloatField(null=True),
        ),
        migrations.RunPython(rebuild, migrations.RunPython.noop),
    ]
