from __future__ import annotations

from django.apps import AppConfig


class DemoConfig(AppConfig):
    """Example data: the demo organization "Acme" and the benchmarks' large ones. It
    builds goals, KPIs, values and reviews, so it stands above every app."""

    name = "demo"
