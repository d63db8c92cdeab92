"""API plumbing shared by every app (base viewset, errors, auth) and the
organization resources: me/, members/, departments/."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied
from rest_framework.response import Response
from rest_framework.views import APIView

from .drf import IsOrganizationMember
from .models import Department, Member, Notification
from .permissions import can_manage_org
from .serializers import (
    DepartmentSerializer,
    MemberSerializer,
    MemberUpdateSerializer,
    MeSerializer,
    NotificationSerializer,
)
from .services import (
    department_create,
    department_update,
    member_create,
    member_update,
    notification_mark_read,
)


class OrgViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """List and retrieve within the caller's organization; create and partial update
    are written per resource, each calling one service."""

    permission_classes = [IsOrganizationMember]
    http_method_names = ["get", "post", "patch", "head", "options"]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation
            return self.queryset.none()
        return self.queryset.filter(organization=self.request.member.organization)

    def serializer_kwargs(self) -> dict:
        member = getattr(self.request, "member", None)
        return {"organization": member.organization if member else None}

    def get_serializer(self, *args, **kwargs):
        kwargs.setdefault("context", self.get_serializer_context())
        return self.get_serializer_class()(*args, **kwargs, **self.serializer_kwargs())

    def parsed(self, serializer_class, instance=None, **kwargs) -> dict:
        serializer = serializer_class(
            instance,
            data=self.request.data,
            partial=instance is not None,
            **self.serializer_kwargs(),
            **kwargs,
        )
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data

    def created(self, obj) -> Response:
        return Response(self.get_serializer(obj).data, status=status.HTTP_201_CREATED)


def raw_data(request) -> dict:
    """The request body as a mapping, for permission pre-checks (anything else: empty)."""
    from collections.abc import Mapping

    return request.data if isinstance(request.data, Mapping) else {}


def lookup(queryset, raw):
    """The object a raw, unvalidated id names in `queryset` (already limited to the
    caller's organization), or None: for permission pre-checks before validation."""
    try:
        return queryset.filter(pk=int(raw)).first()
    except (TypeError, ValueError, OverflowError):
        return None


def require(allowed: bool, message: str) -> None:
    """Refuse (403) before looking at the input: a forbidden and invalid write is a 403."""
    if not allowed:
        raise PermissionDenied(message)


class MeView(APIView):
    permission_classes = [IsOrganizationMember]

    @extend_schema(responses=MeSerializer, summary="Who am I")
    def get(self, request):
        return Response(MeSerializer(request.member).data)


class MemberViewSet(OrgViewSet):
    """People of the organization, by member id. Admins add and change them."""

    queryset = Member.objects.select_related("user").order_by("id")
    serializer_class = MemberSerializer

    @extend_schema(request=MemberSerializer, responses={201: MemberSerializer})
    def create(self, request):
        require(can_manage_org(request.member), "Only admins manage people.")
        data = self.parsed(MemberSerializer)
        user = data.pop("user", {})
        member = member_create(
            actor=request.member,
            username=user.get("username", ""),
            email=user.get("email", ""),
            password=data.get("password"),
            role=data.get("role", "member"),
            department=data.get("department"),
            manager=data.get("manager"),
        )
        return self.created(member)

    @extend_schema(request=MemberUpdateSerializer, responses=MemberSerializer)
    def partial_update(self, request, pk=None):
        member = self.get_object()
        require(can_manage_org(request.member), "Only admins manage people.")
        member = member_update(
            actor=request.member, member=member, **self.parsed(MemberUpdateSerializer, member)
        )
        return Response(self.get_serializer(member).data)


class DepartmentViewSet(OrgViewSet):
    queryset = Department.objects.order_by("id")
    serializer_class = DepartmentSerializer

    def create(self, request):
        require(can_manage_org(request.member), "Only admins manage departments.")
        department = department_create(actor=request.member, **self.parsed(DepartmentSerializer))
        return self.created(department)

    def partial_update(self, request, pk=None):
        department = self.get_object()
        require(can_manage_org(request.member), "Only admins manage departments.")
        department = department_update(
            actor=request.member,
            department=department,
            **self.parsed(DepartmentSerializer, department),
        )
        return Response(self.get_serializer(department).data)


class NotificationViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """The caller's own in-app notifications, newest first."""

    permission_classes = [IsOrganizationMember]
    serializer_class = NotificationSerializer
    http_method_names = ["get", "post", "head", "options"]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Notification.objects.none()
        return Notification.objects.filter(member=self.request.member).order_by(
            "-created_at", "-id"
        )

    @extend_schema(request=None, responses=NotificationSerializer, summary="Mark one read")
    @action(detail=True, methods=["post"])
    def read(self, request, pk=None):
        notification = self.get_object()
        notification_mark_read(actor=request.member, notification=notification)
        return Response(NotificationSerializer(notification).data)
