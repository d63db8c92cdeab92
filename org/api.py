"""API for the organization: me/, members/, departments/, notifications/."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import mixins, viewsets
from rest_framework.authtoken.views import ObtainAuthToken
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import APIView

from core.api import OrgViewSet
from core.errors import refuse_unless

from .drf import IsOrganizationMember
from .models import Department, Member, Notification, Role
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


class TokenView(ObtainAuthToken):
    """Exchange a username and password for an API token (`Authorization: Token <key>`)."""

    # DRF's token view, reading bodies as the rest of the API does (JSON nested too
    # deep for Python is a 400, not a server error).

    parser_classes = api_settings.DEFAULT_PARSER_CLASSES


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
        refuse_unless(can_manage_org(request.member), "Only admins manage people.")
        data = self.parsed(MemberSerializer)
        user = data.pop("user", {})
        member = member_create(
            actor=request.member,
            username=user.get("username", ""),
            email=user.get("email", ""),
            password=data.get("password"),
            role=data.get("role", Role.MEMBER),
            department=data.get("department"),
            manager=data.get("manager"),
        )
        return self.created(member)

    @extend_schema(request=MemberUpdateSerializer, responses=MemberSerializer)
    def partial_update(self, request, pk=None):
        member = self.get_object()
        refuse_unless(can_manage_org(request.member), "Only admins manage people.")
        member = member_update(
            actor=request.member, member=member, **self.parsed(MemberUpdateSerializer, member)
        )
        return Response(self.get_serializer(member).data)


class DepartmentViewSet(OrgViewSet):
    queryset = Department.objects.order_by("id")
    serializer_class = DepartmentSerializer

    def create(self, request):
        refuse_unless(can_manage_org(request.member), "Only admins manage departments.")
        department = department_create(actor=request.member, **self.parsed(DepartmentSerializer))
        return self.created(department)

    def partial_update(self, request, pk=None):
        department = self.get_object()
        refuse_unless(can_manage_org(request.member), "Only admins manage departments.")
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
