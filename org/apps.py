from __future__ import annotations

from django.apps import AppConfig


class OrgConfig(AppConfig):
    name = "org"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from . import (
            schema,  # noqa: F401  (registers the token scheme of the API schema)
            sessions,  # noqa: F401  (stamps each new sign-in's session)
            signals,  # noqa: F401  (sign-ins in the audit log)
        )
