from __future__ import annotations

from django.contrib import admin
from django.urls import include, path

from org.passwords import PasswordChangeView, PasswordResetConfirmView

from .health import healthz, live

urlpatterns = [
    path("healthz/", healthz, name="healthz"),
    path("healthz/live/", live, name="healthz-live"),
    path("admin/", admin.site.urls),
    # The pages that set a password answer a refused one with 400 (org/passwords.py).
    path("accounts/password_change/", PasswordChangeView.as_view(), name="password_change"),
    path(
        "accounts/reset/<uidb64>/<token>/",
        PasswordResetConfirmView.as_view(),
        name="password_reset_confirm",
    ),
    path("accounts/", include("django.contrib.auth.urls")),
    path("api/", include("cascade.api_urls")),
    # SCIM 2.0 provisioning for identity providers (identity/scim/).
    path("scim/v2/", include("identity.scim.urls")),
    path("", include("pages.urls")),
    path("", include("goals.urls")),
    path("", include("kpis.urls")),
    path("", include("cycles.urls")),
    path("", include("org.urls")),
    path("", include("reviews.urls")),
    path("", include("identity.urls")),
]

handler403 = "cascade.views.permission_denied"
handler404 = "cascade.views.page_not_found"
handler500 = "cascade.views.server_error"
