"""Each model names itself (verbose_name), so its name can be translated: the 403 page says
"Can view contact list" in the reader's language, and admin names the models in it too.

Only Django's model state changes: the names are the ones Django used before, and no table or
permission row is touched.
"""

import django.db.models.functions.text
from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("contacts", "0006_contact_search"),
    ]

    operations = [
        migrations.AlterModelOptions(
            name="contact",
            options={
                "ordering": ["-id"],
                "permissions": [
                    ("export_contact", "Can export contacts, lists and do-not-contact as CSV")
                ],
                "verbose_name": "contact",
                "verbose_name_plural": "contacts",
            },
        ),
        migrations.AlterModelOptions(
            name="contactfield",
            options={
                "ordering": ["key"],
                "verbose_name": "contact field",
                "verbose_name_plural": "contact fields",
            },
        ),
        migrations.AlterModelOptions(
            name="contactimport",
            options={
                "ordering": ["-created_at"],
                "verbose_name": "contact import",
                "verbose_name_plural": "contact imports",
            },
        ),
        migrations.AlterModelOptions(
            name="contactlist",
            options={
                "ordering": [django.db.models.functions.text.Lower("name")],
                "verbose_name": "contact list",
                "verbose_name_plural": "contact lists",
            },
        ),
        migrations.AlterModelOptions(
            name="listmembership",
            options={
                "verbose_name": "list membership",
                "verbose_name_plural": "list memberships",
            },
        ),
    ]
