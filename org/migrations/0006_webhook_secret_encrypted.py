from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("org", "0005_notification_key")]

    operations = []
