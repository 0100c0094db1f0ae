"""The contacts page's free-text search (name, phone or any field value), served by indexes.

Django's icontains is `UPPER(col::text) LIKE UPPER('%…%')`, which 0002's trigram index on the
bare `name` cannot serve (the rare-name search was a full scan): these pg_trgm GIN indexes are on
the exact expressions the search compares (contacts.selectors.contacts_search):

- `UPPER(name::text)`;
- `UPPER(jsonb_path_query_array(fields, '$.*')::text)`, every field value and no key, e.g.
  `["KYIV", "A-1"]` (jsonb_path_query_array is IMMUTABLE, so it can be indexed).

0002's `contact_name_trgm` goes: no query uses it, and a big import writes every index.
PostgreSQL only, like 0002; SQLite searches without them.
"""

from django.db import migrations

INDEXES = [
    (
        "CREATE INDEX IF NOT EXISTS contact_name_upper_trgm "
        "ON contacts_contact USING gin ((UPPER(name::text)) gin_trgm_ops)",
        "DROP INDEX IF EXISTS contact_name_upper_trgm",
    ),
    (
        "CREATE INDEX IF NOT EXISTS contact_field_values_trgm ON contacts_contact "
        "USING gin ((UPPER(jsonb_path_query_array(fields, '$.*')::text)) gin_trgm_ops)",
        "DROP INDEX IF EXISTS contact_field_values_trgm",
    ),
]
UNUSED_NAME_INDEX = (
    "DROP INDEX IF EXISTS contact_name_trgm",
    "CREATE INDEX IF NOT EXISTS contact_name_trgm "
    "ON contacts_contact USING gin (name gin_trgm_ops)",
)


def _create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for create, _drop in INDEXES:
        schema_editor.execute(create)
    schema_editor.execute(UNUSED_NAME_INDEX[0])
    # Statistics for the new expressions, so the planner knows a common word is common.
    schema_editor.execute("ANALYZE contacts_contact")


def _drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(UNUSED_NAME_INDEX[1])
    for _create_sql, drop in INDEXES:
        schema_editor.execute(drop)


class Migration(migrations.Migration):
    dependencies = [("contacts", "0005_import_reading_status_and_heartbeat")]

    operations = [migrations.RunPython(_create, _drop)]
