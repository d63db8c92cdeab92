"""/api/v1/ routes, the OpenAPI schema and its offline docs."""

from __future__ import annotations

from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework.authtoken.views import ObtainAuthToken
from rest_framework.routers import DefaultRouter

from goals.api import CycleViewSet, GoalViewSet
from kpis.api import KpiViewSet
from org.api import DepartmentViewSet, MemberViewSet, MeView, NotificationViewSet

router = DefaultRouter()
router.register("members", MemberViewSet, basename="member")
router.register("departments", DepartmentViewSet, basename="department")
router.register("cycles", CycleViewSet, basename="cycle")
router.register("goals", GoalViewSet, basename="goal")
router.register("kpis", KpiViewSet, basename="kpi")
router.register("notifications", NotificationViewSet, basename="notification")

urlpatterns = [
    path("v1/auth/token/", ObtainAuthToken.as_view(), name="api-token"),
    path("v1/me/", MeView.as_view(), name="api-me"),
    path("v1/", include(router.urls)),
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("docs/", SpectacularSwaggerSplitView.as_view(url_name="api-schema"), name="api-docs"),
]
