from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("org", "0007_token_scopes"),
    ]

    operations = [
        migrations.AddField(
            model_name="member",
            name="sessions_ended_at",
            field=models.DateTimeField(blank=True, editable=False, null=True),
        ),
    ]
