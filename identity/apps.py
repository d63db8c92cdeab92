from django.apps import AppConfig


class IdentityConfig(AppConfig):
    name = "identity"
    verbose_name = "Identity: single sign-on, MFA, SCIM"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Two-factor authentication: its sign-in receiver, and the admin site requiring it.
        from . import mfa, mfa_admin  # noqa: F401

        mfa_admin.install()
