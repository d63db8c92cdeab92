from __future__ import annotations

from django import forms
from django.contrib import admin
from django.http import HttpRequest

from core.admin import ReadOnlyAdmin
from goals.signals import cycles_changed

from .models import Cycle, ImportJob
from .services import validate_cycle


class CycleAdminForm(forms.ModelForm):
    """A cycle written here obeys the same rules as one written in the app."""

    class Meta:
        model = Cycle
        fields = ["organization", "name", "start", "end", "cadence"]

    def _post_clean(self) -> None:
        super()._post_clean()  # type: ignore[misc]  # Django's (BaseModelForm), not in the stubs
        if not self.errors:
            try:
                validate_cycle(self.instance)
            except forms.ValidationError as exc:
                self._update_errors(exc)  # type: ignore[attr-defined]  # as _post_clean


@admin.register(Cycle)
class CycleAdmin(admin.ModelAdmin):
    """Cycles may be created here by the people who operate the installation (no
    organization admin exists yet for a new organization); the app's rules apply."""

    form = CycleAdminForm
    list_display = ("name", "organization", "start", "end", "cadence")
    list_filter = ("organization", "cadence")

    def save_model(
        self, request: HttpRequest, obj: Cycle, form: CycleAdminForm, change: bool
    ) -> None:
        super().save_model(request, obj, form, change)
        cycles_changed({obj.pk})


@admin.register(ImportJob)
class ImportJobAdmin(ReadOnlyAdmin):
    """Imports from the Cycles page, kept a week: who, which file, how far it got."""

    list_display = ("file_name", "cycle", "created_by", "state", "done", "total", "created_at")
    list_filter = ("state",)
    list_select_related = ("cycle", "created_by__user")
    search_fields = ("file_name",)
    fields = (
        "cycle",
        "created_by",
        "file_name",
        "format",
        "state",
        "done",
        "total",
        "error",
        "created_at",
    )
