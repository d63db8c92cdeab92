"""OpenAPI post-processing: document the error responses every endpoint can give,
so clients (and schema-driven tests) know their shape."""

from __future__ import annotations

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
            responses.setdefault("429", TOO_MANY)
    return result
