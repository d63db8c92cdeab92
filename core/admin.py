"""The Django admin's place in Cascade: it spans every organization, for the people
who operate the installation."""

from __future__ import annotations

from django.contrib import admin


class ReadOnlyAdmin(admin.ModelAdmin):
    """Rows whose writes must go through the services (permissions, tree rules, the
    roll-up): shown here, never added, changed or deleted here."""

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class OwedEmailAdmin(ReadOnlyAdmin):
    """Reminders and the email each owes (core.email.OwedEmail): which are still owed,
    how often they were tried, the last error and when the next try is."""

    list_display = (
        "__str__",
        "email_due",
        "email_attempts",
        "email_last_error",
        "email_next_try",
        "emailed_at",
    )
    list_filter = ("email_due",)
    list_select_related = ("member__user",)
