"""Room for HOT updates of current, progress and health (see goals 0002). PostgreSQL only."""

from django.db import migrations


def set_fillfactor(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("ALTER TABLE kpis_kpi SET (fillfactor = 70)")


def reset_fillfactor(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("ALTER TABLE kpis_kpi RESET (fillfactor)")


class Migration(migrations.Migration):
    dependencies = [("kpis", "0002_checkinreminder")]
    operations = [migrations.RunPython(set_fillfactor, reset_fillfactor)]
