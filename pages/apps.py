from __future__ import annotations

from django.apps import AppConfig


class PagesConfig(AppConfig):
    """The pages that show several apps at once (Dashboard, Cascade, Goal page, My
    work, Department) and the template tags every page uses."""

    name = "pages"
