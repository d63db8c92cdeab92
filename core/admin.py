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
