from __future__ import annotations

from django.urls import path

from . import views

urlpatterns = [
    path("goals/<int:goal_id>/kpis/new/", views.kpi_new, name="kpi-new"),
    path("kpis/<int:kpi_id>/record/", views.kpi_record, name="kpi-record"),
    path("kpis/<int:kpi_id>/edit/", views.kpi_edit_view, name="kpi-edit"),
    path("kpis/<int:kpi_id>/history/", views.kpi_history, name="kpi-history"),
    path("kpis/<int:kpi_id>/archive/", views.kpi_archive, name="kpi-archive"),
    path("values/<int:update_id>/correct/", views.value_correct, name="value-correct"),
    path("values/<int:update_id>/retract/", views.value_retract, name="value-retract"),
]
