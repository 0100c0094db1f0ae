"""Saved message templates, and archived campaigns.

Authors keep the template library (add, change, delete); every group reads it (the view_
permission, as 0004 gives every group each view_ permission of campaigns and contacts)."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


# Group name: permission codenames of campaigns.MessageTemplate (0004's groups, by name).
TEMPLATE_PERMISSIONS = {
    "Viewers": ["view_messagetemplate"],
    "Campaign authors": [
        "view_messagetemplate",
        "add_messagetemplate",
        "change_messagetemplate",
        "delete_messagetemplate",
    ],
    "Campaign approvers": ["view_messagetemplate"],
}


def grant_template_permissions(apps, schema_editor):
    from django.contrib.auth.management import create_permissions

    # Permissions are made after `migrate` has finished; the groups need the new model's now.
    app_config = apps.get_app_config("campaigns")
    app_config.models_module = True
    create_permissions(app_config, apps=apps, verbosity=0)
    app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for name, codenames in TEMPLATE_PERMISSIONS.items():
        group = Group.objects.filter(name=name).first()
        if group is None:
            continue  # removed by an admin: not made again here
        group.permissions.add(
            *Permission.objects.filter(content_type__app_label="campaigns", codename__in=codenames)
        )


def revoke_template_permissions(apps, schema_editor):
    Permission = apps.get_model("auth", "Permission")
    Permission.objects.filter(
        content_type__app_label="campaigns", codename__endswith="_messagetemplate"
    ).delete()


class Migration(migrations.Migration):

    dependencies = [
        ('campaigns', '0010_placeholder_fallbacks'),
        ('auth', '0012_alter_user_first_name_max_length'),
        ('contenttypes', '0002_remove_content_type_name'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name='campaign',
            name='archived_at',
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.CreateModel(
            name='MessageTemplate',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('name', models.CharField(max_length=200, unique=True)),
                ('channel', models.CharField(choices=[('sms', 'SMS'), ('rcs', 'RCS')], default='sms', max_length=3)),
                ('text', models.TextField(blank=True)),
                ('rcs_cards', models.JSONField(blank=True, default=list)),
                ('fallback_text', models.TextField(blank=True)),
                ('created_at', models.DateTimeField(auto_now_add=True)),
                ('updated_at', models.DateTimeField(auto_now=True)),
                ('created_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
            ],
            options={
                'ordering': ['name', 'id'],
            },
        ),
        migrations.RunPython(grant_template_permissions, revoke_template_permissions),
    ]
