"""The OpenAPI schema: a summary for every operation, and the error responses every
endpoint can give, so clients (and schema-driven tests) know their shape."""

from __future__ import annotations

import json

from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema

from core.api import ConditionalRequests
from core.parsers import RawBodyParser

from . import webhook_payloads  # noqa: F401 (its extension types a delivery's payload)

ACTIONS = {
    "list": "List {plural}",
    "create": "Create {one}",
    "retrieve": "Get {one}",
    "partial_update": "Change {one}",
    "update": "Replace {one}",
    "destroy": "Delete {one}",
}


class AutoSchema(SpectacularAutoSchema):
    """An operation's summary: the one its view gives, else one made of its action and
    its resource ("List goals", "Create a goal", "Get a KPI")."""

    def get_summary(self):
        given = super().get_summary()
        action = getattr(self.view, "action", None)
        model = _model_of(self.view)
        if given or action not in ACTIONS or model is None:
            return given
        meta = model._meta
        one = str(meta.verbose_name)
        article = "an" if one[:1].lower() in "aeiou" else "a"
        return ACTIONS[action].format(plural=str(meta.verbose_name_plural), one=f"{article} {one}")

    def _resolve_path_parameters(self, variables):
        """An id in a path that only digits match (a value's, an agenda item's, an
        action's: `(?P<update_id>[0-9]+)`) is an integer, as the resources' own ids are."""
        parameters = super()._resolve_path_parameters(variables)
        for parameter in parameters:
            if parameter["schema"] == {"type": "string", "pattern": DIGITS}:
                parameter["schema"] = {"type": "integer"}
        return parameters

    def get_operation(self, path, path_regex, path_prefix, method, registry):
        operation = super().get_operation(path, path_regex, path_prefix, method, registry)
        view = self.view
        if operation and isinstance(view, ConditionalRequests) and view.conditional():
            document_conditional(operation, method)
        return operation

    def _get_request_body(self, direction="request"):
        """A file sent as the body (the imports' spreadsheets) is required: without one
        there is nothing to read, and the answer is a 415."""
        body = super()._get_request_body(direction)
        parsers = self.view.get_parsers()
        if body and parsers and all(isinstance(p, RawBodyParser) for p in parsers):
            body["required"] = True
        return body


DIGITS = "^[0-9]+$"

ERROR = {
    "type": "object",
    "properties": {
        "detail": {"type": "string"},
        "request_id": {
            "type": "string",
            "description": "On a 5xx: the request's id (also its X-Request-ID header), "
            "the key to its log lines.",
        },
    },
    "required": ["detail"],
}
MESSAGES = {"type": "array", "items": {"type": "string"}}
FIELD_ERRORS = {
    "type": "object",
    "description": "Messages per field (or per index of a list).",
    "additionalProperties": MESSAGES,
}
VALIDATION_ERROR = {
    "type": "object",
    "description": "Messages per field (`non_field_errors` for the whole body); "
    "`detail` when the body could not be parsed. A list sent at once (values recorded "
    'in bulk) has them per row index: {"3": {"value": ["…"]}}; a list field, per item.',
    "additionalProperties": {
        "oneOf": [
            MESSAGES,
            {"type": "string"},
            {"$ref": "#/components/schemas/FieldErrors"},
        ]
    },
}
# An import's 400 (cycles/ID/import/, members/import/): messages per row (its line in the
# file) and column, or about the request as a whole.
IMPORT_ERRORS = {
    "type": "object",
    "description": "Messages per row (its line in the file; the headers are line 1) and "
    'column under `rows`: {"rows": {"3": {"Owner": ["…"]}}}; else about the request '
    "(`dry_run`, `individual_kpi`, `file`, `non_field_errors`).",
    "properties": {
        "rows": {
            "type": "object",
            "additionalProperties": {"$ref": "#/components/schemas/FieldErrors"},
        }
    },
    "additionalProperties": {"oneOf": [MESSAGES, {"type": "string"}]},
}


TOO_MANY = {
    "description": "Too many requests (the API's rates), or too many failed sign-ins",
    "headers": {"Retry-After": {"schema": {"type": "integer"}, "description": "Seconds to wait."}},
    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
}


def _model_of(view):
    """The model a viewset serves: its queryset's, else its serializer's."""
    queryset = getattr(view, "queryset", None)
    if queryset is not None:
        return queryset.model
    meta = getattr(getattr(view, "serializer_class", None), "Meta", None)
    return getattr(meta, "model", None)


def _ref(name: str) -> dict:
    return {"content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{name}"}}}}


def add_error_responses(result, generator, request, public):
    schemas = result.setdefault("components", {}).setdefault("schemas", {})
    schemas["Error"] = ERROR
    schemas["ValidationError"] = VALIDATION_ERROR
    schemas["FieldErrors"] = FIELD_ERRORS
    schemas["ImportErrors"] = IMPORT_ERRORS
    for path, operations in result.get("paths", {}).items():
        for method, operation in operations.items():
            responses = operation.setdefault("responses", {})
            body = operation.get("requestBody", {}).get("content", {})
            if body and "application/json" not in body:  # a spreadsheet: an import
                responses.setdefault("400", {"description": "Invalid rows", **_ref("ImportErrors")})
            responses.setdefault("400", {"description": "Invalid input", **_ref("ValidationError")})
            # A token that is sent is checked everywhere, signing in included.
            responses.setdefault("401", {"description": "Not signed in", **_ref("Error")})
            if not (path.endswith("/auth/token/") and method == "post"):
                responses.setdefault("403", {"description": "Not allowed", **_ref("Error")})
            # Unknown ids (or a page past the end of a list) are 404s.
            responses.setdefault(
                "404", {"description": "Not found in your organization", **_ref("Error")}
            )
            if method in ("post", "patch"):
                responses.setdefault(
                    "415", {"description": "Unsupported media type", **_ref("Error")}
                )
            if method in ("post", "patch", "delete"):
                responses.setdefault(
                    "409",
                    {
                        "description": "A state conflict (a closed cycle, a completed review)",
                        **_ref("ValidationError"),
                    },
                )
            responses.setdefault("429", TOO_MANY)
    return result


ID = "$response.body#/id"


def nested(operation_id: str, child: str) -> dict:
    """A link to a row below the one the request's path names (a KPI's value, a
    review's action): the path's id, and the created row's id as `child`."""
    return {"operationId": operation_id, "parameters": {"id": "$request.path.id", child: ID}}


# What a client does next with what it created (OpenAPI links): a goal's KPIs, a KPI's
# values, a value's correction; a review's agenda and actions; a webhook's log, a chat
# target's messages. Clients may follow them; schemathesis's stateful phase does,
# walking goal → KPI → value → correction as an integration would.
LINKS = {
    ("/api/v1/goals/", "post"): {
        "GetGoal": {"operationId": "goals_retrieve", "parameters": {"id": ID}},
        "ChangeGoal": {"operationId": "goals_partial_update", "parameters": {"id": ID}},
        "GoalTree": {"operationId": "goals_tree_retrieve", "parameters": {"id": ID}},
        "GoalAlignment": {"operationId": "goals_alignment_list", "parameters": {"id": ID}},
        "AddKpi": {"operationId": "kpis_create", "requestBody": {"goal": ID}},
        "AddGoalBelow": {"operationId": "goals_create", "requestBody": {"parent": ID}},
        "ListItsKpis": {"operationId": "kpis_list", "parameters": {"query.goal": ID}},
    },
    ("/api/v1/kpis/", "post"): {
        "GetKpi": {"operationId": "kpis_retrieve", "parameters": {"id": ID}},
        "ChangeKpi": {"operationId": "kpis_partial_update", "parameters": {"id": ID}},
        "RecordValue": {"operationId": "kpis_updates_create", "parameters": {"id": ID}},
        "History": {"operationId": "kpis_updates_list", "parameters": {"id": ID}},
    },
    ("/api/v1/kpis/{id}/updates/", "post"): {
        "GetValue": nested("kpis_updates_retrieve", "update_id"),
        "CorrectValue": nested("kpis_updates_correct_create", "update_id"),
        "RetractValue": nested("kpis_updates_retract_create", "update_id"),
        "History": {"operationId": "kpis_updates_list", "parameters": {"id": "$request.path.id"}},
    },
    ("/api/v1/reviews/", "post"): {
        "GetReview": {"operationId": "reviews_retrieve", "parameters": {"id": ID}},
        "ChangeReview": {"operationId": "reviews_partial_update", "parameters": {"id": ID}},
        "Agenda": {"operationId": "reviews_items_list", "parameters": {"id": ID}},
        "StartReview": {"operationId": "reviews_start_create", "parameters": {"id": ID}},
        "AddAction": {"operationId": "reviews_actions_create", "parameters": {"id": ID}},
        "ListActions": {"operationId": "reviews_actions_list", "parameters": {"id": ID}},
    },
    ("/api/v1/reviews/{id}/actions/", "post"): {
        "GetAction": nested("reviews_actions_retrieve", "action_id"),
        "ChangeAction": nested("reviews_actions_partial_update", "action_id"),
    },
    ("/api/v1/webhooks/", "post"): {
        "GetWebhook": {"operationId": "webhooks_retrieve", "parameters": {"id": ID}},
        "ChangeWebhook": {"operationId": "webhooks_partial_update", "parameters": {"id": ID}},
        "Deliveries": {"operationId": "webhooks_deliveries_list", "parameters": {"id": ID}},
        "DeleteWebhook": {"operationId": "webhooks_destroy", "parameters": {"id": ID}},
    },
    ("/api/v1/chat-targets/", "post"): {
        "GetChatTarget": {"operationId": "chat_targets_retrieve", "parameters": {"id": ID}},
        "ChangeChatTarget": {
            "operationId": "chat_targets_partial_update",
            "parameters": {"id": ID},
        },
        "SendTest": {"operationId": "chat_targets_test_create", "parameters": {"id": ID}},
        "Messages": {"operationId": "chat_targets_messages_list", "parameters": {"id": ID}},
        "DeleteChatTarget": {"operationId": "chat_targets_destroy", "parameters": {"id": ID}},
    },
}


def add_links(result, generator, request, public):
    for (path, method), links in LINKS.items():
        operation = result.get("paths", {}).get(path, {}).get(method)
        if operation is not None:
            operation["responses"]["201"]["links"] = links
    return result


def type_nullable_enums(result, generator, request, public):
    """A nullable reference — a choice, which drf-spectacular writes as `oneOf` its enum
    and a NullEnum (the single sign-on protocol, null until set), or a nested object,
    `allOf` its component and `nullable` (an import preview's `individual_kpi`) —
    becomes `anyOf` the component and a null of its type: OpenAPI 3.0 reads `nullable`
    only beside a `type`, and a generated client then types it as the component or
    null (beside a lone `$ref`, openapi-python-client drops the null)."""
    schemas = result.get("components", {}).get("schemas", {})
    null = "#/components/schemas/NullEnum"
    for schema in schemas.values():
        for prop in schema.get("properties", {}).values():
            one_of = [part.get("$ref", "") for part in prop.get("oneOf", [])]
            all_of = [part.get("$ref", "") for part in prop.get("allOf", [])]
            if not prop.get("nullable"):
                continue
            if len(one_of) == 2 and null in one_of:
                (ref,) = [ref for ref in one_of if ref != null]
            elif len(all_of) == 1 and all_of[0] and not one_of:
                ref = all_of[0]
            else:
                continue
            component = schemas.get(ref.rsplit("/", 1)[-1], {})
            if "type" not in component:
                continue
            for key in ("oneOf", "allOf", "nullable", "type"):
                prop.pop(key, None)
            prop["anyOf"] = [
                {"$ref": ref},
                {"type": component["type"], "nullable": True, "enum": [None]},
            ]
    if not any(null in json.dumps(schema) for schema in schemas.values()):
        schemas.pop("NullEnum", None)
    return result


ETAG = {
    "ETag": {
        "schema": {"type": "string"},
        "required": True,
        "description": "The object's version, a strong ETag: send it in If-Match to change "
        "it only if no one else has since, or in If-None-Match to read it only if it changed.",
    }
}


def _header(name: str, description: str) -> dict:
    return {"in": "header", "name": name, "schema": {"type": "string"}, "description": description}


def document_conditional(operation, method: str) -> None:
    """A single object's GET, PATCH, PUT and DELETE (core.api.ConditionalRequests): the
    ETag it answers, the If-None-Match and If-Match it heeds, their 304 and 412."""
    parameters = operation.setdefault("parameters", [])
    responses = operation["responses"]
    if "200" in responses:
        responses["200"]["headers"] = {**responses["200"].get("headers", {}), **ETAG}
    if method == "GET":
        parameters.append(
            _header(
                "If-None-Match",
                "ETags the caller holds (or `*`): if one is the object's current ETag, "
                "the answer is a 304 with no body.",
            )
        )
        responses["304"] = {
            "description": "Not modified: the object's ETag is one If-None-Match names.",
            "headers": ETAG,
        }
        return
    parameters.append(
        _header(
            "If-Match",
            "Change the object only if its current ETag is one of these (`*`: any "
            "existing object); otherwise a 412, and nothing changes.",
        )
    )
    responses["412"] = {
        "description": "Precondition failed: the object changed since the ETag If-Match "
        "names was read; nothing was changed",
        **_ref("Error"),
    }


# The IETF draft httpapi-ratelimit-headers' fields (core/throttles.py), on every answer
# of the API while its rate counts are readable.
RATE_LIMIT_FIELDS = {
    "RateLimit-Policy": {
        "schema": {"type": "string"},
        "description": "The rates that apply, one item per policy: "
        '`"caller";q=1200;w=60, "address";q=3000;w=60` (q requests a window of w seconds).',
    },
    "RateLimit": {
        "schema": {"type": "string"},
        "description": "Where the caller stands under each policy: "
        '`"caller";r=1187;t=42, "address";r=2990;t=42` (r requests left for at least the '
        "next t seconds).",
    },
}


def add_rate_limit_fields(result, generator, request, public):
    headers = result.setdefault("components", {}).setdefault("headers", {})
    headers.update(RATE_LIMIT_FIELDS)
    refs = {name: {"$ref": f"#/components/headers/{name}"} for name in RATE_LIMIT_FIELDS}
    for operations in result.get("paths", {}).values():
        for operation in operations.values():
            for response in operation.get("responses", {}).values():
                response["headers"] = {**response.get("headers", {}), **refs}
    return result
