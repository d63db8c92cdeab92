"""Reading what a SCIM client sends: the JSON body, PATCH operations (their paths
parsed by scim2-models), and the loose values identity providers send — Entra's
"active": "False" is a boolean, its "Replace" an operation name like "replace"."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest
from scim2_models import SCIMException
from scim2_models.path import Path, PathNode

from .discovery import PATCH, SEARCH
from .errors import ScimError

OPS = ("add", "replace", "remove")


def read_json(request: HttpRequest) -> dict[str, Any]:
    """The body as a JSON object, or a 400 `invalidSyntax` saying what is wrong."""
    try:
        body = json.loads(request.body)
    except RequestDataTooBig:
        raise ScimError(413, "The body is too large.") from None
    except (ValueError, RecursionError):
        raise ScimError(400, "The body is not valid JSON.", "invalidSyntax") from None
    if not isinstance(body, dict):
        raise ScimError(400, "The body must be a JSON object.", "invalidSyntax")
    try:
        text = json.dumps(body, ensure_ascii=False)
        text.encode("utf-8")
    except (UnicodeEncodeError, RecursionError, ValueError):
        raise ScimError(
            400, "The body holds text that is not valid Unicode.", "invalidSyntax"
        ) from None
    if "\\u0000" in text or "\x00" in text:
        raise ScimError(
            400, "The body holds a NUL character, which no field takes.", "invalidValue"
        )
    return body


def as_bool(value: Any, name: str = "active") -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    raise ScimError(400, f"{name} must be true or false.", "invalidValue")


def as_text(value: Any, name: str) -> str:
    """A string attribute; null clears it."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    raise ScimError(400, f"{name} must be a string.", "invalidValue")


def lower_keys(value: Any, name: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ScimError(400, f"{name} must be an object.", "invalidValue")
    return {str(key).lower(): item for key, item in value.items()}


@dataclass(frozen=True)
class Operation:
    op: str  # add, replace or remove
    path: PathNode | None
    value: Any


def operations(body: dict[str, Any]) -> list[Operation]:
    """A PatchOp's operations (RFC 7644 §3.5.2), checked before any is applied."""
    schemas = body.get("schemas")
    if schemas is not None and (not isinstance(schemas, list) or PATCH not in schemas):
        raise ScimError(400, f"A PATCH body's schemas must hold {PATCH}.", "invalidSyntax")
    raw = body.get("Operations", body.get("operations"))
    if not isinstance(raw, list) or not raw:
        raise ScimError(400, "A PATCH body needs a list of Operations.", "invalidSyntax")
    found = []
    for item in raw:
        if not isinstance(item, dict):
            raise ScimError(400, "Each operation must be an object.", "invalidSyntax")
        item = {str(k).lower(): v for k, v in item.items()}
        op = item.get("op")
        if not isinstance(op, str) or op.lower() not in OPS:
            raise ScimError(400, "Each operation's op is add, replace or remove.", "invalidSyntax")
        op = op.lower()
        path = item.get("path")
        node = None
        if path not in (None, ""):
            if not isinstance(path, str) or len(path) > 1000:
                raise ScimError(400, "An operation's path must be a string.", "invalidPath")
            try:
                node = Path(path).ast
            except (SCIMException, ValueError, RecursionError) as exc:
                raise ScimError(
                    400, f"The path “{path}” is not valid: {exc}", "invalidPath"
                ) from None
        if op == "remove" and node is None:
            raise ScimError(400, "A remove operation needs a path.", "noTarget")
        if op != "remove" and "value" not in item:
            raise ScimError(400, f"An {op} operation needs a value.", "invalidValue")
        found.append(Operation(op, node, item.get("value")))
    return found


SEARCH_TEXT = ("filter", "sortBy", "sortOrder")
SEARCH_NUMBERS = ("startIndex", "count")
SEARCH_LISTS = ("attributes", "excludedAttributes")


def search_params(body: dict[str, Any]) -> dict[str, str]:
    """A SearchRequest body (POST …/.search, RFC 7644 §3.4.3) as the query parameters
    a GET of the same list would take; sortBy and sortOrder are ignored there too."""
    schemas = body.get("schemas")
    if schemas is not None and (not isinstance(schemas, list) or SEARCH not in schemas):
        raise ScimError(400, f"A search body's schemas must hold {SEARCH}.", "invalidSyntax")
    fields = {str(key).lower(): value for key, value in body.items()}
    params: dict[str, str] = {}
    for name in SEARCH_TEXT:
        value = fields.get(name.lower())
        if value is None:
            continue
        if not isinstance(value, str):
            raise ScimError(400, f"{name} must be a string.", "invalidValue")
        params[name] = value
    for name in SEARCH_NUMBERS:
        value = fields.get(name.lower())
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int | str):
            raise ScimError(400, f"{name} must be a whole number.", "invalidValue")
        params[name] = str(value)
    for name in SEARCH_LISTS:
        value = fields.get(name.lower())
        if value is None:
            continue
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ScimError(400, f"{name} must be a list of attribute names.", "invalidValue")
        params[name] = ",".join(value)
    return params
