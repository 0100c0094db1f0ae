"""Sentences for people (bsg.rules, bsg.smstext) in the language of the page that shows them.

bsg/ imports nothing of Django, so it cannot ask for the active language itself: the app hands it
Django's `gettext` and `ngettext` once at start-up (`use_translations`, from
contacts.apps.ContactsConfig.ready). Without them (bsg/ used on its own) every sentence is the
English it is written in; with them, a sentence follows the active language, or the site's
LANGUAGE_CODE where none is active (a Celery task).

The sentences are marked the way Django's are, `gettext("…")` and `ngettext(…)` with named
%-placeholders, so `manage.py makemessages` finds them and they live in the project's catalogue.
"""

from collections.abc import Callable


def _english(message: str) -> str:
    return message


def _english_plural(singular: str, plural: str, number: int) -> str:
    return singular if number == 1 else plural


_translations: dict[str, Callable] = {"gettext": _english, "ngettext": _english_plural}


def use_translations(*, gettext: Callable[[str], str], ngettext: Callable[[str, str, int], str]):
    """From now on, sentences are put in the active language by these two functions."""
    _translations["gettext"] = gettext
    _translations["ngettext"] = ngettext


def gettext(message: str) -> str:
    return _translations["gettext"](message)


def ngettext(singular: str, plural: str, number: int) -> str:
    return _translations["ngettext"](singular, plural, number)
