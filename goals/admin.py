from __future__ import annotations

from django import forms
from django.contrib import admin

from core.admin import ReadOnlyAdmin

from .models import GOAL_FIELDS, Cycle, Goal
from .services import validate_cycle
from .signals import cycles_changed


class CycleAdminForm(forms.ModelForm):
    """A cycle written here obeys the same rules as one written in the app."""

    class Meta:
        model = Cycle
        fields = ["organization", "name", "start", "end", "cadence"]

    def _post_clean(self):
        super()._post_clean()
        if not self.errors:
            try:
                validate_cycle(self.instance)
            except forms.ValidationError as exc:
                self._update_errors(exc)


@admin.register(Cycle)
class CycleAdmin(admin.ModelAdmin):
    """Cycles may be created here by the people who operate the installation (no
    organization admin exists yet for a new organization); the app's rules apply."""

    form = CycleAdminForm
    list_display = ("name", "organization", "start", "end", "cadence")
    list_filter = ("organization", "cadence")

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        cycles_changed({obj.pk})


@admin.register(Goal)
class GoalAdmin(ReadOnlyAdmin):
    """Read the tree here; change it in the app, where the tree rules and roll-up run."""

    list_display = ("title", "level", "cycle", "department", "owner", "state", "progress", "health")
    list_filter = ("organization", "cycle", "level", "state", "health")
    search_fields = ("title",)
    list_select_related = ("cycle", "department", "owner__user")
    fields = ("organization", *GOAL_FIELDS, "progress", "health", "created_at", "updated_at")
    readonly_fields = ("created_at", "updated_at")
