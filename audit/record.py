"""Writing the audit log: `record()` adds one entry; `snapshot()` and `diff()` say what
changed, old → new, in values JSON keeps (dates as ISO text, related rows as their id
and label).

Who acted is handed in (a member, or nobody: "system"); the service token they acted
through is read off the member (`via_token`, `via_token_id`, set for one API request);
from where is the address of the request being served, which the middleware keeps
here (`serving`). Outside a request — a Celery job, a command — there is none.
"""

from __future__ import annotations

import datetime as dt
import enum
import ipaddress
import math
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.db import models
from django.http import HttpRequest

from core.net import client_address

from .models import Entry

if TYPE_CHECKING:
    from org.models import Member

SYSTEM = "system"  # who acted when nobody did: a scheduled job, a command

_request: ContextVar[HttpRequest | None] = ContextVar("audit_request", default=None)


@contextmanager
def serving(request: HttpRequest) -> Iterator[None]:
    """While a request is served, entries recorded say it came from its address."""
    token = _request.set(request)
    try:
        yield
    finally:
        _request.reset(token)


def current_request() -> HttpRequest | None:
    """The request being served in this thread, if any."""
    return _request.get()


def current_address() -> str | None:
    """The caller's address (core.net.client_address), or None outside a request or
    when it is not an IP address."""
    request = _request.get()
    if request is None:
        return None
    try:
        return str(ipaddress.ip_address(client_address(request).split("%")[0]))
    except ValueError:
        return None


def record(
    actor: Member | str | None,
    action: str,
    obj: models.Model | None = None,
    *,
    object_type: str | None = None,
    object_id: object = None,
    label: str | None = None,
    changes: Mapping[str, Any] | None = None,
    organization_id: int | None = None,
) -> Entry:
    """Add one entry: `actor` did `action` (`goal.updated`) to `obj` (or to the object
    named by `object_type`, `object_id` and `label`), changing `changes`
    ({field: [old, new]}, from diff()). The organization is the actor's unless given,
    else the object's. `actor` may be a member, a name as text (a sign-in of someone
    with no membership), or None for the system."""
    member = actor if actor is not None and not isinstance(actor, str) else None
    if obj is not None:
        object_type = object_type or obj._meta.model_name
        object_id = obj.pk if object_id is None else object_id
        label = str(obj) if label is None else label
    if organization_id is None:
        organization_id = getattr(member, "organization_id", None) or getattr(
            obj, "organization_id", None
        )
    if member is not None:
        actor_id, actor_label = member.pk, member.display_name
    else:
        actor_id, actor_label = None, actor if isinstance(actor, str) and actor else SYSTEM
    return Entry.objects.create(
        organization_id=organization_id,
        actor_id=actor_id,
        actor=actor_label[:200],
        token_id=getattr(member, "via_token_id", None),
        token=(getattr(member, "via_token", "") or "")[:100],
        ip=current_address(),
        action=action,
        object_type=object_type or "",
        object_id="" if object_id is None else str(object_id)[:64],
        object_label=(label or "")[:300],
        changes=json_safe(dict(changes or {})),
    )


def snapshot(obj: models.Model, fields: Iterable[str]) -> dict[str, Any]:
    """The fields of `obj` as they stand (a related row as the object: its label is
    read only if it changed)."""
    return {name: getattr(obj, name) for name in fields}


def diff(before: Mapping[str, Any], after: Mapping[str, Any]) -> dict[str, list[Any]]:
    """{field: [old, new]} for each field whose value differs (a related row by its
    id); a field missing on one side counts as None there. Empty: nothing changed."""
    names = [*before, *(name for name in after if name not in before)]
    return {
        name: [json_safe(before.get(name)), json_safe(after.get(name))]
        for name in names
        if _same(before.get(name)) != _same(after.get(name))
    }


def created(obj: models.Model, fields: Iterable[str]) -> dict[str, list[Any]]:
    """The fields a new `obj` was given ({field: [None, value]}; those left empty out)."""
    return diff({}, {name: value for name, value in snapshot(obj, fields).items() if value != ""})


def deleted(obj: models.Model, fields: Iterable[str]) -> dict[str, list[Any]]:
    """The fields a deleted `obj` had ({field: [value, None]})."""
    return diff(snapshot(obj, fields), {})


def items(objects: Iterable[models.Model]) -> list[dict[str, Any]]:
    """Rows a bulk write made or changed, each as its id and label: the list an entry
    of one operation carries."""
    return [{"id": obj.pk, "label": str(obj)} for obj in objects]


def _same(value: Any) -> Any:
    """What to compare a value by: a related row by its model and id."""
    if isinstance(value, models.Model):
        return (type(value), value.pk)
    return value


def json_safe(value: Any) -> Any:
    """`value` as JSON keeps it: dates as ISO text, decimals as text, a related row as
    {"id", "label"}, a choice as its value."""
    if value is None or isinstance(value, bool | int) and not isinstance(value, enum.Enum):
        return value
    if isinstance(value, enum.Enum):
        return json_safe(value.value)
    if isinstance(value, str):
        return str(value)
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dt.date | dt.time):  # a datetime is a date too
        return value.isoformat()
    if isinstance(value, models.Model):
        return {"id": value.pk, "label": str(value)}
    if isinstance(value, Mapping):
        return {str(key): json_safe(item) for key, item in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [json_safe(item) for item in value]
    return str(value)
