"""A cycle and what belongs to it as a whole: who picked which cycle, the dashboard's
figures, the progress history of its goals and KPIs, and its imports."""

from __future__ import annotations

from django.db import models
from django.db.models import Q

from core.periods import Cadence, Period, period_containing


class CycleState(models.TextChoices):
    OPEN = "open", "Open"
    CLOSED = "closed", "Closed"  # its goals, KPIs and values are read-only until reopened


class Cycle(models.Model):
    organization = models.ForeignKey(
        "org.Organization", on_delete=models.CASCADE, related_name="cycles"
    )
    name = models.CharField(max_length=200)
    start = models.DateField()
    end = models.DateField()
    cadence = models.CharField(max_length=16, choices=Cadence.choices, default=Cadence.QUARTERLY)
    state = models.CharField(max_length=8, choices=CycleState.choices, default=CycleState.OPEN)
    is_current = models.BooleanField(
        default=False, help_text="The organization's current cycle: who picked none sees it."
    )
    updated_at = models.DateTimeField(auto_now=True)

    # Set on the cycles read, never stored (an annotation only: no field, no column).
    picked: bool  # by cycles.selectors.cycles_of, given a member: the one they last picked

    class Meta:
        ordering = ["-start", "name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(start__lt=models.F("end")), name="cycle_start_before_end"
            ),
            models.UniqueConstraint(fields=["organization", "name"], name="cycle_unique_name"),
            models.UniqueConstraint(
                fields=["organization"], condition=Q(is_current=True), name="cycle_one_current"
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_closed(self) -> bool:
        return self.state == CycleState.CLOSED

    def current_period(self) -> Period:
        """The month or quarter (by its cadence) that holds the organization's today."""
        return period_containing(self.cadence, self.organization.today())


class CyclePick(models.Model):
    """The cycle a person last picked in the switcher: theirs until they pick another."""

    member = models.OneToOneField("org.Member", on_delete=models.CASCADE, related_name="+")
    cycle = models.ForeignKey(Cycle, on_delete=models.CASCADE, related_name="+")

    def __str__(self) -> str:
        return f"{self.member_id} → {self.cycle_id}"


class CycleSummary(models.Model):
    """The dashboard's whole-cycle figures, as last counted (cycles/summary.py): the
    counts of each warning, the ids of the goals and KPIs it shows, and how many goals
    are aligned below each objective."""

    cycle = models.OneToOneField(
        Cycle, on_delete=models.CASCADE, primary_key=True, related_name="summary"
    )
    counted_on = models.DateField(help_text="The organization's day the figures are for.")
    figures = models.JSONField()
    counted_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"Summary of cycle #{self.cycle_id} on {self.counted_on}"


class GoalPoint(models.Model):
    """A goal's progress from this day on (cycles/history.py): one row per day on which it
    changed, computed from the values dated up to that day, on the tree as it is now."""

    goal = models.ForeignKey("goals.Goal", on_delete=models.CASCADE, related_name="points")
    day = models.DateField()
    progress = models.FloatField()
    has_data = models.BooleanField()
    # What its health grades that day (SPEC §9.3): the mean of the parts that had data
    # then; None while nothing was reported.
    reported_progress = models.FloatField(null=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["goal", "day"], name="one_goal_point_a_day")]

    def __str__(self) -> str:
        return f"Goal #{self.goal_id} on {self.day}: {self.progress:.1f}"


class KpiPoint(models.Model):
    """A KPI's current value and progress from this day on: one row per day on which a
    live value is dated (cycles/history.py)."""

    kpi = models.ForeignKey("kpis.Kpi", on_delete=models.CASCADE, related_name="points")
    day = models.DateField()
    current = models.FloatField()
    progress = models.FloatField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["kpi", "day"], name="one_kpi_point_a_day")]

    def __str__(self) -> str:
        return f"KPI #{self.kpi_id} on {self.day}: {self.current:g}"


class ImportState(models.TextChoices):
    QUEUED = "queued", "Queued"
    PLANNING = "planning", "Reading the file"
    PREVIEWED = "previewed", "Ready to confirm"
    IMPORTING = "importing", "Importing"
    DONE = "done", "Imported"
    FAILED = "failed", "Failed"


class ImportJob(models.Model):
    """A spreadsheet on its way into a cycle from the Import page (cycles/import_jobs.py):
    its rows as read, then the preview, and once confirmed the result. Large files are
    planned and imported by a Celery task; `done` of `total` rows is its progress."""

    cycle = models.ForeignKey(Cycle, on_delete=models.CASCADE, related_name="+")
    created_by = models.ForeignKey("org.Member", on_delete=models.CASCADE, related_name="+")
    file_name = models.CharField(max_length=255)
    format = models.CharField(max_length=8)
    rows = models.JSONField(help_text="The file's rows as read: [line, {column: text}].")
    state = models.CharField(max_length=16, choices=ImportState.choices, default=ImportState.QUEUED)
    done = models.PositiveIntegerField(default=0)
    total = models.PositiveIntegerField(default=0)
    preview = models.JSONField(null=True, blank=True)
    result = models.JSONField(null=True, blank=True)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"Import of {self.file_name} into cycle #{self.cycle_id}: {self.state}"

    @property
    def finished(self) -> bool:
        return self.state in (ImportState.PREVIEWED, ImportState.DONE, ImportState.FAILED)
