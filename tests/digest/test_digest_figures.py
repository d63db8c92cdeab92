"""Every figure of a received digest, recomputed from the database with plain ORM
queries here (not the digest's code): each goal's and KPI's progress, its change since
7 days ago from the history points, its health and latest value; the KPIs due this
period; the open actions; the reviews of the next 7 days; the counts of the subject
and of each section. The digest's text part must say exactly these."""

from __future__ import annotations

import calendar
import datetime as dt
import re
import zoneinfo

import pytest
import time_machine

from cycles.models import GoalPoint, KpiPoint
from goals.models import Goal, Health
from kpis.models import Kpi, KpiUpdate
from org.models import Department, Member
from reviews.digest import weekly_digests_send_due
from reviews.models import ActionItem, Review

from .conftest import MONDAY_MORNING, text_of

pytestmark = [pytest.mark.django_db, pytest.mark.slow]

LABELS = dict(Health.choices)


def pct(progress: float) -> str:
    return f"{round(progress, 1):.1f}%"


def change(now: float, then: float | None, has_data: bool) -> str:
    if then is None:
        return "new this week" if has_data else "no data yet"
    points = round(now - then, 1)
    if points > 0:
        return f"▲ +{points:.1f} pts this week"
    if points < 0:
        return f"▼ −{-points:.1f} pts this week"
    return "= 0.0 pts this week"


def bar(progress: float) -> str:
    full = round(min(max(round(progress), 0), 100) * 20 / 100)
    return "[" + "#" * full + "." * (20 - full) + "]"


def day(d: dt.date) -> str:
    return f"{d:%a, %b} {d.day}"


def period_of(cadence: str, today: dt.date) -> tuple[str, dt.date, dt.date]:
    if cadence == "monthly":
        last = calendar.monthrange(today.year, today.month)[1]
        return (
            f"{today.year}-{today.month:02}",
            today.replace(day=1),
            today.replace(day=last),
        )
    quarter = (today.month - 1) // 3 + 1
    first = dt.date(today.year, 3 * quarter - 2, 1)
    end_month = 3 * quarter
    last = dt.date(today.year, end_month, calendar.monthrange(today.year, end_month)[1])
    return f"{today.year}-Q{quarter}", first, last


def standing(points, today: dt.date) -> float | None:
    """The progress of the last point on or before a week ago."""
    point = points.filter(day__lte=today - dt.timedelta(days=7)).order_by("-day").first()
    return None if point is None else point.progress


def department_and_below(root_id: int) -> set[int]:
    found, todo = set(), [root_id]
    while todo:
        pk = todo.pop()
        found.add(pk)
        todo += list(Department.objects.filter(parent_id=pk).values_list("id", flat=True))
    return found


def takes_part(member: Member, review: Review) -> bool:
    """Who is asked to a review, from its scope (SPEC §1), worked out here."""
    if review.goal_id is None and review.department_id is None:
        return True
    if member.pk == review.facilitator_id:
        return True
    if review.department_id is not None:
        return member.department_id in department_and_below(review.department_id)
    goal = review.goal
    scope = {goal.pk}
    for _ in range(3):
        scope |= set(
            Goal.objects.filter(parent_id__in=scope, state="active").values_list("id", flat=True)
        )
    home = goal.department_id if goal.level != "individual" else goal.owner.department_id
    return (
        (home is not None and member.department_id in department_and_below(home))
        or Goal.objects.filter(pk__in=scope, owner=member).exists()
        or Kpi.objects.filter(goal_id__in=scope, owner=member, state="active").exists()
    )


def expected_digest(member: Member, now: dt.datetime) -> dict:
    zone = zoneinfo.ZoneInfo(member.timezone or member.organization.timezone)
    today = now.astimezone(zone).date()
    goals = Goal.objects.filter(
        owner=member,
        state="active",
        cycle__state="open",
        cycle__start__lte=today,
        cycle__end__gte=today,
    ).order_by("cycle__start", "cycle_id", "id")
    goal_blocks = [
        "\n".join(
            [
                g.title,
                f"  {pct(g.progress):>6} {bar(g.progress)}  "
                + change(g.progress, standing(GoalPoint.objects.filter(goal=g), today), g.has_data),
                f"  Health: {LABELS[g.health]}",
                f"  {g.get_level_display()} goal · {g.cycle.name}",
                f"  https://cascade.example.com/goals/{g.pk}/",
            ]
        )
        for g in goals
    ]
    kpis = Kpi.objects.filter(
        owner=member,
        state="active",
        goal__state="active",
        goal__cycle__state="open",
        goal__cycle__start__lte=today,
        goal__cycle__end__gte=today,
    ).order_by("goal__cycle__start", "goal_id", "id")
    kpi_blocks, due_lines = [], []
    for k in kpis:
        values = KpiUpdate.objects.filter(kpi=k, retracted_at__isnull=True, replaced_by=None)
        latest = values.order_by("-date", "-id").first()
        shown = (
            ""
            if latest is None
            else f"Latest: {latest.value:g}{'' if k.unit == '%' else ' '}{k.unit} · "
        )
        kpi_blocks.append(
            "\n".join(
                [
                    k.name,
                    f"  {pct(k.progress):>6} {bar(k.progress)}  "
                    + change(
                        k.progress,
                        standing(KpiPoint.objects.filter(kpi=k), today),
                        latest is not None,
                    ),
                    f"  {shown}Health: {LABELS[k.health]}",
                    f"  Goal: {k.goal.title}",
                    f"  https://cascade.example.com/goals/{k.goal_id}/",
                ]
            )
        )
        key, first, last = period_of(k.goal.cycle.cadence, today)
        if k.start <= today and not values.filter(date__range=(first, last)).exists():
            due_lines.append(
                f"- {k.name} ({k.goal.title}): no value for {key} yet, due by {day(last)}"
            )
    actions = ActionItem.objects.filter(owner=member, done=False).order_by("due", "id")
    action_lines = [
        f"- {a.title}: due {day(a.due)}{' (OVERDUE)' if a.due < today else ''}, "
        f"from “{a.review.title}”"
        for a in actions
    ]
    reviews = Review.objects.filter(
        organization=member.organization,
        state="scheduled",
        scheduled_for__gte=now,
        scheduled_for__lt=now + dt.timedelta(days=7),
    ).order_by("scheduled_for", "id")
    review_lines = []
    for r in reviews:
        if takes_part(member, r):
            when = r.scheduled_for.astimezone(zone)
            review_lines.append(
                f"- {r.title}: {day(when.date())}, {when:%H:%M} ({r.scope_label})\n"
                f"  https://cascade.example.com/reviews/{r.pk}/"
            )
    return {
        "goals": goal_blocks,
        "kpis": kpi_blocks,
        "due": due_lines,
        "actions": action_lines,
        "reviews": review_lines,
        "today": today,
    }


def section(text: str, heading: str) -> str:
    """The part of the text under `heading` ("YOUR GOALS"), up to the next one."""
    match = re.search(
        rf"^{heading} \((\d+)\)\n-+\n(.*?)(?=^[A-Z][A-Z0-9 :]+ \(\d+\)\n-+\n|^--\n)",
        text,
        re.M | re.S,
    )
    return match.group(2) if match else ""


def items(text: str) -> list[list[str]]:
    """The "- " lines of a list section, each unwrapped, with the links under it."""
    found: list[list[str]] = []
    for line in re.sub(r"\n  (?!https://)", " ", text).splitlines():
        if line.startswith("- "):
            found.append([line])
        elif line.startswith("  https://") and found:
            found[-1].append(line.strip())
    return found


def count(text: str, heading: str) -> int:
    match = re.search(rf"^{heading} \((\d+)\)$", text, re.M)
    return int(match.group(1)) if match else 0


@pytest.mark.parametrize("name", ["sam", "lee", "max"])
def test_every_figure_of_a_digest_is_what_the_database_says(week, smtp, name):
    member = week.people[name]
    with time_machine.travel(MONDAY_MORNING, tick=False):
        weekly_digests_send_due()
    [message] = smtp.digests_to(member.user.email)
    text = text_of(message)
    member = Member.objects.select_related("organization", "user").get(pk=member.pk)
    want = expected_digest(member, MONDAY_MORNING)

    # Each section: its count, and every line or block, in order, and nothing else.
    headings = {
        "goals": "YOUR GOALS",
        "kpis": "YOUR KPIS",
        "due": "DUE THIS PERIOD",
        "actions": "YOUR OPEN ACTIONS",
        "reviews": "REVIEWS IN THE NEXT 7 DAYS",
    }
    for key, heading in headings.items():
        assert count(text, heading) == len(want[key]), heading
        got = section(text, heading)
        if key in ("goals", "kpis"):
            blocks = [b.strip("\n") for b in got.strip("\n").split("\n\n") if b.strip()]
            assert blocks == want[key], heading
        else:
            assert items(got) == items("\n".join(want[key])), heading
    # The subject counts what the sections hold.
    parts = [
        (len(want["goals"]), "goal"),
        (0 if want["goals"] else len(want["kpis"]), "KPI"),
        (len(want["due"]), "check-in due"),
        (len(want["actions"]), "action"),
        (len(want["reviews"]), "review"),
    ]
    plural = {"check-in due": "check-ins due"}
    counts = [f"{n} {noun if n == 1 else plural.get(noun, noun + 's')}" for n, noun in parts if n]
    assert message["Subject"] == f"Your week in Cascade: {', '.join(counts)}"
    assert f"Week of {day(want['today'])}, {want['today'].year}" in text
    assert member.display_name in text


def test_the_seeded_week_has_every_kind_of_figure_to_check(week, smtp):
    """The recomputation above checks something: sam's digest has a goal that moved, a
    KPI with no value, a monthly and a quarterly KPI due, an overdue action and a
    review; lee's a KPI whose first value came this week ("new")."""
    sam = expected_digest(
        Member.objects.select_related("organization").get(pk=week.people["sam"].pk),
        MONDAY_MORNING,
    )
    assert any("▲" in block for block in sam["goals"])
    assert any("no data yet" in block for block in sam["kpis"])
    assert any("2027-03" in line for line in sam["due"])
    assert any("2027-Q1" in line for line in sam["due"])
    assert any("OVERDUE" in line for line in sam["actions"])
    assert len(sam["reviews"]) == 1
    lee = expected_digest(
        Member.objects.select_related("organization").get(pk=week.people["lee"].pk),
        MONDAY_MORNING,
    )
    assert any("new this week" in block for block in lee["kpis"])
