from __future__ import annotations

from django.urls import path

from . import cycles, views

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("cascade/", views.cascade_map, name="cascade"),
    path("cascade/<int:goal_id>/children/", views.cascade_children, name="cascade-children"),
    path("goals/<int:goal_id>/", views.goal_detail, name="goal-detail"),
    path("my/", views.my_work, name="my-work"),
    path("department/", views.department_page, name="department"),
    path("department/<int:department_id>/", views.department_page, name="department-detail"),
    path("cycles/", cycles.cycles_page, name="cycles"),
    path("cycles/<int:cycle_id>/edit/", cycles.cycle_edit, name="cycle-edit"),
    path("cycles/<int:cycle_id>/state/", cycles.cycle_state, name="cycle-state"),
    path("cycles/<int:cycle_id>/rollover/", cycles.cycle_rollover_page, name="cycle-rollover"),
    path("cycles/template/", cycles.import_template, name="import-template"),
    path("cycles/<int:cycle_id>/import/", cycles.cycle_import_page, name="cycle-import"),
    path(
        "cycles/<int:cycle_id>/import/<int:job_id>/",
        cycles.cycle_import_job,
        name="cycle-import-job",
    ),
    path(
        "cycles/<int:cycle_id>/import/<int:job_id>/confirm/",
        cycles.cycle_import_confirm,
        name="cycle-import-confirm",
    ),
    path("cycles/<int:cycle_id>/export/", cycles.cycle_export_page, name="cycle-export"),
]
