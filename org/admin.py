from __future__ import annotations

from django.contrib import admin

from core.admin import ReadOnlyAdmin

from .models import Department, Member, Organization, OwedJob

# Organizations are made with `manage.py createorg`; their people and departments by
# their admins, in the app, where every rule is checked (the last admin stays, names
# are one line): here they are shown, not changed.


@admin.register(Organization)
class OrganizationAdmin(ReadOnlyAdmin):
    list_display = ("name", "timezone", "created_at")
    search_fields = ("name",)


@admin.register(Department)
class DepartmentAdmin(ReadOnlyAdmin):
    list_display = ("name", "organization", "parent", "head")
    list_filter = ("organization",)
    search_fields = ("name",)
    list_select_related = ("organization", "parent", "head__user")
    raw_id_fields = ("parent", "head")


@admin.register(Member)
class MemberAdmin(ReadOnlyAdmin):
    list_display = ("user", "organization", "role", "department", "manager", "is_active")
    list_filter = ("organization", "role", "is_active")
    search_fields = ("user__username", "user__email")
    list_select_related = ("user", "organization", "department", "manager__user")
    raw_id_fields = ("user", "department", "manager")


@admin.register(OwedJob)
class OwedJobAdmin(ReadOnlyAdmin):
    """The outbox (org/outbox.py): what is still owed, how often it failed and why, when
    it is tried next; the ones given up after a day (`failed_at`)."""

    list_display = ("id", "task", "created_at", "attempts", "last_error", "next_try", "done_at")
    list_filter = ("task", ("done_at", admin.EmptyFieldListFilter), "failed_at")
    search_fields = ("task", "last_error")
