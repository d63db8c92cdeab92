"""Who may do what: the one place that decides (SPEC §3).

Small predicates over a Member. Services call them and refuse; templates call
them to hide what a person may not do; DRF permission classes call them too.
Everyone in an organization may read all of it, so there are no read checks
beyond "same organization".
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .models import Department, Role

if TYPE_CHECKING:
    from goals.models import Goal
    from kpis.models import Kpi

    from .models import Member

LEADERSHIP = (Role.ADMIN, Role.LEADER)


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


def in_manager_scope(member: Member, department_id: int | None) -> bool:
    return (
        member.role == Role.MANAGER
        and department_id is not None
        and department_id in manager_scope(member)
    )


def goal_department_id(
    *, level: str, department_id: int | None, owner: Member | None
) -> int | None:
    """The department a goal counts under for permissions: an individual goal's is its owner's."""
    if level == "individual":
        return owner.department_id if owner is not None else None
    return department_id


def can_manage_org(member: Member | None, organization_id: int | None = None) -> bool:
    """People, departments and cycles: admins only."""
    if member is None:
        return False
    org_id = organization_id if organization_id is not None else member.organization_id
    return _acting(member, org_id) and member.role == Role.ADMIN


def can_edit_goal_at(
    member: Member | None,
    *,
    organization_id: int,
    level: str,
    department_id: int | None = None,
    owner: Member | None = None,
) -> bool:
    """May `member` create or hold a goal (or its KPIs) at this place of the tree?

    Fields that are missing do not make the write forbidden: validation reports them.
    """
    if not _acting(member, organization_id):
        return False
    if member.role in LEADERSHIP:
        return True
    if level == "strategic":
        return False
    if member.role == Role.MANAGER:
        scope_id = goal_department_id(level=level, department_id=department_id, owner=owner)
        if scope_id is None and (owner is None if level == "individual" else department_id is None):
            return True
        return in_manager_scope(member, scope_id)
    if member.role == Role.MEMBER and level == "individual":
        return owner is None or owner.pk == member.pk
    return False


def can_edit_goal(member: Member | None, goal: Goal) -> bool:
    """Edit, move, cancel this goal, and create, edit or move its KPIs."""
    return can_edit_goal_at(
        member,
        organization_id=goal.organization_id,
        level=goal.level,
        department_id=goal.department_id,
        owner=goal.owner,
    )


def can_add_child_goal(member: Member | None, goal: Goal) -> bool:
    """Whether to offer "add a child goal" under `goal`: any level below it the member may write."""
    if not _acting(member, goal.organization_id) or goal.level == "individual":
        return False
    return member.role in (*LEADERSHIP, Role.MANAGER) or member.role == Role.MEMBER


def can_edit_kpi(member: Member | None, kpi: Kpi) -> bool:
    return can_edit_goal(member, kpi.goal)


def can_record_update(member: Member | None, kpi: Kpi) -> bool:
    if not _acting(member, kpi.organization_id):
        return False
    if member.role in LEADERSHIP:
        return True
    goal = kpi.goal
    if member.role == Role.MANAGER:
        if goal.level == "strategic":
            return False
        return in_manager_scope(
            member,
            goal_department_id(
                level=goal.level, department_id=goal.department_id, owner=goal.owner
            ),
        )
    if member.role == Role.MEMBER:
        return kpi.owner_id == member.pk or goal.owner_id == member.pk
    return False


def can_run_reviews(
    member: Member | None, organization_id: int, department_id: int | None = None
) -> bool:
    """Create, run, complete reviews; a manager only inside their department subtree."""
    if not _acting(member, organization_id):
        return False
    if member.role in (*LEADERSHIP, Role.REVIEWER):
        return True
    return member.role == Role.MANAGER and in_manager_scope(member, department_id)


def can_run_review(member: Member | None, review) -> bool:
    """Start, record in, add actions to, and complete this review."""
    from reviews.selectors import review_scope_department_id

    return can_run_reviews(
        member, review.organization_id, review_scope_department_id(review.goal, review.department)
    )


def can_mark_action_done(member: Member | None, action) -> bool:
    """An action's owner ticks it off; so may whoever runs its review."""
    if member is None or not member.is_active:
        return False
    return action.owner_id == member.pk or can_run_review(member, action.review)
