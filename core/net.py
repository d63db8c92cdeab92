"""Who is calling, by network address: the sign-in lockout and the API throttles key on it."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest


def client_address(request: HttpRequest) -> str:
    """The caller's address. Behind TRUSTED_PROXY_COUNT reverse proxies, the address the
    outermost of them saw (the last ones of X-Forwarded-For are theirs to write; what
    comes before can be forged by the caller); with none, the connection's."""
    proxies = settings.TRUSTED_PROXY_COUNT
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    if proxies and forwarded:
        hops = [hop.strip() for hop in forwarded.split(",") if hop.strip()]
        if hops:
            return hops[-min(proxies, len(hops))]
    return request.META.get("REMOTE_ADDR", "")
