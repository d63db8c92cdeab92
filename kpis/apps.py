from __future__ import annotations

from django.apps import AppConfig


class KpisConfig(AppConfig):
    name = "kpis"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Goals weigh their KPIs and keep them inside their cycle, but sit below this
        # app: hand them the two reads they need (goals/measures.py). Imported here,
        # not at the top: models can't be imported before the app registry is ready.
        from goals.measures import Measures, register

        from . import feeds  # noqa: F401 - its Celery tasks, for the worker and beat
        from .rollup import kpi_sums
        from .selectors import kpis_outside

        register(Measures(sums=kpi_sums, outside=kpis_outside))
