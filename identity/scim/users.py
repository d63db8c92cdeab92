"""SCIM Users are members: the Django user gives userName, name and emails; the
membership gives active, externalId, the dates, and the id (the member's id).

Every write goes through org/services.py (member_create, member_update,
member_account_update), as the SCIM token's maker, so permissions, the "keep one
admin" rule and the audit log hold as for a person on the People page. A SCIM DELETE
never deletes: the member is deactivated, keeps their history, and is marked
deprovisioned (identity.ScimDeprovision), which hides them from SCIM; creating the
same userName again brings that member back."""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import QuerySet
from scim2_models.path import AttrPath, ValuePath

from identity.models import ScimDeprovision
from org.models import Member
from org.services import member_account_update, member_create, member_update

from .discovery import USER
from .errors import ScimError
from .payload import Operation, as_bool, as_text, lower_keys
from .query import Field

FIELDS = {
    "id": Field("pk", "id"),
    "username": Field("user__username"),
    "externalid": Field("external_id", "exact"),
    "active": Field("is_active", "boolean"),
    "name.givenname": Field("user__first_name"),
    "name.familyname": Field("user__last_name"),
    "emails": Field("user__email"),
    "emails.value": Field("user__email"),
    "groups": Field("department_id", "id"),
    "groups.value": Field("department_id", "id"),
    "meta.created": Field("created_at", "datetime"),
    "meta.lastmodified": Field("updated_at", "datetime"),
}


def users(organization_id: int) -> QuerySet[Member]:
    """The members SCIM sees: the organization's, less those it deprovisioned."""
    return (
        Member.objects.filter(organization_id=organization_id, scim_deprovision__isnull=True)
        .select_related("user", "department")
        .order_by("id")
    )


def user_get(actor: Member, member_id: str) -> Member:
    """One member of the caller's organization, or a 404 (another organization's too)."""
    if not member_id.isdigit() or len(member_id) > 18:
        raise ScimError(404, f"No User {member_id} here.")
    member = users(actor.organization_id).filter(pk=int(member_id)).first()
    if member is None:
        raise ScimError(404, f"No User {member_id} here.")
    return member


def resource(member: Member, base: str) -> dict[str, Any]:
    user = member.user
    body: dict[str, Any] = {
        "schemas": [USER],
        "id": str(member.pk),
        "userName": user.username,
        "displayName": member.display_name,
        "active": member.is_active,
        "meta": {
            "resourceType": "User",
            "created": member.created_at.isoformat(),
            "lastModified": member.updated_at.isoformat(),
            "location": f"{base}/Users/{member.pk}",
        },
    }
    name = {"givenName": user.first_name, "familyName": user.last_name}
    if name := {part: text for part, text in name.items() if text}:
        body["name"] = name
    if member.external_id:
        body["externalId"] = member.external_id
    if user.email:
        body["emails"] = [{"value": user.email}]
    if member.department_id is not None:
        body["groups"] = [
            {
                "value": str(member.department_id),
                "$ref": f"{base}/Groups/{member.department_id}",
                "display": member.department.name,
            }
        ]
    return body


@dataclass(frozen=True)
class State:
    """What SCIM may change of a member, as it stands or is about to."""

    username: str
    first_name: str
    last_name: str
    email: str
    active: bool
    external_id: str


def state_of(member: Member) -> State:
    user = member.user
    return State(
        user.username,
        user.first_name,
        user.last_name,
        user.email,
        member.is_active,
        member.external_id,
    )


def _email_of(value: Any) -> str:
    """The address of an `emails` list: the primary one, else the first."""
    if value is None:
        return ""
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        raise ScimError(400, "emails must be a list of objects.", "invalidValue")
    entries = [lower_keys(v, "emails") for v in value]
    chosen = next((e for e in entries if e.get("primary") in (True, "true", "True")), None)
    chosen = chosen or (entries[0] if entries else {})
    return as_text(chosen.get("value"), "emails.value")


def _set(state: State, name: str, sub: str | None, value: Any) -> State:
    """`name` (lower case, `sub` its sub-attribute) set to `value`. Attributes Cascade
    does not keep (phoneNumbers, title, the enterprise extension, …) are accepted and
    left out, so a provider's default mappings never fail."""
    if name == "username" and sub is None:
        return replace(state, username=as_text(value, "userName"))
    if name == "name":
        if sub is None:
            parts = lower_keys(value or {}, "name")
            return replace(
                state,
                first_name=as_text(parts.get("givenname"), "name.givenName"),
                last_name=as_text(parts.get("familyname"), "name.familyName"),
            )
        if sub == "givenname":
            return replace(state, first_name=as_text(value, "name.givenName"))
        if sub == "familyname":
            return replace(state, last_name=as_text(value, "name.familyName"))
        return state
    if name == "emails":
        if sub == "value":
            return replace(state, email=as_text(value, "emails.value"))
        return replace(state, email=_email_of(value)) if sub is None else state
    if name == "active" and sub is None:
        return replace(state, active=as_bool(value))
    if name == "externalid" and sub is None:
        return replace(state, external_id=as_text(value, "externalId"))
    return state


def _split(key: str) -> tuple[str, str | None]:
    """ "name.givenName" or "urn:…:User:name.givenName" → ("name", "givenname")."""
    key = key.lower()
    if key.startswith(USER.lower() + ":"):
        key = key[len(USER) + 1 :]
    attr, _, sub = key.partition(".")
    return attr, sub or None


def from_body(state: State, body: dict[str, Any], *, whole: bool) -> State:
    """A POST or PUT body applied to `state`; `whole` (PUT) clears what it leaves out."""
    if whole:
        state = replace(state, first_name="", last_name="", email="", external_id="")
    for key, value in body.items():
        if key.lower() == USER.lower() and isinstance(value, dict):
            state = from_body(state, value, whole=False)
            continue
        attr, sub = _split(str(key))
        if attr not in ("schemas", "id", "meta", "displayname", "groups", "password"):
            state = _set(state, attr, sub, value)
    return state


def from_patch(state: State, operations: list[Operation]) -> State:
    for operation in operations:
        node = operation.path
        if node is None:
            if not isinstance(operation.value, dict):
                raise ScimError(400, "Without a path, the value must be an object.", "invalidValue")
            state = from_body(state, operation.value, whole=False)
            continue
        if isinstance(node, AttrPath) and node.uri and node.uri.lower() != USER.lower():
            if f"{node.uri}:{node.attr}".lower() == USER.lower() and operation.op != "remove":
                state = from_body(state, lower_keys(operation.value, "value"), whole=False)
            continue  # another schema's attribute (an extension): not kept
        if isinstance(node, ValuePath):
            # emails[type eq "work"].value: Cascade keeps one address, whichever type.
            attr, sub = node.attr_path.attr.lower(), (node.sub_attr or "").lower() or None
            value = (
                operation.value
                if sub
                else ([operation.value] if isinstance(operation.value, dict) else operation.value)
            )
        elif isinstance(node, AttrPath):
            attr, sub = node.attr.lower(), (node.sub_attr or "").lower() or None
            value = operation.value
        else:
            raise ScimError(400, "This path is not supported here.", "invalidPath")
        if operation.op == "remove":
            if attr == "username" or attr == "active":
                raise ScimError(400, f"{node} cannot be removed.", "mutability")
            value = None
        elif attr == "emails" and sub is None and isinstance(value, dict):
            value = [value]
        state = _set(state, attr, sub, value)
    return state


def _check(actor: Member, state: State, member: Member | None) -> None:
    if not state.username.strip():
        raise ScimError(400, "userName is required.", "invalidValue")
    others = Member.objects.filter(organization_id=actor.organization_id)
    if member is not None:
        others = others.exclude(pk=member.pk)
    if state.email and others.filter(user__email__iexact=state.email).exists():
        raise ScimError(409, "Another member of the organization has this email.", "uniqueness")


@transaction.atomic
def user_create(actor: Member, body: dict[str, Any]) -> tuple[Member, bool]:
    """A new member (no password: they sign in through single sign-on, or an admin
    sends them a link), or one this provider deprovisioned, brought back. Returns the
    member and whether it is new."""
    blank = State("", "", "", "", True, "")
    state = from_body(blank, body, whole=False)
    _check(actor, state, None)
    User = get_user_model()
    existing = (
        Member.objects.select_related("user")
        .filter(organization_id=actor.organization_id, scim_deprovision__isnull=False)
        .filter(user__username__iexact=User.normalize_username(state.username.strip()))
        .first()
    )
    if existing is not None:
        ScimDeprovision.objects.filter(member=existing).delete()
        return save(actor, existing, state), False
    if User.objects.filter(
        username__iexact=User.normalize_username(state.username.strip())
    ).exists():
        raise ScimError(409, "This userName is taken.", "uniqueness")
    member = member_create(
        actor=actor,
        username=state.username,
        email=state.email,
        password=None,
        first_name=state.first_name,
        last_name=state.last_name,
        external_id=state.external_id,
    )
    if not state.active:
        member = member_update(actor=actor, member=member, is_active=False)
    return member, True


@transaction.atomic
def save(actor: Member, member: Member, state: State) -> Member:
    """Write the changes from the member's current state to `state` through the
    services (each audited)."""
    _check(actor, state, member)
    before = state_of(member)
    changed = {k: v for k, v in asdict(state).items() if asdict(before)[k] != v}
    account = {
        k: v for k, v in changed.items() if k in ("username", "email", "first_name", "last_name")
    }
    if account:
        member_account_update(actor=actor, member=member, **account)
    membership = {}
    if "active" in changed:
        membership["is_active"] = state.active
    if "external_id" in changed:
        membership["external_id"] = state.external_id
    if membership or account:
        member_update(actor=actor, member=member, **membership)
    return users(actor.organization_id).get(pk=member.pk)


@transaction.atomic
def user_deprovision(actor: Member, member: Member) -> None:
    """DELETE: deactivate (history stays) and hide from SCIM."""
    if member.is_active:
        member_update(actor=actor, member=member, is_active=False)
    ScimDeprovision.objects.get_or_create(member=member)
