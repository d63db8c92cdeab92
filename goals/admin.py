from __future__ import annotations

from django.contrib import admin

from core.admin import ReadOnlyAdmin

from .models import GOAL_FIELDS, Goal


@admin.register(Goal)
class GoalAdmin(ReadOnlyAdmin):
    """Read the tree here; change it in the app, where the tree rules and roll-up run."""

    list_display = ("title", "level", "cycle", "department", "owner", "state", "progress", "health")
    list_filter = ("organization", "cycle", "level", "state", "health")
    search_fields = ("title",)
    list_select_related = ("cycle", "department", "owner__user")
    fields = ("organization", *GOAL_FIELDS, "progress", "health", "created_at", "updated_at")
    readonly_fields = ("created_at", "updated_at")
