from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("org", "0006_webhook_secret_encrypted")]

    operations = []
