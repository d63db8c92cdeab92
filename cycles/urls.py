from __future__ import annotations

from django.urls import path

from . import views

urlpatterns = [
    path("cycles/", views.cycles_page, name="cycles"),
    path("cycles/pick/", views.cycle_pick, name="cycle-pick"),
    path("cycles/<int:cycle_id>/edit/", views.cycle_edit, name="cycle-edit"),
    path("cycles/<int:cycle_id>/state/", views.cycle_state, name="cycle-state"),
    path("cycles/<int:cycle_id>/rollover/", views.cycle_rollover_page, name="cycle-rollover"),
    path("cycles/template/", views.import_template, name="import-template"),
    path("cycles/<int:cycle_id>/import/", views.cycle_import_page, name="cycle-import"),
    path(
        "cycles/<int:cycle_id>/import/<int:job_id>/",
        views.cycle_import_job,
        name="cycle-import-job",
    ),
    path(
        "cycles/<int:cycle_id>/import/<int:job_id>/confirm/",
        views.cycle_import_confirm,
        name="cycle-import-confirm",
    ),
    path("cycles/<int:cycle_id>/export/", views.cycle_export_page, name="cycle-export"),
]
