from __future__ import annotations

from django.urls import path

from . import views

urlpatterns = [
    path("goals/<int:goal_id>/edit/", views.goal_edit, name="goal-edit"),
    path("goals/<int:goal_id>/state/", views.goal_state, name="goal-state"),
    path("goals/<int:goal_id>/delete/", views.goal_delete_view, name="goal-delete"),
    path("goals/<int:goal_id>/children/new/", views.goal_child_new, name="goal-child-new"),
]
