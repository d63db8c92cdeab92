"""`manage.py rotate_encryption_key`: after a new key is put first in
FIELD_ENCRYPTION_KEY (the old ones kept after it), every secret stored encrypted is
written again under the new key; then the old keys can be dropped."""

from __future__ import annotations

from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import BaseCommand, CommandError

from core.crypto import reencrypt_all


class Command(BaseCommand):
    help = "Encrypt every stored secret again under the first key of FIELD_ENCRYPTION_KEY."

    def handle(self, *args, **options):
        try:
            rewritten = reencrypt_all()
        except ImproperlyConfigured as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(
            f"{rewritten} row(s) now encrypted under the first key of FIELD_ENCRYPTION_KEY; "
            "the keys after it can be removed."
        )
