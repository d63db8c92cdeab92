from __future__ import annotations

from django.urls import path

from . import views

urlpatterns = [
    path("department/", views.department_page, name="department"),
    path("department/<int:department_id>/", views.department_page, name="department-detail"),
    path("people/", views.people, name="people"),
    path("people/<int:member_id>/", views.person_edit, name="person-edit"),
]
