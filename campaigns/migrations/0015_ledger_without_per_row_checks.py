"""The ledger (Recipient) without per-row foreign-key checks.

PostgreSQL checked both keys of every ledger row the dispatch wrote, each check a lookup and a
`FOR KEY SHARE` lock on the campaign's and the part's row: ~18 s a million rows at the commits,
most of what a ten-million-recipient dispatch would spend (BENCHMARKS.md, "Ten million
contacts"). The constraints go; what they guarded is kept otherwise. Ledger rows are written only
by the dispatch, for the campaign it holds and the parts it has just made, and deleting campaigns
or parts, however it is done (the ORM's cascade, admin, raw SQL), deletes their ledger rows in
the same statement through the statement-level triggers below. PostgreSQL only, like
contacts 0009; on SQLite only the constraints change.
"""

import django.db.models.deletion
from django.db import migrations, models

# (table, ledger column, function, trigger)
CASCADES = [
    ("campaigns_campaign", "campaign_id", "campaigns_campaign_ledger_gone", "campaign_gone"),
    ("campaigns_campaignpart", "part_id", "campaigns_part_ledger_gone", "part_gone"),
]


def _forwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for table, column, function, trigger in CASCADES:
        schema_editor.execute(
            f"CREATE OR REPLACE FUNCTION {function}() RETURNS trigger LANGUAGE plpgsql AS $$ "
            f"BEGIN DELETE FROM campaigns_recipient r USING gone WHERE r.{column} = gone.id; "
            "RETURN NULL; END $$"
        )
        schema_editor.execute(f"DROP TRIGGER IF EXISTS {trigger} ON {table}")
        schema_editor.execute(
            f"CREATE TRIGGER {trigger} AFTER DELETE ON {table} REFERENCING OLD TABLE AS gone "
            f"FOR EACH STATEMENT EXECUTE FUNCTION {function}()"
        )


def _backwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for table, _column, function, trigger in CASCADES:
        schema_editor.execute(f"DROP TRIGGER IF EXISTS {trigger} ON {table}")
        schema_editor.execute(f"DROP FUNCTION IF EXISTS {function}()")


class Migration(migrations.Migration):
    dependencies = [
        ("campaigns", "0014_delivery_reports"),
    ]

    operations = [
        migrations.AlterField(
            model_name="recipient",
            name="campaign",
            field=models.ForeignKey(
                db_constraint=False,
                db_index=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="recipients",
                to="campaigns.campaign",
            ),
        ),
        migrations.AlterField(
            model_name="recipient",
            name="part",
            field=models.ForeignKey(
                db_constraint=False,
                db_index=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="ledger",
                to="campaigns.campaignpart",
            ),
        ),
        migrations.RunPython(_forwards, _backwards),
    ]
