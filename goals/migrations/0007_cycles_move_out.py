"""Cycle and CyclePick now belong to the cycles app (cycles 0001 renamed their
tables): this app forgets them, and a goal's cycle is cycles.Cycle. Nothing changes
in the database: the foreign key already points at the renamed table."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("cycles", "0001_initial"),
        ("goals", "0006_goal_has_data"),
        ("kpis", "0019_cycles_move_out"),
        ("reviews", "0004_review_cycle_in_cycles"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="goal",
                    name="cycle",
                    field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name="goals", to="cycles.cycle"),
                ),
                migrations.DeleteModel(name="CyclePick"),
                migrations.DeleteModel(name="Cycle"),
            ],
            database_operations=[],
        ),
    ]
