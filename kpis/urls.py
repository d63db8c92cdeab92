from __future__ import annotations

from django.urls import path

from . import views

urlpatterns = [
    path("my/", views.my_work, name="my-work"),
    path("kpis/<int:kpi_id>/record/", views.kpi_record, name="kpi-record"),
    path("kpis/<int:kpi_id>/edit/", views.kpi_edit, name="kpi-edit"),
]
