from __future__ import annotations

from django.apps import AppConfig


class CyclesConfig(AppConfig):
    """A cycle as a whole: its lifecycle, roll-over, import and export, the dashboard's
    figures and the progress history. It stands above goals and KPIs (it reads and
    writes both) and below reviews and the pages."""

    name = "cycles"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # The roll-up (goals, kpis) keeps the history of what it recomputes, but sits
        # below this app: hand it the keeper (goals/measures.py). Imported here, not at
        # the top: models can't be imported before the app registry is ready.
        from goals.measures import register_history
        from goals.signals import cycles_committed

        from .history import refresh
        from .summary import recount_changed

        register_history(refresh)
        # Every committed change to a cycle: its dashboard figures are recounted.
        cycles_committed.connect(recount_changed, dispatch_uid="cycles.summary")
