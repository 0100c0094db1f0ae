"""BSG's statuses in a marketer's words. BSG spells a campaign's state "creation" or "done" and
a message's "not_rcs_user"; pages say "Being prepared", "Finished", "Not RCS users" in the
reader's language. The raw values stay in the data, the admin, the CSV export and the detail's
"As sent to BSG" disclosure; a status BSG adds tomorrow is shown as BSG spells it.

The same for an SMS text's encoding: "GSM-7" and "UCS-2" mean nothing to a marketer, so pages
say "standard characters" and "special characters", keeping the technical name in a hint.

And why BSG did not answer: "BSG can't be reached right now: no API key is set. Ask an admin.",
not "No BSG API key is configured (POST /api/auth/login)", which stays in a title and the log."""

from __future__ import annotations

from django.utils.functional import Promise
from django.utils.translation import gettext, gettext_lazy

from bsg import smstext
from bsg.errors import BsgError, BsgNoApiKey, BsgNotAuthorised

from .stored_text import BSG_KEY_REFUSED, BSG_NO_API_KEY, BSG_UNREACHABLE, StoredSentence

# A BSG campaign's status (bsg-api.md, Campaign statuses; bsg.schemas).
CAMPAIGN_STATUS_WORDS: dict[str, Promise] = {
    "creation": gettext_lazy("Being prepared"),
    "moderation": gettext_lazy("In moderation"),
    "scheduled": gettext_lazy("Scheduled"),
    "sending": gettext_lazy("Sending"),
    "paused": gettext_lazy("Paused"),
    "done": gettext_lazy("Finished"),
    "stopped": gettext_lazy("Stopped"),
    "spam": gettext_lazy("Blocked as spam"),
}

# A message's status (E9), and the per-status counts of a campaign's statistics (E8,
# sandbox.shapes.DETAIL_KEYS, and its SMS fallback's).
MESSAGE_STATUS_WORDS: dict[str, Promise] = {
    "accepted": gettext_lazy("Accepted"),
    "scheduled": gettext_lazy("Scheduled"),
    "moderation": gettext_lazy("In moderation"),
    "sending": gettext_lazy("Sending"),
    "sent": gettext_lazy("Sent"),
    "delivered": gettext_lazy("Delivered"),
    "read": gettext_lazy("Read"),
    "undelivered": gettext_lazy("Undelivered"),
    "not_delivered": gettext_lazy("Not delivered"),
    "expired": gettext_lazy("Expired"),
    "failed": gettext_lazy("Failed"),
    "rejected": gettext_lazy("Rejected"),
    "unknown": gettext_lazy("Unknown"),
    "cancelled": gettext_lazy("Cancelled"),
    "not_rcs_user": gettext_lazy("Not RCS users"),
    "not_viber_user": gettext_lazy("Not Viber users"),
}


def campaign_status_words(status: str) -> str:
    """A BSG campaign's status in words; an unknown one as BSG spells it."""
    said = CAMPAIGN_STATUS_WORDS.get(status)
    return str(said) if said is not None else status


def message_status_words(status: str) -> str:
    """A message status (or a statistics key such as "not_rcs_user") in words; an unknown one
    as BSG spells it, underscores as spaces."""
    said = MESSAGE_STATUS_WORDS.get(status.lower())
    return str(said) if said is not None else status.replace("_", " ")


# An SMS text's encoding (bsg.smstext): any character outside GSM-7 (an emoji, a Cyrillic
# letter, a curly quote) makes the whole text UCS-2, which fits fewer characters in a part.
ENCODING_WORDS: dict[str, Promise] = {
    smstext.GSM7: gettext_lazy("standard characters"),
    smstext.UCS2: gettext_lazy("special characters"),
}


def encoding_words(encoding: str) -> str:
    """An SMS encoding in words ("standard characters"); an unknown one as it is spelled."""
    said = ENCODING_WORDS.get(encoding)
    return str(said) if said is not None else encoding


def encoding_hint(encoding: str) -> str:
    """What an encoding means for the text's length, with its technical name (for a title)."""
    if encoding == smstext.GSM7:
        return gettext(
            "GSM-7: Latin letters, digits and common signs; %(single)s characters in one SMS "
            "part, %(multi)s in each part of a longer text"
        ) % {"single": smstext.GSM7_SINGLE_PART, "multi": smstext.GSM7_MULTI_PART}
    if encoding == smstext.UCS2:
        return gettext(
            "UCS-2: emoji, Cyrillic, curly quotes and other special characters; %(single)s "
            "characters in one SMS part, %(multi)s in each part of a longer text"
        ) % {"single": smstext.UCS2_SINGLE_PART, "multi": smstext.UCS2_MULTI_PART}
    return encoding


def special_characters_note() -> str:
    """Why a text with special characters costs more, said once under the send plan's table."""
    return gettext(
        "Special characters (emoji, Cyrillic, curly quotes) leave fewer characters per SMS "
        "part: %(ucs2_single)s instead of %(gsm7_single)s (%(ucs2_multi)s instead of "
        "%(gsm7_multi)s in each part of a longer text)."
    ) % {
        "ucs2_single": smstext.UCS2_SINGLE_PART,
        "gsm7_single": smstext.GSM7_SINGLE_PART,
        "ucs2_multi": smstext.UCS2_MULTI_PART,
        "gsm7_multi": smstext.GSM7_MULTI_PART,
    }


def bsg_trouble(error: BsgError) -> StoredSentence:
    """Why BSG did not answer, as a marketer can act on it: an admin sets or checks the key,
    or they try again later (a connection, a timeout, an answer we cannot use)."""
    if isinstance(error, BsgNoApiKey):
        return BSG_NO_API_KEY
    if isinstance(error, BsgNotAuthorised):
        return BSG_KEY_REFUSED
    return BSG_UNREACHABLE
