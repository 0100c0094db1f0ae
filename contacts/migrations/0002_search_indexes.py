"""PostgreSQL-only indexes for searching a million contacts; nothing happens on SQLite.

- phone prefix: nothing to add. Django already gives each unique CharField a second
  `varchar_pattern_ops` index (`contacts_contact_phone_…_like`), which LIKE 'prefix%' uses.
- name: pg_trgm's GIN index serves ILIKE '%olen%' (Django's icontains) without a full scan.
- fields: a GIN index serves the `@>` containment that `fields__contains={"city": "Kyiv"}` is.
"""

from django.db import migrations

INDEXES = [
    (
        "CREATE INDEX IF NOT EXISTS contact_name_trgm "
        "ON contacts_contact USING gin (name gin_trgm_ops)",
        "DROP INDEX IF EXISTS contact_name_trgm",
    ),
    (
        "CREATE INDEX IF NOT EXISTS contact_fields_gin "
        "ON contacts_contact USING gin (fields jsonb_path_ops)",
        "DROP INDEX IF EXISTS contact_fields_gin",
    ),
]


def _create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for create, _drop in INDEXES:
        schema_editor.execute(create)


def _drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for _create_sql, drop in INDEXES:
        schema_editor.execute(drop)


class Migration(migrations.Migration):
    dependencies = [("contacts", "0001_initial")]

    operations = [migrations.RunPython(_create, _drop)]
