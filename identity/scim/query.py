"""Reading lists: a SCIM filter made into a queryset filter (parsed by scim2-models,
RFC 7644 §3.4.2.2), paging (startIndex, count) and the attributes a caller asks for
(attributes, excludedAttributes). A filter naming an attribute Cascade cannot search,
or a value its attribute cannot take, is a 400 `invalidFilter`, never a 500."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db.models import Q
from django.utils.dateparse import parse_datetime
from scim2_models import SCIMException
from scim2_models.path import (
    AttrPath,
    CompareOperator,
    Comparison,
    FilterNode,
    LogicalExpr,
    LogicalOperator,
    Not,
    Present,
    ScimFilter,
    ValuePath,
)

from core.dates import out_of_range

from .discovery import MAX_RESULTS
from .errors import ScimError

MAX_FILTER = 2000  # characters: longer filters are refused before parsing


@dataclass(frozen=True)
class Field:
    """A searchable attribute: the queryset lookup and its kind (string, exact string,
    boolean, id, datetime). `wrap`, when set, turns a condition on the lookup into
    one on the listed rows (a group's members: a subquery)."""

    lookup: str
    kind: str = "string"
    wrap: Callable[[Q], Q] | None = None


ORDERING = {
    CompareOperator.gt: "gt",
    CompareOperator.ge: "gte",
    CompareOperator.lt: "lt",
    CompareOperator.le: "lte",
}
TEXT = {
    CompareOperator.co: "contains",
    CompareOperator.sw: "startswith",
    CompareOperator.ew: "endswith",
}


def invalid(detail: str) -> ScimError:
    return ScimError(400, detail, "invalidFilter")


def filter_q(text: str, fields: dict[str, Field], urn: str) -> Q:
    """The condition a filter string sets, over the attributes `fields` names (lower
    case, sub-attributes dotted: "name.givenname")."""
    if len(text) > MAX_FILTER:
        raise invalid(f"A filter is at most {MAX_FILTER} characters.")
    try:
        node = ScimFilter(text).ast
    except (SCIMException, ValueError, RecursionError) as exc:
        raise invalid(f"The filter is not valid SCIM filter syntax: {exc}") from None
    return node_q(node, fields, urn)


def node_q(node: FilterNode, fields: dict[str, Field], urn: str) -> Q:
    """The condition of a parsed filter (a PATCH path's `[...]` too)."""
    return _Translator(fields, urn).node(node, prefix="")


class _Translator:
    def __init__(self, fields: dict[str, Field], urn: str) -> None:
        self.fields, self.urn = fields, urn.lower()

    def node(self, node: FilterNode, prefix: str) -> Q:
        if isinstance(node, LogicalExpr):
            terms = [self.node(term, prefix) for term in node.terms]
            combined = terms[0]
            for term in terms[1:]:
                combined = combined & term if node.op == LogicalOperator.and_ else combined | term
            return combined
        if isinstance(node, Not):
            return ~self.node(node.expr, prefix)
        if isinstance(node, ValuePath):
            if prefix or node.attr_path.sub_attr:
                raise invalid("A filter within a filter ([...] inside [...]) is not supported.")
            return self.node(node.val_filter, prefix=self._name(node.attr_path) + ".")
        if isinstance(node, Present):
            field = self._field(node.attr_path, prefix)
            return self._wrap(field, self._present(field))
        if isinstance(node, Comparison):
            field = self._field(node.attr_path, prefix)
            return self._wrap(field, self._compare(field, node.op, node.value))
        raise invalid("This filter is not supported.")

    def _name(self, path: AttrPath) -> str:
        if path.uri and path.uri.lower() != self.urn:
            raise invalid(f"Unknown schema {path.uri} in the filter.")
        return f"{path.attr}.{path.sub_attr}" if path.sub_attr else path.attr

    def _field(self, path: AttrPath, prefix: str) -> Field:
        name = (prefix + self._name(path)).lower()
        field = self.fields.get(name)
        if field is None:
            known = ", ".join(sorted(self.fields))
            raise invalid(f"Cannot filter by “{prefix}{self._name(path)}” (filter by: {known}).")
        return field

    @staticmethod
    def _wrap(field: Field, q: Q) -> Q:
        return field.wrap(q) if field.wrap is not None else q

    @staticmethod
    def _present(field: Field) -> Q:
        if field.kind in ("string", "exact"):
            return Q(**{f"{field.lookup}__isnull": False}) & ~Q(**{field.lookup: ""})
        return Q(**{f"{field.lookup}__isnull": False})

    def _compare(self, field: Field, op: CompareOperator, value: Any) -> Q:
        lookup = field.lookup
        if field.kind == "boolean":
            if not isinstance(value, bool) or op not in (CompareOperator.eq, CompareOperator.ne):
                raise invalid(f"{lookup}: compare a boolean with eq or ne and true or false.")
            q = Q(**{lookup: value})
        elif field.kind == "id":
            if op not in (CompareOperator.eq, CompareOperator.ne):
                raise invalid("Compare an id with eq or ne.")
            text = (
                str(value) if isinstance(value, str | int) and not isinstance(value, bool) else ""
            )
            q = Q(**{lookup: int(text)}) if text.isdigit() and len(text) <= 18 else Q(pk__in=[])
        elif field.kind == "datetime":
            try:
                moment = parse_datetime(value) if isinstance(value, str) else None
            except ValueError:
                moment = None
            if moment is None or op in TEXT:
                raise invalid(
                    "Compare a date and time (2026-01-31T12:00:00Z) with eq, ne, gt, ge, lt or le."
                )
            if moment.tzinfo is None:
                moment = moment.replace(tzinfo=dt.UTC)
            if out_of_range(moment.date()):
                raise invalid("Dates in filters lie in the years 2000 to 2100.")
            q = Q(**{f"{lookup}__{ORDERING.get(op, 'exact')}": moment})
        else:
            if not isinstance(value, str):
                raise invalid("Compare this attribute with a string in double quotes.")
            insensitive = "i" if field.kind == "string" else ""
            if op in ORDERING:
                q = Q(**{f"{lookup}__{ORDERING[op]}": value})
            elif op in TEXT:
                q = Q(**{f"{lookup}__{insensitive}{TEXT[op]}": value})
            else:
                q = Q(**{f"{lookup}__{insensitive}exact": value})
        return ~q if op == CompareOperator.ne else q


def paging(params) -> tuple[int, int]:
    """startIndex (1-based; less than 1 counts as 1) and count (0 to MAX_RESULTS;
    100 unless asked)."""

    def number(name: str, default: int) -> int:
        raw = params.get(name)
        if raw in (None, ""):
            return default
        try:
            return int(str(raw).strip())
        except ValueError:
            raise ScimError(400, f"{name} must be a whole number.", "invalidValue") from None

    start = max(number("startIndex", 1), 1)
    count = min(max(number("count", 100), 0), MAX_RESULTS)
    return start, count


ALWAYS = {"id", "schemas"}


def _paths(raw: str | None, urn: str) -> list[tuple[str, str | None]] | None:
    if not raw:
        return None
    found = []
    for part in raw.split(","):
        part = part.strip()
        if part.lower().startswith(urn.lower() + ":"):
            part = part[len(urn) + 1 :]
        if not part:
            continue
        attr, _, sub = part.partition(".")
        found.append((attr.lower(), sub.lower() or None))
    return found


def project(resource: dict[str, Any], params, urn: str) -> dict[str, Any]:
    """The resource cut to `attributes`, or without `excludedAttributes` (RFC 7644
    §3.4.2.5); id and schemas always stay."""
    wanted = _paths(params.get("attributes"), urn)
    unwanted = _paths(params.get("excludedAttributes"), urn)
    if wanted is None and unwanted is None:
        return resource
    result: dict[str, Any] = {}
    for key, value in resource.items():
        name = key.lower()
        if name in ALWAYS:
            result[key] = value
        elif wanted is not None:
            subs = [sub for attr, sub in wanted if attr == name]
            if not subs:
                continue
            result[key] = value if None in subs else _cut(value, set(subs), keep=True)
        else:
            assert unwanted is not None
            subs = [sub for attr, sub in unwanted if attr == name]
            if None in subs:
                continue
            result[key] = _cut(value, set(subs), keep=False) if subs else value
    return result


def _cut(value: Any, subs: set[str | None], *, keep: bool) -> Any:
    def one(item: Any) -> Any:
        if not isinstance(item, dict):
            return item
        return {k: v for k, v in item.items() if (k.lower() in subs) == keep}

    return [one(item) for item in value] if isinstance(value, list) else one(value)
