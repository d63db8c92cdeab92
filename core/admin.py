"""The Django admin's place in Cascade: it spans every organization, for the people
who operate the installation."""

from __future__ import annotations

from typing import ClassVar

from django.contrib import admin
from django.db.models import Model
from django.http import HttpRequest


class ReadOnlyAdmin(admin.ModelAdmin):
    """Rows whose writes must go through the services (permissions, tree rules, the
    roll-up): shown here, never added, changed or deleted here."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False


class OwedEmailAdmin(ReadOnlyAdmin):
    """Reminders and the email each owes (core.email.OwedEmail): which are still owed,
    how often they were tried, the last error and when the next try is."""

    # Typed as wide as ModelAdmin's, so that each reminder's admin can name its own.
    list_display: tuple[str, ...] = (
        "__str__",
        "email_due",
        "email_attempts",
        "email_last_error",
        "email_next_try",
        "emailed_at",
    )
    list_filter: ClassVar[tuple[str, ...]] = ("email_due",)
    list_select_related: ClassVar[tuple[str, ...]] = ("member__user",)
