"""Fill `Kpi.last_update_on` (added empty by 0004) from the KPIs' live values, so a
database migrated from before 0004 shows the dashboard's "no value this period" as a
roll-up would, without waiting for one. Runs again harmlessly: it only fills blanks."""

from django.db import migrations
from django.db.models import OuterRef, Subquery


def fill_last_update_on(apps, schema_editor):
    Kpi = apps.get_model("kpis", "Kpi")
    KpiUpdate = apps.get_model("kpis", "KpiUpdate")
    live = KpiUpdate.objects.filter(
        kpi=OuterRef("pk"), retracted_at__isnull=True, replaced_by__isnull=True
    )
    Kpi.objects.filter(last_update_on__isnull=True).update(
        last_update_on=Subquery(live.order_by("-date").values("date")[:1])
    )


class Migration(migrations.Migration):
    dependencies = [("kpis", "0012_external_ids_and_updated_at")]

    operations = [migrations.RunPython(fill_last_update_on, migrations.RunPython.noop)]
