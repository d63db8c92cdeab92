"""The OpenAPI schema: a summary for every operation, and the error responses every
endpoint can give, so clients (and schema-driven tests) know their shape."""

from __future__ import annotations

import json

from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema

from core.parsers import RawBodyParser

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

    def _get_request_body(self, direction="request"):
        """A file sent as the body (the imports' spreadsheets) is required: without one
        there is nothing to read, and the answer is a 415."""
        body = super()._get_request_body(direction)
        parsers = self.view.get_parsers()
        if body and parsers and all(isinstance(p, RawBodyParser) for p in parsers):
            body["required"] = True
        return body


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
VALIDATION_ERROR = {
    "type": "object",
    "description": "Messages per field (`non_field_errors` for the whole body); "
    "`detail` when the body could not be parsed.",
    "additionalProperties": {
        "oneOf": [
            {"type": "array", "items": {"type": "string"}},
            {"type": "string"},
            {"type": "object"},
        ]
    },
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
    for path, operations in result.get("paths", {}).items():
        for method, operation in operations.items():
            responses = operation.setdefault("responses", {})
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
# values, a value's correction; a review's agenda and actions; a webhook's log. Clients
# may follow them; schemathesis's stateful phase does, walking goal → KPI → value →
# correction as an integration would.
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
}


def add_links(result, generator, request, public):
    for (path, method), links in LINKS.items():
        operation = result.get("paths", {}).get(path, {}).get(method)
        if operation is not None:
            operation["responses"]["201"]["links"] = links
    return result


def type_nullable_enums(result, generator, request, public):
    """OpenAPI 3.0 reads `nullable` only beside a `type`: a nullable choice, which
    drf-spectacular writes as `oneOf` its enum and a NullEnum, becomes the enum with the
    enum's type and `nullable` (the single sign-on protocol, null until set); a nullable
    nested object gets its component's type beside `nullable` (an import preview's
    `individual_kpi`)."""
    schemas = result.get("components", {}).get("schemas", {})
    null = "#/components/schemas/NullEnum"
    for schema in schemas.values():
        for prop in schema.get("properties", {}).values():
            refs = [part.get("$ref", "") for part in prop.get("oneOf", [])]
            if not prop.get("nullable") or len(refs) != 2 or null not in refs:
                continue
            (enum,) = [ref for ref in refs if ref != null]
            component = schemas.get(enum.rsplit("/", 1)[-1], {})
            if "type" in component:
                del prop["oneOf"]
                prop["allOf"] = [{"$ref": enum}]
                prop["type"] = component["type"]
        for prop in schema.get("properties", {}).values():
            # A nullable nested object (`allOf` its component, and `nullable`) says its type too.
            parts = prop.get("allOf", [])
            if prop.get("nullable") and "type" not in prop and len(parts) == 1:
                component = schemas.get(parts[0].get("$ref", "").rsplit("/", 1)[-1], {})
                if "type" in component:
                    prop["type"] = component["type"]
    if not any(null in json.dumps(schema) for schema in schemas.values()):
        schemas.pop("NullEnum", None)
    return result
