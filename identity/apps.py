from django.apps import AppConfig


class IdentityConfig(AppConfig):
    name = "identity"
    verbose_name = "Identity: single sign-on, MFA, SCIM"
    default_auto_field = "django.db.models.BigAutoField"
