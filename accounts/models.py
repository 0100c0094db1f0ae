"""What a person keeps on their account beside Django's user: the language of the interface and
the time zone every time is shown and typed in.

Each a row of its own, one to one with the user, rather than a custom user model: the project
started on django.contrib.auth's User, and swapping the user model of a deployed database is a
hand-written migration of every foreign key to it. The rows are read with the user, in the same
query (config.access.CachedPermissionBackend.get_user), so no request pays for it.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


def language_choices() -> list[tuple[str, str]]:
    """settings.LANGUAGES, read when asked: a language added there needs no migration here."""
    return list(settings.LANGUAGES)


class LanguageChoice(models.Model):
    """The language one person chose for the interface (accounts.services.language_choose).

    Without a row, their browser's language is used (Accept-Language), else English.
    """

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="language_choice",
        verbose_name=_("user"),
    )
    language = models.CharField(_("language"), max_length=10, choices=language_choices)
    changed_at = models.DateTimeField(_("changed"), auto_now=True)

    class Meta:
        verbose_name = _("language choice")
        verbose_name_plural = _("language choices")

    def __str__(self) -> str:
        return _("Language of %(user)s") % {"user": self.user}


class TimeZoneChoice(models.Model):
    """The time zone one person reads and types times in (accounts.services.time_zone_choose):
    accounts.middleware activates it on each of their requests, so every time a page shows or a
    form reads (the composer's start time) is theirs. Without a row, settings.TIME_ZONE.

    Not the campaign's "Recipients' time zone" (Campaign.window_time_zone), which is where its
    recipients live, whoever writes it.
    """

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="time_zone_choice",
        verbose_name=_("user"),
    )
    # An IANA name (zoneinfo), checked when chosen (accounts.forms.AccountSettingsForm).
    time_zone = models.CharField(_("time zone"), max_length=64)
    changed_at = models.DateTimeField(_("changed"), auto_now=True)

    class Meta:
        verbose_name = _("time zone choice")
        verbose_name_plural = _("time zone choices")

    def __str__(self) -> str:
        return _("Time zone of %(user)s") % {"user": self.user}
