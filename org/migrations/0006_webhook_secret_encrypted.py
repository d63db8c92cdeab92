"""Webhook secrets are stored encrypted (core/crypto.py, under FIELD_ENCRYPTION_KEY).

The column becomes text (a Fernet token is longer than the secret), the secrets kept
in plain text until now are encrypted in place, then the field reads and writes them
through the key. Reversed, the secrets are decrypted back into a 200-character column."""

from django.db import migrations, models

import core.crypto


def encrypt_secrets(apps, schema_editor):
    Webhook = apps.get_model("org", "Webhook")  # its secret a plain text field here
    for pk, secret in Webhook.objects.values_list("pk", "secret").iterator():
        Webhook.objects.filter(pk=pk).update(secret=core.crypto.encrypt(secret))


def decrypt_secrets(apps, schema_editor):
    Webhook = apps.get_model("org", "Webhook")
    for pk, token in Webhook.objects.values_list("pk", "secret").iterator():
        Webhook.objects.filter(pk=pk).update(secret=core.crypto.decrypt(token))


class Migration(migrations.Migration):
    dependencies = [("org", "0005_notification_key")]

    operations = [
        migrations.AlterField(model_name="webhook", name="secret", field=models.TextField()),
        migrations.RunPython(encrypt_secrets, decrypt_secrets),
        migrations.AlterField(
            model_name="webhook", name="secret", field=core.crypto.EncryptedTextField()
        ),
    ]
