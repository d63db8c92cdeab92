"""The audit log's table, and the database's own refusal to change it.

PostgreSQL: a trigger refuses every UPDATE of an entry, and every DELETE unless the
transaction turned `audit.purge` on (only Entry.objects.purge(), the retention job's
way, does: SELECT set_config('audit.purge', 'on', true)). SQLite has no such setting:
its trigger refuses UPDATE; the model refuses the rest."""

import django.utils.timezone
from django.db import migrations, models

POSTGRES_CREATE = """
CREATE FUNCTION audit_entry_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' AND current_setting('audit.purge', true) = 'on' THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION 'The audit log is append-only: % of an entry refused.', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$;
CREATE TRIGGER audit_entry_append_only
    BEFORE UPDATE OR DELETE ON audit_entry
    FOR EACH ROW EXECUTE FUNCTION audit_entry_append_only();
"""
POSTGRES_DROP = """
DROP TRIGGER IF EXISTS audit_entry_append_only ON audit_entry;
DROP FUNCTION IF EXISTS audit_entry_append_only();
"""
SQLITE_CREATE = """
CREATE TRIGGER audit_entry_no_update BEFORE UPDATE ON audit_entry
BEGIN
    SELECT RAISE(ABORT, 'The audit log is append-only: UPDATE of an entry refused.');
END;
"""
SQLITE_DROP = "DROP TRIGGER IF EXISTS audit_entry_no_update;"


def _run(schema_editor, statements: dict[str, str]) -> None:
    sql = statements.get(schema_editor.connection.vendor)
    if sql:
        schema_editor.execute(sql, params=None)


def add_triggers(apps, schema_editor):
    _run(schema_editor, {"postgresql": POSTGRES_CREATE, "sqlite": SQLITE_CREATE})


def drop_triggers(apps, schema_editor):
    _run(schema_editor, {"postgresql": POSTGRES_DROP, "sqlite": SQLITE_DROP})


class Migration(migrations.Migration):
    initial = True

    dependencies = []

    operations = [
        migrations.CreateModel(
            name="Entry",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("at", models.DateTimeField(db_index=True, default=django.utils.timezone.now)),
                ("organization_id", models.BigIntegerField(blank=True, null=True)),
                (
                    "actor_id",
                    models.BigIntegerField(
                        blank=True, help_text="The member who acted (their id).", null=True
                    ),
                ),
                (
                    "actor",
                    models.CharField(
                        blank=True,
                        help_text="Who acted, as named then; “system” for a job.",
                        max_length=200,
                    ),
                ),
                (
                    "token_id",
                    models.BigIntegerField(
                        blank=True, help_text="The service token acted through (its id).", null=True
                    ),
                ),
                (
                    "token",
                    models.CharField(
                        blank=True, help_text="The service token's name.", max_length=100
                    ),
                ),
                (
                    "ip",
                    models.GenericIPAddressField(blank=True, help_text="From where.", null=True),
                ),
                (
                    "action",
                    models.CharField(
                        help_text="What: goal.updated, signin.failed, …", max_length=64
                    ),
                ),
                ("object_type", models.CharField(blank=True, max_length=32)),
                ("object_id", models.CharField(blank=True, max_length=64)),
                ("object_label", models.CharField(blank=True, max_length=300)),
                (
                    "changes",
                    models.JSONField(
                        blank=True,
                        default=dict,
                        help_text="{field: [old, new]}, or what a bulk write made.",
                    ),
                ),
            ],
            options={
                "verbose_name": "audit entry",
                "verbose_name_plural": "audit entries",
                "ordering": ["-at", "-id"],
                "indexes": [
                    models.Index(fields=["organization_id", "-at"], name="audit_org_at"),
                    models.Index(
                        fields=["organization_id", "actor_id", "-at"], name="audit_org_actor_at"
                    ),
                    models.Index(
                        fields=["organization_id", "object_type", "object_id", "-at"],
                        name="audit_org_object_at",
                    ),
                ],
            },
        ),
        migrations.RunPython(add_triggers, drop_triggers),
    ]
