"""/scim/v2/… (included from cascade/urls.py). SCIM clients call the endpoints with
no trailing slash; one is accepted too."""

from __future__ import annotations

from django.urls import path, re_path

from . import views

app_name = "scim"

urlpatterns = [
    path("", views.nowhere, name="root"),
    re_path(r"^ServiceProviderConfig/?$", views.service_provider_config),
    re_path(r"^ResourceTypes/?$", views.resource_types),
    re_path(r"^ResourceTypes/(?P<pk>[^/]+)/?$", views.resource_type),
    re_path(r"^Schemas/?$", views.schemas),
    re_path(r"^Schemas/(?P<pk>[^/]+)/?$", views.schema),
    re_path(r"^Users/?$", views.users_collection),
    re_path(r"^Users/\.search/?$", views.users_search),
    re_path(r"^Users/(?P<pk>[^/]+)/?$", views.user),
    re_path(r"^Groups/?$", views.groups_collection),
    re_path(r"^Groups/\.search/?$", views.groups_search),
    re_path(r"^Groups/(?P<pk>[^/]+)/?$", views.group),
    re_path(r"^\.search/?$", views.search_everywhere),
    re_path(r"^Bulk/?$", views.bulk),
    re_path(r"^.*$", views.nowhere),
]
