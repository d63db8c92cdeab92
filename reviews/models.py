"""Check-in meetings: a review walks the goals of its scope, one item each, and
records what was decided and who does what next."""

from __future__ import annotations

from django.db import models

from core.email import OwedEmail


class ReviewState(models.TextChoices):
    SCHEDULED = "scheduled", "Scheduled"
    IN_PROGRESS = "in_progress", "In progress"
    COMPLETED = "completed", "Completed"
    CANCELLED = "cancelled", "Cancelled"


class Assessment(models.TextChoices):
    ON_TRACK = "on_track", "On track"
    AT_RISK = "at_risk", "At risk"
    OFF_TRACK = "off_track", "Off track"


class Review(models.Model):
    organization = models.ForeignKey(
        "org.Organization", on_delete=models.CASCADE, related_name="reviews"
    )
    cycle = models.ForeignKey("cycles.Cycle", on_delete=models.PROTECT, related_name="reviews")
    title = models.CharField(max_length=300)
    goal = models.ForeignKey(
        "goals.Goal",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="scoped_reviews",
        help_text="Scope: this goal's subtree.",
    )
    department = models.ForeignKey(
        "org.Department",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="reviews",
        help_text="Scope: this department's goals.",
    )
    period = models.CharField(max_length=8, help_text="2027-03 (monthly) or 2027-Q1 (quarterly)")
    scheduled_for = models.DateTimeField()
    facilitator = models.ForeignKey(
        "org.Member", on_delete=models.PROTECT, related_name="facilitated_reviews"
    )
    state = models.CharField(
        max_length=16, choices=ReviewState.choices, default=ReviewState.SCHEDULED
    )
    created_by = models.ForeignKey(
        "org.Member", null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    # The calendar invitation's SEQUENCE (RFC 5545): raised by each change that people
    # must see in their calendars (time, title, scope, facilitator) and by cancelling.
    sequence = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-scheduled_for", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(goal__isnull=True) | models.Q(department__isnull=True),
                name="review_one_scope",
            ),
        ]
        indexes = [models.Index(fields=["organization", "state", "scheduled_for"])]

    def __str__(self) -> str:
        return self.title

    @property
    def scope_label(self) -> str:
        if self.goal_id:
            return f"Goal: {self.goal.title}"
        if self.department_id:
            return f"Department: {self.department.name}"
        return "Whole organization"


class ReviewItem(models.Model):
    """One goal walked in a review: how it stood when the review started, and what
    the meeting made of it."""

    review = models.ForeignKey(Review, on_delete=models.CASCADE, related_name="items")
    goal = models.ForeignKey("goals.Goal", on_delete=models.PROTECT, related_name="review_items")
    position = models.PositiveIntegerField()
    progress_snapshot = models.FloatField()
    health_snapshot = models.CharField(max_length=16)
    stale_snapshot = models.BooleanField(
        default=False, help_text="A KPI lacked a value this period."
    )
    assessment = models.CharField(max_length=16, choices=Assessment.choices, blank=True)
    win = models.BooleanField(default=False)
    notes = models.TextField(blank=True)
    decision = models.TextField(blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["review", "position"]
        constraints = [
            models.UniqueConstraint(fields=["review", "goal"], name="review_item_one_per_goal"),
        ]

    def __str__(self) -> str:
        return f"{self.review}: {self.goal}"


class ActionItem(models.Model):
    review = models.ForeignKey(Review, on_delete=models.CASCADE, related_name="actions")
    item = models.ForeignKey(
        ReviewItem, null=True, blank=True, on_delete=models.SET_NULL, related_name="actions"
    )
    title = models.CharField(max_length=300)
    owner = models.ForeignKey("org.Member", on_delete=models.PROTECT, related_name="action_items")
    due = models.DateField()
    done = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    done_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["due", "id"]
        indexes = [models.Index(fields=["owner", "done"])]

    def __str__(self) -> str:
        return self.title


class ReviewReminder(OwedEmail):
    """One reminder per participant and review, ever (the constraint guarantees it)."""

    review = models.ForeignKey(Review, on_delete=models.CASCADE, related_name="reminders")
    member = models.ForeignKey(
        "org.Member", on_delete=models.CASCADE, related_name="review_reminders"
    )
    run = models.UUIDField()
    sent_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["review", "member"], name="one_review_reminder_each"),
        ]

    def __str__(self) -> str:
        return f"{self.review} → {self.member}"


class InvitationMethod(models.TextChoices):
    REQUEST = "REQUEST", "Invitation or update"
    CANCEL = "CANCEL", "Cancellation"


class ReviewInvitation(OwedEmail):
    """The calendar email one participant is owed for one version (`sequence`) of a
    review: an invitation, an update, or a cancellation. A newer version owed to the
    same person makes an older one unneeded."""

    review = models.ForeignKey(Review, on_delete=models.CASCADE, related_name="invitations")
    member = models.ForeignKey("org.Member", on_delete=models.CASCADE, related_name="+")
    sequence = models.PositiveIntegerField()
    method = models.CharField(max_length=8, choices=InvitationMethod.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["review", "member", "sequence"], name="one_invitation_per_version"
            ),
        ]
        indexes = [models.Index(fields=["email_due", "email_next_try"], name="invitation_owed")]

    def __str__(self) -> str:
        return f"{self.method} {self.review_id}#{self.sequence} → {self.member_id}"


class WeeklyDigest(OwedEmail):
    """One person's digest of one ISO week ("2026-W50"), ever (the constraint)."""

    member = models.ForeignKey("org.Member", on_delete=models.CASCADE, related_name="+")
    week = models.CharField(max_length=8)
    run = models.UUIDField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["member", "week"], name="one_digest_per_week"),
        ]
        indexes = [models.Index(fields=["week", "email_due"], name="digest_owed")]

    def __str__(self) -> str:
        return f"{self.week} → {self.member_id}"
