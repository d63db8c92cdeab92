from __future__ import annotations

from django.urls import path

from . import views

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("dashboard/remind/", views.checkin_remind, name="checkin-remind"),
    path("cascade/", views.cascade_map, name="cascade"),
    path("cascade/<int:goal_id>/children/", views.cascade_children, name="cascade-children"),
    path("goals/new/", views.goal_new, name="goal-new"),
    path("goals/<int:goal_id>/", views.goal_detail, name="goal-detail"),
    path("my/", views.my_work, name="my-work"),
    path("department/", views.department_page, name="department"),
    path("department/<int:department_id>/", views.department_page, name="department-detail"),
]
