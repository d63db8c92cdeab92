from __future__ import annotations

from django.contrib import admin

from .models import Kpi, KpiUpdate


@admin.register(Kpi)
class KpiAdmin(admin.ModelAdmin):
    list_display = (
        "name",
        "goal",
        "unit",
        "direction",
        "baseline",
        "target",
        "current",
        "progress",
        "health",
    )
    list_filter = ("organization", "direction", "aggregation", "health")
    search_fields = ("name",)
    list_select_related = ("goal",)
    raw_id_fields = ("goal", "owner")
    readonly_fields = ("current", "progress", "health", "created_at", "updated_at")


@admin.register(KpiUpdate)
class KpiUpdateAdmin(admin.ModelAdmin):
    """The history is append-only: visible here, never edited."""

    list_display = ("kpi", "value", "date", "confidence", "author", "created_at")
    list_select_related = ("kpi", "author__user")
    search_fields = ("kpi__name", "note")

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
