"""Request field rules of the BSG One API, defined once for the sandbox, the client's callers and
the forms.

Each ``*_error`` function returns None when the value is valid, else one sentence for a person
that names the limit. The sandbox calls them on decoded JSON, so they take what JSON gives and
check types the way BSG's JSON does: an integer field wants an ``int`` (``True``, ``12.0`` and
``"12"`` are not integers), a string field wants a ``str``.

Numbers come from the vendor pages in /work/shared/bsg-docs/ (sms-campaigns-all-methods.txt,
sms-send-groups.txt, sms-send-individual.txt, rcs-send-groups.txt) unless a comment cites BSG's
OpenAPI description (the YAML).
"""

import re
import string
from datetime import UTC, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from . import smstext
from .i18n import gettext as _
from .i18n import ngettext

# "It is possible to specify no more than 10 000 contacts for one campaign." (all SMS pages)
MAX_SMS_RECIPIENTS = 10_000
# YAML, SendRcsCampaign.phones: maxItems 5000; and for every RCS method, send-groups too (YAML tag
# "Campaign RCS"): "The maximum allowed number of contacts in one campaign is 5000".
MAX_RCS_RECIPIENTS = 5_000
# "Maximum date for scheduling is 30 days." (SMS pages); RCS: "30 days (including the current
# date) - until 23:59:59 of the 30th day" (rcs-send-groups.txt).
MAX_SCHEDULE_DAYS = 30
# Every date BSG takes or gives: "yyyy-mm-dd hh:mm:ss", in a time zone nobody documents (one
# setting, passed in as ``time_zone``).
BSG_DATETIME_FORMAT = "%Y-%m-%d %H:%M:%S"

# --- Limits of the RCS and contact-book endpoints (BSG's YAML) --------------------------------
# YAML: SmsSendRequest.callback_url maxLength 100.
MAX_CALLBACK_URL = 100
# YAML RCS limits: Cards maxItems 10 (its prose says 5), Card.title 200, Card.text 1..1000,
# Card.suggestions maxItems 4, SuggestionButtonText 25, PostbackData 25, Media.url 1000,
# Text.text (plain options.text) 1..160, GroupsTrait 1..1000 lists, ValiditySeconds 30..86400.
MAX_RCS_CARDS = 10
MAX_RCS_TITLE = 200
MAX_RCS_CARD_TEXT = 1000
MAX_RCS_PLAIN_TEXT = 160
MAX_RCS_SUGGESTIONS = 4
MAX_SUGGESTION_TEXT = 25
MAX_POSTBACK_DATA = 25
MAX_URL = 1000
MAX_GROUPS_PER_CAMPAIGN = 1000
VALIDITY_SECONDS = (30, 86_400)
# YAML contact book: ContactGroupName 3..50, ContactGroupDescription 1..255,
# ContactFieldName 1..30, ContactFieldDescription 1..255, ContactFieldType text|date|number,
# ContactGroups maxItems 100, ContactListAttachRequest contacts <= 200 and groups <= 100.
GROUP_NAME = (3, 50)
DESCRIPTION = (1, 255)
FIELD_NAME = (1, 30)
FIELD_TYPES = ("text", "date", "number")
MAX_CONTACT_GROUPS = 100
MAX_ATTACH_CONTACTS = 200
MAX_ATTACH_GROUPS = 100
# YAML campaigns list: the window spans at most 3 months (vendor page campaigns-list.txt too).
MAX_WINDOW_MONTHS = 3

# Sender: "1 to 11 characters for the Sender alphanumeric name (consists of Latin letters,
# symbols, numbers, spaces); 1 to 15 characters for the Sender numeric name" (SMS pages).
_ALPHANUMERIC_SENDER_MAX = 11
_NUMERIC_SENDER_MAX = 15
# The YAML says "from 3 to 11 ... 3 to 15": we accept the pages' 1 and only warn under 3.
_SENDER_WARN_UNDER = 3
# "Symbols" is read as the ASCII punctuation that is one GSM 03.38 septet. An alphanumeric
# sender travels in the SMS originator address as GSM-7, at most 11 septets (3GPP TS 23.040
# §9.1.2.5); an extension character (^ { } \ [ ~ ] |) would take two of them and the backtick
# has no GSM-7 code at all, so we refuse them rather than let a network rewrite the name.
_SENDER_SYMBOLS = "".join(c for c in string.punctuation if c not in "^{}\\[~]|`")
_SENDER_CHARACTERS = frozenset(string.ascii_letters + string.digits + " " + _SENDER_SYMBOLS)
_DIGITS = frozenset(string.digits)

# "The name of the agent used to send the rcs message. From 1 to 40 characters."
_RCS_AGENT_MAX = 40
# "Integer from 1 to 72. By default 72 hours."
_VALIDITY_MIN, _VALIDITY_MAX = 1, 72
# "The parameter format is an integer from 0 to 9."
_TARIFF_MIN, _TARIFF_MAX = 0, 9
# "From 9 to 15 digits (phone number is specified without +)"; the YAML's PhoneNumber is an
# integer from 100000000 to 999999999999999, so a leading zero cannot be sent either.
_PHONE_MIN_DIGITS, _PHONE_MAX_DIGITS = 9, 15
# "String up to 32 characters containing /a-zA-Z0-9/"
_REFERENCE_ID_MAX = 32
_REFERENCE_ID = re.compile(r"[a-zA-Z0-9]+")


def utf16_length(text: str) -> int:
    """Length as BSG counts RCS text: UTF-16 code units (YAML Card.text: "Simple emojis take 2")."""
    return len(text.encode("utf-16-le")) // 2


def sender_error(sender: str) -> str | None:
    """None for a valid SMS sender name, else why BSG would refuse it.

    A numeric sender is 1-15 ASCII digits. Anything else is an alphanumeric sender: 1-11 of
    Latin letters, digits, spaces and the one-septet ASCII symbols (see ``_SENDER_SYMBOLS``);
    Cyrillic, accented letters and emoji are refused.
    """
    if not isinstance(sender, str):
        return _("The sender must be text, not %(value)s.") % {"value": repr(sender)}
    if not sender:
        return _("The sender is empty; it needs 1 to 11 characters, or 1 to 15 digits.")
    if not sender.strip(" "):
        return _("The sender is only spaces; it needs at least one letter, digit or symbol.")
    # English says "digits" and "characters" for any count here, as it always has; other
    # languages get their plural forms from `ngettext`.
    if _DIGITS.issuperset(sender):
        if len(sender) > _NUMERIC_SENDER_MAX:
            return ngettext(
                "Sender '%(sender)s' is %(count)s digits; a numeric sender is at most %(max)s.",
                "Sender '%(sender)s' is %(count)s digits; a numeric sender is at most %(max)s.",
                len(sender),
            ) % {"sender": sender, "count": len(sender), "max": _NUMERIC_SENDER_MAX}
        return None
    refused = list(dict.fromkeys(c for c in sender if c not in _SENDER_CHARACTERS))
    if refused and smstext.script_of(sender):
        # A sender typed in Cyrillic (etc.): the alphabet is the problem, not each letter.
        return _(
            "The sender must use Latin letters and digits only; “%(sender)s” is in another "
            "alphabet."
        ) % {"sender": sender}
    if refused:
        return _(
            "Sender '%(sender)s' contains %(characters)s; an alphanumeric sender may use only "
            "Latin letters, digits, spaces and these symbols: %(symbols)s"
        ) % {"sender": sender, "characters": _describe_all(refused), "symbols": _SENDER_SYMBOLS}
    if len(sender) > _ALPHANUMERIC_SENDER_MAX:
        values = {"sender": sender, "count": len(sender), "max": _ALPHANUMERIC_SENDER_MAX}
        if sender.startswith("+") and _DIGITS.issuperset(sender[1:]):
            return ngettext(
                "Sender '%(sender)s' is %(count)s characters; an alphanumeric sender is at most "
                "%(max)s (a numeric sender may have up to %(numeric_max)s digits, without '+').",
                "Sender '%(sender)s' is %(count)s characters; an alphanumeric sender is at most "
                "%(max)s (a numeric sender may have up to %(numeric_max)s digits, without '+').",
                len(sender),
            ) % {**values, "numeric_max": _NUMERIC_SENDER_MAX}
        return (
            ngettext(
                "Sender '%(sender)s' is %(count)s characters; an alphanumeric sender is at most "
                "%(max)s.",
                "Sender '%(sender)s' is %(count)s characters; an alphanumeric sender is at most "
                "%(max)s.",
                len(sender),
            )
            % values
        )
    return None


def sender_warning(sender: str) -> str | None:
    """A caution for a valid sender shorter than 3 characters, which the YAML (3-11 / 3-15) would
    refuse though the vendor pages (1-11 / 1-15) allow it. None otherwise, and None for an
    invalid sender (``sender_error`` speaks for it)."""
    if sender_error(sender) is not None or len(sender) >= _SENDER_WARN_UNDER:
        return None
    return ngettext(
        "Sender '%(sender)s' is %(count)s character; BSG's API description asks for at least "
        "%(min)s, so BSG may refuse it.",
        "Sender '%(sender)s' is %(count)s characters; BSG's API description asks for at least "
        "%(min)s, so BSG may refuse it.",
        len(sender),
    ) % {"sender": sender, "count": len(sender), "min": _SENDER_WARN_UNDER}


def rcs_agent_error(name: str) -> str | None:
    """None for a valid RCS agent name (the ``sender`` of an RCS campaign): 1-40 characters."""
    if not isinstance(name, str):
        return _("The RCS agent name must be text, not %(value)s.") % {"value": repr(name)}
    if not name.strip():
        return _("The RCS agent name is empty.")
    if len(name) > _RCS_AGENT_MAX:
        return ngettext(
            "RCS agent name '%(name)s' is %(count)s characters; an RCS agent name is at most "
            "%(max)s.",
            "RCS agent name '%(name)s' is %(count)s characters; an RCS agent name is at most "
            "%(max)s.",
            len(name),
        ) % {"name": name, "count": len(name), "max": _RCS_AGENT_MAX}
    return None


def validity_error(hours: object) -> str | None:
    """None for a valid validity period: an ``int`` of hours from 1 to 72.

    Only ``int`` is accepted (not ``bool``, ``float`` or a digit string): the sandbox checks
    decoded JSON, where BSG's field is an integer, and forms convert before they ask.
    """
    # bool is a subclass of int, but JSON's true is not BSG's 1.
    if isinstance(hours, bool) or not isinstance(hours, int):
        return _("Validity must be a whole number of hours from 1 to 72, not %(value)s.") % {
            "value": repr(hours)
        }
    if not _VALIDITY_MIN <= hours <= _VALIDITY_MAX:
        return _("Validity %(hours)s hours is outside BSG's %(min)s to %(max)s hours.") % {
            "hours": hours,
            "min": _VALIDITY_MIN,
            "max": _VALIDITY_MAX,
        }
    return None


def tariff_error(code: object) -> str | None:
    """None for a valid tariff code: an ``int`` from 0 to 9 (not ``bool``, ``float`` or a string).

    Whether the tariff is connected to the account only BSG knows ("Tariff was not found", 422).
    """
    if isinstance(code, bool) or not isinstance(code, int):
        return _("The tariff code must be a whole number from 0 to 9, not %(value)s.") % {
            "value": repr(code)
        }
    if not _TARIFF_MIN <= code <= _TARIFF_MAX:
        return _("Tariff code %(code)s is outside BSG's %(min)s to %(max)s.") % {
            "code": code,
            "min": _TARIFF_MIN,
            "max": _TARIFF_MAX,
        }
    return None


def phone_error(number: object) -> str | None:
    """None for a valid recipient number: an ``int`` or a string of ASCII digits, 9-15 digits,
    in international format without '+' (so no leading zero: BSG takes it as an integer)."""
    if isinstance(number, bool) or not isinstance(number, int | str):
        return _("The phone number must be digits, not %(value)s.") % {"value": repr(number)}
    digits = str(number)
    if digits.startswith("+"):
        return _("Phone number '%(number)s' must be digits only, without '+'.") % {"number": digits}
    if not (digits.isascii() and digits.isdigit()):
        return _(
            "Phone number '%(number)s' must be digits only, without spaces or other signs."
        ) % {"number": digits}
    if digits.startswith("0"):
        return _(
            "Phone number '%(number)s' starts with 0; give it in international format without "
            "'+' or leading zeros, e.g. 380501234567."
        ) % {"number": digits}
    if not _PHONE_MIN_DIGITS <= len(digits) <= _PHONE_MAX_DIGITS:
        return ngettext(
            "Phone number '%(number)s' is %(count)s digits; BSG needs %(min)s to %(max)s.",
            "Phone number '%(number)s' is %(count)s digits; BSG needs %(min)s to %(max)s.",
            len(digits),
        ) % {
            "number": digits,
            "count": len(digits),
            "min": _PHONE_MIN_DIGITS,
            "max": _PHONE_MAX_DIGITS,
        }
    return None


def reference_id_error(ref: object) -> str | None:
    """None for a valid ``reference_id``: 1-32 Latin letters and digits. An absent reference is
    the caller's business (the field is optional); an empty string is refused."""
    if not isinstance(ref, str):
        return _("The reference id must be text, not %(value)s.") % {"value": repr(ref)}
    if not ref:
        return _("The reference id is empty; give 1 to 32 Latin letters and digits, or none.")
    if not _REFERENCE_ID.fullmatch(ref):
        refused = list(dict.fromkeys(c for c in ref if not _REFERENCE_ID.fullmatch(c)))
        return _(
            "Reference id '%(ref)s' contains %(characters)s; BSG accepts only Latin letters and "
            "digits (a-z, A-Z, 0-9)."
        ) % {"ref": ref, "characters": _describe_all(refused)}
    if len(ref) > _REFERENCE_ID_MAX:
        return ngettext(
            "Reference id '%(ref)s' is %(count)s characters; BSG accepts at most %(max)s.",
            "Reference id '%(ref)s' is %(count)s characters; BSG accepts at most %(max)s.",
            len(ref),
        ) % {"ref": ref, "count": len(ref), "max": _REFERENCE_ID_MAX}
    return None


def callback_url_error(url: object) -> str | None:
    """None for a ``callback_url`` BSG takes: an http(s) address of at most 100 characters
    (YAML CallbackUrl, maxLength 100). BSG calls it from the internet, so it names a host."""
    if not isinstance(url, str):
        return _("The callback URL must be text, not %(value)s.") % {"value": repr(url)}
    if len(url) > MAX_CALLBACK_URL:
        return _(
            "The callback URL %(url)s is %(count)s characters; BSG accepts at most %(max)s. "
            "Use a shorter public address."
        ) % {"url": url, "count": len(url), "max": MAX_CALLBACK_URL}
    if not re.fullmatch(r"https?://[^/\s?#]+(/\S*)?", url):
        return _("The callback URL %(url)s is not an http:// or https:// address with a host.") % {
            "url": url
        }
    return None


def start_at_error(start_at: datetime, now: datetime) -> str | None:
    """None when an SMS campaign may be scheduled for ``start_at``: at most 30 days after ``now``.

    "Maximum date for scheduling is 30 days" (SMS pages) is read as ``start_at <= now + 30 x 24
    hours``, counted in absolute time so that a daylight-saving change inside the window moves
    nothing. A ``start_at`` in the past is not refused: BSG's behaviour is undocumented and we
    treat it as "now" (send at once). Both datetimes must be timezone-aware (ValueError if not).
    """
    _require_aware(start_at=start_at, now=now)
    latest = now.astimezone(UTC) + timedelta(days=MAX_SCHEDULE_DAYS)
    if start_at <= latest:
        return None
    zone = start_at.tzinfo
    return ngettext(
        "Start time %(start)s is more than %(days)s days ahead; BSG schedules SMS campaigns at "
        "most until %(latest)s.",
        "Start time %(start)s is more than %(days)s days ahead; BSG schedules SMS campaigns at "
        "most until %(latest)s.",
        MAX_SCHEDULE_DAYS,
    ) % {
        "start": _show(start_at),
        "days": MAX_SCHEDULE_DAYS,
        "latest": _show(latest.astimezone(zone)),
    }


def rcs_start_at_error(start_at: datetime, now: datetime, time_zone: str) -> str | None:
    """None when an RCS campaign may be scheduled for ``start_at``.

    rcs-send-groups.txt: "The maximum allowable date and time for scheduling a mailing is 30 days
    (including the current date) - until 23:59:59 of the 30th day." Today in BSG's time zone is
    day 1, so the last moment is 23:59:59 of today + 29 days there; anything before the next
    midnight passes. A past ``start_at`` is not refused (treated as "now", as for SMS). Both
    datetimes must be timezone-aware (ValueError if not).
    """
    _require_aware(start_at=start_at, now=now)
    zone = ZoneInfo(time_zone)
    last_day = now.astimezone(zone).date() + timedelta(days=MAX_SCHEDULE_DAYS - 1)
    too_late = datetime.combine(last_day + timedelta(days=1), time(0), tzinfo=zone)
    if start_at < too_late:
        return None
    return _(
        "Start time %(start)s (%(zone)s) is too late; BSG schedules RCS campaigns at most until "
        "%(last_day)s 23:59:59, the end of the %(days)sth day counting today."
    ) % {
        "start": format_bsg_datetime(start_at, time_zone),
        "zone": time_zone,
        "last_day": f"{last_day:%Y-%m-%d}",
        "days": MAX_SCHEDULE_DAYS,
    }


def format_bsg_datetime(moment: datetime, time_zone: str) -> str:
    """An aware datetime as BSG writes it, "YYYY-MM-DD hh:mm:ss" in ``time_zone``.

    Fractions of a second are dropped (BSG's format has none). ValueError for a naive datetime:
    guessing its zone is how campaigns go out an hour early.
    """
    _require_aware(moment=moment)
    return moment.astimezone(ZoneInfo(time_zone)).strftime(BSG_DATETIME_FORMAT)


def parse_bsg_datetime(value: str, time_zone: str) -> datetime | None:
    """An aware datetime in ``time_zone`` from a BSG date, or None when it is not a date.

    Tolerant, because BSG's answers are not uniform (the YAML's samples mix
    "2025-04-14 10:43:13" with "2000-01-23T04:56:07.000+00:00"): any ISO 8601 form Python reads
    is accepted, a "T" or a space, fractions, "Z" or an offset, or a bare date (midnight). A
    value without an offset is read as wall time in ``time_zone`` (for an ambiguous hour at a
    daylight-saving change, the first one); one with an offset is converted to ``time_zone``.
    None for anything else: garbage, "", None, "0000-00-00 00:00:00".
    """
    if not isinstance(value, str) or not value.strip():
        return None
    return _parsed(value.strip(), time_zone)


# The same few dates come again and again (a campaign's messages share their created_at and are
# sent within seconds of each other, and E9 pages bring 500 with three dates each); datetimes
# are immutable, so one parse serves them all.
@lru_cache(maxsize=4096)
def _parsed(value: str, time_zone: str) -> datetime | None:
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    zone = ZoneInfo(time_zone)
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=zone)
    return parsed.astimezone(zone)


def _require_aware(**moments: datetime) -> None:
    for name, moment in moments.items():
        if moment.tzinfo is None or moment.utcoffset() is None:
            raise ValueError(f"{name} must be a timezone-aware datetime, not {moment!r}")


def _show(moment: datetime) -> str:
    return f"{moment.strftime(BSG_DATETIME_FORMAT)} {moment.tzname()}"


def _describe_all(characters: list[str]) -> str:
    """Each character as the special-characters hint names it (smstext.character_words): in
    quotes, an invisible one by its name, never a code point ("U+0416" means nothing to a
    marketer)."""
    return ", ".join(smstext.character_words(character) for character in characters)
