from django.db import migrations, models
from django.utils.text import slugify


def fill_slugs(apps, schema_editor):
    Organization = apps.get_model("org", "Organization")
    taken: set[str] = set()
    for org in Organization.objects.order_by("id"):
        base = slugify(org.name)[:50] or "organization"
        slug, n = base, 1
        while slug in taken:
            n += 1
            slug = f"{base}-{n}"
        taken.add(slug)
        org.slug = slug
        org.save(update_fields=["slug"])


class Migration(migrations.Migration):
    dependencies = [
        ("org", "0008_member_sessions_ended_at"),
    ]

    operations = [
        migrations.AddField(
            model_name="organization",
            name="slug",
            # No index yet: the unique one comes with the AlterField below (PostgreSQL
            # would otherwise be asked for the same "_like" index twice).
            field=models.SlugField(db_index=False, editable=False, max_length=60, null=True),
        ),
        migrations.RunPython(fill_slugs, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="organization",
            name="slug",
            field=models.SlugField(editable=False, max_length=60, unique=True),
        ),
        migrations.AddField(
            model_name="organization",
            name="mfa_policy",
            field=models.CharField(
                choices=[
                    ("optional", "Optional: each person chooses"),
                    ("admins", "Required for admins"),
                    ("everyone", "Required for everyone"),
                ],
                default="optional",
                max_length=10,
            ),
        ),
        migrations.AddField(
            model_name="department",
            name="external_id",
            field=models.CharField(blank=True, default="", max_length=200),
        ),
        migrations.AddField(
            model_name="department",
            name="updated_at",
            field=models.DateTimeField(auto_now=True),
        ),
        migrations.AddField(
            model_name="member",
            name="external_id",
            field=models.CharField(blank=True, default="", max_length=200),
        ),
        migrations.AddField(
            model_name="member",
            name="updated_at",
            field=models.DateTimeField(auto_now=True),
        ),
        migrations.AddConstraint(
            model_name="department",
            constraint=models.UniqueConstraint(
                condition=models.Q(("external_id", ""), _negated=True),
                fields=("organization", "external_id"),
                name="department_unique_external_id",
            ),
        ),
        migrations.AddConstraint(
            model_name="member",
            constraint=models.UniqueConstraint(
                condition=models.Q(("external_id", ""), _negated=True),
                fields=("organization", "external_id"),
                name="member_unique_external_id",
            ),
        ),
    ]
