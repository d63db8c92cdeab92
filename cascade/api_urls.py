"""/api/v1/ routes, the OpenAPI schema and its offline docs."""

from __future__ import annotations

from django.conf import settings
from django.urls import include, path, re_path
from django.utils.csp import CSP
from django.views.decorators.csp import csp_override
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework.routers import DefaultRouter, SimpleRouter

from cycles.api import CycleViewSet, GoalTreeViewSet
from cycles.changes_api import ChangesView
from goals.api import GoalViewSet
from identity.api import SSOView
from kpis.api import KpiViewSet
from org.api import (
    ChatTargetViewSet,
    DepartmentViewSet,
    MemberViewSet,
    MeView,
    NotificationViewSet,
    OrganizationView,
    ServiceTokenViewSet,
    TokenView,
    WebhookViewSet,
)
from org.audit_api import AuditEntryViewSet
from org.calendar_api import MyCalendarView
from reviews.api import ReviewViewSet

from .views import api_not_found

# Swagger UI styles itself inline; scripts stay nonce-only, as everywhere.
API_DOCS = csp_override({**settings.SECURE_CSP, "style-src": [CSP.SELF, CSP.UNSAFE_INLINE]})(
    SpectacularSwaggerSplitView.as_view(url_name="api-schema")
)

router = DefaultRouter()
# The schema's paths only: no `.json` aliases (an action's `close.json` was a 500).
router.include_format_suffixes = False
router.register("members", MemberViewSet, basename="member")
router.register("departments", DepartmentViewSet, basename="department")
router.register("cycles", CycleViewSet, basename="cycle")
router.register("goals", GoalViewSet, basename="goal")
router.register("kpis", KpiViewSet, basename="kpi")
router.register("reviews", ReviewViewSet, basename="review")
router.register("notifications", NotificationViewSet, basename="notification")
router.register("tokens", ServiceTokenViewSet, basename="token")
router.register("webhooks", WebhookViewSet, basename="webhook")
router.register("chat-targets", ChatTargetViewSet, basename="chat-target")
router.register("audit", AuditEntryViewSet, basename="audit")
# goals/{id}/tree/ and goals/{id}/history/ show the cycle's tree as it stands or stood,
# so the cycles app serves them, beside the rest of goals/.
tree_router = SimpleRouter()
tree_router.register("goals", GoalTreeViewSet, basename="goal")

urlpatterns = [
    path("v1/auth/token/", TokenView.as_view(), name="api-token"),
    path("v1/me/", MeView.as_view(), name="api-me"),
    path("v1/organization/", OrganizationView.as_view(), name="api-organization"),
    path("v1/me/calendar/", MyCalendarView.as_view(), name="api-my-calendar"),
    path("v1/sso/", SSOView.as_view(), name="api-sso"),
    path("v1/changes/", ChangesView.as_view(), name="api-changes"),
    # The router first: goals/by-external-id/{external_id}/ is a goal, whatever its id
    # (tree_router would take `…/tree/` for goals/{id}/tree/).
    path("v1/", include(router.urls)),
    path("v1/", include(tree_router.urls)),
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("docs/", API_DOCS, name="api-docs"),
    re_path(r"", api_not_found),
]
