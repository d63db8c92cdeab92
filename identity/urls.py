from __future__ import annotations

from django.urls import path  # noqa: F401  (each part of identity adds its pages below)

from . import mfa_views, saml_views, views

app_name = "identity"

urlpatterns: list = []

# Single sign-on settings and OpenID Connect (identity/views.py, identity/oidc.py)
urlpatterns += [
    path("identity/", views.identity_page, name="identity"),
    path("sso/", views.find_organization, name="sso-find"),
    path("sso/<slug:slug>/login/", views.sso_login, name="sso-login"),
    path("sso/<slug:slug>/oidc/callback/", views.oidc_callback, name="oidc-callback"),
]

# SAML 2.0 (identity/saml.py, identity/saml_views.py)
urlpatterns += [
    path("sso/<slug:slug>/saml/acs/", saml_views.acs, name="saml-acs"),
    path("sso/<slug:slug>/saml/metadata/", saml_views.metadata, name="saml-metadata"),
]

# Two-factor authentication (identity/mfa.py, identity/mfa_views.py)
urlpatterns += mfa_views.urlpatterns
