"""LanguageChoice and TimeZoneChoice, two rows per person that every request read together,
become one row per person: AccountSettings. Each person's choices are moved across (and back,
when migrated backwards) before the old tables go."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

import accounts.models


def _settings_from_choices(apps, schema_editor):
    AccountSettings = apps.get_model("accounts", "AccountSettings")
    LanguageChoice = apps.get_model("accounts", "LanguageChoice")
    TimeZoneChoice = apps.get_model("accounts", "TimeZoneChoice")
    merged = {}
    for choice in LanguageChoice.objects.all():
        merged[choice.user_id] = {"language": choice.language, "changed_at": choice.changed_at}
    for choice in TimeZoneChoice.objects.all():
        row = merged.setdefault(choice.user_id, {"changed_at": choice.changed_at})
        row["time_zone"] = choice.time_zone
        row["changed_at"] = max(row["changed_at"], choice.changed_at)
    AccountSettings.objects.bulk_create(
        AccountSettings(
            user_id=user_id,
            language=row.get("language", ""),
            time_zone=row.get("time_zone", ""),
        )
        for user_id, row in merged.items()
    )
    # auto_now stamped them "now" on insert; update() keeps when the person last chose.
    for user_id, row in merged.items():
        AccountSettings.objects.filter(user_id=user_id).update(changed_at=row["changed_at"])


def _choices_from_settings(apps, schema_editor):
    AccountSettings = apps.get_model("accounts", "AccountSettings")
    LanguageChoice = apps.get_model("accounts", "LanguageChoice")
    TimeZoneChoice = apps.get_model("accounts", "TimeZoneChoice")
    for row in AccountSettings.objects.all():
        # An empty value was never chosen: no row, as before the merge.
        if row.language:
            LanguageChoice.objects.create(user_id=row.user_id, language=row.language)
            LanguageChoice.objects.filter(user_id=row.user_id).update(changed_at=row.changed_at)
        if row.time_zone:
            TimeZoneChoice.objects.create(user_id=row.user_id, time_zone=row.time_zone)
            TimeZoneChoice.objects.filter(user_id=row.user_id).update(changed_at=row.changed_at)


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0002_user_time_zone"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="AccountSettings",
            fields=[
                (
                    "user",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE,
                        primary_key=True,
                        related_name="account_settings",
                        serialize=False,
                        to=settings.AUTH_USER_MODEL,
                        verbose_name="user",
                    ),
                ),
                (
                    "language",
                    models.CharField(
                        blank=True,
                        choices=accounts.models.language_choices,
                        max_length=10,
                        verbose_name="language",
                    ),
                ),
                (
                    "time_zone",
                    models.CharField(blank=True, max_length=64, verbose_name="time zone"),
                ),
                ("changed_at", models.DateTimeField(auto_now=True, verbose_name="changed")),
            ],
            options={
                "verbose_name": "account settings",
                "verbose_name_plural": "account settings",
            },
        ),
        migrations.RunPython(_settings_from_choices, _choices_from_settings),
        migrations.DeleteModel(name="LanguageChoice"),
        migrations.DeleteModel(name="TimeZoneChoice"),
    ]
