"""The phones lose their second, pattern-ops index: a prefix search reads a range of the unique
index instead (contacts.selectors.phone_starts_with).

Django gives every unique varchar a `varchar_pattern_ops` index beside the unique one, for
LIKE 'prefix%'. Stored numbers are ASCII digits, which every collation orders as bytes, so
`phone >= '3805' AND phone < '3806'` finds exactly what the LIKE found, on the unique index.
The second index cost every write: ~0.5 s of a million-contact import in an A/B on the quiet
bench machine (BENCHMARKS.md, "Contact import on customers' files"), and its disk.

PostgreSQL only: SQLite never had those indexes. The names are found in the catalogue rather
than spelt out: Django derives them from a hash of the table and column names.
"""

from django.db import migrations

PHONE_TABLES = ("contacts_contact", "contacts_donotcontact")


def _pattern_indexes(cursor, table: str) -> list[str]:
    cursor.execute(
        "SELECT indexname FROM pg_indexes WHERE schemaname = current_schema() "
        "AND tablename = %s AND indexdef LIKE %s",
        [table, "%(phone varchar_pattern_ops)%"],
    )
    return [name for (name,) in cursor.fetchall()]


def drop_pattern_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        for table in PHONE_TABLES:
            for name in _pattern_indexes(cursor, table):
                schema_editor.execute(f"DROP INDEX IF EXISTS {schema_editor.quote_name(name)}")


def create_pattern_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for model_name in ("Contact", "DoNotContact"):
        model = apps.get_model("contacts", model_name)
        field = model._meta.get_field("phone")
        with schema_editor.connection.cursor() as cursor:
            if _pattern_indexes(cursor, model._meta.db_table):
                continue
        schema_editor.execute(schema_editor._create_like_index_sql(model, field))


class Migration(migrations.Migration):
    dependencies = [("contacts", "0009_import_without_per_row_work")]

    operations = [migrations.RunPython(drop_pattern_indexes, create_pattern_indexes)]
