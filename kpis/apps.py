from __future__ import annotations

from django.apps import AppConfig


class KpisConfig(AppConfig):
    name = "kpis"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Goals weigh their own KPIs beside their child goals, but sit below this app:
        # tell their roll-up how to sum a goal's KPIs. (Imported here, not at the top,
        # because models can't be imported before the app registry is ready.)
        from goals.rollup import register_measures

        from .rollup import kpi_measures

        register_measures(kpi_measures)
