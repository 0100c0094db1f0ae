"""BSG's statuses in a marketer's words. BSG spells a campaign's state "creation" or "done" and
a message's "not_rcs_user"; pages say "Being prepared", "Finished", "Not RCS users" in the
reader's language. The raw values stay in the data, the admin, the CSV export and the detail's
"As sent to BSG" disclosure; a status BSG adds tomorrow is shown as BSG spells it."""

from __future__ import annotations

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy

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
