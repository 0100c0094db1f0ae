"""Four-eyes approval fields, the custom campaign permissions, and the three groups of people.

The groups hold real Django permissions, so admins can see and change what each one may do and
give a person extra rights one by one; config/access.py maps every URL to one permission.
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

VIEW_APPS = ("campaigns", "contacts")

# app_label.codename; every group also gets each view_ permission of VIEW_APPS.
AUTHORS = [
    "campaigns.add_campaign",
    "campaigns.change_campaign",
    "campaigns.delete_campaign",
    "campaigns.add_sendplan",
    "campaigns.add_testsend",
    # A recurring campaign an author sets up waits for an approver (added by 0008).
    "campaigns.add_campaignschedule",
    "contacts.add_contact",
    "contacts.change_contact",
    "contacts.delete_contact",
    "contacts.export_contact",
    "contacts.add_contactlist",
    "contacts.change_contactlist",
    "contacts.delete_contactlist",
    "contacts.add_listmembership",
    "contacts.delete_listmembership",
    "contacts.add_contactfield",
    "contacts.change_contactfield",
    "contacts.delete_contactfield",
    "contacts.add_contactimport",
    "contacts.change_contactimport",
    "contacts.add_donotcontact",
]
APPROVERS = [
    "campaigns.approve_campaign",
    "campaigns.stop_campaign",
    # Approvers refresh a stale send plan before they approve, as the author did before asking.
    "campaigns.add_sendplan",
    # Resuming held parts lets more messages go out: an approver's decision.
    "campaigns.change_campaignpart",
    "campaigns.add_campaignschedule",
    "campaigns.change_campaignschedule",
    "campaigns.delete_campaignschedule",
    "contacts.add_donotcontact",
    # Taking someone off do-not-contact is the approver's second look, not the author's.
    "contacts.delete_donotcontact",
]
# Permissions of models added after this migration, which their own migration grants (message
# templates: *_message_templates_and_archive). Named here too so that the groups made again on
# a database that has those models (the tests, after a flush) are the same groups; skipped
# while they do not exist yet, as when this migration first runs.
LATER = {
    "Campaign authors": [
        "campaigns.add_messagetemplate",
        "campaigns.change_messagetemplate",
        "campaigns.delete_messagetemplate",
    ],
}
GROUPS = {
    "Viewers": [],
    "Campaign authors": AUTHORS,
    "Campaign approvers": APPROVERS,
}


def create_groups(apps, schema_editor):
    from django.contrib.auth.management import create_permissions

    # Permissions are normally created after `migrate` has finished; the groups need them now,
    # so make them (and their content types) for every app first.
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None

    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    views = list(
        Permission.objects.filter(
            content_type__app_label__in=VIEW_APPS, codename__startswith="view_"
        )
    )
    for name, wanted in GROUPS.items():
        permissions = list(views)
        for dotted in wanted:
            app_label, codename = dotted.split(".")
            try:
                permissions.append(
                    Permission.objects.get(content_type__app_label=app_label, codename=codename)
                )
            except Permission.DoesNotExist as missing:
                raise RuntimeError(
                    f"Permission {dotted} does not exist; cannot make “{name}”."
                ) from missing
        for dotted in LATER.get(name, []):
            app_label, codename = dotted.split(".")
            permissions += Permission.objects.filter(
                content_type__app_label=app_label, codename=codename
            )
        group, _ = Group.objects.get_or_create(name=name)
        group.permissions.add(*permissions)


def delete_groups(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=GROUPS).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("campaigns", "0003_guard_rails_schedules"),
        ("contacts", "0004_contact_export_permission"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AlterModelOptions(
            name="campaign",
            options={
                "ordering": ["-created_at", "-id"],
                "permissions": [
                    ("approve_campaign", "Can approve and send campaigns"),
                    ("stop_campaign", "Can stop campaigns"),
                ],
            },
        ),
        migrations.AddField(
            model_name="campaign",
            name="approval_requested_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="campaign",
            name="approval_requested_by",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
        migrations.AddField(
            model_name="campaign",
            name="approval_send_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="campaign",
            name="approval_snapshot",
            field=models.JSONField(blank=True, default=dict),
        ),
        migrations.AddField(
            model_name="campaign",
            name="approved_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="campaign",
            name="approved_by",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
        migrations.AddField(
            model_name="campaign",
            name="sent_back_reason",
            field=models.TextField(blank=True),
        ),
        migrations.AlterField(
            model_name="campaign",
            name="status",
            field=models.CharField(
                choices=[
                    ("draft", "Draft"),
                    ("awaiting_approval", "Waiting for approval"),
                    ("ready", "Ready to send"),
                    ("scheduled", "Scheduled"),
                    ("sending", "Sending"),
                    ("finished", "Finished"),
                    ("stopped", "Stopped"),
                    ("cancelled", "Cancelled"),
                ],
                default="draft",
                max_length=20,
            ),
        ),
        migrations.AlterField(
            model_name="campaignevent",
            name="kind",
            field=models.CharField(
                choices=[
                    ("created", "Created"),
                    ("send_requested", "Send requested"),
                    ("approval_requested", "Approval requested"),
                    ("approved", "Approved"),
                    ("sent_back", "Sent back"),
                    ("approval_void", "Approval void"),
                    ("dispatched", "Recipients resolved"),
                    ("submitted", "Submitted"),
                    ("rejected", "Rejected"),
                    ("unconfirmed", "Unconfirmed"),
                    ("reconciled", "Reconciled"),
                    ("retry", "Retry"),
                    ("status_changed", "Status changed"),
                    ("needs_attention", "Needs attention"),
                    ("held", "Held"),
                    ("resumed", "Resumed"),
                    ("do_not_contact", "Added to do-not-contact"),
                    ("stopped", "Stopped"),
                    ("cancelled", "Cancelled"),
                    ("finished", "Finished"),
                ],
                max_length=20,
            ),
        ),
        migrations.RunPython(create_groups, delete_groups),
    ]
