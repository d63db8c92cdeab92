"""The pages that set a password: Django's own views (change, and the emailed link of
an invitation or a reset), answering a password the rules refuse (AUTH_PASSWORD_VALIDATORS)
with a 400 and the reasons beside the field, as every refused form of Cascade is."""

from __future__ import annotations

from django.contrib.auth import views as auth_views


class RefusedIs400:
    def form_invalid(self, form):
        response = super().form_invalid(form)  # type: ignore[misc]
        response.status_code = 400
        return response


class PasswordChangeView(RefusedIs400, auth_views.PasswordChangeView):
    pass


class PasswordResetConfirmView(RefusedIs400, auth_views.PasswordResetConfirmView):
    pass
