"""A big import writes its rows without the work PostgreSQL did for each one.

Measured on a messy million-row file (bench/messy_corpus.py; BENCHMARKS.md, "Contact import on
customers' files"): inserting 850,000 contacts took ~50 s, ~35 s of it maintaining the three GIN
search indexes (the trigrams of every name and field value: 70 million entries), and the commit
~10 s checking the memberships' foreign keys (one lookup and one row lock per membership).

- Search indexes: `contact_name_upper_trgm`, `contact_field_values_trgm` and `contact_fields_gin`
  become partial, `WHERE NOT search_pending`. An import writes its contacts with
  `search_pending` true, so they skip those indexes; the search catch-up task
  (contacts.search_index) clears the flag in batches afterwards. Meanwhile the search reads the
  pending rows through `contact_search_pending`, a small index of exactly those rows
  (contacts.selectors), so an imported contact is found from the moment it is committed.
- Memberships: no foreign-key constraints (ListMembership explains why). Deleting contacts or
  lists deletes their memberships in the same statement, whatever deletes them (the ORM, admin,
  raw SQL), through the statement-level triggers below; the ORM's own cascade still runs first.

PostgreSQL only, like 0002 and 0006; on SQLite the field and the constraints change, nothing else.
"""

import django.db.models.deletion
from django.db import migrations, models

PENDING = "WHERE NOT search_pending"
SEARCH_INDEXES = [
    (
        "contact_name_upper_trgm",
        "USING gin ((UPPER(name::text)) gin_trgm_ops)",
    ),
    (
        "contact_field_values_trgm",
        "USING gin ((UPPER(jsonb_path_query_array(fields, '$.*')::text)) gin_trgm_ops)",
    ),
    ("contact_fields_gin", "USING gin (fields jsonb_path_ops)"),
]
PENDING_INDEX = (
    "CREATE INDEX IF NOT EXISTS contact_search_pending ON contacts_contact (id) "
    "WHERE search_pending"
)
# (table, key column, function, trigger): after a statement deletes rows from `table`, the
# memberships naming them go too, in one set-based delete.
CASCADES = [
    ("contacts_contact", "contact_id", "contacts_contact_memberships_gone", "contact_gone"),
    ("contacts_contactlist", "contact_list_id", "contacts_list_memberships_gone", "list_gone"),
]


def _cascade_sql(table: str, column: str, function: str, trigger: str) -> list[str]:
    return [
        f"CREATE OR REPLACE FUNCTION {function}() RETURNS trigger LANGUAGE plpgsql AS $$ "
        "BEGIN "
        f"DELETE FROM contacts_listmembership m USING gone WHERE m.{column} = gone.id; "
        "RETURN NULL; "
        "END $$",
        f"DROP TRIGGER IF EXISTS {trigger} ON {table}",
        f"CREATE TRIGGER {trigger} AFTER DELETE ON {table} REFERENCING OLD TABLE AS gone "
        f"FOR EACH STATEMENT EXECUTE FUNCTION {function}()",
    ]


def _forwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, method in SEARCH_INDEXES:
        schema_editor.execute(f"DROP INDEX IF EXISTS {name}")
        schema_editor.execute(f"CREATE INDEX {name} ON contacts_contact {method} {PENDING}")
    schema_editor.execute(PENDING_INDEX)
    for cascade in CASCADES:
        for statement in _cascade_sql(*cascade):
            schema_editor.execute(statement)
    schema_editor.execute("ANALYZE contacts_contact")


def _backwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for table, _column, function, trigger in CASCADES:
        schema_editor.execute(f"DROP TRIGGER IF EXISTS {trigger} ON {table}")
        schema_editor.execute(f"DROP FUNCTION IF EXISTS {function}()")
    schema_editor.execute("DROP INDEX IF EXISTS contact_search_pending")
    for name, method in SEARCH_INDEXES:
        schema_editor.execute(f"DROP INDEX IF EXISTS {name}")
        schema_editor.execute(f"CREATE INDEX {name} ON contacts_contact {method}")


class Migration(migrations.Migration):
    dependencies = [
        ("contacts", "0008_import_new_list_name"),
    ]

    operations = [
        migrations.AddField(
            model_name="contact",
            name="search_pending",
            field=models.BooleanField(db_default=False, default=False, editable=False),
        ),
        migrations.AlterField(
            model_name="listmembership",
            name="contact",
            field=models.ForeignKey(
                db_constraint=False,
                db_index=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="memberships",
                to="contacts.contact",
            ),
        ),
        migrations.AlterField(
            model_name="listmembership",
            name="contact_list",
            field=models.ForeignKey(
                db_constraint=False,
                db_index=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="+",
                to="contacts.contactlist",
            ),
        ),
        # Before the backwards AlterFields bring the constraints back, the search pending
        # rows must be back in the search indexes: see _backwards (run with the flag cleared:
        # `manage.py contacts_search_catch_up` first).
        migrations.RunPython(_forwards, _backwards),
    ]
