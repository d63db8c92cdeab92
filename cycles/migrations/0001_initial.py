"""The cycles app takes over the models of a cycle as a whole from goals (Cycle,
CyclePick) and kpis (CycleSummary, GoalPoint, KpiPoint, ImportJob). Nothing is copied:
the models are declared here as they stand in their old tables, then each table is
renamed to the app's name (its rows, ids, constraints and the foreign keys to it stay as
they are). Their content types follow, so permissions granted on them are kept. The
old apps forget the models in goals 0007 and kpis 0019; reviews 0004 points the review's
cycle here. Every step reverses."""

import django.db.models.deletion
from django.db import migrations, models

# Old app label → the models that move here.
MOVED = {
    "goals": ("cycle", "cyclepick"),
    "kpis": ("cyclesummary", "goalpoint", "kpipoint", "importjob"),
}


def _relabel(apps, schema_editor, *, forwards: bool) -> None:
    """Give the moved models' content types their new app label (or back). A content
    type the other label already has (made empty by a migrate run in between) gives way
    to the one that carries the permissions granted so far."""
    ContentType = apps.get_model("contenttypes", "ContentType")
    types = ContentType.objects.using(schema_editor.connection.alias)
    for old_label, names in MOVED.items():
        source, target = (old_label, "cycles") if forwards else ("cycles", old_label)
        for name in names:
            if types.filter(app_label=source, model=name).exists():
                types.filter(app_label=target, model=name).delete()
                types.filter(app_label=source, model=name).update(app_label=target)


def relabel(apps, schema_editor):
    _relabel(apps, schema_editor, forwards=True)


def relabel_back(apps, schema_editor):
    _relabel(apps, schema_editor, forwards=False)


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("contenttypes", "0002_remove_content_type_name"),
        ("goals", "0006_goal_has_data"),
        ("kpis", "0018_import_jobs"),
        ("org", "0005_notification_key"),
        # Every table that points at a moved one exists before the renames, so that its
        # foreign key follows them (a review's cycle).
        ("reviews", "0003_reminder_email_attempts"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="Cycle",
                    fields=[
                        ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                        ("name", models.CharField(max_length=200)),
                        ("start", models.DateField()),
                        ("end", models.DateField()),
                        ("cadence", models.CharField(choices=[("monthly", "Monthly"), ("quarterly", "Quarterly")], default="quarterly", max_length=16)),
                        ("state", models.CharField(choices=[("open", "Open"), ("closed", "Closed")], default="open", max_length=8)),
                        ("is_current", models.BooleanField(default=False, help_text="The organization's current cycle: who picked none sees it.")),
                        ("organization", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name="cycles", to="org.organization")),
                    ],
                    options={
                        "db_table": "goals_cycle",
                        "ordering": ["-start", "name"],
                        "constraints": [
                            models.CheckConstraint(condition=models.Q(("start__lt", models.F("end"))), name="cycle_start_before_end"),
                            models.UniqueConstraint(fields=("organization", "name"), name="cycle_unique_name"),
                            models.UniqueConstraint(condition=models.Q(("is_current", True)), fields=("organization",), name="cycle_one_current"),
                        ],
                    },
                ),
                migrations.CreateModel(
                    name="CyclePick",
                    fields=[
                        ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                        ("cycle", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name="+", to="cycles.cycle")),
                        ("member", models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, related_name="+", to="org.member")),
                    ],
                    options={"db_table": "goals_cyclepick"},
                ),
                migrations.CreateModel(
                    name="CycleSummary",
                    fields=[
                        ("cycle", models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, primary_key=True, related_name="summary", serialize=False, to="cycles.cycle")),
                        ("counted_on", models.DateField(help_text="The organization's day the figures are for.")),
                        ("figures", models.JSONField()),
                        ("counted_at", models.DateTimeField(auto_now=True)),
                    ],
                    options={"db_table": "kpis_cyclesummary"},
                ),
                migrations.CreateModel(
                    name="GoalPoint",
                    fields=[
                        ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                        ("day", models.DateField()),
                        ("progress", models.FloatField()),
                        ("has_data", models.BooleanField()),
                        ("goal", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name="points", to="goals.goal")),
                    ],
                    options={
                        "db_table": "kpis_goalpoint",
                        "constraints": [models.UniqueConstraint(fields=("goal", "day"), name="one_goal_point_a_day")],
                    },
                ),
                migrations.CreateModel(
                    name="KpiPoint",
                    fields=[
                        ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                        ("day", models.DateField()),
                        ("current", models.FloatField()),
                        ("progress", models.FloatField()),
                        ("kpi", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name="points", to="kpis.kpi")),
                    ],
                    options={
                        "db_table": "kpis_kpipoint",
                        "constraints": [models.UniqueConstraint(fields=("kpi", "day"), name="one_kpi_point_a_day")],
                    },
                ),
                migrations.CreateModel(
                    name="ImportJob",
                    fields=[
                        ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                        ("file_name", models.CharField(max_length=255)),
                        ("format", models.CharField(max_length=8)),
                        ("rows", models.JSONField(help_text="The file's rows as read: [line, {column: text}].")),
                        ("state", models.CharField(choices=[("queued", "Queued"), ("planning", "Reading the file"), ("previewed", "Ready to confirm"), ("importing", "Importing"), ("done", "Imported"), ("failed", "Failed")], default="queued", max_length=16)),
                        ("done", models.PositiveIntegerField(default=0)),
                        ("total", models.PositiveIntegerField(default=0)),
                        ("preview", models.JSONField(blank=True, null=True)),
                        ("result", models.JSONField(blank=True, null=True)),
                        ("error", models.TextField(blank=True)),
                        ("created_at", models.DateTimeField(auto_now_add=True)),
                        ("created_by", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name="+", to="org.member")),
                        ("cycle", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name="+", to="cycles.cycle")),
                    ],
                    options={"db_table": "kpis_importjob"},
                ),
            ],
            database_operations=[],
        ),
        # Each table takes the app's name (cycles_cycle, …): a rename, rows untouched.
        migrations.AlterModelTable(name="cycle", table=None),
        migrations.AlterModelTable(name="cyclepick", table=None),
        migrations.AlterModelTable(name="cyclesummary", table=None),
        migrations.AlterModelTable(name="goalpoint", table=None),
        migrations.AlterModelTable(name="kpipoint", table=None),
        migrations.AlterModelTable(name="importjob", table=None),
        migrations.RunPython(relabel, relabel_back),
    ]
