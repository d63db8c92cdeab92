"""`Idempotency-Key` on recording values (SPEC §8.1): an integration that retries a
POST records its value once. The same caller and key within 24 hours get the first
response again and nothing is added; the same key with another request is a 409."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter
from rest_framework import status
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from .models import IdempotencyKey

if TYPE_CHECKING:
    from core.api import MemberRequest

HEADER = "Idempotency-Key"
KEPT = dt.timedelta(hours=24)
KEY = re.compile(r"[ -~]{1,255}")  # printable ASCII, as a UUID or any text an HTTP header holds
PARAMETER = OpenApiParameter(
    HEADER,
    {"type": "string", "pattern": f"^{KEY.pattern}$", "minLength": 1, "maxLength": 255},
    OpenApiParameter.HEADER,
    description="Retry safely: the same key within 24 hours replays the first answer and "
    "records nothing; the same key with another body is a 409.",
)


def once(request: MemberRequest, scope: str, record: Callable[[], Response]) -> Response:
    """`record()` (which must answer 2xx to be kept), unless this caller sent this
    `Idempotency-Key` before: then the first answer again.

    1. No key: just record.
    2. Claim the key in the transaction that records (two requests at once with one
       key: the second waits for the first, then finds it claimed).
    3. Keep the answer beside the key; a failed request keeps nothing, so it may be
       retried with the same key.
    """
    key = request.headers.get(HEADER)
    if key is None:
        return record()
    if not KEY.fullmatch(key):
        raise ValidationError({"idempotency_key": ["Use 1 to 255 printable characters."]})
    member = request.member
    fingerprint = _fingerprint(scope, request.data)
    IdempotencyKey.objects.filter(
        member=member, key=key, created_at__lt=timezone.now() - KEPT
    ).delete()
    with transaction.atomic():
        try:
            with transaction.atomic():
                claim = IdempotencyKey.objects.create(
                    member=member, key=key, fingerprint=fingerprint
                )
        except IntegrityError:  # claimed by an earlier (or simultaneous) request
            return _replay(IdempotencyKey.objects.get(member=member, key=key), fingerprint)
        response = record()
        if not 200 <= response.status_code < 300:
            transaction.set_rollback(True)  # keep nothing: the caller may retry
            return response
        claim.status, claim.body = response.status_code, response.data
        claim.save(update_fields=["status", "body"])
        return response


def _replay(first: IdempotencyKey, fingerprint: str) -> Response:
    if first.fingerprint != fingerprint:
        return Response(
            {"idempotency_key": ["This key was used for another request: use a new key."]},
            status=status.HTTP_409_CONFLICT,
        )
    replay = Response(first.body, status=first.status)
    replay["Idempotent-Replayed"] = "true"
    return replay


def _fingerprint(scope: str, data: Any) -> str:
    text = json.dumps([scope, data], sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()
