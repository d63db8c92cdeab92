from __future__ import annotations

from django.contrib import admin

from core.admin import ReadOnlyAdmin

from .models import Department, Member, Organization

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
