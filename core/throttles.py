"""API throttles (DRF's), per caller and per address, at the rates of
settings.API_THROTTLE_RATES (from the environment; read on each request, so a test or
an operator's change applies at once). Over the rate: 429 with `Retry-After`.

The counts live in the cache. When the cache is unreachable the request goes through,
uncounted: a throttle must never turn a cache outage into failed requests."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from django.conf import settings
from rest_framework.throttling import SimpleRateThrottle

from .net import client_address

if TYPE_CHECKING:
    # For type hints only: DRF's settings import this module while rest_framework.views loads.
    from rest_framework.request import Request
    from rest_framework.views import APIView

log = logging.getLogger(__name__)


class _Rate(SimpleRateThrottle):
    scope: str  # a key of settings.API_THROTTLE_RATES

    def get_rate(self) -> str:
        return settings.API_THROTTLE_RATES[self.scope]

    def allow_request(self, request: Request, view: APIView) -> bool:
        try:
            return super().allow_request(request, view)
        except Exception:  # the cache's client errors (Redis down): let it through
            log.warning("API throttle skipped: the cache is unreachable", exc_info=True)
            return True


class PerCaller(_Rate):
    """Each person, whatever tokens they use, and each service token: its own budget
    (anonymous calls share their address's)."""

    scope = "caller"

    def get_cache_key(self, request: Request, view: APIView) -> str:
        if getattr(request.auth, "is_service", False):
            ident = f"token-{request.auth.pk}"
        elif request.user and request.user.is_authenticated:
            ident = f"user-{request.user.pk}"
        else:
            ident = f"address-{client_address(request)}"
        return self.cache_format % {"scope": self.scope, "ident": ident}


class PerAddress(_Rate):
    """Each network address, whoever calls from it."""

    scope = "address"

    def get_cache_key(self, request: Request, view: APIView) -> str:
        return self.cache_format % {"scope": self.scope, "ident": client_address(request)}
