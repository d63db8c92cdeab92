from __future__ import annotations

from django.urls import path  # noqa: F401  (each part of identity adds its pages below)

app_name = "identity"

urlpatterns: list = []
