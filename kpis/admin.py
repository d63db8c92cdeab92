from __future__ import annotations

from django.contrib import admin

from core.admin import OwedEmailAdmin, ReadOnlyAdmin

from .models import KPI_FIELDS, CheckinReminder, Kpi, KpiSource, KpiUpdate


@admin.register(Kpi)
class KpiAdmin(ReadOnlyAdmin):
    """Read KPIs here; change them in the app, where the roll-up runs."""

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
    fields = (
        "organization",
        *KPI_FIELDS,
        "current",
        "last_update_on",
        "progress",
        "health",
        "created_at",
        "updated_at",
    )
    readonly_fields = ("created_at", "updated_at")


@admin.register(KpiUpdate)
class KpiUpdateAdmin(ReadOnlyAdmin):
    """The history is append-only: visible here, never edited."""

    list_display = ("kpi", "value", "date", "confidence", "author", "source_name", "created_at")
    list_select_related = ("kpi", "author__user")
    search_fields = ("kpi__name", "note")


@admin.register(KpiSource)
class KpiSourceAdmin(ReadOnlyAdmin):
    """How each KPI data source fares (set up on the goal page or the API); its secrets
    (headers, database URL) are not shown here."""

    list_display = ("name", "kpi", "kind", "schedule", "next_fetch_at", "failures", "last_error")
    list_filter = ("organization", "kind", "schedule")
    list_select_related = ("kpi",)
    search_fields = ("name", "kpi__name")
    fields = (
        "organization",
        "kpi",
        "name",
        "kind",
        "url",
        "pointer",
        "query",
        "schedule",
        "next_fetch_at",
        "done_slot",
        "failures",
        "last_success_at",
        "last_value",
        "last_error",
        "last_error_at",
        "created_by",
        "created_at",
        "updated_at",
    )
    readonly_fields = ("created_at", "updated_at")


@admin.register(CheckinReminder)
class CheckinReminderAdmin(OwedEmailAdmin):
    list_display = ("__str__", "period", "kpi_count", *OwedEmailAdmin.list_display[1:])
    search_fields = ("member__user__username", "period")
