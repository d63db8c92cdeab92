"""The S.M.A.R.T. check of a KPI: one verdict and one message per letter."""

from __future__ import annotations

from typing import TYPE_CHECKING, TypedDict

from django.db.models import F, Q, QuerySet
from django.db.models.functions import Abs

from core.numbers import is_finite_number
from goals.models import Goal

from .models import Kpi

if TYPE_CHECKING:
    from cycles.models import Cycle

# A target whose change from the baseline exceeds this many times the baseline is a
# stretch worth confirming.
STRETCH_FACTOR = 10
VAGUE_WORDS = 1  # a name of a single word ("Quality", "Growth") does not say what changes


class Verdict(TypedDict):
    """One letter's verdict: whether the KPI passes it, and what to do if not."""

    ok: bool
    message: str


Verdicts = dict[str, Verdict]  # by letter: specific, measurable, … time_bound


def _verdict(ok: bool, message: str) -> Verdict:
    return {"ok": ok, "message": message}


def kpi_smart(kpi: Kpi) -> Verdicts:
    """Check a KPI letter by letter.

    Reads kpi.goal, its ancestors (up to four levels: select_related
    "goal__parent__parent__parent" to avoid queries) and the goal's cycle.
    """
    goal = kpi.goal
    cycle = goal.cycle
    return {
        "specific": _specific(kpi),
        "measurable": _measurable(kpi),
        "achievable": _achievable(kpi),
        "relevant": _relevant(goal),
        "time_bound": _time_bound(kpi, cycle),
    }


def _specific(kpi: Kpi) -> Verdict:
    words = (kpi.name or "").split()
    if len(words) > VAGUE_WORDS:
        return _verdict(True, "The name says what changes.")
    if (kpi.description or "").strip():
        return _verdict(True, "The description says what changes.")
    return _verdict(False, "Say what changes: a name of several words, or a description.")


def _measurable(kpi: Kpi) -> Verdict:
    if not (kpi.unit or "").strip():
        return _verdict(False, "Give a unit (%, hours, leads, …).")
    if not (is_finite_number(kpi.baseline) and is_finite_number(kpi.target)):
        return _verdict(False, "Give a numeric baseline and target.")
    return _verdict(True, f"Measured in {kpi.unit} from {kpi.baseline:g} to {kpi.target:g}.")


def _achievable(kpi: Kpi) -> Verdict:
    if not (is_finite_number(kpi.baseline) and is_finite_number(kpi.target)):
        return _verdict(False, "Give a numeric baseline and target to judge the change.")
    change = abs(kpi.target - kpi.baseline)
    if kpi.baseline != 0 and change > STRETCH_FACTOR * abs(kpi.baseline):
        return _verdict(
            False,
            f"A change of {change / abs(kpi.baseline):.0f}× the baseline is a stretch: "
            "confirm it is achievable.",
        )
    return _verdict(True, "The change from the baseline is within reach.")


def _relevant(goal: Goal) -> Verdict:
    root = goal
    while root.parent is not None:
        root = root.parent
    if root.is_strategic:
        if root is goal:
            return _verdict(True, "Measures a strategic objective directly.")
        return _verdict(True, f"Aligned to the strategic objective “{root.title}”.")
    return _verdict(False, "Its goal is not aligned to a strategic objective.")


def _time_bound(kpi: Kpi, cycle: Cycle) -> Verdict:
    if kpi.start is None or kpi.due is None:
        return _verdict(False, "Give a start and a due date.")
    if not (cycle.start <= kpi.start < kpi.due <= cycle.end):
        return _verdict(False, f"Its dates must lie inside the cycle “{cycle.name}”.")
    return _verdict(True, f"Due {kpi.due:%Y-%m-%d}.")


def smart_failures(kpi: Kpi) -> list[str]:
    """The letters a KPI fails, in S.M.A.R.T. order."""
    return _failing(kpi_smart(kpi))


def _failing(verdicts: Verdicts) -> list[str]:
    return [letter for letter, verdict in verdicts.items() if not verdict["ok"]]


def with_smart(kpis: list[Kpi]) -> list[Kpi]:
    """Set `smart` (the verdicts) and `failing` (the letters failed) on each KPI."""
    for kpi in kpis:
        kpi.smart = kpi_smart(kpi)
        kpi.failing = _failing(kpi.smart)
    return kpis


def failing_smart_filter() -> Q:
    """The KPIs kpi_smart() fails, as a database filter, for lists over a whole cycle.

    The same rules in query form (a test keeps the two in step). Measurable (unit and
    numbers) and relevant (a chain that ends at a strategic objective) cannot fail for a
    saved KPI: validation and the goal constraints guarantee them.
    """
    vague = ~Q(name__regex=r"\s") & Q(description__regex=r"^\s*$")
    stretch = ~Q(baseline=0) & Q(change__gt=STRETCH_FACTOR * Abs(F("baseline")))
    outside = (
        Q(start__lt=F("goal__cycle__start"))
        | Q(due__gt=F("goal__cycle__end"))
        | Q(start__gte=F("due"))
    )
    return vague | stretch | outside | Q(unit="")


def with_change(kpis: QuerySet[Kpi]) -> QuerySet[Kpi]:
    """Annotate |target − baseline| (for failing_smart_filter)."""
    return kpis.annotate(change=Abs(F("target") - F("baseline")))
