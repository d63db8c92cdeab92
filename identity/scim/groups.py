"""SCIM Groups are departments: displayName is the department's name, externalId its
identity-provider id, members its people (a person is in one department, so adding
them to a group moves them out of their previous one). Writes go through
org/services.py (department_create, department_update, department_delete, and
member_update for each person moved), as the SCIM token's maker."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db import transaction
from django.db.models import Q, QuerySet
from scim2_models.path import AttrPath, ValuePath

from org.models import Department, Member
from org.services import department_create, department_delete, department_update, member_update

from .discovery import GROUP
from .errors import ScimError
from .payload import Operation, as_text, lower_keys
from .query import Field, node_q
from .users import users


def _members_having(q: Q) -> Q:
    return Q(pk__in=Member.objects.filter(q, scim_deprovision__isnull=True).values("department_id"))


FIELDS = {
    "id": Field("pk", "id"),
    "displayname": Field("name"),
    "externalid": Field("external_id", "exact"),
    "members": Field("pk", "id", wrap=_members_having),
    "members.value": Field("pk", "id", wrap=_members_having),
    "meta.created": Field("updated_at", "datetime"),  # departments keep no creation time
    "meta.lastmodified": Field("updated_at", "datetime"),
}
MEMBER_VALUE = {"value": Field("pk", "id")}


def groups(organization_id: int) -> QuerySet[Department]:
    return Department.objects.filter(organization_id=organization_id).order_by("id")


def group_get(actor: Member, department_id: str) -> Department:
    if not department_id.isdigit() or len(department_id) > 18:
        raise ScimError(404, f"No Group {department_id} here.")
    department = groups(actor.organization_id).filter(pk=int(department_id)).first()
    if department is None:
        raise ScimError(404, f"No Group {department_id} here.")
    return department


def members_by_department(organization_id: int, department_ids: Iterable[int]) -> dict[int, list]:
    """The people of these departments, in one query."""
    found: dict[int, list[Member]] = {}
    for member in users(organization_id).filter(department_id__in=list(department_ids)):
        found.setdefault(member.department_id, []).append(member)
    return found


def resource(department: Department, members: list[Member] | None, base: str) -> dict[str, Any]:
    body: dict[str, Any] = {
        "schemas": [GROUP],
        "id": str(department.pk),
        "displayName": department.name,
        "meta": {
            "resourceType": "Group",
            "created": department.updated_at.isoformat(),
            "lastModified": department.updated_at.isoformat(),
            "location": f"{base}/Groups/{department.pk}",
        },
    }
    if department.external_id:
        body["externalId"] = department.external_id
    if members:
        body["members"] = [
            {
                "value": str(member.pk),
                "$ref": f"{base}/Users/{member.pk}",
            }
            for member in members
        ]
    return body


def _member_ids(value: Any) -> set[int]:
    """The ids in a `members` value: [{"value": "12"}, …] (one object alone too)."""
    if value is None:
        return set()
    if isinstance(value, dict):
        value = [value]
    if not isinstance(value, list):
        raise ScimError(400, 'members must be a list of {"value": <User id>}.', "invalidValue")
    ids = set()
    for item in value:
        raw = lower_keys(item, "members").get("value")
        text = str(raw) if isinstance(raw, str | int) and not isinstance(raw, bool) else ""
        if not text.isdigit() or len(text) > 18:
            raise ScimError(400, f"No User {raw!r} in your organization.", "invalidValue")
        ids.add(int(text))
    return ids


class Change:
    """What a write does to a department, gathered before anything is written."""

    def __init__(self, department: Department | None) -> None:
        self.department = department
        self.name: str | None = None
        self.external_id: str | None = None
        self.add: set[int] = set()
        self.remove: set[int] = set()
        self.remove_q: Q | None = None  # members[value eq "…"]
        self.exact: set[int] | None = None  # the whole list (replace, PUT, POST)

    def apply(self, name: str, op: str, value: Any) -> None:
        if name == "displayname":
            if op == "remove":
                raise ScimError(400, "displayName cannot be removed.", "mutability")
            self.name = as_text(value, "displayName")
        elif name == "externalid":
            self.external_id = "" if op == "remove" else as_text(value, "externalId")
        elif name == "members":
            ids = _member_ids(value)
            if op == "add":
                self.add |= ids
                self.remove -= ids
            elif op == "remove":
                if value is None:
                    self.exact, self.add = set(), set()
                else:
                    self.remove |= ids
                    self.add -= ids
            else:
                self.exact, self.add, self.remove = ids, set(), set()

    def body(self, body: dict[str, Any], op: str = "replace") -> None:
        for key, value in body.items():
            key = str(key).lower()
            if key.startswith(GROUP.lower() + ":"):
                key = key[len(GROUP) + 1 :]
            if key in ("displayname", "externalid", "members"):
                self.apply(key, op, value)


def from_patch(change: Change, operations: list[Operation]) -> None:
    for operation in operations:
        node = operation.path
        if node is None:
            if not isinstance(operation.value, dict):
                raise ScimError(400, "Without a path, the value must be an object.", "invalidValue")
            change.body(operation.value, operation.op)
        elif isinstance(node, ValuePath) and node.attr_path.attr.lower() == "members":
            if operation.op != "remove" or node.sub_attr:
                raise ScimError(400, "members[…] is a path for remove only.", "invalidPath")
            q = node_q(node.val_filter, MEMBER_VALUE, GROUP)
            change.remove_q = q if change.remove_q is None else change.remove_q | q
        elif isinstance(node, AttrPath) and not node.sub_attr:
            if node.uri and node.uri.lower() != GROUP.lower():
                raise ScimError(400, f"Unknown schema {node.uri}.", "invalidPath")
            change.apply(node.attr.lower(), operation.op, operation.value)
        else:
            raise ScimError(400, f"Cannot change {node} of a Group.", "invalidPath")


@transaction.atomic
def save(actor: Member, change: Change) -> Department:
    """Create or change the department, then move its people in and out."""
    department = change.department
    if department is None:
        if not change.name:
            raise ScimError(400, "displayName is required.", "invalidValue")
        department = department_create(
            actor=actor, name=change.name, external_id=change.external_id or ""
        )
    else:
        fields = {}
        if change.name is not None and change.name != department.name:
            fields["name"] = change.name
        if change.external_id is not None and change.external_id != department.external_id:
            fields["external_id"] = change.external_id
        if fields:
            department = department_update(actor=actor, department=department, **fields)
    _move_people(actor, department, change)
    return department


def _move_people(actor: Member, department: Department, change: Change) -> None:
    current = users(actor.organization_id).filter(department=department)
    if change.exact is not None:
        leaving = current.exclude(pk__in=change.exact)
        joining = change.exact
    else:
        leaving = current.filter(pk__in=change.remove)
        if change.remove_q is not None:
            leaving = leaving | current.filter(change.remove_q)
        joining = change.add
    for member in leaving.distinct():
        member_update(actor=actor, member=member, department=None)
    if joining:
        found = {m.pk: m for m in users(actor.organization_id).filter(pk__in=joining)}
        missing = sorted(joining - set(found))
        if missing:
            raise ScimError(400, f"No User {missing[0]} in your organization.", "invalidValue")
        for member in found.values():
            if member.department_id != department.pk:
                member_update(actor=actor, member=member, department=department)


def group_delete(actor: Member, department: Department) -> None:
    department_delete(actor=actor, department=department)
