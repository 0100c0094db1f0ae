"""What a person keeps on their account beside Django's user: the language of the interface and
the time zone every time is shown and typed in.

One row per person, one to one with the user, rather than a custom user model: the project
started on django.contrib.auth's User, and swapping the user model of a deployed database is a
hand-written migration of every foreign key to it. The row is read with the user, in the same
query (config.access.CachedPermissionBackend.get_user), so no request pays for it.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


def language_choices() -> list[tuple[str, str]]:
    """settings.LANGUAGES, read when asked: a language added there needs no migration here."""
    return list(settings.LANGUAGES)


class AccountSettings(models.Model):
    """One person's language and time zone (accounts.services.account_settings_update).

    Each is empty until the person chooses it, and reads then as the default: their browser's
    language (Accept-Language, else English), and settings.TIME_ZONE. accounts.middleware
    activates both on each of their requests, so every time a page shows or a form reads (the
    composer's start time) is theirs.

    The time zone is not a campaign's "Recipients' time zone" (Campaign.window_time_zone),
    which is where its recipients live, whoever writes it.
    """

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="account_settings",
        verbose_name=_("user"),
    )
    language = models.CharField(_("language"), max_length=10, choices=language_choices, blank=True)
    # An IANA name (zoneinfo), checked when chosen (accounts.services.account_settings_update).
    time_zone = models.CharField(_("time zone"), max_length=64, blank=True)
    changed_at = models.DateTimeField(_("changed"), auto_now=True)

    class Meta:
        verbose_name = _("account settings")
        verbose_name_plural = _("account settings")

    def __str__(self) -> str:
        return _("Settings of %(user)s") % {"user": self.user}
