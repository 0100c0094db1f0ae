"""Exporting phone numbers in bulk is its own permission (config/access.py)."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("contacts", "0003_listmembership_no_single_key_indexes"),
    ]

    operations = [
        migrations.AlterModelOptions(
            name="contact",
            options={
                "ordering": ["-id"],
                "permissions": [
                    ("export_contact", "Can export contacts, lists and do-not-contact as CSV")
                ],
            },
        ),
    ]
