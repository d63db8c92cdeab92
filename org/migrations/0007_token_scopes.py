"""Service tokens answer to their maker: the scopes `admin` and `scim` join `read` and
`write`, and every token expires.

Tokens made before this had no expiry, or one set far away: each token without one
now expires a year after this migration (so nothing stops working at once), and one
whose expiry lies further than that is brought back to it. Existing `write` service
tokens stay `write`: from now on they act as their maker without the admin area
(tokens, people, webhooks); an admin makes an `admin` token where one is needed."""

import datetime as dt

from django.db import migrations, models
from django.db.models import Q
from django.utils import timezone

A_YEAR = dt.timedelta(days=365)


def give_every_token_an_expiry(apps, schema_editor):
    ApiToken = apps.get_model("org", "ApiToken")
    latest = timezone.now() + A_YEAR
    ApiToken.objects.filter(Q(expiry__isnull=True) | Q(expiry__gt=latest)).update(expiry=latest)


class Migration(migrations.Migration):
    dependencies = [("org", "0006_webhook_secret_encrypted")]

    operations = [
        migrations.AlterField(
            model_name="apitoken",
            name="scope",
            field=models.CharField(
                choices=[
                    ("read", "Read"),
                    ("write", "Read and write"),
                    ("admin", "Admin"),
                    ("scim", "SCIM provisioning"),
                ],
                default="write",
                max_length=8,
            ),
        ),
        # Migrating back keeps the expiries this gave (a nullable column takes them).
        migrations.RunPython(give_every_token_an_expiry, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="apitoken",
            name="expiry",
            field=models.DateTimeField(
                help_text="When it stops working: within a year of `created`."
            ),
        ),
    ]
