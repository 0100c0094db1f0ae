from django.db import migrations

# UPDATE and DELETE are refused row by row (0001); TRUNCATE fires no row trigger, so it needs its
# own, once per statement. It also fires when a TRUNCATE … CASCADE of another table reaches the
# log. Only `session_replication_role = replica` (a superuser's setting, as pg_restore uses)
# or DDL that drops or disables the trigger lets a TRUNCATE through: the test suite's flush
# does the former (tests/conftest.py), the app never does either (audit/models.py says why).
REFUSE_TRUNCATE_SQL = """
CREATE FUNCTION audit_entry_refuse_truncate() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'audit_auditentry is append-only: TRUNCATE refused'
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER audit_entry_refuse_truncate
    BEFORE TRUNCATE ON audit_auditentry
    FOR EACH STATEMENT EXECUTE FUNCTION audit_entry_refuse_truncate();
"""

DROP_REFUSE_TRUNCATE_SQL = """
DROP TRIGGER IF EXISTS audit_entry_refuse_truncate ON audit_auditentry;
DROP FUNCTION IF EXISTS audit_entry_refuse_truncate();
"""


def add_truncate_trigger(apps, schema_editor):
    # SQLite (the demo database) has no TRUNCATE.
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(REFUSE_TRUNCATE_SQL, params=None)


def drop_truncate_trigger(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP_REFUSE_TRUNCATE_SQL, params=None)


class Migration(migrations.Migration):
    dependencies = [
        ("audit", "0001_initial"),
    ]

    operations = [
        migrations.RunPython(add_truncate_trigger, drop_truncate_trigger),
    ]
