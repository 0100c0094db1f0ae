"""What a person keeps on their account beside Django's user: the language of the interface.

A row of its own, one to one with the user, rather than a custom user model: the project started
on django.contrib.auth's User, and swapping the user model of a deployed database is a
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
