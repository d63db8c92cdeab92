"""People in bulk (SPEC §9.1): a CSV or XLSX of people — `email, name, department,
role, manager email, external_id` — previewed, then imported all rows or none, by the
API (`POST /api/v1/members/import/`) and the People page alike.

A row names a person by external id, else by email: one already in the organization
is updated (role, department, manager, name, an external id they lack), anyone else
is added with an account without a usable password and, once the import commits, the
email with a link to set one that an invitation sends (services.send_password_link).
An empty cell leaves what is stored as it is; a new person's role is "member". A
department named that the organization lacks is created. So importing the same file
twice changes nothing the second time.

The file is read within the limits of every upload (core/sheets.py). The plan reads
the organization once (two queries, whatever the file's size) and judges each row;
the commit plans again inside its transaction, then writes in bulk, records one audit
entry for the whole import, and queues the emails for after the commit.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from functools import partial
from typing import Any, NamedTuple

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.db.models.functions import Lower
from django.utils import timezone

from audit.record import items, record
from core import sheets
from core.db import bulk_write, lock_row
from core.errors import CONTROL, NOT_FOUND, ONE_LINE, RowErrors, one_of, too_long
from core.sheets import file_error

from .changes import ChangeAction, ChangeKind, changes_collected, note_change
from .models import Department, Member, Role
from .permissions import MANAGE_PEOPLE, is_admin, is_admin_role
from .services import send_password_link
from .sessions import sessions_end_others

# The columns, as the file may head them (case, spaces and "_" for " " do not matter).
EMAIL, NAME, DEPARTMENT, ROLE, MANAGER_EMAIL, EXTERNAL_ID = COLUMNS = (
    "email",
    "name",
    "department",
    "role",
    "manager email",
    "external_id",
)
SAMPLE = (
    ("email", "name", "department", "role", "manager email", "external_id"),
    ("ana.lima@example.com", "Ana Lima", "Customer Support", "manager", "", "E1001"),
    (
        "ben.okafor@example.com",
        "Ben Okafor",
        "Customer Support",
        "member",
        "ana.lima@example.com",
        "E1002",
    ),
    ("chloe.martin@example.com", "Chloé Martin", "Marketing", "", "", "E1003"),
)
MAX_ROWS = sheets.MAX_IMPORT_ROWS
MAX_NAME = 150  # a user's first and last name columns
MAX_EMAIL = 150  # the username a new person gets is their email address
MAX_EXTERNAL_ID = 200

EMPTY_FILE = "The file is empty: fill in the template and upload it again."
NO_ROWS = "The file has its headers but no people."
NEEDS_EMAIL = "The first row must be the column headers, with at least an “email” column."
BAD_EMAIL = "Enter a valid email address."
OWN_MANAGER = "A person can't be their own manager."
NEEDS_ADMIN = "The organization needs an admin: this file would leave it without one."
OTHER_EMAIL = (
    "The member with this external id has the email {email}: the import does not change emails."
)
OTHER_EXTERNAL_ID = (
    "This person has the external id “{external_id}”: the import does not change it."
)

CREATE, UPDATE, UNCHANGED, ERROR = "create", "update", "unchanged", "error"


def template_csv() -> bytes:
    """The downloadable template: the header row, as CSV (UTF-8 with a byte-order mark,
    so spreadsheet programs read it as UTF-8)."""
    return ("\ufeff" + ",".join(COLUMNS) + "\r\n").encode()


def column_name(header: str) -> str:
    """A header as matched: case-insensitive, "_" read as a space, spaces collapsed."""
    return " ".join(header.replace("_", " ").split()).casefold()


KNOWN = {column_name(column): column for column in COLUMNS}


class PersonRow(NamedTuple):
    """One line of the file: its number (the headers are line 1) and its cells."""

    number: int
    cells: dict[str, str]  # column → trimmed text, empty cells left out

    def get(self, column: str) -> str:
        return self.cells.get(column, "")


def read_people(content: bytes, fmt: str) -> list[PersonRow]:
    """The rows of an uploaded file, or one ValidationError on `file` (unreadable,
    beyond a limit of core/sheets.py, or headed with unknown columns)."""
    if not content:
        raise file_error(EMPTY_FILE)
    lines = sheets.read_table(content, fmt, max_rows=MAX_ROWS)
    if not lines:
        raise file_error(EMPTY_FILE)
    columns = _header_columns(lines[0].cells)
    rows = [
        PersonRow(number, {c: text for c, text in zip(columns, cells, strict=False) if c and text})
        for number, cells in lines[1:]
    ]
    if not rows:
        raise file_error(NO_ROWS)
    return rows


def _header_columns(cells: list[str]) -> list[str | None]:
    columns: list[str | None] = []
    unknown: list[str] = []
    for cell in cells:
        name = column_name(cell)
        column = KNOWN.get(name)
        if not name:
            columns.append(None)
            continue
        if column is None:
            unknown.append(cell.strip()[:60])
        elif column in columns:
            raise file_error(f"The column “{column}” appears twice.")
        columns.append(column)
    if unknown:
        raise file_error(
            f"Unknown column{'s' if len(unknown) > 1 else ''}: "
            f"{', '.join(f'“{u}”' for u in unknown[:10])}. The columns are: {', '.join(COLUMNS)}."
        )
    if EMAIL not in columns:
        raise file_error(NEEDS_EMAIL)
    return columns


def split_name(name: str) -> tuple[str, str]:
    """ "Ana Maria Lima" → ("Ana Maria", "Lima"); one word is a first name."""
    first, _, last = " ".join(name.split()).rpartition(" ")
    return (first, last) if first else (last, "")


@dataclass(eq=False)
class PersonPlan:
    """What a row does: the member it creates or updates, each change as [old, new]."""

    row: int
    email: str
    member: Member | None = None  # stored, or new (not saved yet)
    new: bool = False
    first_name: str = ""
    last_name: str = ""
    changes: dict[str, list[Any]] = field(default_factory=dict)
    new_department: str = ""  # the name of a department this row creates
    manager: Member | None = None  # the manager the row names, when it changes
    errors: dict[str, list[str]] = field(default_factory=dict)

    def error(self, column: str, message: str) -> None:
        self.errors.setdefault(column, []).append(message)

    @property
    def action(self) -> str:
        if self.errors:
            return ERROR
        return CREATE if self.new else UPDATE if self.changes else UNCHANGED


@dataclass
class PeoplePlan:
    rows: list[PersonPlan]
    departments: list[Department]  # the ones to create

    @property
    def errors(self) -> dict[str, dict[str, list[str]]]:
        return {str(p.row): p.errors for p in self.rows if p.errors}

    @property
    def totals(self) -> dict[str, int]:
        counts = Counter(p.action for p in self.rows)
        return {
            "rows": len(self.rows),
            "created": counts[CREATE],
            "updated": counts[UPDATE],
            "unchanged": counts[UNCHANGED],
            "errors": counts[ERROR],
            "departments_created": len(self.departments),
        }

    def preview(self) -> dict[str, Any]:
        """The preview the API answers and the page shows."""
        return {
            "totals": self.totals,
            "departments_created": [d.name for d in self.departments],
            "rows": [
                {
                    "row": p.row,
                    "email": p.email,
                    "action": p.action,
                    "changes": {k: {"old": old, "new": new} for k, (old, new) in p.changes.items()},
                    "new_department": p.new_department or None,
                    "errors": p.errors,
                }
                for p in self.rows
            ],
        }


def _label(obj: Member | Department | None) -> str | None:
    if obj is None:
        return None
    if isinstance(obj, Member):
        return obj.user.email or obj.display_name
    return obj.name


def _check_line(plan: PersonPlan, column: str, text: str, max_length: int) -> bool:
    if len(text) > max_length:
        plan.error(column, too_long(max_length))
    elif CONTROL.search(text):
        plan.error(column, ONE_LINE)
    else:
        return True
    return False


def people_import_plan(*, actor: Member, rows: list[PersonRow]) -> PeoplePlan:
    """What importing `rows` would do, row by row, writing nothing.

    1. Refuse unless the actor manages people.
    2. Read the organization's people and departments (two queries).
    3. Each row: its email, the person it names (by external id, else email), the name,
       role, department (created when unknown) and external id it gives.
    4. Managers, once every row's person is known: by email, among the file's people
       and the organization's; no cycle of managers; an admin left.
    """
    MANAGE_PEOPLE.require(actor)
    organization_id = actor.organization_id
    members = list(
        Member.objects.filter(organization_id=organization_id)
        .select_related("user", "department")
        .order_by("id")
    )
    by_pk = {m.pk: m for m in members}
    by_email: dict[str, Member] = {}
    by_external_id: dict[str, Member] = {}
    for m in members:
        if m.user.email:
            by_email.setdefault(m.user.email.casefold(), m)
        if m.external_id:
            by_external_id[m.external_id] = m
    departments = {
        " ".join(d.name.split()).casefold(): d
        for d in Department.objects.filter(organization_id=organization_id)
    }
    new_departments: list[Department] = []
    User = get_user_model()

    plans: list[PersonPlan] = []
    seen_email: dict[str, int] = {}
    seen_external_id: dict[str, int] = {}
    seen_member: dict[int, int] = {}
    for row in rows:
        email = row.get(EMAIL)
        plan = PersonPlan(row=row.number, email=email)
        plans.append(plan)
        if not email:
            plan.error(EMAIL, "An email is required.")
        elif len(email) > MAX_EMAIL:
            plan.error(EMAIL, too_long(MAX_EMAIL))
        else:
            try:
                validate_email(email)
            except ValidationError:
                plan.error(EMAIL, BAD_EMAIL)
        key = email.casefold()
        if EMAIL not in plan.errors:
            if key in seen_email:
                plan.error(EMAIL, f"This person is in row {seen_email[key]} already.")
            seen_email.setdefault(key, row.number)
        external_id = row.get(EXTERNAL_ID)
        if external_id and _check_line(plan, EXTERNAL_ID, external_id, MAX_EXTERNAL_ID):
            if external_id in seen_external_id:
                plan.error(
                    EXTERNAL_ID, f"Row {seen_external_id[external_id]} has this external id."
                )
            seen_external_id.setdefault(external_id, row.number)
        if plan.errors:
            _check_cells(plan, row, departments)
            continue
        member = by_external_id.get(external_id) if external_id else None
        if member is not None and member.user.email.casefold() != key:
            plan.error(EMAIL, OTHER_EMAIL.format(email=member.user.email or "(none)"))
            _check_cells(plan, row, departments)
            continue
        member = member or by_email.get(key)
        if member is not None and member.pk in seen_member:
            plan.error(EMAIL, f"This person is in row {seen_member[member.pk]} already.")
            _check_cells(plan, row, departments)
            continue
        if member is None:
            user = User(email=email)
            member = Member(organization_id=organization_id, user=user, role=Role.MEMBER)
            plan.new = True
        else:
            seen_member[member.pk] = row.number
        plan.member = member
        _plan_fields(plan, row, departments, new_departments)

    _plan_managers(plans, rows, by_email, by_pk)
    _check_admins(plans, members)
    return PeoplePlan(rows=plans, departments=new_departments)


def _check_cells(plan: PersonPlan, row: PersonRow, departments: dict[str, Department]) -> None:
    """The errors of the other cells of a row whose person is in doubt, so that the
    preview names each wrong cell at once: the row's fields as for someone new, with
    the same checks, kept apart from the plan."""
    scratch = PersonPlan(row=plan.row, email=plan.email, new=True)
    scratch.member = Member(user=get_user_model()(), role=Role.MEMBER)
    _plan_fields(scratch, row, dict(departments), [])
    for column, messages in scratch.errors.items():
        if column not in plan.errors:
            plan.errors[column] = messages


def _plan_fields(
    plan: PersonPlan,
    row: PersonRow,
    departments: dict[str, Department],
    new_departments: list[Department],
) -> None:
    """The name, role, department and external id a row gives its person."""
    member = plan.member
    assert member is not None
    changes: dict[str, list[Any]] = {}
    user = member.user
    plan.first_name, plan.last_name = user.first_name, user.last_name
    name = row.get(NAME)
    if name and _check_line(plan, NAME, name, 2 * MAX_NAME):
        first, last = split_name(name)
        if len(first) > MAX_NAME or len(last) > MAX_NAME:
            plan.error(NAME, too_long(MAX_NAME) + " (first and last name each)")
        elif (first, last) != (user.first_name, user.last_name):
            changes["name"] = [user.get_full_name() or None, f"{first} {last}".strip()]
            plan.first_name, plan.last_name = first, last
    role = row.get(ROLE).casefold()
    if role:
        stored_role = member.role  # a change to record, not a permission to decide
        if role not in Role.values:
            plan.error(ROLE, one_of(Role.values))
        elif role != stored_role:
            changes["role"] = [None if plan.new else member.role, role]
            member.role = role
    department_name = row.get(DEPARTMENT)
    if department_name and _check_line(plan, DEPARTMENT, department_name, 200):
        key = " ".join(department_name.split()).casefold()
        department = departments.get(key)
        if department is None:
            department = Department(
                organization_id=member.organization_id, name=" ".join(department_name.split())
            )
            departments[key] = department
            new_departments.append(department)
        if department.pk is None:
            plan.new_department = department.name
        if department.pk is None or department.pk != member.department_id:
            changes["department"] = [_label(member.department), department.name]
            member.department = department
    external_id = row.get(EXTERNAL_ID)
    if external_id and not plan.errors.get(EXTERNAL_ID) and external_id != member.external_id:
        if member.external_id:
            plan.error(EXTERNAL_ID, OTHER_EXTERNAL_ID.format(external_id=member.external_id))
        else:
            changes["external_id"] = [None, external_id]
            member.external_id = external_id
    if plan.new:
        plan.changes = {k: [None, new] for k, (_, new) in changes.items()}
    else:
        plan.changes = changes


def _plan_managers(
    plans: list[PersonPlan],
    rows: list[PersonRow],
    by_email: dict[str, Member],
    by_pk: dict[int, Member],
) -> None:
    """Each row's manager, by email: a person of the file, else of the organization
    (anyone else is not found: another organization's people are never named). Then
    no chain of managers may come back to where it starts."""
    in_file = {p.email.casefold(): p.member for p in plans if p.member is not None}
    # Whom each person reports to once the file is in: stored, unless the file says.
    manager_of: dict[int, Member | None] = {
        id(m): by_pk.get(m.manager_id) if m.manager_id else None for m in by_pk.values()
    }
    named: list[tuple[PersonPlan, Member]] = []
    for plan, row in zip(plans, rows, strict=True):
        email = row.get(MANAGER_EMAIL)
        member = plan.member
        if not email or member is None:
            continue
        manager = in_file.get(email.casefold()) or by_email.get(email.casefold())
        if manager is None:
            plan.error(MANAGER_EMAIL, NOT_FOUND)
        elif manager is member:
            plan.error(MANAGER_EMAIL, OWN_MANAGER)
        else:
            manager_of[id(member)] = manager
            named.append((plan, manager))
    for plan, manager in named:
        member = plan.member
        assert member is not None
        chain: list[Member] = [member]
        step: Member | None = manager
        while step is not None and step is not member and len(chain) <= len(manager_of):
            chain.append(step)
            step = manager_of.get(id(step))
        if step is member:
            path = " → ".join(_label(m) or "?" for m in [*chain, member])
            plan.error(MANAGER_EMAIL, f"Managers would go round in a circle: {path}.")
            continue
        stored = None if plan.new else by_pk.get(member.manager_id or 0)
        if manager is not stored:
            plan.changes["manager"] = [_label(stored), _label(manager)]
            plan.manager = manager


def _check_admins(plans: list[PersonPlan], members: list[Member]) -> None:
    """The organization keeps an active admin."""
    admins = [m for m in members if is_admin(m)]
    admins += [p.member for p in plans if p.new and p.member and is_admin(p.member)]
    if admins or not any("role" in p.changes for p in plans):
        return
    for plan in plans:
        if "role" in plan.changes and is_admin_role(plan.changes["role"][0]):
            plan.error(ROLE, NEEDS_ADMIN)


def _free_usernames(emails: list[str]) -> list[str]:
    """A username for each new person: their email, numbered if another account has it
    (one query, and one more per clash)."""
    User = get_user_model()
    wanted = [email.lower() for email in emails]
    taken = set(
        User.objects.annotate(lowered=Lower("username"))
        .filter(lowered__in=wanted)
        .values_list("lowered", flat=True)
    )
    names = []
    for name in wanted:
        candidate, n = name, 1
        while candidate in taken or (
            candidate != name and User.objects.filter(username__iexact=candidate).exists()
        ):
            n += 1
            candidate = f"{name}-{n}"
        taken.add(candidate)
        names.append(candidate)
    return names


@transaction.atomic
@changes_collected()  # every department and member written: one INSERT in the feed
def people_import_commit(*, actor: Member, rows: list[PersonRow]) -> PeoplePlan:
    """Import `rows`: all of them or none.

    1. Lock the organization (one people import at a time), then plan again. Any
       error → RowErrors, nothing written.
    2. In bulk: the new departments, the new accounts (no usable password) and their
       memberships; then every changed membership and name.
    3. Role changes end the person's sessions; one audit entry lists what was created
       and changed; the password emails go once the transaction commits.
    """
    MANAGE_PEOPLE.require(actor)
    lock_row(actor.organization)
    plan = people_import_plan(actor=actor, rows=rows)
    if plan.errors:
        raise RowErrors(plan.errors)
    now = timezone.now()
    Department.objects.bulk_create(plan.departments)
    new = [p for p in plan.rows if p.new]
    changed = [p for p in plan.rows if not p.new and p.changes]
    User = get_user_model()
    users = []
    for p, username in zip(new, _free_usernames([p.email for p in new]), strict=True):
        assert p.member is not None
        user = p.member.user
        user.username, user.first_name, user.last_name = username, p.first_name, p.last_name
        user.password = make_password(None)
        users.append(user)
    User.objects.bulk_create(users)
    members = []
    for p in new:
        member = p.member
        assert member is not None
        member.user = member.user  # its id, now that it has one
        member.department = member.department
        member.manager = None  # set below: it may be new too
        members.append(member)
    Member.objects.bulk_create(members)
    writes = []
    for p in [*new, *changed]:
        member = p.member
        assert member is not None
        if p.manager is not None:
            member.manager = p.manager  # saved by now
        member.department = member.department
        member.updated_at = now
        writes.append(
            (
                member.pk,
                member.role,
                member.department_id,
                member.manager_id,
                member.external_id,
                now,
            )
        )
    fields = ["role", "department_id", "manager_id", "external_id", "updated_at"]
    bulk_write(Member, fields, writes)
    renamed = [p for p in changed if "name" in p.changes]
    bulk_write(
        User,
        ["first_name", "last_name"],
        [(p.member.user.pk, p.first_name, p.last_name) for p in renamed if p.member],
    )
    for p in renamed:
        assert p.member is not None
        p.member.user.first_name, p.member.user.last_name = p.first_name, p.last_name
    _end_sessions(actor, [p.member for p in changed if p.member and "role" in p.changes], now)
    _audit(actor, plan, new, changed)
    organization_id = actor.organization_id
    for kind, action, objects in (
        (ChangeKind.DEPARTMENT, ChangeAction.CREATED, plan.departments),
        (ChangeKind.MEMBER, ChangeAction.CREATED, [p.member for p in new]),
        (ChangeKind.MEMBER, ChangeAction.UPDATED, [p.member for p in changed]),
    ):
        written = ((obj.pk, obj.external_id) for obj in objects if obj is not None)
        note_change(organization_id, kind, action, *written)
    for user in [p.member.user for p in new if p.member]:
        transaction.on_commit(partial(send_password_link, user, invited_by=actor), robust=True)
    return plan


def _end_sessions(actor: Member, members: list[Member], now) -> None:
    """A person whose role changed signs in again under the new one."""
    others = [m.user_id for m in members if m.user_id != actor.user_id]
    Member.objects.filter(user_id__in=others).update(sessions_ended_at=now)
    for m in members:
        if m.user_id == actor.user_id:
            m.sessions_ended_at = sessions_end_others(actor.user)


def _audit(
    actor: Member, plan: PeoplePlan, new: list[PersonPlan], changed: list[PersonPlan]
) -> None:
    """One entry for the whole import: the people and departments it created, and the
    people it changed, each with its fields old → new."""
    lists = {
        "members_created": items(p.member for p in new if p.member),
        "members_updated": [
            {"id": p.member.pk, "label": str(p.member), "changes": p.changes}
            for p in changed
            if p.member
        ],
        "departments_created": items(plan.departments),
    }
    record(
        actor,
        "people.imported",
        actor.organization,
        changes={name: [None, value] for name, value in lists.items()},
    )
