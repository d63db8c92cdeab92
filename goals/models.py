"""The goal tree: goals of a cycle (cycles/models.py), from strategic objectives down to
individual goals."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from django.db import models
from django.db.models import OuterRef, Q

if TYPE_CHECKING:
    from kpis.models import Kpi


class Level(models.TextChoices):
    STRATEGIC = "strategic", "Strategic"
    DEPARTMENT = "department", "Department"
    TEAM = "team", "Team"
    INDIVIDUAL = "individual", "Individual"


# Rank of each level: a parent's rank is strictly lower than its child's, so
# ordering by rank walks any chain root-first (the lock order of the roll-up).
LEVEL_RANK: dict[str, int] = {
    Level.STRATEGIC: 0,
    Level.DEPARTMENT: 1,
    Level.TEAM: 2,
    Level.INDIVIDUAL: 3,
}


def under(goal_path: str, ref: OuterRef | int, *, including_itself: bool) -> models.Q:
    """Rows whose goal (reached by `goal_path`: "goal" from a KPI, "" from a goal)
    stands below the goal `ref` names (an OuterRef, an id), or is it: the tree is at
    most four levels deep, so three hops of `parent` reach every descendant."""
    hops = [goal_path] if goal_path else []
    condition = models.Q()
    for depth in range(0 if including_itself else 1, len(LEVEL_RANK)):
        path = "__".join(hops + ["parent"] * depth)
        condition |= models.Q(**{path: ref})
    return condition


class GoalState(models.TextChoices):
    ACTIVE = "active", "Active"
    DONE = "done", "Done"
    CANCELLED = "cancelled", "Cancelled"


class Health(models.TextChoices):
    NOT_STARTED = "not_started", "Not started"
    NO_DATA = "no_data", "No check-in yet"
    ON_TRACK = "on_track", "On track"
    AT_RISK = "at_risk", "At risk"
    OFF_TRACK = "off_track", "Off track"
    DONE = "done", "Done"
    CANCELLED = "cancelled", "Cancelled"


class Tracked(models.Model):
    """What goals and KPIs share: a weight in their parent's progress, a period from
    start to due, and the progress and health the roll-up stores for them."""

    weight = models.FloatField(default=1)
    start = models.DateField()
    due = models.DateField()
    progress = models.FloatField(default=0)
    health = models.CharField(max_length=16, choices=Health.choices, default=Health.NOT_STARTED)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True
        constraints = [
            models.CheckConstraint(condition=Q(weight__gt=0), name="%(class)s_weight_positive"),
            models.CheckConstraint(
                condition=Q(start__lt=models.F("due")), name="%(class)s_start_before_due"
            ),
            models.CheckConstraint(
                condition=Q(progress__gte=0, progress__lte=100), name="%(class)s_progress_in_range"
            ),
        ]


# The fields a person writes (the rest is computed or set by the services).
GOAL_FIELDS = (
    "cycle",
    "level",
    "title",
    "rationale",
    "parent",
    "department",
    "owner",
    "weight",
    "state",
    "start",
    "due",
    "external_id",
)


class Goal(Tracked):
    organization = models.ForeignKey(
        "org.Organization", on_delete=models.CASCADE, related_name="goals"
    )
    cycle = models.ForeignKey("cycles.Cycle", on_delete=models.PROTECT, related_name="goals")
    level = models.CharField(max_length=16, choices=Level.choices)
    title = models.CharField(max_length=300)
    rationale = models.TextField(blank=True)
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )
    department = models.ForeignKey(
        "org.Department", null=True, blank=True, on_delete=models.PROTECT, related_name="goals"
    )
    owner = models.ForeignKey(
        "org.Member", null=True, blank=True, on_delete=models.PROTECT, related_name="goals"
    )
    state = models.CharField(max_length=16, choices=GoalState.choices, default=GoalState.ACTIVE)
    copied_from = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="copies"
    )
    external_id = models.CharField(
        max_length=200, null=True, blank=True, help_text="An integration's own id for it."
    )
    # Kept by the roll-up beside progress: a value recorded on an active KPI at or
    # below this goal, or a done goal below it. A goal without it has health
    # `no_data`; a write reads its children's flags instead of scanning the subtree.
    has_data = models.BooleanField(default=False, editable=False)
    # Kept by the roll-up beside progress (SPEC §9.3): the weighted mean of only the
    # parts that have data — active KPIs with a value, child goals that reported
    # something (their own reported progress) or are done (100). Health grades this, so
    # a part without a check-in yet lowers progress but not health. None: nothing
    # reported yet (health `no_data`).
    reported_progress = models.FloatField(null=True, blank=True, editable=False)

    # Set on loaded goals for display, not stored (annotations only: no fields):
    aligned: int  # by goals.selectors.strategic_objectives: how many goals sit below it
    depth: int  # by cycles.selectors.goals_for_rollover: its depth in the tree
    sight: list[Goal]  # by pages.views.my_work: goals.selectors.line_of_sight
    tree_children: list[Goal]  # by cycles.selectors.goal_tree: the goals right below it
    tree_kpis: list[Kpi]  # by cycles.selectors.goal_tree: its active KPIs
    as_of: dt.date  # by cycles.history.as_of: the past day its figures are of

    class Meta(Tracked.Meta):
        ordering = ["id"]
        constraints = [
            *Tracked.Meta.constraints,
            models.UniqueConstraint(
                fields=["organization", "external_id"],
                condition=Q(external_id__isnull=False),
                name="goal_unique_external_id",
            ),
            models.CheckConstraint(
                condition=Q(level="strategic", parent__isnull=True)
                | (~Q(level="strategic") & Q(parent__isnull=False)),
                name="goal_only_strategic_is_root",
            ),
        ]
        indexes = [
            models.Index(fields=["cycle", "level"]),
            models.Index(fields=["organization", "owner"]),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def rank(self) -> int:
        return LEVEL_RANK[self.level]

    @property
    def is_strategic(self) -> bool:
        return self.level == Level.STRATEGIC

    @property
    def is_individual(self) -> bool:
        return self.level == Level.INDIVIDUAL

    def chain(self) -> list[Goal]:
        """This goal and its ancestors, nearest first (parents must be loaded or are fetched)."""
        goals: list[Goal] = []
        goal: Goal | None = self
        while goal is not None:
            goals.append(goal)
            goal = goal.parent
        return goals
