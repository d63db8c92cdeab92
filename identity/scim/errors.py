"""SCIM's answers: `application/scim+json`, and errors in its own body (RFC 7644
§3.12) with the status and, for a 400 or 409, the `scimType` saying what kind."""

from __future__ import annotations

import json
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponse

from core.errors import Conflict, by_field

CONTENT_TYPE = "application/scim+json"
ERROR_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:Error"


class ScimError(Exception):
    """A refusal, answered as SCIM's error body."""

    def __init__(self, status: int, detail: str, scim_type: str | None = None) -> None:
        super().__init__(detail)
        self.status, self.detail, self.scim_type = status, detail, scim_type


def scim_response(data: Any, status: int = 200, **headers: str) -> HttpResponse:
    response = HttpResponse(
        json.dumps(data, ensure_ascii=False), status=status, content_type=CONTENT_TYPE
    )
    for name, value in headers.items():
        response[name.replace("_", "-")] = value
    return response


def error_response(error: ScimError) -> HttpResponse:
    body: dict[str, Any] = {
        "schemas": [ERROR_SCHEMA],
        "status": str(error.status),
        "detail": error.detail,
    }
    if error.scim_type:
        body["scimType"] = error.scim_type
    response = scim_response(body, error.status)
    if error.status == 401:
        response["WWW-Authenticate"] = 'Bearer realm="Cascade SCIM"'
    return response


def from_service(exc: Exception) -> ScimError:
    """A service's refusal (org/services.py) as SCIM sees it: a conflict of state is a
    409, a taken name or id a 409 `uniqueness`, bad input a 400 `invalidValue`, a
    forbidden write a 403."""
    if isinstance(exc, PermissionDenied):
        return ScimError(403, str(exc) or "Forbidden.")
    if isinstance(exc, Conflict):
        return ScimError(409, " ".join(exc.messages))
    assert isinstance(exc, ValidationError)
    messages = by_field(exc)
    detail = " ".join(
        f"{field}: {message}" if field != "non_field_errors" else message
        for field, texts in messages.items()
        for message in texts
    )
    if any("taken" in m or "already has" in m for texts in messages.values() for m in texts):
        return ScimError(409, detail, "uniqueness")
    return ScimError(400, detail, "invalidValue")
