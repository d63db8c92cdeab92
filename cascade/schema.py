"""The OpenAPI schema: a summary for every operation, and the error responses every
endpoint can give, so clients (and schema-driven tests) know their shape."""

from __future__ import annotations

from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema

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


ERROR = {
    "type": "object",
    "properties": {"detail": {"type": "string"}},
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
            if not (path.endswith("/auth/token/") and method == "post"):
                responses.setdefault("401", {"description": "Not signed in", **_ref("Error")})
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
