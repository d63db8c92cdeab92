"""Tenants and the people in them: organizations, departments, memberships."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from typing import ClassVar, Self

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from django.utils.text import slugify
from knox.models import AbstractAuthToken

from core.crypto import EncryptedTextField


def validate_timezone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError(f"“{value}” is not a known time zone (try Europe/Berlin or UTC).")


class MfaPolicy(models.TextChoices):
    OPTIONAL = "optional", "Optional: each person chooses"
    ADMINS = "admins", "Required for admins"
    EVERYONE = "everyone", "Required for everyone"


def unique_slug(name: str) -> str:
    """A slug for a new organization's name, numbered when another has it."""
    base = slugify(name)[:50] or "organization"
    slug, n = base, 1
    while Organization.objects.filter(slug=slug).exists():
        n += 1
        slug = f"{base}-{n}"
    return slug


class Organization(models.Model):
    name = models.CharField(max_length=200, unique=True)
    # In the single sign-on address, /sso/<slug>/login/ (identity/): set from the name
    # when the organization is made, never changed after (identity providers hold it).
    slug = models.SlugField(max_length=60, unique=True, editable=False)
    timezone = models.CharField(max_length=64, default="UTC", validators=[validate_timezone])
    mfa_policy = models.CharField(
        max_length=10, choices=MfaPolicy.choices, default=MfaPolicy.OPTIONAL
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs) -> None:
        if not self.slug:
            self.slug = unique_slug(self.name)
        super().save(*args, **kwargs)

    def today(self) -> dt.date:
        """The organization's calendar date: what "today" means for health and periods."""
        return self.now().date()

    def now(self) -> dt.datetime:
        return timezone.now().astimezone(zoneinfo.ZoneInfo(self.timezone))


class Department(models.Model):
    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="departments"
    )
    name = models.CharField(max_length=200)
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )
    head = models.ForeignKey(
        "org.Member", null=True, blank=True, on_delete=models.SET_NULL, related_name="heads"
    )
    # The identity provider's or HR system's id (SCIM, the people import, the API).
    external_id = models.CharField(max_length=200, blank=True, default="")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "name"], name="department_unique_name"),
            models.UniqueConstraint(
                fields=["organization", "external_id"],
                condition=~models.Q(external_id=""),
                name="department_unique_external_id",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Role(models.TextChoices):
    ADMIN = "admin", "Admin"
    LEADER = "leader", "Leader"
    MANAGER = "manager", "Manager"
    REVIEWER = "reviewer", "Reviewer"
    MEMBER = "member", "Member"


class Member(models.Model):
    """A user's membership of one organization."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="members")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.MEMBER)
    department = models.ForeignKey(
        Department, null=True, blank=True, on_delete=models.SET_NULL, related_name="members"
    )
    manager = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="reports"
    )
    is_active = models.BooleanField(default=True)
    reminder_emails = models.BooleanField(
        default=True, help_text="Email me check-in reminders (in-app notifications always arrive)."
    )
    digest_emails = models.BooleanField(
        default=True, help_text="Email me a weekly digest on Monday morning (SPEC §9.6)."
    )
    # The person's own time zone for their digest, feed and emails ("": the organization's).
    timezone = models.CharField(
        max_length=64, blank=True, default="", validators=[validate_timezone]
    )
    # The identity provider's or HR system's id (SCIM, the people import, the API).
    external_id = models.CharField(max_length=200, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    # The person's sessions begun before this moment are over (org/sessions.py): set
    # when their role, MFA or SSO setting changes.
    sessions_ended_at = models.DateTimeField(null=True, blank=True, editable=False)

    # Not stored: the service token this member acts through, for one API request
    # (org/tokens.py acting_member): its name, which values recorded then carry as
    # their author, its id (the audit log's "which token"), and its scope, which
    # org/permissions.py reads (empty: not through a service token).
    via_token = ""
    via_token_id: int | None = None
    via_scope = ""

    class Meta:
        ordering = ["user__username"]
        constraints = [
            models.UniqueConstraint(fields=["user", "organization"], name="member_one_per_org"),
            models.UniqueConstraint(
                fields=["organization", "external_id"],
                condition=~models.Q(external_id=""),
                name="member_unique_external_id",
            ),
        ]

    def __str__(self) -> str:
        return self.display_name

    @property
    def display_name(self) -> str:
        return self.user.get_full_name() or self.user.username

    @property
    def wants_reminder_emails(self) -> bool:
        """Reminders are emailed to whoever has an address and did not turn them off."""
        return bool(self.reminder_emails and self.user.email)

    @property
    def wants_digest(self) -> bool:
        """The weekly digest goes to whoever has an address and did not turn it off."""
        return bool(self.digest_emails and self.user.email)

    def zone(self, organization_zone: str) -> zoneinfo.ZoneInfo:
        """The person's time zone: their own, or else `organization_zone` (the
        organization's, which the caller has read)."""
        return zoneinfo.ZoneInfo(self.timezone or organization_zone)


class TokenScope(models.TextChoices):
    """What a service token may do, always as its maker and never more (org/tokens.py)."""

    READ = "read", "Read"
    WRITE = "write", "Read and write"
    ADMIN = "admin", "Admin"
    SCIM = "scim", "SCIM provisioning"


class ApiToken(AbstractAuthToken):
    """An API key, stored hashed (django-rest-knox: `digest`, and the first characters
    in `token_key` to find it). A person's own token (POST auth/token/) acts as them;
    a service token (`organization` set, made by an admin) acts as its maker, restricted
    by its `scope`, under its `name`. Every token expires, within a year of being made.
    Revoking deletes it."""

    # A plain id to name it by (URLs, lists); knox's key, the digest, stays unique.
    id = models.BigAutoField(primary_key=True)
    digest = models.CharField(max_length=128, unique=True)
    name = models.CharField(max_length=100, blank=True)
    scope = models.CharField(max_length=8, choices=TokenScope.choices, default=TokenScope.WRITE)
    expiry = models.DateTimeField(help_text="When it stops working: within a year of `created`.")
    organization = models.ForeignKey(
        Organization,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="service_tokens",
        help_text="Set for a service token: the organization it acts for.",
    )

    class Meta:
        verbose_name = "API token"
        ordering = ["name", "created"]

    def __str__(self) -> str:
        return self.name or f"{self.user} ({self.token_key}…)"

    @property
    def is_service(self) -> bool:
        return self.organization_id is not None

    @property
    def last_day(self) -> dt.date:
        """The last day it works, in the current time zone (it expires at the end of it)."""
        return timezone.localtime(self.expiry - dt.timedelta(seconds=1)).date()


class Notification(models.Model):
    """An in-app message to one member (reminders, and whatever else needs their eye)."""

    member = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="notifications")
    kind = models.CharField(max_length=32)
    title = models.CharField(max_length=300)
    body = models.TextField(blank=True)
    link = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    read_at = models.DateTimeField(null=True, blank=True)
    # What it is about, for one that must be made once only: a job that runs again (a
    # task redelivered after its worker died) finds it made and makes no second one.
    key = models.CharField(max_length=64, null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["member", "read_at"])]
        constraints = [
            models.UniqueConstraint(fields=["member", "key"], name="one_notification_per_key")
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def organization_id(self) -> int:
        return self.member.organization_id


class WebhookEvent(models.TextChoices):
    """What a webhook may hear of (README "Webhooks" gives each event's `data`)."""

    KPI_UPDATE_RECORDED = "kpi.update_recorded", "A KPI value was recorded"
    GOAL_HEALTH_CHANGED = "goal.health_changed", "A goal's health changed"
    REVIEW_COMPLETED = "review.completed", "A review was completed"
    GOAL_CREATED = "goal.created", "A goal was created"
    GOAL_UPDATED = "goal.updated", "A goal was changed"
    GOAL_STATE_CHANGED = "goal.state_changed", "A goal was marked done, cancelled or active"
    KPI_CREATED = "kpi.created", "A KPI was created"
    KPI_ARCHIVED = "kpi.archived", "A KPI was archived"
    ACTION_ASSIGNED = "action.assigned", "A review's action was given to someone"
    CYCLE_CLOSED = "cycle.closed", "A cycle was closed"


# Sent to a webhook when an admin asks (webhooks/{id}/ping/), whatever its events.
PING = "ping"
DELIVERY_EVENTS = [*WebhookEvent.choices, (PING, "A test delivery")]


class Webhook(models.Model):
    """An address Cascade tells of events (SPEC §8.4), signing each body with `secret`
    (stored encrypted: core/crypto.py)."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    url = models.URLField(max_length=500)
    secret = EncryptedTextField()
    events = models.JSONField(default=list)
    is_active = models.BooleanField(default=True)
    created_by = models.ForeignKey(Member, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return self.url


class DeliveryState(models.TextChoices):
    PENDING = "pending", "Pending"  # not delivered yet: tried again with a growing pause
    DELIVERED = "delivered", "Delivered"
    FAILED = "failed", "Failed"  # refused for 24 hours, or its address is not allowed


class Delivery(models.Model):
    """One message to one outside address, and every attempt to deliver it (a webhook's
    delivery, a chat message): an outbox row, sent by org/deliveries.py."""

    state = models.CharField(
        max_length=12, choices=DeliveryState.choices, default=DeliveryState.PENDING
    )
    attempts = models.PositiveIntegerField(default=0)
    last_status = models.PositiveIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    delivered_at = models.DateTimeField(null=True, blank=True)

    objects: ClassVar[models.Manager[Self]]  # each concrete row's, as Django adds it

    class Meta:
        abstract = True


class WebhookDelivery(Delivery):
    """One event for one webhook, and every attempt to deliver it: the delivery log."""

    webhook = models.ForeignKey(Webhook, on_delete=models.CASCADE, related_name="deliveries")
    event = models.CharField(max_length=40, choices=DELIVERY_EVENTS)
    payload = models.JSONField()

    class Meta:
        ordering = ["-id"]
        indexes = [models.Index(fields=["state", "next_attempt_at"])]

    def __str__(self) -> str:
        return f"{self.event} → {self.webhook_id} ({self.state})"


class ChatPlatform(models.TextChoices):
    SLACK = "slack", "Slack (incoming webhook, Block Kit)"
    TEAMS = "teams", "Microsoft Teams (incoming webhook, Adaptive Card)"


class ChatEvent(models.TextChoices):
    """What a chat target may hear of (SPEC §9.6)."""

    CHECKIN_DUE = "checkin.due", "Check-ins due: one message per department listing who is due"
    HEALTH_CHANGED = "goal.health_changed", "Health changes of strategic and department goals"
    REVIEW_COMPLETED = "review.completed", "Completed review summaries"


class ChatTarget(models.Model):
    """A Slack- or Teams-compatible incoming webhook that hears news of the whole
    organization, or of one department (and the ones below it). Its address is a secret
    (whoever has it may post to the channel): stored encrypted, never shown whole."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    department = models.ForeignKey(
        Department, null=True, blank=True, on_delete=models.CASCADE, related_name="chat_targets"
    )
    platform = models.CharField(max_length=8, choices=ChatPlatform.choices)
    name = models.CharField(max_length=100, help_text="Where it posts, e.g. #sales-goals.")
    url = EncryptedTextField()
    events = models.JSONField(default=list)
    is_active = models.BooleanField(default=True)
    created_by = models.ForeignKey(Member, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return self.name


class ChatMessage(Delivery):
    """One message to one chat target, in the platform's own format (`payload`)."""

    target = models.ForeignKey(ChatTarget, on_delete=models.CASCADE, related_name="messages")
    event = models.CharField(max_length=40)
    payload = models.JSONField()

    class Meta:
        ordering = ["-id"]
        indexes = [models.Index(fields=["state", "next_attempt_at"], name="chat_message_due")]

    def __str__(self) -> str:
        return f"{self.event} → {self.target_id} ({self.state})"


class CalendarFeed(models.Model):
    """A person's private calendar address (webcal) of their reviews and check-in
    deadlines (SPEC §9.6). Whoever has the address reads the calendar, so it can be
    reset (a new key; the old address answers 404) or turned off (the row goes)."""

    member = models.OneToOneField(Member, on_delete=models.CASCADE, related_name="calendar_feed")
    key = EncryptedTextField()  # shown to its person on the Notifications page
    key_hash = models.CharField(max_length=64, unique=True)  # sha256 of key: the lookup
    created_at = models.DateTimeField(auto_now_add=True)
    last_read_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"Calendar of {self.member_id}"


class OwedJob(models.Model):
    """The outbox (SPEC §9.4, org/outbox.py): one piece of work a write owes to someone
    (a notification, a message), written in the write's own transaction and done by a
    Celery task once it commits, or by the sweep when that task was lost."""

    task = models.CharField(max_length=200, help_text="The registered Celery task to run.")
    kwargs = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True)
    next_try = models.DateTimeField(default=timezone.now)
    attempts = models.PositiveIntegerField(default=0, help_text="Failed attempts so far.")
    last_error = models.CharField(max_length=500, blank=True)
    done_at = models.DateTimeField(null=True, blank=True)
    failed_at = models.DateTimeField(
        null=True, blank=True, help_text="Given up: it failed for a whole day."
    )

    class Meta:
        ordering = ["id"]
        indexes = [
            models.Index(
                fields=["next_try"],
                name="owed_job_pending",
                condition=models.Q(done_at__isnull=True, failed_at__isnull=True),
            )
        ]

    def __str__(self) -> str:
        return f"{self.task}({self.kwargs})"


class ChangeKind(models.TextChoices):
    """What the changes feed (org/changes.py) speaks of."""

    GOAL = "goal", "Goal"
    KPI = "kpi", "KPI"
    UPDATE = "update", "KPI update"
    MEMBER = "member", "Member"
    DEPARTMENT = "department", "Department"
    CYCLE = "cycle", "Cycle"


class ChangeAction(models.TextChoices):
    CREATED = "created", "Created"
    UPDATED = "updated", "Updated"
    DELETED = "deleted", "Deleted"


class Change(models.Model):
    """One object created, changed or deleted (SPEC §9.7, the changes feed): written in
    the transaction of the write it tells of (org/changes.py), read in commit order."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    # PostgreSQL: the writing transaction's id (`pg_current_xact_id()`); the feed reads a
    # row only once every transaction that could still write a lower one has ended.
    # SQLite (one writer at a time): 0, and the id alone is the commit order.
    txid = models.BigIntegerField(default=0)
    kind = models.CharField(max_length=16, choices=ChangeKind.choices)
    object_id = models.BigIntegerField()
    action = models.CharField(max_length=8, choices=ChangeAction.choices)
    # The object's external id when the write knew it (a deleted object's stays here).
    external_id = models.CharField(max_length=200, null=True, blank=True)
    at = models.DateTimeField()

    class Meta:
        ordering = ["txid", "id"]
        indexes = [
            models.Index(fields=["organization", "txid", "id"], name="change_feed"),
            models.Index(fields=["organization", "kind", "object_id"], name="change_object"),
            models.Index(fields=["at"], name="change_at"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.object_id} {self.action}"
