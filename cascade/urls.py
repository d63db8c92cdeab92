from __future__ import annotations

from django.contrib import admin
from django.urls import include, path

from .health import healthz, live

urlpatterns = [
    path("healthz/", healthz, name="healthz"),
    path("healthz/live/", live, name="healthz-live"),
    path("admin/", admin.site.urls),
    path("accounts/", include("django.contrib.auth.urls")),
    path("api/", include("cascade.api_urls")),
    path("", include("pages.urls")),
    path("", include("goals.urls")),
    path("", include("kpis.urls")),
    path("", include("cycles.urls")),
    path("", include("org.urls")),
    path("", include("reviews.urls")),
]

handler403 = "cascade.views.permission_denied"
handler404 = "cascade.views.page_not_found"
handler500 = "cascade.views.server_error"
