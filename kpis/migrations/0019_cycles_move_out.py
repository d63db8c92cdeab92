"""CycleSummary, GoalPoint, KpiPoint and ImportJob now belong to the cycles app
(cycles 0001 renamed their tables): this app forgets them. Nothing changes in the
database."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("cycles", "0001_initial"),
        ("kpis", "0018_import_jobs"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.DeleteModel(name="CycleSummary"),
                migrations.DeleteModel(name="ImportJob"),
                migrations.DeleteModel(name="GoalPoint"),
                migrations.DeleteModel(name="KpiPoint"),
            ],
            database_operations=[],
        ),
    ]
