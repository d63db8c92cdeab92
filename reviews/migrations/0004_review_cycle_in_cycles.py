"""A review's cycle is cycles.Cycle (it moved there from goals, cycles 0001). Nothing
changes in the database: the foreign key already points at the renamed table."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("cycles", "0001_initial"),
        ("reviews", "0003_reminder_email_attempts"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="review",
                    name="cycle",
                    field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name="reviews", to="cycles.cycle"),
                ),
            ],
            database_operations=[],
        ),
    ]
