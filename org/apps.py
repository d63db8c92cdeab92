from __future__ import annotations

from django.apps import AppConfig


class OrgConfig(AppConfig):
    name = "org"
    default_auto_field = "django.db.models.BigAutoField"
