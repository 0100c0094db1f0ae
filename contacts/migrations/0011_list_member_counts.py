"""Each list's member count, kept by the database (ListMemberCount says why).

PostgreSQL: statement-level triggers with transition tables, so a statement adding or removing
a million memberships (an import, a list's or contacts' delete and its cascade) updates each
list's row once. The rows are locked in list order, so two transactions changing the same lists
wait for each other instead of deadlocking. A list's row is made and deleted with the list, by
triggers too, so no path around the ORM leaves a list without its count or a count without its
list. SQLite has no statement-level triggers; its row
triggers cost little at the sizes SQLite serves.

Creating the triggers locks both tables against writes until the migration commits, so the
counts made afterwards from the memberships miss nothing.
"""

import django.db.models.deletion
from django.db import migrations, models

POSTGRESQL = [
    "CREATE OR REPLACE FUNCTION contacts_list_member_counts() RETURNS trigger "
    "LANGUAGE plpgsql AS $$ "
    "DECLARE list_ids bigint[]; deltas bigint[]; "
    "sign int := CASE TG_OP WHEN 'INSERT' THEN 1 ELSE -1 END; "
    "BEGIN "
    "SELECT array_agg(contact_list_id ORDER BY contact_list_id), array_agg(n ORDER BY "
    "contact_list_id) INTO list_ids, deltas FROM (SELECT contact_list_id, count(*) AS n "
    "FROM changed GROUP BY contact_list_id) d; "
    "IF list_ids IS NULL THEN RETURN NULL; END IF; "
    "PERFORM 1 FROM contacts_listmembercount WHERE contact_list_id = ANY (list_ids) "
    "ORDER BY contact_list_id FOR UPDATE; "
    "UPDATE contacts_listmembercount c SET members = c.members + sign * d.n "
    "FROM unnest(list_ids, deltas) AS d(id, n) WHERE c.contact_list_id = d.id; "
    "RETURN NULL; "
    "END $$",
    "CREATE TRIGGER membership_counted_in AFTER INSERT ON contacts_listmembership "
    "REFERENCING NEW TABLE AS changed FOR EACH STATEMENT "
    "EXECUTE FUNCTION contacts_list_member_counts()",
    "CREATE TRIGGER membership_counted_out AFTER DELETE ON contacts_listmembership "
    "REFERENCING OLD TABLE AS changed FOR EACH STATEMENT "
    "EXECUTE FUNCTION contacts_list_member_counts()",
    "CREATE OR REPLACE FUNCTION contacts_list_member_count_made() RETURNS trigger "
    "LANGUAGE plpgsql AS $$ "
    "BEGIN "
    "INSERT INTO contacts_listmembercount (contact_list_id, members) SELECT id, 0 FROM made; "
    "RETURN NULL; "
    "END $$",
    "CREATE TRIGGER list_counted AFTER INSERT ON contacts_contactlist "
    "REFERENCING NEW TABLE AS made FOR EACH STATEMENT "
    "EXECUTE FUNCTION contacts_list_member_count_made()",
    "CREATE OR REPLACE FUNCTION contacts_list_member_count_gone() RETURNS trigger "
    "LANGUAGE plpgsql AS $$ "
    "BEGIN "
    "DELETE FROM contacts_listmembercount c USING gone WHERE c.contact_list_id = gone.id; "
    "RETURN NULL; "
    "END $$",
    "CREATE TRIGGER list_uncounted AFTER DELETE ON contacts_contactlist "
    "REFERENCING OLD TABLE AS gone FOR EACH STATEMENT "
    "EXECUTE FUNCTION contacts_list_member_count_gone()",
    # TRUNCATE fires no delete trigger (the benchmarks empty the tables so).
    "CREATE OR REPLACE FUNCTION contacts_list_member_counts_truncated() RETURNS trigger "
    "LANGUAGE plpgsql AS $$ "
    "BEGIN "
    "IF TG_TABLE_NAME = 'contacts_contactlist' THEN DELETE FROM contacts_listmembercount; "
    "ELSE UPDATE contacts_listmembercount SET members = 0 WHERE members <> 0; END IF; "
    "RETURN NULL; "
    "END $$",
    "CREATE TRIGGER lists_truncated AFTER TRUNCATE ON contacts_contactlist "
    "FOR EACH STATEMENT EXECUTE FUNCTION contacts_list_member_counts_truncated()",
    "CREATE TRIGGER memberships_truncated AFTER TRUNCATE ON contacts_listmembership "
    "FOR EACH STATEMENT EXECUTE FUNCTION contacts_list_member_counts_truncated()",
]
POSTGRESQL_BACKWARDS = [
    "DROP TRIGGER IF EXISTS lists_truncated ON contacts_contactlist",
    "DROP TRIGGER IF EXISTS memberships_truncated ON contacts_listmembership",
    "DROP FUNCTION IF EXISTS contacts_list_member_counts_truncated()",
    "DROP TRIGGER IF EXISTS list_counted ON contacts_contactlist",
    "DROP TRIGGER IF EXISTS list_uncounted ON contacts_contactlist",
    "DROP FUNCTION IF EXISTS contacts_list_member_count_gone()",
    "DROP TRIGGER IF EXISTS membership_counted_in ON contacts_listmembership",
    "DROP TRIGGER IF EXISTS membership_counted_out ON contacts_listmembership",
    "DROP FUNCTION IF EXISTS contacts_list_member_count_made()",
    "DROP FUNCTION IF EXISTS contacts_list_member_counts()",
]
SQLITE = [
    "CREATE TRIGGER membership_counted_in AFTER INSERT ON contacts_listmembership BEGIN "
    "UPDATE contacts_listmembercount SET members = members + 1 "
    "WHERE contact_list_id = NEW.contact_list_id; END",
    "CREATE TRIGGER membership_counted_out AFTER DELETE ON contacts_listmembership BEGIN "
    "UPDATE contacts_listmembercount SET members = members - 1 "
    "WHERE contact_list_id = OLD.contact_list_id; END",
    "CREATE TRIGGER list_counted AFTER INSERT ON contacts_contactlist BEGIN "
    "INSERT INTO contacts_listmembercount (contact_list_id, members) VALUES (NEW.id, 0); END",
    "CREATE TRIGGER list_uncounted AFTER DELETE ON contacts_contactlist BEGIN "
    "DELETE FROM contacts_listmembercount WHERE contact_list_id = OLD.id; END",
]
SQLITE_BACKWARDS = [
    "DROP TRIGGER IF EXISTS list_counted",
    "DROP TRIGGER IF EXISTS list_uncounted",
    "DROP TRIGGER IF EXISTS membership_counted_in",
    "DROP TRIGGER IF EXISTS membership_counted_out",
]
COUNT_EVERY_LIST = (
    "INSERT INTO contacts_listmembercount (contact_list_id, members) "
    "SELECT l.id, (SELECT count(*) FROM contacts_listmembership m "
    "WHERE m.contact_list_id = l.id) FROM contacts_contactlist l"
)


def _forwards(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    for statement in POSTGRESQL if vendor == "postgresql" else SQLITE:
        schema_editor.execute(statement)
    schema_editor.execute(COUNT_EVERY_LIST)


def _backwards(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    for statement in POSTGRESQL_BACKWARDS if vendor == "postgresql" else SQLITE_BACKWARDS:
        schema_editor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [
        ("contacts", "0010_phone_prefix_by_range"),
    ]

    operations = [
        migrations.CreateModel(
            name="ListMemberCount",
            fields=[
                (
                    "contact_list",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE,
                        primary_key=True,
                        related_name="member_total",
                        serialize=False,
                        to="contacts.contactlist",
                        db_constraint=False,
                    ),
                ),
                ("members", models.BigIntegerField(default=0)),
            ],
            options={
                "verbose_name": "list member count",
                "verbose_name_plural": "list member counts",
            },
        ),
        migrations.RunPython(_forwards, _backwards),
    ]
