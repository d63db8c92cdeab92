"""Secrets Cascade must send back out (a webhook's signing secret, a data source's
password) are kept encrypted at rest, so a copy of the database alone does not give
them away.

Fernet (AES-128-CBC with HMAC-SHA256, from `cryptography`) under the keys of
FIELD_ENCRYPTION_KEY: the first encrypts, every one decrypts (MultiFernet). To rotate,
put a new key first and keep the old ones after it, run
`python manage.py rotate_encryption_key` (every encrypted value is written again under
the first key), then drop the old keys. Without FIELD_ENCRYPTION_KEY a key is derived
from SECRET_KEY, for development only: with DEBUG off the settings refuse to start
without one.
"""

from __future__ import annotations

import base64
import functools
from collections.abc import Sequence
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.apps import apps
from django.conf import settings
from django.core import checks
from django.core.exceptions import ImproperlyConfigured
from django.db import models, transaction

NEW_KEY = (
    'python -c "from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())"'
)


class UndecryptableError(ImproperlyConfigured):
    """A stored value none of the keys of FIELD_ENCRYPTION_KEY decrypts."""


def development_key(secret_key: str) -> bytes:
    """The key used without FIELD_ENCRYPTION_KEY: derived from SECRET_KEY (HKDF)."""
    derived = HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=b"cascade field encryption"
    ).derive(secret_key.encode())
    return base64.urlsafe_b64encode(derived)


@functools.lru_cache(maxsize=8)
def _fernet(keys: tuple[str, ...], secret_key: str) -> MultiFernet:
    if not keys:
        return MultiFernet([Fernet(development_key(secret_key))])
    try:
        return MultiFernet([Fernet(key.encode()) for key in keys])
    except ValueError as exc:
        raise ImproperlyConfigured(
            "FIELD_ENCRYPTION_KEY: each key is 32 bytes in URL-safe base64; make one with "
            + NEW_KEY
        ) from exc


def fernet() -> MultiFernet:
    """The keys of the current settings: the first encrypts, all decrypt."""
    return _fernet(tuple(settings.FIELD_ENCRYPTION_KEY), settings.SECRET_KEY)


def encrypt(text: str) -> str:
    return fernet().encrypt(text.encode()).decode("ascii")


def decrypt(token: str) -> str:
    try:
        return fernet().decrypt(token.encode("ascii")).decode()
    except (InvalidToken, UnicodeError) as exc:
        raise UndecryptableError(
            "A stored secret cannot be decrypted with any key of FIELD_ENCRYPTION_KEY: "
            "put back the key it was encrypted with (after the new one)."
        ) from exc


class EncryptedTextField(models.TextField):
    """Text stored encrypted (Fernet): read and written as plain text, stored as a
    token that differs each time. It cannot be searched or compared in SQL."""

    description = "Text encrypted at rest"

    def from_db_value(self, value: str | None, expression: Any, connection: Any) -> str | None:
        return None if value is None else decrypt(value)

    def get_prep_value(self, value: Any) -> Any:
        value = super().get_prep_value(value)
        return None if value is None else encrypt(value)


def encrypted_fields() -> list[tuple[type[models.Model], list[str]]]:
    """Every model with encrypted fields, and their names."""
    found = []
    for model in apps.get_models():
        fields = model._meta.concrete_fields
        names = [f.attname for f in fields if isinstance(f, EncryptedTextField)]
        if names:
            found.append((model, names))
    return found


def reencrypt_all(batch: int = 500) -> int:
    """Write every encrypted value again under the first key (after a new key was put
    first in FIELD_ENCRYPTION_KEY); each batch of rows locked while it is rewritten.
    Returns how many rows were rewritten."""
    done = 0
    for model, names in encrypted_fields():
        manager = model._default_manager
        ids = list(manager.order_by("pk").values_list("pk", flat=True))
        for start in range(0, len(ids), batch):
            with transaction.atomic():
                rows = manager.select_for_update().filter(pk__in=ids[start : start + batch])
                for row in rows.only("pk", *names):
                    manager.filter(pk=row.pk).update(**{n: getattr(row, n) for n in names})
                    done += 1
    return done


@checks.register(checks.Tags.security)
def check_encryption_key(app_configs: Sequence[Any] | None = None, **kwargs: Any) -> list[Any]:
    """Every key of FIELD_ENCRYPTION_KEY is a Fernet key (`check`, `migrate` and
    `runserver` stop on one that is not, before a secret is written with it)."""
    try:
        fernet()
    except ImproperlyConfigured as exc:
        return [checks.Error(str(exc), id="cascade.E101")]
    return []
