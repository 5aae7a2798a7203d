"""Create the two role groups, the audit chain head, and (PostgreSQL) an append-only trigger."""

from django.db import migrations

TRIGGER_SQL = """
CREATE OR REPLACE FUNCTION keyvault_auditevent_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'keyvault_auditevent is append-only (% refused)', TG_OP;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER keyvault_auditevent_append_only
    BEFORE UPDATE OR DELETE ON keyvault_auditevent
    FOR EACH ROW EXECUTE FUNCTION keyvault_auditevent_append_only();
"""

DROP_TRIGGER_SQL = """
DROP TRIGGER IF EXISTS keyvault_auditevent_append_only ON keyvault_auditevent;
DROP FUNCTION IF EXISTS keyvault_auditevent_append_only();
"""


def create_roles_and_head(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    for name in ("admin", "auditor"):
        Group.objects.get_or_create(name=name)
    AuditChainHead = apps.get_model("keyvault", "AuditChainHead")
    AuditChainHead.objects.get_or_create(pk=1)


def add_trigger(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        # params=None: the SQL holds a literal % (plpgsql RAISE format), not a placeholder.
        schema_editor.execute(TRIGGER_SQL, params=None)


def drop_trigger(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP_TRIGGER_SQL)


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("keyvault", "0001_initial"),
    ]

    operations = [
        migrations.RunPython(create_roles_and_head, migrations.RunPython.noop),
        migrations.RunPython(add_trigger, drop_trigger),
    ]
