"""Leave room in each page of the goal and KPI tables so the roll-up's frequent
updates of progress and health are HOT updates (no index churn). PostgreSQL only."""

from django.db import migrations


def set_fillfactor(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("ALTER TABLE goals_goal SET (fillfactor = 70)")


def reset_fillfactor(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("ALTER TABLE goals_goal RESET (fillfactor)")


class Migration(migrations.Migration):
    dependencies = [("goals", "0001_initial")]
    operations = [migrations.RunPython(set_fillfactor, reset_fillfactor)]
