"""KPIs and their append-only history of values."""

from __future__ import annotations

import datetime as dt
import json
from typing import TYPE_CHECKING

from django.db import models
from django.db.models import Q

from core.crypto import EncryptedTextField
from core.email import OwedEmail
from goals.models import Tracked

if TYPE_CHECKING:
    from .charts import Chart
    from .forms import RecordForm
    from .smart import Verdicts


class Direction(models.TextChoices):
    INCREASE = "increase", "Increase"
    DECREASE = "decrease", "Decrease"


class Aggregation(models.TextChoices):
    LATEST = "latest", "Latest value"
    SUM = "sum", "Sum of values"


class KpiState(models.TextChoices):
    ACTIVE = "active", "Active"
    ARCHIVED = "archived", "Archived"  # out of the roll-up, reminders and lists; history kept


class Confidence(models.TextChoices):
    HIGH = "high", "High"
    MEDIUM = "medium", "Medium"
    LOW = "low", "Low"


# The fields a person writes (the rest is computed by the roll-up).
KPI_FIELDS = (
    "goal",
    "name",
    "description",
    "unit",
    "direction",
    "aggregation",
    "baseline",
    "target",
    "weight",
    "owner",
    "start",
    "due",
    "state",
    "external_id",
)


class Kpi(Tracked):
    organization = models.ForeignKey(
        "org.Organization", on_delete=models.CASCADE, related_name="kpis"
    )
    goal = models.ForeignKey("goals.Goal", on_delete=models.PROTECT, related_name="kpis")
    name = models.CharField(max_length=300)
    description = models.TextField(blank=True)
    unit = models.CharField(max_length=32)
    direction = models.CharField(
        max_length=16, choices=Direction.choices, default=Direction.INCREASE
    )
    aggregation = models.CharField(
        max_length=16, choices=Aggregation.choices, default=Aggregation.LATEST
    )
    baseline = models.FloatField()
    target = models.FloatField()
    owner = models.ForeignKey("org.Member", on_delete=models.PROTECT, related_name="kpis")
    current = models.FloatField(null=True, blank=True)
    last_update_on = models.DateField(null=True, blank=True, help_text="Date of the latest value.")
    state = models.CharField(max_length=16, choices=KpiState.choices, default=KpiState.ACTIVE)
    copied_from = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="copies"
    )
    external_id = models.CharField(
        max_length=200, null=True, blank=True, help_text="An integration's own id for it."
    )

    # Set on loaded KPIs for display (annotations only: no fields, no migration).
    form: RecordForm  # its row's record form: views.kpi_record, pages' My work
    history: list[KpiUpdate]  # every value, oldest first: selectors.kpis_with_history
    last: KpiUpdate | None  # the latest live value: selectors.kpis_with_history
    chart: Chart  # the trend of its live values: selectors.kpis_with_history
    smart: Verdicts  # the S.M.A.R.T. check: smart.with_smart
    failing: list[str]  # the letters it fails: smart.with_smart, cycles/summary.py
    as_of: dt.date  # the day its figures stand on: cycles/history.py kpis_as_of

    class Meta(Tracked.Meta):
        ordering = ["id"]
        verbose_name = "KPI"
        constraints = [
            *Tracked.Meta.constraints,
            models.UniqueConstraint(
                fields=["organization", "external_id"],
                condition=Q(external_id__isnull=False),
                name="kpi_unique_external_id",
            ),
            models.CheckConstraint(
                condition=Q(direction="increase", target__gt=models.F("baseline"))
                | Q(direction="decrease", target__lt=models.F("baseline")),
                name="kpi_target_matches_direction",
            ),
        ]
        indexes = [models.Index(fields=["organization", "owner"])]

    def __str__(self) -> str:
        return self.name


class KpiUpdateQuerySet(models.QuerySet["KpiUpdate"]):
    def live(self) -> KpiUpdateQuerySet:
        """The values that count: neither replaced by a correction nor retracted.

        "Not replaced" as NOT EXISTS: PostgreSQL plans it as an anti-join with sound
        estimates, where the LEFT JOIN … IS NULL of `replaced_by__isnull` was taken for
        one row and read a cycle's 600,000 values in a nested loop (3.7 s → 0.55 s)."""
        replaced = KpiUpdate.objects.filter(replaces=models.OuterRef("pk"))
        return self.filter(retracted_at__isnull=True).exclude(models.Exists(replaced))


class KpiUpdate(models.Model):
    """One recorded value. Never edited or deleted: a correction is a new update that
    `replaces` it, a retraction only stamps it (who, when, why). Only live updates
    count (`KpiUpdate.objects.live()`); the others stay in the history, struck."""

    kpi = models.ForeignKey(Kpi, on_delete=models.PROTECT, related_name="updates")
    value = models.FloatField()
    date = models.DateField()
    note = models.TextField(blank=True)
    confidence = models.CharField(max_length=8, choices=Confidence.choices, blank=True)
    author = models.ForeignKey(
        "org.Member",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="kpi_updates",
        help_text="Who recorded it; none when a data source did (`source_name`).",
    )
    author_token = models.CharField(
        max_length=100,
        blank=True,
        help_text="The service token it was recorded with (its author then), if any.",
    )
    source = models.ForeignKey(
        "KpiSource",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="The data source that fetched it, if one did (its author then).",
    )
    source_name = models.CharField(
        max_length=100, blank=True, help_text="The source's name then (kept if it goes)."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True, db_index=True)  # retracted, corrected
    replaces = models.OneToOneField(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="replaced_by",
        help_text="The update this one corrects.",
    )
    retracted_at = models.DateTimeField(null=True, blank=True)
    retracted_by = models.ForeignKey(
        "org.Member", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    retract_reason = models.TextField(blank=True)

    objects = KpiUpdateQuerySet.as_manager()

    class Meta:
        ordering = ["date", "created_at", "id"]
        verbose_name = "KPI update"
        indexes = [models.Index(fields=["kpi", "date"])]

    def __str__(self) -> str:
        return f"{self.kpi}: {self.value} on {self.date}"

    @property
    def author_name(self) -> str:
        """Who recorded it as people read it: the person, the service token, or "from
        <source>" for a value a data source fetched."""
        author = self.author  # None, with no query, when a source fetched it
        if author is None:
            return f"from {self.source_name}"
        return self.author_token or author.display_name

    @property
    def correction(self) -> KpiUpdate | None:
        """The update that replaced this one, if any."""
        try:
            return self.replaced_by
        except KpiUpdate.DoesNotExist:
            return None

    @property
    def is_live(self) -> bool:
        return self.retracted_at is None and self.correction is None


class SourceKind(models.TextChoices):
    HTTP_JSON = "http_json", "JSON over HTTP"
    SQL = "sql", "SQL query"


class SourceSchedule(models.TextChoices):
    HOURLY = "hourly", "Hourly"
    DAILY = "daily", "Daily"


class KpiSource(models.Model):
    """Where a KPI's values come from when no one types them (SPEC §9.6): a number in a
    JSON answer (`url` and `pointer`, with secret `headers`) or the one number a SQL
    query returns (`database_url`, secret, and `query`), fetched hourly or daily
    (kpis/sources.py reads it, kpis/feeds.py records it).

    The schedule's bookkeeping: `next_fetch_at` is when it is due; a dispatch marks it
    `queued_until` (not asked again before); a fetch claims its slot ("2027-01-05T09"
    hourly, "2027-01-05" daily) until `claim_until`, and `done_slot` says the slot was
    fetched and recorded, so neither a redelivered task nor a second worker fetches it
    twice. `failures` counts failures in a row (3: the KPI's owner is told)."""

    organization = models.ForeignKey("org.Organization", on_delete=models.CASCADE, related_name="+")
    kpi = models.OneToOneField(Kpi, on_delete=models.CASCADE, related_name="source")
    name = models.CharField(max_length=100, help_text="Shown as “from <name>” on its values.")
    kind = models.CharField(max_length=16, choices=SourceKind.choices)
    url = models.CharField(max_length=2000, blank=True)
    pointer = models.CharField(max_length=500, blank=True, help_text="RFC 6901 JSON Pointer.")
    headers = EncryptedTextField(blank=True, help_text="A JSON object of secret headers.")
    database_url = EncryptedTextField(blank=True)
    query = models.TextField(blank=True)
    schedule = models.CharField(
        max_length=8, choices=SourceSchedule.choices, default=SourceSchedule.DAILY
    )
    next_fetch_at = models.DateTimeField(db_index=True)
    queued_until = models.DateTimeField(null=True, blank=True)
    claimed_slot = models.CharField(max_length=20, blank=True)
    claim_until = models.DateTimeField(null=True, blank=True)
    done_slot = models.CharField(max_length=20, blank=True)
    failures = models.PositiveIntegerField(default=0, help_text="Failed fetches in a row.")
    last_success_at = models.DateTimeField(null=True, blank=True)
    last_value = models.FloatField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    last_error_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        "org.Member", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "KPI data source"

    def __str__(self) -> str:
        return f"{self.name} → {self.kpi_id}"

    @property
    def header_names(self) -> list[str]:
        """The secret headers' names (their values are never shown)."""
        return sorted(json.loads(self.headers)) if self.headers else []


class CheckinReminder(OwedEmail):
    """One check-in reminder sent to a KPI owner for one period: the unique
    constraint is what makes a second (or concurrent) run send nothing twice."""

    member = models.ForeignKey(
        "org.Member", on_delete=models.CASCADE, related_name="checkin_reminders"
    )
    period = models.CharField(max_length=8)  # "2027-03" or "2027-Q1"
    kpi_count = models.PositiveIntegerField()
    run = models.UUIDField(help_text="The run that claimed it: only that run sends it.")
    sent_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["member", "period"], name="one_checkin_reminder_per_period"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.member} {self.period}"


class CheckinNudge(OwedEmail):
    """A check-in reminder someone sent by hand (the dashboard's *Remind now*): at most
    one per person a day, however often or concurrently it is asked for — the unique
    constraint decides which request sends it. It keeps what the email is about (the
    cycle and period), so an email a failing mail server left owed is sent later."""

    member = models.ForeignKey("org.Member", on_delete=models.CASCADE, related_name="+")
    day = models.DateField(help_text="The organization's day it was sent on.")
    cycle = models.ForeignKey("cycles.Cycle", on_delete=models.CASCADE, related_name="+")
    period = models.CharField(max_length=8)  # "2027-03" or "2027-Q1"
    kpi_count = models.PositiveIntegerField()
    sent_by = models.ForeignKey(
        "org.Member", null=True, on_delete=models.SET_NULL, related_name="+"
    )
    run = models.UUIDField(help_text="The request that claimed it: only that one sends it.")
    sent_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["member", "day"], name="one_checkin_nudge_a_day"),
        ]

    def __str__(self) -> str:
        return f"{self.member} {self.day}"


class IdempotencyKey(models.Model):
    """A caller's `Idempotency-Key` on a recording request, with the response it got:
    the same key again within a day replays that response and records nothing."""

    member = models.ForeignKey("org.Member", on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=255)
    fingerprint = models.CharField(max_length=64, help_text="SHA-256 of what was asked.")
    status = models.PositiveSmallIntegerField(null=True)
    body = models.JSONField(null=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["member", "key"], name="one_idempotency_key_each"),
        ]

    def __str__(self) -> str:
        return f"{self.member_id}: {self.key}"
