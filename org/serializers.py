from __future__ import annotations

from rest_framework import serializers

from core.api import InputSerializer, OrgSerializer

from .chat import url_hint
from .models import (
    ApiToken,
    ChatEvent,
    ChatMessage,
    ChatPlatform,
    ChatTarget,
    Department,
    Member,
    Notification,
    Organization,
    Role,
    TokenScope,
    Webhook,
    WebhookDelivery,
    WebhookEvent,
)

EXTERNAL_ID_HELP = (
    "The identity provider's or HR system's id (SCIM, the people import): unique in "
    "the organization when not empty."
)


class OrganizationRefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()


class MeSerializer(serializers.ModelSerializer):
    username = serializers.CharField(source="user.username")
    organization = OrganizationRefSerializer()

    class Meta:
        model = Member
        fields = ["id", "username", "role", "department", "organization"]


class MemberSerializer(OrgSerializer):
    username = serializers.CharField(source="user.username", max_length=150)
    email = serializers.EmailField(source="user.email", required=False, allow_blank=True)
    password = serializers.CharField(
        write_only=True,
        required=False,
        min_length=8,
        max_length=128,
        style={"input_type": "password"},
    )
    role = serializers.ChoiceField(choices=Role.choices, required=False, default=Role.MEMBER)

    class Meta:
        model = Member
        fields = [
            "id",
            "username",
            "email",
            "password",
            "role",
            "department",
            "manager",
            "is_active",
            "external_id",
            "updated_at",
        ]
        read_only_fields = ["is_active", "updated_at"]
        extra_kwargs = {"external_id": {"help_text": EXTERNAL_ID_HELP}}

    scoped_fields = ("department", "manager")

    def get_validators(self):
        return []  # uniqueness is the service's to check, after permissions


class MemberUpdateSerializer(OrgSerializer):
    class Meta:
        model = Member
        fields = ["role", "department", "manager", "is_active", "external_id"]
        extra_kwargs = {"external_id": {"help_text": EXTERNAL_ID_HELP}}

    def get_validators(self):
        return []  # uniqueness is the service's to check, after permissions

    scoped_fields = ("department", "manager")


class DepartmentSerializer(OrgSerializer):
    class Meta:
        model = Department
        fields = ["id", "name", "parent", "head", "external_id", "updated_at"]
        read_only_fields = ["updated_at"]
        extra_kwargs = {"external_id": {"help_text": EXTERNAL_ID_HELP}}

    scoped_fields = ("parent", "head")

    def get_validators(self):
        return []  # uniqueness is the service's to check, after permissions


class NotificationSerializer(OrgSerializer):
    read = serializers.SerializerMethodField()

    class Meta:
        model = Notification
        fields = ["id", "kind", "title", "body", "link", "created_at", "read_at", "read"]
        read_only_fields = fields

    def get_read(self, notification) -> bool:
        return notification.read_at is not None


class CredentialsSerializer(InputSerializer):
    username = serializers.CharField(max_length=150)
    password = serializers.CharField(max_length=4096, trim_whitespace=False, write_only=True)


class TokenSerializer(serializers.Serializer):
    token = serializers.CharField(help_text="The key, shown this once: only its hash is kept.")
    expiry = serializers.DateTimeField(
        help_text="When it stops working: API_TOKEN_DAYS (90) from now, at most a year."
    )


SCOPES_EXPLAINED = (
    "What the token may do, always as the admin who made it: `read` reads only; "
    "`write` writes what its maker's role may, but not tokens, members or webhooks; "
    "`admin` also those, while its maker is an admin; `scim` only the SCIM endpoints "
    "(/scim/v2/), nothing under /api/v1/."
)


class ServiceTokenSerializer(OrgSerializer):
    """A service token: its name (the author of what it records), scope and expiry.
    `key` is answered once, on creation."""

    key = serializers.SerializerMethodField(help_text="Only in the answer to creating it.")
    scope = serializers.ChoiceField(
        choices=TokenScope.choices, default=TokenScope.WRITE, help_text=SCOPES_EXPLAINED
    )
    expires_on = serializers.DateField(
        required=False,
        allow_null=True,
        write_only=True,
        help_text="The last day it works (the organization's calendar): after today and "
        "at most a year ahead. Without it (and without `expiry`): 90 days from now.",
    )
    expiry = serializers.DateTimeField(
        required=False,
        allow_null=True,
        help_text="When it stops working: in the future and at most a year from now "
        "(give this or `expires_on`, not both). Without either: 90 days from now.",
    )
    created_by = serializers.CharField(source="user.username", read_only=True)

    class Meta:
        model = ApiToken
        fields = ["id", "name", "scope", "expires_on", "expiry", "created", "created_by", "key"]
        read_only_fields = ["created"]
        extra_kwargs = {"name": {"required": True, "allow_blank": False}}

    def get_key(self, token) -> str | None:
        return getattr(token, "key", None)


class WebhookSerializer(OrgSerializer):
    """Where Cascade sends events, which ones, and the secret it signs them with (shown
    in the answer to creating the webhook only; without one, a random one is made)."""

    events = serializers.ListField(
        child=serializers.ChoiceField(choices=WebhookEvent.choices),
        allow_empty=False,
        min_length=1,  # declares minItems in the schema
    )
    secret = serializers.CharField(
        required=False,
        write_only=True,
        max_length=200,
        help_text="The key each delivery is signed with (stored encrypted); at least 16 "
        "characters. Without it, a random one, answered once.",
    )

    class Meta:
        model = Webhook
        fields = ["id", "url", "events", "secret", "is_active", "created_at"]
        read_only_fields = ["created_at"]
        extra_kwargs = {
            "url": {
                "help_text": "An http:// or https:// address on the public internet: no "
                "user name or password in it, no private, loopback or link-local network."
            }
        }


class WebhookCreatedSerializer(WebhookSerializer):
    secret = serializers.CharField(read_only=True)

    class Meta(WebhookSerializer.Meta):
        pass


class WebhookPayloadSerializer(serializers.Serializer):
    """The body a delivery sends, without the `id` and `created_at` added at sending."""

    event = serializers.CharField(help_text="The event, as the delivery's `event`.")
    data = serializers.DictField(
        help_text="What happened (README, “Webhooks”, gives each event's fields)."
    )


class PingEventSerializer(serializers.Serializer):
    """`data` of a `ping` (webhooks/{id}/ping/): which webhook it is, what it hears of."""

    webhook = serializers.IntegerField(help_text="The webhook's id.")
    url = serializers.URLField()
    events = serializers.ListField(child=serializers.ChoiceField(choices=WebhookEvent.choices))


class WebhookPayloadField(serializers.JSONField):
    """A delivery's payload as it was stored. In the schema (cascade/webhook_payloads.py)
    `WebhookPayload`: one WebhookPayloadSerializer per event, its `data` typed."""


class WebhookDeliverySerializer(serializers.ModelSerializer):
    payload = WebhookPayloadField(read_only=True)

    class Meta:
        model = WebhookDelivery
        fields = [
            "id",
            "event",
            "payload",
            "state",
            "attempts",
            "last_status",
            "last_error",
            "created_at",
            "next_attempt_at",
            "delivered_at",
        ]


class ChatTargetSerializer(OrgSerializer):
    """A Slack- or Teams-compatible incoming webhook Cascade posts news to (SPEC §9.6):
    of the whole organization (`department` null) or of one department and those below
    it. Its address is a secret: written, never answered (`url_hint` tells targets
    apart)."""

    platform = serializers.ChoiceField(choices=ChatPlatform.choices)
    url = serializers.CharField(
        write_only=True,
        max_length=2000,
        help_text="The https:// address the chat service made for the channel (Slack: "
        "an incoming webhook; Teams: a Workflows “when a webhook request is received” "
        "flow or an incoming webhook). Stored encrypted, never answered.",
    )
    url_hint = serializers.SerializerMethodField(
        help_text="The address's host and last four characters, e.g. hooks.slack.com…x7Qa."
    )
    events = serializers.ListField(
        child=serializers.ChoiceField(choices=ChatEvent.choices),
        allow_empty=False,
        min_length=1,
    )

    class Meta:
        model = ChatTarget
        fields = [
            "id",
            "platform",
            "name",
            "url",
            "url_hint",
            "department",
            "events",
            "is_active",
            "created_at",
        ]
        read_only_fields = ["created_at"]
        extra_kwargs = {
            "department": {
                "help_text": "The department whose news it hears (and of those below it); "
                "null: the whole organization's (admins only)."
            },
            "name": {"help_text": "Where it posts, e.g. #sales-goals."},
        }

    scoped_fields = ("department",)

    def get_url_hint(self, target) -> str:
        return url_hint(target.url)


class ChatMessageSerializer(serializers.ModelSerializer):
    """One message to a target, in the platform's own format (`payload`), and what
    became of it: pending (tried again with a growing pause), delivered or failed."""

    payload = serializers.JSONField(
        read_only=True, help_text="The body posted: Slack blocks or a Teams Adaptive Card."
    )

    class Meta:
        model = ChatMessage
        fields = [
            "id",
            "event",
            "payload",
            "state",
            "attempts",
            "last_status",
            "last_error",
            "created_at",
            "next_attempt_at",
            "delivered_at",
        ]
        read_only_fields = fields


class OrganizationSerializer(serializers.ModelSerializer):
    timezone = serializers.CharField(
        help_text="An IANA time zone (Europe/Berlin, UTC): what “today” is for health, "
        "check-in periods and reminders, and when the people without a zone of their own "
        "get the weekly digest (Monday morning)."
    )

    class Meta:
        model = Organization
        fields = ["id", "name", "timezone"]
        read_only_fields = ["id", "name"]


class OrganizationUpdateSerializer(InputSerializer):
    timezone = serializers.CharField(
        max_length=64,
        help_text="An IANA time zone, e.g. Europe/Berlin (admins only).",
    )
