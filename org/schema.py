"""How the OpenAPI schema describes the API's token authentication (drf-spectacular
finds knox's own class, not a subclass, by itself). Imported by OrgConfig.ready."""

from __future__ import annotations

from drf_spectacular.contrib.knox_auth_token import KnoxTokenScheme


class MemberTokenScheme(KnoxTokenScheme):
    target_class = "org.drf.MemberTokenAuthentication"
    name = "tokenAuth"
