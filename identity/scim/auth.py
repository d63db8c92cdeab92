"""Who calls SCIM: a service token of scope `scim`, sent as `Authorization: Bearer
<key>` (what Okta, Entra and others send; `Token <key>` works too).

Only a `scim` token: a personal token or a read, write or admin service token is a
403 here, as a `scim` token is under /api/v1/ (org/tokens.py) — provisioning is one
door with one key, which an admin can revoke without touching other integrations.
The token acts as its maker (org/tokens.py acting_member), who must still be an
active admin: deactivated or gone, a 401; no longer an admin, a 403. Everything is
then scoped to the token's organization: another organization's people and
departments are never found (404)."""

from __future__ import annotations

from django.http import HttpRequest
from rest_framework.exceptions import AuthenticationFailed

from org.drf import BLANKS, KEY, MemberTokenAuthentication
from org.models import Member, TokenScope
from org.permissions import role_allows_scope
from org.tokens import acting_member, maker_refusal

from .errors import ScimError

NO_TOKEN = (
    "Send a SCIM token: `Authorization: Bearer <key>`, a service token of scope scim "
    "(an admin makes one on the People page)."
)
NOT_SCIM = (
    "Only a service token of scope scim works on /scim/v2/: make one on the People page "
    "(read, write, admin and personal tokens work under /api/v1/)."
)
LAPSED = (
    "This SCIM token's maker is no longer an admin, so it no longer provisions people: "
    "ask an admin to make a new one."
)


def scim_member(request: HttpRequest) -> Member:
    """The acting member of the request's SCIM token, or ScimError (401 or 403)."""
    header = request.META.get("HTTP_AUTHORIZATION", "")
    scheme, *rest = BLANKS.split(header.strip(" \t"), maxsplit=1)
    if scheme.lower() not in ("bearer", "token") or not rest:
        raise ScimError(401, NO_TOKEN)
    key = rest[0].strip(" \t")
    if not KEY.fullmatch(key):
        raise ScimError(401, NO_TOKEN)
    try:
        _, token = MemberTokenAuthentication().authenticate_credentials(key.encode("ascii"))
    except AuthenticationFailed as exc:
        raise ScimError(401, str(exc.detail)) from None
    if not token.is_service or token.scope != TokenScope.SCIM:
        raise ScimError(403, NOT_SCIM)
    member = acting_member(token)
    if (refusal := maker_refusal(member)) is not None:
        raise ScimError(401, refusal)
    assert member is not None
    if not role_allows_scope(member.role, token.scope):
        raise ScimError(403, LAPSED)
    return member
