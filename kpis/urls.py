from __future__ import annotations

from django.urls import path

from . import views

urlpatterns = [
    path("goals/<int:goal_id>/kpis/new/", views.kpi_new, name="kpi-new"),
    path("kpis/<int:kpi_id>/record/", views.kpi_record, name="kpi-record"),
    path("kpis/<int:kpi_id>/edit/", views.kpi_edit_view, name="kpi-edit"),
    path("kpis/<int:kpi_id>/history/", views.kpi_history, name="kpi-history"),
    path("kpis/<int:kpi_id>/archive/", views.kpi_archive, name="kpi-archive"),
    path("kpis/<int:kpi_id>/source/", views.kpi_source, name="kpi-source"),
    path("kpis/<int:kpi_id>/source/test/", views.kpi_source_test, name="kpi-source-test"),
    path("kpis/<int:kpi_id>/source/fetch/", views.kpi_source_fetch, name="kpi-source-fetch"),
    path("kpis/<int:kpi_id>/source/remove/", views.kpi_source_remove, name="kpi-source-remove"),
    path("values/<int:update_id>/correct/", views.value_correct, name="value-correct"),
    path("values/<int:update_id>/retract/", views.value_retract, name="value-retract"),
]
