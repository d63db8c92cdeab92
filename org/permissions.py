"""Who may do what: the one place that decides (SPEC §3).

Small predicates over a Member. Services call them and refuse; templates call
them to hide what a person may not do; the API and pages call them to refuse
before validating. Everyone in an organization may read all of it, so there are no
read checks beyond "same organization".

Each refusal is a `Permission` at the end of this module: a predicate with what a
refused person is told, defined once. `MANAGE_CYCLES.require(member)` refuses (a 403)
unless allowed, the same way in a service, a page and the API; the selectors' `access_*`
functions load an object of the caller's organization and require a permission on it
in one call.

This module sits in the bottom app (org), below goals, KPIs and reviews, so it never
imports them: it is handed their objects and reads only the attributes named in the
protocols below (a goal says itself whether it is strategic or individual).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from django.db.models import Q

from core.errors import refuse_unless

from .models import Department, Member, Role, TokenScope

LEADERSHIP = (Role.ADMIN, Role.LEADER)
GOAL_WRITERS = (*LEADERSHIP, Role.MANAGER, Role.MEMBER)  # everyone but reviewers
REVIEW_RUNNERS = (*LEADERSHIP, Role.REVIEWER)  # anywhere; managers inside their scope


# What this module reads of the objects it is handed: read-only, so a model's fields and
# properties (Goal.is_strategic) answer for them.


class GoalLike(Protocol):
    """A goal, saved or about to be (goals.models.Goal)."""

    @property
    def organization_id(self) -> int: ...
    @property
    def department_id(self) -> int | None: ...
    @property
    def owner(self) -> Member | None: ...
    @property
    def owner_id(self) -> int | None: ...
    @property
    def is_strategic(self) -> bool: ...
    @property
    def is_individual(self) -> bool: ...


class KpiLike(Protocol):
    """A KPI (kpis.models.Kpi)."""

    @property
    def organization_id(self) -> int: ...
    @property
    def owner_id(self) -> int: ...
    @property
    def goal(self) -> GoalLike: ...


class UpdateLike(Protocol):
    """A recorded KPI value (kpis.models.KpiUpdate)."""

    @property
    def author_id(self) -> int | None: ...
    @property
    def kpi(self) -> KpiLike: ...


class ReviewLike(Protocol):
    """A review (reviews.models.Review)."""

    @property
    def organization_id(self) -> int: ...
    @property
    def goal(self) -> GoalLike | None: ...
    @property
    def department(self) -> Department | None: ...


class ActionLike(Protocol):
    """An action item of a review (reviews.models.ActionItem)."""

    @property
    def owner_id(self) -> int: ...
    @property
    def review(self) -> ReviewLike: ...


def _acting(member: Member | None, organization_id: int) -> bool:
    return member is not None and member.is_active and member.organization_id == organization_id


def department_subtree_ids(organization_id: int, root_id: int) -> set[int]:
    """The ids of a department and every department below it (one query)."""
    children: dict[int | None, list[int]] = {}
    for dept_id, parent_id in Department.objects.filter(
        organization_id=organization_id
    ).values_list("id", "parent_id"):
        children.setdefault(parent_id, []).append(dept_id)
    found, todo = set(), [root_id]
    while todo:
        dept_id = todo.pop()
        if dept_id not in found:
            found.add(dept_id)
            todo.extend(children.get(dept_id, ()))
    return found


def manager_scope(member: Member) -> set[int]:
    """Department ids a manager looks after: their own and all below it (cached per member)."""
    if member.department_id is None:
        return set()
    cached = getattr(member, "_scope_cache", None)
    if cached is None or cached[0] != member.department_id:
        cached = (
            member.department_id,
            department_subtree_ids(member.organization_id, member.department_id),
        )
        member._scope_cache = cached
    return cached[1]


def goal_departments(member: Member) -> set[int] | None:
    """The departments whose goals `member` may hold, to offer on a goal form (None:
    every one): a manager's own and those below it. A member holds only individual
    goals of their own (`only_own_goals`)."""
    if member.role == Role.MANAGER:
        return manager_scope(member)
    return None


def in_manager_scope(member: Member, department_id: int | None) -> bool:
    return (
        member.role == Role.MANAGER
        and department_id is not None
        and department_id in manager_scope(member)
    )


def goal_department_id(goal: GoalLike) -> int | None:
    """The department a goal counts under for permissions: an individual goal's is its owner's."""
    if goal.is_individual:
        return goal.owner.department_id if goal.owner is not None else None
    return goal.department_id


def review_scope_department_id(goal: GoalLike | None, department: Department | None) -> int | None:
    """The department a review's scope lies in (for participants and permissions):
    the department itself, or the goal's (an individual goal's is its owner's)."""
    if department is not None:
        return department.pk
    if goal is not None:
        return goal_department_id(goal)
    return None


def is_admin(member: Member) -> bool:
    """An active admin: the organization must always keep one (SPEC §8.1)."""
    return member.is_active and member.role == Role.ADMIN


def is_admin_role(role: str | None) -> bool:
    """The role is admin's (a role about to be given or taken away, not yet a member's)."""
    return role == Role.ADMIN


def can_manage_org(member: Member | None, organization_id: int | None = None) -> bool:
    """People, departments and cycles: admins only."""
    if member is None:
        return False
    org_id = organization_id if organization_id is not None else member.organization_id
    return _acting(member, org_id) and member.role == Role.ADMIN


def role_allows_scope(role: str | None, scope: str) -> bool:
    """Whether a service token of `scope` still works for a maker of `role`: the
    `admin` and `scim` scopes (SCIM provisions people) only while its maker is an admin."""
    return scope not in (TokenScope.ADMIN, TokenScope.SCIM) or role == Role.ADMIN


def can_administer(member: Member | None, organization_id: int | None = None) -> bool:
    """The admin area — service tokens, people, webhooks, SSO settings: an admin in
    person (signed in, or with their own token) or through a service token of the
    `admin` scope; a `read` or `write` token of an admin is not enough (org/tokens.py)."""
    return can_manage_org(member, organization_id) and member.via_scope in ("", TokenScope.ADMIN)


def can_manage_people(member: Member | None, organization_id: int | None = None) -> bool:
    """People: as the admin area (can_administer), and also through a `scim` token,
    whose only door is SCIM provisioning (/scim/v2/, identity/scim/)."""
    return can_manage_org(member, organization_id) and member.via_scope in (
        "",
        TokenScope.ADMIN,
        TokenScope.SCIM,
    )


def can_set_objectives(member: Member | None) -> bool:
    """Create strategic objectives: leaders and admins."""
    return (
        member is not None
        and _acting(member, member.organization_id)
        and (member.role in LEADERSHIP)
    )


def can_manage_cycles(member: Member | None) -> bool:
    """Create, edit, close, reopen and roll over cycles (SPEC §8.3): leaders and admins."""
    return can_set_objectives(member)


def can_write_goals(member: Member | None) -> bool:
    """Whether the member may write some goal (and KPI) at all: everyone but reviewers."""
    return (
        member is not None
        and _acting(member, member.organization_id)
        and member.role in GOAL_WRITERS
    )


def only_own_goals(member: Member) -> bool:
    """A member writes only individual goals they own (forms offer them as the owner)."""
    return member.role == Role.MEMBER


def can_edit_goal(member: Member | None, goal: GoalLike) -> bool:
    """May `member` hold this goal where it stands (or would stand, for a new or moved
    goal): edit, move, cancel it, and create, edit or move its KPIs.

    Fields that are missing do not make the write forbidden: validation reports them.
    """
    if not _acting(member, goal.organization_id):
        return False
    if member.role in LEADERSHIP:
        return True
    if goal.is_strategic:
        return False
    if member.role == Role.MANAGER:
        scope_id = goal_department_id(goal)
        missing = goal.owner is None if goal.is_individual else goal.department_id is None
        if scope_id is None and missing:
            return True
        return in_manager_scope(member, scope_id)
    if member.role == Role.MEMBER and goal.is_individual:
        return goal.owner is None or goal.owner.pk == member.pk
    return False


def can_give_to(member: Member | None, owner: Member | None) -> bool:
    """May `member` make `owner` the owner of a goal or KPI they write (a new one, or a
    new owner of one): leaders and admins anyone, a manager the people of their
    departments (SPEC §9.3), a member themselves. No owner yet is validation's to say,
    and so is another organization's person (not found)."""
    if member is None or not _acting(member, member.organization_id):
        return False
    if owner is None or owner.organization_id != member.organization_id:
        return True
    if member.role in LEADERSHIP:
        return True
    if member.role == Role.MANAGER:
        return owner.department_id is not None and owner.department_id in manager_scope(member)
    return member.role == Role.MEMBER and owner.pk == member.pk


def people_given_to(member: Member) -> Q:
    """The people `member` may make owners of goals and KPIs (can_give_to), as a filter
    of Member: what a form offers."""
    if member.role in LEADERSHIP:
        return Q()
    if member.role == Role.MANAGER:
        return Q(department_id__in=manager_scope(member))
    if member.role == Role.MEMBER:
        return Q(pk=member.pk)
    return Q(pk__in=[])


def can_create_goal(member: Member | None, goal: GoalLike) -> bool:
    """Create this goal where it would stand, owned by whom it names."""
    return can_edit_goal(member, goal) and can_give_to(member, goal.owner)


def can_set_weight(member: Member | None, parent: GoalLike | None) -> bool:
    """A weight says how much a goal counts in its parent: only someone who may edit
    the parent sets or changes it (anyone else's goals below it weigh 1)."""
    return parent is None or can_edit_goal(member, parent)


def can_weigh_below(member: Member | None, parent: GoalLike | None) -> bool:
    """May `member` give a goal below `parent` a weight of its own (or change it)?
    Another organization's parent is not for this module to refuse: validation says
    it is not found (a 400 on its field)."""
    if (
        member is not None
        and parent is not None
        and parent.organization_id != member.organization_id
    ):
        return True
    return can_set_weight(member, parent)


def can_add_child_goal(member: Member | None, goal: GoalLike) -> bool:
    """Whether to offer "add a child goal" under `goal`: any level below it the member may write."""
    if not _acting(member, goal.organization_id) or goal.is_individual:
        return False
    return member.role in GOAL_WRITERS


def can_edit_kpi(member: Member | None, kpi: KpiLike) -> bool:
    return can_edit_goal(member, kpi.goal)


def can_place_kpi(member: Member | None, goal: GoalLike | None, kpi: KpiLike | None = None) -> bool:
    """Create a KPI on `goal`, or move `kpi` there: every goal involved must be
    editable. With no goal known yet (a body still to be validated), refuse only
    those who may write no KPI anywhere."""
    if kpi is not None and not can_edit_goal(member, kpi.goal):
        return False
    if goal is None:
        return kpi is not None or can_write_goals(member)
    return can_edit_goal(member, goal)


def can_record_update(member: Member | None, kpi: KpiLike) -> bool:
    if not _acting(member, kpi.organization_id):
        return False
    if member.role in LEADERSHIP:
        return True
    goal = kpi.goal
    if member.role == Role.MANAGER:
        return not goal.is_strategic and in_manager_scope(member, goal_department_id(goal))
    if member.role == Role.MEMBER:
        return kpi.owner_id == member.pk or goal.owner_id == member.pk
    return False


def can_correct_update(member: Member | None, update: UpdateLike) -> bool:
    """Correct or retract a recorded value: its author, the KPI's owner, and whoever may
    record on that KPI (SPEC §8.1)."""
    if not _acting(member, update.kpi.organization_id):
        return False
    return (
        update.author_id == member.pk
        or update.kpi.owner_id == member.pk
        or can_record_update(member, update.kpi)
    )


def can_run_reviews(
    member: Member | None, organization_id: int, department_id: int | None = None
) -> bool:
    """Create, run, complete reviews; a manager only inside their department subtree."""
    if not _acting(member, organization_id):
        return False
    if member.role in REVIEW_RUNNERS:
        return True
    return member.role == Role.MANAGER and in_manager_scope(member, department_id)


def can_schedule_reviews(member: Member) -> bool:
    """Whether to offer scheduling at all: of the whole organization or of their department."""
    return can_run_reviews(member, member.organization_id) or can_run_reviews(
        member, member.organization_id, member.department_id
    )


def can_schedule_review_of(
    member: Member | None, goal: GoalLike | None, department: Department | None
) -> bool:
    """Schedule a review of this scope (a goal, a department, or the whole organization)."""
    if member is None:
        return False
    scope = review_scope_department_id(goal, department)
    return can_run_reviews(member, member.organization_id, scope)


def review_departments(member: Member) -> set[int] | None:
    """The departments whose reviews `member` may schedule (can_schedule_review_of), to
    offer on the form (None: every one, and the whole organization): a manager's own and
    those below it; anyone who may run no review, none."""
    if can_run_reviews(member, member.organization_id):
        return None
    if member.role == Role.MANAGER:
        return manager_scope(member)
    return set()


def default_review_department_id(member: Member) -> int | None:
    """The scope a new review starts from: a manager may only review their own
    department (and below), so theirs; everyone else, the whole organization."""
    return member.department_id if member.role == Role.MANAGER else None


def can_run_review(member: Member | None, review: ReviewLike) -> bool:
    """Start, record in, add actions to, and complete this review."""
    return can_run_reviews(
        member,
        review.organization_id,
        review_scope_department_id(review.goal, review.department),
    )


def can_remind_checkins(member: Member | None, department_id: int | None) -> bool:
    """Remind the people of a department who owe a check-in (the dashboard's Remind
    now): leaders and admins anyone (`None`: people in no department), a manager the
    people of their own departments."""
    if member is None or not _acting(member, member.organization_id):
        return False
    return member.role in LEADERSHIP or in_manager_scope(member, department_id)


def can_mark_action_done(member: Member | None, action: ActionLike) -> bool:
    """An action's owner ticks it off; so may whoever runs its review."""
    if member is None or not member.is_active:
        return False
    return action.owner_id == member.pk or can_run_review(member, action.review)


def can_change_action(member: Member | None, action: ActionLike, fields: set[str]) -> bool:
    """Whoever runs the review changes an action; its owner may only tick it off."""
    if can_run_review(member, action.review):
        return True
    return fields <= {"done"} and can_mark_action_done(member, action)


def can_manage_chat(
    member: Member | None, department_id: int | None, organization_id: int | None = None
) -> bool:
    """Chat targets (org/chat.py) of a department (`None`: of the whole organization):
    admins any (as the admin area: in person or through an admin-scope token), a
    manager those of their own department and the ones below it."""
    if member is None:
        return False
    org_id = organization_id if organization_id is not None else member.organization_id
    if can_administer(member, org_id):
        return True
    return _acting(member, org_id) and in_manager_scope(member, department_id)


def chat_departments(member: Member) -> set[int] | None:
    """The departments whose chat targets `member` manages (can_manage_chat), for a
    list or a form (None: every one, and the whole organization's); empty: none."""
    if can_administer(member):
        return None
    if _acting(member, member.organization_id) and member.role == Role.MANAGER:
        return manager_scope(member)
    return set()


def can_manage_some_chat(member: Member | None) -> bool:
    """Whether to show chat targets at all (the API's list, the card): an admin, or a
    manager with a department."""
    return member is not None and chat_departments(member) != set()


# -- What a refused person may do instead (SPEC §9.3: every refusal names it) -----------

MAX_NAMED = 10  # departments named in a refusal; more are "…"
NO_DEPARTMENT = (
    "As a manager without a department you may {what} nowhere yet: an admin sets your "
    "department on the People page."
)


def _role_named(member: Member) -> str:
    label = Role(member.role).label.lower()
    return f"{'an' if label[:1] in 'aeiou' else 'a'} {label}"


def _not_acting(member: Member | None) -> str:
    """What someone who may do nothing at all (signed out, or deactivated) is told."""
    if member is None:
        return "Sign in first."
    return "Your membership is deactivated: an admin may reactivate it on the People page."


def _departments_of(member: Member) -> tuple[str, str]:
    """A manager's own department, and all of their scope as a refusal says it:
    ("Customer Support", "Customer Support (and the department below it: Support
    Tier 2)"). One query."""
    scope = manager_scope(member)
    names = dict(Department.objects.filter(pk__in=scope).values_list("id", "name"))
    own = names.pop(member.department_id, "your department")
    below = sorted(names.values())
    if not below:
        return own, own
    listed = ", ".join(below[:MAX_NAMED]) + (", …" if len(below) > MAX_NAMED else "")
    plural = "s" if len(below) > 1 else ""
    return own, f"{own} (and the department{plural} below it: {listed})"


def may_write_goals(member: Member | None) -> str:
    """What `member` may add and change of the goal tree (SPEC §3), as a refusal says it."""
    if member is None or not member.is_active:
        return _not_acting(member)
    if member.role in LEADERSHIP:
        return f"As {_role_named(member)} you may add and change any goal and KPI."
    if member.role == Role.MANAGER:
        if member.department_id is None:
            return NO_DEPARTMENT.format(what="add or change goals")
        own, scope = _departments_of(member)
        return (
            f"As manager of {own} you may add and change department, team and individual "
            f"goals and their KPIs in {scope}, owned by people there."
        )
    if member.role == Role.MEMBER:
        return (
            "As a member you may add individual goals of your own below any goal, and "
            "change them and their KPIs, owned by you."
        )
    return (
        f"As {_role_named(member)} you may read every goal and KPI and run reviews; goals "
        "are changed by their department's managers, leaders and admins."
    )


def may_record(member: Member | None) -> str:
    """On which KPIs `member` may record values (SPEC §3), as a refusal says it."""
    if member is None or not member.is_active:
        return _not_acting(member)
    if member.role in LEADERSHIP:
        return f"As {_role_named(member)} you may record values on any KPI."
    if member.role == Role.MANAGER:
        if member.department_id is None:
            return NO_DEPARTMENT.format(what="record values")
        own, scope = _departments_of(member)
        return f"As manager of {own} you may record values on the KPIs of the goals in {scope}."
    if member.role == Role.MEMBER:
        return (
            "As a member you may record values on the KPIs you own and on those of the "
            "goals you own."
        )
    return f"As {_role_named(member)} you record no values: you may schedule and run reviews."


def may_correct(member: Member | None) -> str:
    """Whose values `member` may correct or retract (SPEC §8.1), as a refusal says it."""
    if member is None or not member.is_active:
        return _not_acting(member)
    return (
        "You may correct or retract the values you recorded yourself and those on the "
        f"KPIs you own. {may_record(member)}"
    )


def may_run_reviews(member: Member | None) -> str:
    """Which reviews `member` may schedule and run (SPEC §3), as a refusal says it."""
    if member is None or not member.is_active:
        return _not_acting(member)
    if member.role in REVIEW_RUNNERS:
        return (
            f"As {_role_named(member)} you may schedule and run reviews of any goal, any "
            "department or the whole organization."
        )
    if member.role == Role.MANAGER:
        if member.department_id is None:
            return NO_DEPARTMENT.format(what="run reviews")
        own, scope = _departments_of(member)
        return (
            f"As manager of {own} you may schedule and run reviews of {scope} and of the "
            "goals there."
        )
    return (
        f"As {_role_named(member)} you may tick off the action items you own; reviews are "
        "run by reviewers, leaders, admins and the managers of a department."
    )


def may_remind(member: Member | None) -> str:
    """Whose check-ins `member` may remind people of (the dashboard's Remind now), as a
    refusal says it."""
    if member is None or not member.is_active:
        return _not_acting(member)
    if member.role in LEADERSHIP:
        return f"As {_role_named(member)} you may remind anyone who owes a check-in."
    if member.role == Role.MANAGER:
        if member.department_id is None:
            return NO_DEPARTMENT.format(what="remind people")
        _own, scope = _departments_of(member)
        return f"You may remind the people of {scope}."
    return "Leaders, admins and the managers of a department remind its people."


def may_manage_chat(member: Member | None) -> str:
    """Whose chat targets `member` may manage, as a refusal says it."""
    if member is None or not member.is_active:
        return _not_acting(member)
    if can_administer(member):
        return (
            "As an admin you may manage the chat targets of any department and of the "
            "whole organization."
        )
    if member.role == Role.MANAGER:
        if member.department_id is None:
            return NO_DEPARTMENT.format(what="manage chat targets")
        _own, scope = _departments_of(member)
        return f"You may manage the chat targets of {scope}."
    return "Admins, and the managers of a department for it, manage chat targets."


class Permission[**P]:
    """A verdict of this module and what a refused person is told (a 403's message):
    what they may not do, then, where `instead` says it, what they may do instead
    (SPEC §9.3), worded for them."""

    def __init__(
        self,
        allows: Callable[P, bool],
        refusal: str,
        instead: Callable[[Member | None], str] | None = None,
    ) -> None:
        self.allows, self.refusal, self.instead = allows, refusal, instead

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> bool:
        return self.allows(*args, **kwargs)

    def message(self, member: Member | None) -> str:
        """What `member` is told when refused."""
        return f"{self.refusal} {self.instead(member)}" if self.instead else self.refusal

    def require(self, *args: P.args, **kwargs: P.kwargs) -> None:
        """Refuse (PermissionDenied: a 403 on a page or in the API) unless allowed. The
        first argument of every predicate here is the member asking."""
        if not self.allows(*args, **kwargs):
            refuse_unless(False, self.message(args[0] if args else None))

    def __repr__(self) -> str:
        return f"Permission({self.allows.__name__}, {self.refusal!r})"


class Requirement[T](Protocol):
    """A permission on one object, such as CHANGE_GOAL: what the selectors' access_*
    helpers take (a Permission over a member and that object, maybe more optional)."""

    def require(self, member: Member, obj: T, /) -> None: ...


class MemberRequirement(Protocol):
    """A permission that asks nothing but who the member is, such as MANAGE_CYCLES."""

    def require(self, member: Member, /) -> None: ...


# -- What each refusal says, once -------------------------------------------------------

# The admin area: a service token reaches it only with the admin scope, and says so.
ADMIN_SCOPE = "a service token needs the admin scope"
MANAGE_PEOPLE = Permission(can_manage_people, f"Only admins manage people ({ADMIN_SCOPE}).")
MANAGE_DEPARTMENTS = Permission(can_manage_org, "Only admins manage departments.")
MANAGE_TOKENS = Permission(can_administer, f"Only admins manage service tokens ({ADMIN_SCOPE}).")
MANAGE_WEBHOOKS = Permission(can_administer, f"Only admins manage webhooks ({ADMIN_SCOPE}).")
MANAGE_SSO = Permission(
    can_administer, f"Only admins manage single sign-on settings ({ADMIN_SCOPE})."
)
MANAGE_MFA_POLICY = Permission(can_administer, "Only admins set the two-factor policy.")
MANAGE_ORGANIZATION = Permission(
    can_administer, f"Only admins change the organization's settings ({ADMIN_SCOPE})."
)
READ_AUDIT_LOG = Permission(can_manage_org, "Only admins read the audit log.")
MANAGE_CYCLES = Permission(can_manage_cycles, "Only leaders and admins manage cycles.")
SET_OBJECTIVES = Permission(can_set_objectives, "Only leaders and admins set strategic objectives.")
CREATE_GOAL = Permission(can_create_goal, "You may not create this goal here.", may_write_goals)
CHANGE_GOAL = Permission(can_edit_goal, "You may not change this goal.", may_write_goals)
MOVE_GOAL = Permission(  # the goal as it would stand
    can_edit_goal, "You may not move this goal there.", may_write_goals
)
GIVE_GOAL = Permission(
    can_give_to, "You may not make this person the owner of the goal.", may_write_goals
)
REMOVE_GOAL = Permission(can_edit_goal, "You may not remove this goal.", may_write_goals)
ADD_CHILD_GOAL = Permission(
    can_add_child_goal, "You may not add goals below this one.", may_write_goals
)
WEIGH_GOAL = Permission(
    can_weigh_below,
    "Only someone who may change the goal above sets how much this goal weighs in it: "
    "leave its weight at 1.",
)
ADD_KPI = Permission(can_place_kpi, "You may not add KPIs to this goal.", may_write_goals)
CHANGE_KPI = Permission(can_edit_kpi, "You may not change this KPI.", may_write_goals)
MOVE_KPI = Permission(can_place_kpi, "You may not move this KPI to that goal.", may_write_goals)
GIVE_KPI = Permission(
    can_give_to, "You may not make this person the owner of the KPI.", may_write_goals
)
RECORD_VALUE = Permission(can_record_update, "You may not record values on this KPI.", may_record)
CORRECT_VALUE = Permission(
    can_correct_update, "You may not correct or retract values on this KPI.", may_correct
)
SCHEDULE_REVIEWS = Permission(
    can_schedule_reviews, "You may not schedule reviews.", may_run_reviews
)
SCHEDULE_REVIEW_OF = Permission(
    can_schedule_review_of, "You may not schedule a review of this scope.", may_run_reviews
)
RUN_REVIEW = Permission(can_run_review, "You may not run this review.", may_run_reviews)
CHANGE_REVIEW = Permission(can_run_review, "You may not change this review.", may_run_reviews)
CANCEL_REVIEW = Permission(can_run_review, "You may not cancel this review.", may_run_reviews)
MOVE_REVIEW = Permission(
    can_run_review, "You may not move the review to that scope.", may_run_reviews
)
CHANGE_ACTION = Permission(can_change_action, "You may not change this action.", may_run_reviews)
REMIND_CHECKINS = Permission(
    can_remind_checkins, "You may not remind the people of this department.", may_remind
)
MANAGE_CHAT = Permission(
    can_manage_chat, "You may not manage chat targets of this scope.", may_manage_chat
)
MANAGE_SOME_CHAT = Permission(
    can_manage_some_chat,
    "Only admins, and managers for their departments, manage chat targets.",
    may_manage_chat,
)
