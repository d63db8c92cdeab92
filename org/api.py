"""API for the organization: auth/token/, me/, members/, departments/, notifications/,
tokens/ (service tokens)."""

from __future__ import annotations

from django.contrib.auth import authenticate
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotAuthenticated, PermissionDenied, ValidationError
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import APIView

from core.api import UPDATED_SINCE, OrgScopedViewSet, OrgViewSet, updated_since
from core.errors import RowErrors
from core.parsers import (
    SPREADSHEET_BODY,
    SPREADSHEET_PARSERS,
    dry_run,
    spreadsheet_body,
    spreadsheet_format,
)

from .chat import (
    chat_target_create,
    chat_target_delete,
    chat_target_test,
    chat_target_update,
    chat_targets_visible,
)
from .drf import IsOrganizationMember, WithinTokenScope
from .models import ApiToken, ChatTarget, Department, Member, Notification, Role, Webhook
from .people_import import COLUMNS, people_import_commit, people_import_plan, read_people
from .permissions import (
    MANAGE_DEPARTMENTS,
    MANAGE_ORGANIZATION,
    MANAGE_PEOPLE,
    MANAGE_SOME_CHAT,
    MANAGE_TOKENS,
    MANAGE_WEBHOOKS,
)
from .serializers import (
    ChatMessageSerializer,
    ChatTargetSerializer,
    CredentialsSerializer,
    DepartmentSerializer,
    MemberSerializer,
    MemberUpdateSerializer,
    MeSerializer,
    NotificationSerializer,
    OrganizationSerializer,
    OrganizationUpdateSerializer,
    ServiceTokenSerializer,
    TokenSerializer,
    WebhookCreatedSerializer,
    WebhookDeliverySerializer,
    WebhookSerializer,
)
from .services import (
    department_create,
    department_update,
    member_create,
    member_update,
    notification_mark_read,
    organization_update,
)
from .signals import signin_succeeded
from .tokens import (
    service_token_create,
    service_token_revoke,
    service_tokens,
    token_issue,
    token_revoke,
)
from .webhooks import (
    webhook_create,
    webhook_delete,
    webhook_ping,
    webhook_redeliver,
    webhook_update,
)


class TokenView(APIView):
    """POST: a username and password for a new API token (`Authorization: Token
    <key>`); each call makes another, each revocable. DELETE: revoke the token in use.
    Sign-in lockout (django-axes) applies here as on the login page: 429."""

    permission_classes = [WithinTokenScope]
    parser_classes = api_settings.DEFAULT_PARSER_CLASSES  # deep JSON is a 400

    @extend_schema(
        request=CredentialsSerializer,
        responses={200: TokenSerializer},
        summary="Get a token for a username and password",
        # Anyone may sign in: no token or session is needed ({}), one sent is checked.
        auth=[{"tokenAuth": []}, {"cookieAuth": []}, {}],
    )
    def post(self, request):
        credentials = CredentialsSerializer(data=request.data)
        credentials.is_valid(raise_exception=True)
        # The HttpRequest, where django-axes marks a refused sign-in for its middleware.
        user = authenticate(request._request, **credentials.validated_data)
        refusal = getattr(request._request, "signin_refusal", None)
        if user is None and refusal:  # not with a password (org/auth.py): enforced SSO
            raise PermissionDenied(refusal)
        if user is None:
            raise ValidationError(
                {"non_field_errors": ["Unable to log in with provided credentials."]}
            )
        token, key = token_issue(user)
        signin_succeeded(user)  # the audit log's entry, as for the login page
        return Response(TokenSerializer({"token": key, "expiry": token.expiry}).data)

    @extend_schema(request=None, responses={204: None}, summary="Revoke the token in use")
    def delete(self, request):
        if not isinstance(request.auth, ApiToken):
            raise NotAuthenticated("Send the token to revoke in the Authorization header.")
        if request.auth.is_service:
            raise PermissionDenied("An admin revokes service tokens (tokens/ID/).")
        token_revoke(request.auth)
        return Response(status=204)


class MeView(APIView):
    permission_classes = [IsOrganizationMember]

    @extend_schema(responses=MeSerializer, summary="Who am I")
    def get(self, request):
        return Response(MeSerializer(request.member).data)


class OrganizationView(APIView):
    """The caller's organization: everyone reads it; admins (or a service token of the
    admin scope) set its time zone."""

    http_method_names = ["get", "patch", "head", "options"]

    @extend_schema(
        responses=OrganizationSerializer,
        summary="Get the organization",
        tags=["organization"],
        operation_id="organization_retrieve",
    )
    def get(self, request):
        return Response(OrganizationSerializer(request.member.organization).data)

    @extend_schema(
        request=OrganizationUpdateSerializer,
        responses=OrganizationSerializer,
        summary="Set the organization's time zone",
        tags=["organization"],
        operation_id="organization_partial_update",
    )
    def patch(self, request):
        MANAGE_ORGANIZATION.require(request.member)
        body = OrganizationUpdateSerializer(data=request.data, partial=True)
        body.is_valid(raise_exception=True)
        organization = request.member.organization
        if "timezone" in body.validated_data:
            organization = organization_update(actor=request.member, **body.validated_data)
        return Response(OrganizationSerializer(organization).data)


EXTERNAL_ID_FILTER = OpenApiParameter(
    "external_id", OpenApiTypes.STR, description="The one with this external id."
)


def _external_id_and_updated_since(rows, params):
    """The list filters members and departments share."""
    if "external_id" in params:
        rows = rows.filter(external_id=params["external_id"])
    return updated_since(rows, params)


class MemberViewSet(OrgViewSet):
    """People of the organization, by member id. Admins add and change them."""

    queryset = Member.objects.select_related("user").order_by("id")
    serializer_class = MemberSerializer
    ordering_fields = ["id", "role", "updated_at"]

    def get_queryset(self):
        members = super().get_queryset()
        if self.action != "list":
            return members
        params = self.request.query_params
        if "email" in params:
            members = members.filter(user__email__iexact=params["email"])
        return _external_id_and_updated_since(members, params)

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "email", OpenApiTypes.STR, description="The people with this email (any case)."
            ),
            EXTERNAL_ID_FILTER,
            UPDATED_SINCE,
        ]
    )
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    @extend_schema(request=MemberSerializer, responses={201: MemberSerializer})
    def create(self, request):
        MANAGE_PEOPLE.require(request.member)
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
            external_id=data.get("external_id", ""),
        )
        return self.created(member)

    @extend_schema(request=MemberUpdateSerializer, responses=MemberSerializer)
    def partial_update(self, request, pk=None):
        member = self.get_object()
        MANAGE_PEOPLE.require(request.member)
        member = member_update(
            actor=request.member, member=member, **self.parsed(MemberUpdateSerializer, member)
        )
        return Response(self.get_serializer(member).data)

    @extend_schema(
        request=SPREADSHEET_BODY,
        parameters=[
            OpenApiParameter(
                "dry_run",
                OpenApiTypes.BOOL,
                description="Preview only: what each row would create or change, and its "
                "errors; nothing is written.",
            )
        ],
        responses={200: OpenApiTypes.OBJECT, 201: OpenApiTypes.OBJECT},
        summary="Import people from a spreadsheet (CSV or XLSX), all rows or none",
        description=f"The file is the request body (`text/csv` or the XLSX media type) "
        f"with the columns {', '.join(COLUMNS)} (headers in any case; `manager_email` "
        "is read as `manager email`). A row names a member by external id, else by "
        "email: they are updated; anyone else is added, with the email that lets them "
        "set a password. An empty cell changes nothing; an unknown department is "
        "created. Importing twice changes nothing. With errors nothing is written and "
        'the answer is a 400 with the messages per row and column: {"rows": {"3": '
        '{"email": […]}}} (rows are the file\'s lines; the headers are line 1). Admins only.',
    )
    @action(
        detail=False,
        methods=["post"],
        url_path="import",
        url_name="import",
        parser_classes=SPREADSHEET_PARSERS,
        pagination_class=None,
        filter_backends=[],
    )
    def import_file(self, request):
        MANAGE_PEOPLE.require(request.member)
        preview_only = dry_run(request)
        rows = read_people(spreadsheet_body(request), spreadsheet_format(request))
        if preview_only:
            return Response(people_import_plan(actor=request.member, rows=rows).preview())
        try:
            plan = people_import_commit(actor=request.member, rows=rows)
        except RowErrors as refused:
            return Response({"rows": refused.by_row}, status=status.HTTP_400_BAD_REQUEST)
        return Response({"totals": plan.totals}, status=status.HTTP_201_CREATED)


class DepartmentViewSet(OrgViewSet):
    queryset = Department.objects.order_by("id")
    serializer_class = DepartmentSerializer
    ordering_fields = ["id", "name", "updated_at"]

    def get_queryset(self):
        departments = super().get_queryset()
        if self.action != "list":
            return departments
        return _external_id_and_updated_since(departments, self.request.query_params)

    @extend_schema(parameters=[EXTERNAL_ID_FILTER, UPDATED_SINCE])
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    def create(self, request):
        MANAGE_DEPARTMENTS.require(request.member)
        department = department_create(actor=request.member, **self.parsed(DepartmentSerializer))
        return self.created(department)

    def partial_update(self, request, pk=None):
        department = self.get_object()
        MANAGE_DEPARTMENTS.require(request.member)
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
    ordering_fields = ["id", "created_at"]
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


class ServiceTokenViewSet(mixins.ListModelMixin, mixins.DestroyModelMixin, OrgScopedViewSet):
    """The organization's service tokens, for integrations: admins only (signed in, with
    their own token, or through an `admin` token). Each acts as the admin who made it,
    within its scope (org/tokens.py), and expires within a year, 90 days unless told.
    Creating one answers its key, once; only its hash is kept. DELETE revokes it."""

    queryset = ApiToken.objects.none()
    serializer_class = ServiceTokenSerializer
    ordering_fields = ["id", "name", "created", "expiry"]
    http_method_names = ["get", "post", "delete", "head", "options"]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return self.queryset
        MANAGE_TOKENS.require(self.request.member)
        return service_tokens(self.request.member.organization_id)

    @extend_schema(request=ServiceTokenSerializer, responses={201: ServiceTokenSerializer})
    def create(self, request):
        MANAGE_TOKENS.require(request.member)
        token, key = service_token_create(
            actor=request.member, **self.parsed(ServiceTokenSerializer)
        )
        token.key = key  # shown this once
        return self.created(token)

    def perform_destroy(self, instance):
        service_token_revoke(actor=self.request.member, token=instance)


class WebhookViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.DestroyModelMixin, OrgScopedViewSet
):
    """Webhooks (admins only): events sent as signed JSON (`X-Cascade-Signature:
    t=<unix time>,v1=<hex HMAC-SHA256 of "<t>.<body>">`), retried for 24 hours;
    `deliveries/` is the log. An address on a private, loopback, link-local or reserved
    network is refused (400), when saved and at every attempt."""

    queryset = Webhook.objects.order_by("id")
    serializer_class = WebhookSerializer
    ordering_fields = ["id", "created_at"]
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def get_queryset(self):
        if not getattr(self, "swagger_fake_view", False):
            MANAGE_WEBHOOKS.require(self.request.member)
        return super().get_queryset()

    @extend_schema(request=WebhookSerializer, responses={201: WebhookCreatedSerializer})
    def create(self, request):
        MANAGE_WEBHOOKS.require(request.member)
        hook = webhook_create(actor=request.member, **self.parsed(WebhookSerializer))
        response = self.created(hook)
        response.data = WebhookCreatedSerializer(hook).data  # its secret, this once
        return response

    def partial_update(self, request, pk=None):
        hook = self.get_object()
        hook = webhook_update(
            actor=request.member, webhook=hook, **self.parsed(WebhookSerializer, hook)
        )
        return Response(WebhookSerializer(hook).data)

    def perform_destroy(self, instance):
        webhook_delete(actor=self.request.member, webhook=instance)

    @extend_schema(responses=WebhookDeliverySerializer(many=True), summary="The delivery log")
    @action(detail=True, serializer_class=WebhookDeliverySerializer, filter_backends=[])
    def deliveries(self, request, pk=None):
        hook = self.get_object()
        page = self.paginate_queryset(hook.deliveries.order_by("-id"))
        return self.get_paginated_response(WebhookDeliverySerializer(page, many=True).data)

    @extend_schema(
        request=None,
        responses={202: WebhookDeliverySerializer},
        summary="Send a test delivery (a `ping` event)",
    )
    @action(detail=True, methods=["post"])
    def ping(self, request, pk=None):
        """A `ping` delivery, made now and sent by the worker as every event is (signed,
        retried, in the log), whatever events the webhook hears, paused or not."""
        delivery = webhook_ping(actor=request.member, webhook=self.get_object())
        return Response(WebhookDeliverySerializer(delivery).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(
        request=None,
        responses={202: WebhookDeliverySerializer},
        summary="Send a delivery's payload again, as a new delivery",
    )
    @action(
        detail=True,
        methods=["post"],
        url_path=r"deliveries/(?P<delivery_id>[0-9]+)/redeliver",
    )
    def redeliver(self, request, pk=None, delivery_id=None):
        """The same event and payload under a new delivery id, signed anew, with its own
        attempts in the log; the first delivery stays as it was."""
        hook = self.get_object()
        delivery = get_object_or_404(hook.deliveries.select_related("webhook"), pk=delivery_id)
        again = webhook_redeliver(actor=request.member, delivery=delivery)
        return Response(WebhookDeliverySerializer(again).data, status=status.HTTP_202_ACCEPTED)


class ChatTargetViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.DestroyModelMixin, OrgScopedViewSet
):
    """Chat targets (SPEC §9.6): Slack- and Teams-compatible incoming webhooks that hear
    check-ins due, goal health changes and completed reviews, of the whole organization
    or of one department (and those below it). Admins manage every one; a manager
    those of their own departments, and sees only those; anyone else is refused (403).
    The address is written, never answered (`url_hint`); it must be https:// on the
    public internet (400 otherwise), checked when saved and at every attempt.
    `messages/` lists what was sent; `test/` sends a test message."""

    queryset = ChatTarget.objects.order_by("id")
    serializer_class = ChatTargetSerializer
    ordering_fields = ["id", "created_at"]
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return self.queryset.none()
        MANAGE_SOME_CHAT.require(self.request.member)
        return chat_targets_visible(self.request.member)

    @extend_schema(request=ChatTargetSerializer, responses={201: ChatTargetSerializer})
    def create(self, request):
        MANAGE_SOME_CHAT.require(request.member)
        target = chat_target_create(actor=request.member, **self.parsed(ChatTargetSerializer))
        return self.created(target)

    def partial_update(self, request, pk=None):
        target = self.get_object()
        target = chat_target_update(
            actor=request.member, target=target, **self.parsed(ChatTargetSerializer, target)
        )
        return Response(ChatTargetSerializer(target).data)

    def perform_destroy(self, instance):
        chat_target_delete(actor=self.request.member, target=instance)

    @extend_schema(responses=ChatMessageSerializer(many=True), summary="The messages sent")
    @action(detail=True, serializer_class=ChatMessageSerializer, filter_backends=[])
    def messages(self, request, pk=None):
        target = self.get_object()
        page = self.paginate_queryset(target.messages.order_by("-id"))
        return self.get_paginated_response(ChatMessageSerializer(page, many=True).data)

    @extend_schema(
        request=None,
        responses={202: ChatMessageSerializer},
        summary="Send a test message",
    )
    @action(detail=True, methods=["post"])
    def test(self, request, pk=None):
        """A test message, made now and sent by the worker as every message is (retried,
        listed in `messages/`), whatever the target hears, paused or not."""
        message = chat_target_test(actor=request.member, target=self.get_object())
        return Response(ChatMessageSerializer(message).data, status=status.HTTP_202_ACCEPTED)
