"""The audit log in the Django admin: read, filtered and searched, never added to,
changed or deleted (the log is append-only, here as everywhere)."""

from __future__ import annotations

from django.contrib import admin

from core.admin import ReadOnlyAdmin

from .models import Entry


@admin.register(Entry)
class EntryAdmin(ReadOnlyAdmin):
    list_display = ("at", "organization_id", "actor", "token", "ip", "action", "object_label")
    list_filter = ("action", "object_type")
    search_fields = ("actor", "token", "object_type", "object_id", "object_label", "ip")
    date_hierarchy = "at"
    actions = None  # not even "delete selected"
