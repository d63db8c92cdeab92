"""SPEC §9.2, secrets at rest (core/crypto.py): a webhook's secret is stored encrypted
under the first key of FIELD_ENCRYPTION_KEY and read under any of them; rotating
(`manage.py rotate_encryption_key`) writes every secret again under the new key, after
which the old one can go; without a key, one derived from SECRET_KEY serves development
and with DEBUG off Cascade will not start without a key; the migration encrypts the secrets kept
in plain text before, and its reverse decrypts them."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet, InvalidToken
from django.core import checks
from django.core.management import call_command
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from core import crypto
from org.models import Webhook

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parent.parent


def stored_secret(hook_id: int) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT secret FROM org_webhook WHERE id = %s", [hook_id])
        return cursor.fetchone()[0]


def new_key() -> str:
    return Fernet.generate_key().decode()


def hook(acme, secret: str) -> Webhook:
    return Webhook.objects.create(
        organization=acme.org, url="https://hooks.example/x", secret=secret, events=[]
    )


def test_a_secret_is_stored_encrypted_and_read_back_plain(acme, settings):
    settings.FIELD_ENCRYPTION_KEY = [new_key()]
    made = hook(acme, "a" * 40)
    raw = stored_secret(made.pk)
    assert "a" * 40 not in raw
    assert Fernet(settings.FIELD_ENCRYPTION_KEY[0]).decrypt(raw).decode() == "a" * 40
    assert Webhook.objects.get().secret == "a" * 40
    assert hook(acme, "a" * 40).pk and stored_secret(made.pk + 1) != raw  # a fresh token


def test_rotation_writes_every_secret_again_under_the_first_key(acme, settings):
    old, new = new_key(), new_key()
    settings.FIELD_ENCRYPTION_KEY = [old]
    ids = [hook(acme, f"secret number {n:02}").pk for n in range(3)]

    settings.FIELD_ENCRYPTION_KEY = [new, old]  # the new key first, the old one kept
    assert [Webhook.objects.get(pk=i).secret for i in ids] == [
        f"secret number {n:02}" for n in range(3)
    ]
    out = io.StringIO()
    call_command("rotate_encryption_key", stdout=out)
    assert out.getvalue().startswith("3 row(s) now encrypted under the first key")
    for i in ids:
        Fernet(new).decrypt(stored_secret(i))
        with pytest.raises(InvalidToken):
            Fernet(old).decrypt(stored_secret(i))

    settings.FIELD_ENCRYPTION_KEY = [new]  # the old key dropped
    assert sorted(Webhook.objects.values_list("secret", flat=True)) == [
        f"secret number {n:02}" for n in range(3)
    ]


def test_a_secret_no_key_decrypts_says_which_setting_to_mend(acme, settings):
    settings.FIELD_ENCRYPTION_KEY = [new_key()]
    made = hook(acme, "b" * 40)
    settings.FIELD_ENCRYPTION_KEY = [new_key()]
    with pytest.raises(crypto.UndecryptableError, match="FIELD_ENCRYPTION_KEY"):
        Webhook.objects.get(pk=made.pk)


def test_without_a_key_development_derives_one_from_the_secret_key(acme, settings):
    settings.FIELD_ENCRYPTION_KEY = []
    made = hook(acme, "c" * 40)
    derived = Fernet(crypto.development_key(settings.SECRET_KEY))
    assert derived.decrypt(stored_secret(made.pk)).decode() == "c" * 40


def key_errors(settings, keys: list[str]) -> list[str]:
    settings.FIELD_ENCRYPTION_KEY = keys
    return [m.id for m in checks.run_checks(tags=[checks.Tags.security]) if m.id == "cascade.E101"]


def test_a_key_that_is_not_a_fernet_key_stops_the_checks(settings):
    assert key_errors(settings, [new_key(), "not-a-key"]) == ["cascade.E101"]
    assert key_errors(settings, [new_key(), new_key()]) == []


def starts(**env: str) -> subprocess.CompletedProcess:
    ignored = ("DEBUG", "FIELD_ENCRYPTION_KEY", "SECRET_KEY", "DJANGO_ALLOW_ASYNC_UNSAFE")
    base = {k: v for k, v in os.environ.items() if k not in ignored}
    return subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        cwd=ROOT,
        env=base | {"DJANGO_SETTINGS_MODULE": "cascade.settings", **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_with_debug_off_cascade_will_not_start_without_a_key():
    production = {
        "DEBUG": "false",
        "SECRET_KEY": "k7#vQ2!pX9@mL4$wR8^tZ1&nB6*cF3(hJ5)dG0-sY2+eU7=aI4",
    }
    refused = starts(**production)
    assert refused.returncode != 0 and "FIELD_ENCRYPTION_KEY" in refused.stderr
    assert starts(**production, FIELD_ENCRYPTION_KEY=new_key()).returncode == 0
    assert starts(DEBUG="true").returncode == 0  # development: derived from SECRET_KEY


@pytest.mark.django_db(transaction=True)
def test_the_migration_encrypts_the_plain_secrets_and_its_reverse_decrypts_them(acme, settings):
    settings.FIELD_ENCRYPTION_KEY = [new_key()]
    before, after = [("org", "0005_notification_key")], [("org", "0006_webhook_secret_encrypted")]
    executor = MigrationExecutor(connection)
    executor.migrate(before)
    old_apps = executor.loader.project_state(before).apps
    old = old_apps.get_model("org", "Webhook").objects.create(
        organization_id=acme.org.pk, url="https://hooks.example/x", secret="d" * 40, events=[]
    )
    assert stored_secret(old.pk) == "d" * 40

    executor = MigrationExecutor(connection)
    executor.migrate(after)
    key = Fernet(settings.FIELD_ENCRYPTION_KEY[0])
    assert key.decrypt(stored_secret(old.pk)).decode() == "d" * 40

    executor = MigrationExecutor(connection)
    executor.migrate(before)
    assert stored_secret(old.pk) == "d" * 40

    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())
    assert Webhook.objects.get(pk=old.pk).secret == "d" * 40
