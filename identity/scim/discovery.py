"""What the server says of itself (RFC 7643 §5–7): /ServiceProviderConfig,
/ResourceTypes and /Schemas. The schemas list only the attributes Cascade keeps, so a
client (and scim2-tester) never expects one back that was silently dropped."""

from __future__ import annotations

from typing import Any

USER = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
LIST = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
SEARCH = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"
SPC = "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"
RESOURCE_TYPE = "urn:ietf:params:scim:schemas:core:2.0:ResourceType"
SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Schema"

MAX_RESULTS = 200  # a page holds at most this many resources (`count`)


def _attr(
    name: str,
    type_: str = "string",
    *,
    multi: bool = False,
    required: bool = False,
    mutability: str = "readWrite",
    uniqueness: str = "none",
    case_exact: bool = False,
    sub: list[dict[str, Any]] | None = None,
    description: str = "",
    reference_types: list[str] | None = None,
) -> dict[str, Any]:
    attribute: dict[str, Any] = {
        "name": name,
        "type": type_,
        "multiValued": multi,
        "description": description,
        "required": required,
        "caseExact": case_exact,
        "mutability": mutability,
        "returned": "default",
        "uniqueness": uniqueness,
    }
    if sub is not None:
        attribute["subAttributes"] = sub
    if reference_types is not None:
        attribute["referenceTypes"] = reference_types
    return attribute


USER_ATTRIBUTES = [
    _attr(
        "userName",
        required=True,
        uniqueness="server",
        description="The person's username in Cascade (unique across the installation).",
    ),
    _attr(
        "name",
        "complex",
        sub=[
            _attr("givenName", description="First name."),
            _attr("familyName", description="Last name."),
        ],
    ),
    _attr(
        "displayName",
        mutability="readOnly",
        description="The name Cascade shows: given and family name, else the userName.",
    ),
    _attr(
        "emails",
        "complex",
        multi=True,
        description="One address: the primary one sent (else the first) is kept.",
        sub=[_attr("value", description="The email address.")],
    ),
    # Always has a value (so it cannot be removed): true unless a client says otherwise.
    _attr(
        "active",
        "boolean",
        required=True,
        description="false deactivates the member (history stays); true unless sent.",
    ),
    _attr(
        "groups",
        "complex",
        multi=True,
        mutability="readOnly",
        description="The person's department (change it through the Group's members).",
        sub=[
            _attr("value", mutability="readOnly"),
            _attr("$ref", "reference", mutability="readOnly", reference_types=["Group"]),
            _attr("display", mutability="readOnly"),
        ],
    ),
]

GROUP_ATTRIBUTES = [
    _attr(
        "displayName",
        required=True,
        uniqueness="server",
        description="The department's name (unique in the organization).",
    ),
    _attr(
        "members",
        "complex",
        multi=True,
        description="The department's people. A person is in one department: adding "
        "them here moves them out of their previous one.",
        sub=[
            _attr("value", mutability="immutable", description="The member's id."),
            _attr("$ref", "reference", mutability="immutable", reference_types=["User"]),
        ],
    ),
]


def _schema(urn: str, name: str, description: str, attributes: list, base: str) -> dict:
    return {
        "schemas": [SCHEMA],
        "id": urn,
        "name": name,
        "description": description,
        "attributes": attributes,
        "meta": {"resourceType": "Schema", "location": f"{base}/Schemas/{urn}"},
    }


def schemas(base: str) -> list[dict[str, Any]]:
    return [
        _schema(USER, "User", "A member of the organization.", USER_ATTRIBUTES, base),
        _schema(GROUP, "Group", "A department of the organization.", GROUP_ATTRIBUTES, base),
    ]


def resource_types(base: str) -> list[dict[str, Any]]:
    return [
        {
            "schemas": [RESOURCE_TYPE],
            "id": name,
            "name": name,
            "endpoint": f"/{name}s",
            "description": description,
            "schema": urn,
            "meta": {"resourceType": "ResourceType", "location": f"{base}/ResourceTypes/{name}"},
        }
        for name, urn, description in (
            ("User", USER, "A member of the organization."),
            ("Group", GROUP, "A department of the organization."),
        )
    ]


def service_provider_config(base: str) -> dict[str, Any]:
    return {
        "schemas": [SPC],
        "patch": {"supported": True},
        "bulk": {"supported": False, "maxOperations": 0, "maxPayloadSize": 0},
        "filter": {"supported": True, "maxResults": MAX_RESULTS},
        "changePassword": {"supported": False},
        "sort": {"supported": False},
        "etag": {"supported": False},
        "authenticationSchemes": [
            {
                "type": "oauthbearertoken",
                "name": "Service token",
                "description": "A Cascade service token of scope scim, sent as "
                "`Authorization: Bearer <key>`.",
                "primary": True,
            }
        ],
        "meta": {
            "resourceType": "ServiceProviderConfig",
            "location": f"{base}/ServiceProviderConfig",
        },
    }
