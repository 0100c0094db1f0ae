"""Sentences the app stores for people to read later, and how a page says them in its reader's
language.

What is stored: the campaign's event log (CampaignEvent.message) and audit messages, why a part
or a campaign needs attention (CampaignPart.error and stop_answer, Campaign.dispatch_error), why
the engine sent a campaign back (Campaign.sent_back_reason), why a schedule waits for approval
again, a send plan's failure and BSG's price errors, a test send's outcome.

Why they are stored in English and translated when shown, not written in the writer's language:
most are written by the engine in a Celery worker, where no person and so no language is active,
and each is read later by people who each chose their own language. Written in the writer's
language, a Ukrainian team would read the engine's English for ever, and an English reader a
colleague's Ukrainian. So each sentence is declared here once, stored in English (what the
admin, the audit log, the tests and a grep read; what the code compares, such as a stop answer
that starts with "Stopped"), and `shown()` says it again in the reader's language: it finds the
declared sentence a stored text was made from, and translates it with the same values.

A text that no sentence made is shown as it is stored: what a person typed (an approver's reason
stays in the words and the language of the person who wrote it), BSG's own answers, and rows
written before their sentence was declared. A text written by the checks (campaigns.checks,
gettext) inside a stored sentence is translated when it is one of the catalogue's messages
without values.

Each declaration is a call xgettext knows (`gettext_noop`, `ngettext`), so `makemessages`
finds the sentences here like any other message.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from functools import cache, lru_cache
from typing import Any

from django.utils import timezone, translation
from django.utils.formats import number_format
from django.utils.translation import gettext, ngettext, pgettext

from audit.words import moment_words
from contacts.phones import phone_display

# A value may hold anything but the clause separator "; ", unless it is declared `clauses`:
# several sentences joined by it (campaigns.selectors.audience_changes_text), or BSG's own words.
# So a stored text of several clauses is never taken for one sentence with a long value.
CLAUSE_SEPARATOR = "; "
LABEL_SEPARATOR = ", "
_ONE_CLAUSE = r"(?:(?!; ).)*?"
_ANY = r".*?"
# Values whose names say what they are match only that, so a sentence that begins or ends with
# a value is not found inside another ("%(count)s contact(s) added…" in "3 recipient(s) in…").
_COUNT = r"\d[\d,]*"
_SHAPES = {
    **dict.fromkeys(
        (
            "approved",
            "attempts",
            "bsg_id",
            "cancelled",
            "count",
            "digits",
            "failed",
            "final",
            "id",
            "limit",
            "members",
            "more",
            "now",
            "number",
            "opted_out",
            "parts",
            "percent",
            "recipients",
            "refused",
            "skipped",
            "stopped",
        ),
        _COUNT,
    ),
    # Only a number in E.164 is one: "Olena (+380501111111)" is a contact, "Sale (spring)" not.
    "phone": r"\+\d{7,15}",
    "start": r"\d\d:\d\d",
    "end": r"\d\d:\d\d",
    "zone": r"\S+",
}
_PLACEHOLDER = re.compile(r"%\((\w+)\)s|%%")
# "1,234": a count as English groups it, grouped again as the reader's language does.
_GROUPED_COUNT = re.compile(r"\d{1,3}(?:,\d{3})+")
# A moment in a stored sentence ("scheduled for %(when)s"): written in UTC by moment_stored, said
# in the reader's own time zone (accounts.AccountSettings) when shown. Rows written before, in
# settings.TIME_ZONE, read "… UTC" too while that was UTC; any other zone's are shown as stored.
STORED_MOMENT_FORMAT = "%Y-%m-%d %H:%M"
_STORED_MOMENT = re.compile(r"(\d{4}-\d\d-\d\d \d\d:\d\d) UTC")
# What an English reader does not read as stored either: a moment (said in their zone and
# format), a count stored in English's old "recipient(s)" (said in its plural now), a BSG batch
# stored in its old word "part" ("Part 2: BSG refused it"), and a phone number stored as bare
# digits ("+380501111111", said as people read it now). A text that only looks so (an SMS's
# "parts") is said again as it is stored.
_SAID_AGAIN_IN_ENGLISH = re.compile(rf"{_STORED_MOMENT.pattern}|\w\(s\)|\b[Pp]arts?\b|\+\d{{7,}}")
# How deep sentences nest (a sent-back reason holds clauses, a clause holds examples).
_MAX_DEPTH = 8
# Every declared sentence, the ones with most words of their own first (shown() tries them so).
SENTENCES: list[StoredSentence] = []


class StoredSentence:
    """One sentence the app stores: `stored()` writes it in English, `shown()` says it in the
    reader's language, and campaigns.stored_text.shown finds it again in a stored text.

    `inner` values are themselves stored sentences, translated with it; `clauses` values may
    hold several, joined by "; " (or any text: BSG's answers); `labels` values are what
    changed, as campaigns.selectors.APPROVAL_LABELS names it, joined by ", " (lower-cased or
    not); `fields` values are placeholders by their names (campaigns.rendering.Slot.name),
    joined by ", ", the contact's own name and phone said in the reader's language; `phones`
    values are numbers stored as BSG knows them, said as people read them. A plural
    sentence chooses its form by the value named `number`, in English as in any
    language whose words change with the number.

    `formerly` are the words the sentence was stored in before (English's "3 recipient(s)", a
    BSG batch's old name "Part 2: …"): a row stored so is found by them and said in the
    sentence's words now, English too. When
    the old words held other values (a count that is a sentence of its own now),
    `formerly_values` makes this sentence's values of the ones found in them."""

    def __init__(
        self,
        singular: str,
        plural: str | None = None,
        number: str | None = None,
        *,
        inner: Iterable[str] = (),
        clauses: Iterable[str] = (),
        labels: Iterable[str] = (),
        fields: Iterable[str] = (),
        phones: Iterable[str] = (),
        formerly: Iterable[str] = (),
        formerly_values: Callable[[dict[str, str]], dict[str, str]] | None = None,
    ) -> None:
        self.singular = singular
        self.plural = plural
        self.number = number
        self.inner = frozenset(inner)
        self.clauses = frozenset(clauses)
        self.labels = frozenset(labels)
        self.fields = frozenset(fields)
        self.phones = frozenset(phones)
        self.formerly = tuple(formerly)
        self.formerly_values = formerly_values
        self.forms = tuple(
            dict.fromkeys(f for f in (singular, plural, *self.formerly) if f is not None)
        )
        # What a text made from it begins with, in each of its words: the old ones may begin
        # otherwise ("Part 2: …" before "Batch 2: …").
        self.heads = tuple(dict.fromkeys(_literal_head(form) for form in self.forms))
        # The more of its words are its own, the sooner it is tried: "empty for them: %(fields)s
        # (the campaign leaves such recipients out)" before "empty for them: %(fields)s".
        self.literal_length = max(len(_PLACEHOLDER.sub("", form)) for form in self.forms)
        SENTENCES.append(self)
        SENTENCES.sort(key=lambda sentence: -sentence.literal_length)

    # Named as the gettext functions xgettext looks for, so makemessages extracts the text.
    @classmethod
    def gettext_noop(cls, message: str, **kinds: Any) -> StoredSentence:
        return cls(message, **kinds)

    # `formerly` is a keyword, so xgettext (which reads ngettext's first two arguments) leaves
    # the old words out of the catalogue: they are never said, only recognised.
    @classmethod
    def ngettext(cls, singular: str, plural: str, number: str, **kinds: Any) -> StoredSentence:
        return cls(singular, plural, number, **kinds)

    def stored(self, **values: object) -> str:
        """The sentence in English, as the database keeps it."""
        form = self.singular
        if self.plural is not None and _count(values[self.number]) != 1:
            form = self.plural
        return form % {name: str(value) for name, value in values.items()}

    def shown(self, **values: object) -> str:
        """The sentence in the reader's language (its inner sentences too)."""
        return self._translated({name: str(value) for name, value in values.items()}, depth=0)

    def _translated(self, values: dict[str, str], *, depth: int) -> str:
        said = {}
        for name, value in values.items():
            if name in self.inner or name in self.clauses:
                said[name] = _shown(value, depth + 1)
            elif name in self.labels:
                said[name] = LABEL_SEPARATOR.join(map(_label_shown, value.split(LABEL_SEPARATOR)))
            elif name in self.fields:
                said[name] = LABEL_SEPARATOR.join(map(_field_shown, value.split(LABEL_SEPARATOR)))
            elif name in self.phones:
                said[name] = phone_display(value)
            else:
                said[name] = _localised(value)
        if self.plural is None:
            return gettext(self.singular) % said
        return ngettext(self.singular, self.plural, _count(values[self.number])) % said

    def values_in(self, text: str) -> dict[str, str] | None:
        """The values this sentence was stored with, if `text` is this sentence (in English)."""
        for form, pattern in self._patterns():
            found = pattern.fullmatch(text)
            if found is not None:
                values = found.groupdict()
                if self.formerly_values is not None and form in self.formerly:
                    return self.formerly_values(values)
                return values
        return None

    @cache  # noqa: B019 - one per declared sentence, which live for ever
    def _patterns(self) -> tuple[tuple[str, re.Pattern[str]], ...]:
        # The form with most words of its own first, as SENTENCES are tried: an old row "3
        # recipients resolved into 2 BSG campaign(s)." is the old form's, though the new
        # "%(recipients)s recipients resolved into %(in_parts)s." would take it too.
        forms = sorted(self.forms, key=lambda form: -len(_PLACEHOLDER.sub("", form)))
        return tuple((form, self._pattern(form)) for form in forms)

    def _pattern(self, form: str) -> re.Pattern[str]:
        parts, seen, position = [], set(), 0
        for placeholder in _PLACEHOLDER.finditer(form):
            parts.append(re.escape(form[position : placeholder.start()]))
            name = placeholder.group(1)
            if name is None:
                parts.append("%")
            elif name in seen:
                parts.append(f"(?P={name})")
            else:
                seen.add(name)
                shape = _SHAPES.get(name) or (_ANY if name in self.clauses else _ONE_CLAUSE)
                parts.append(f"(?P<{name}>{shape})")
            position = placeholder.end()
        parts.append(re.escape(form[position:]))
        return re.compile("".join(parts), re.DOTALL)


def shown(text: str) -> str:
    """A stored text in the reader's language and time zone: the declared sentence it was made
    from, said again with the same values; as it is stored when none made it (or the reader
    reads English, the language it is stored in, and it holds no moment nor an old "(s)")."""
    if not text or (_reads_english() and not _SAID_AGAIN_IN_ENGLISH.search(text)):
        return text
    return _shown_in(text, translation.get_language(), timezone.get_current_timezone_name())


def batch_named(text: str) -> int | None:
    """The batch a stored sentence names ("Batch 2: BSG refused it: …", "Held: batch 2 would
    cost…"), or None: in every declared sentence `number` is a batch's number. A line that
    shows such a text beside its batch need not name the batch again."""
    for sentence in SENTENCES:
        if text.startswith(sentence.heads):
            values = sentence.values_in(text)
            if values is not None:
                return _count(values["number"]) if "number" in values else None
    return None


def moment_stored(when: datetime) -> str:
    """`when` as a stored sentence keeps it: in UTC, whoever writes it (shown() says it in the
    reader's zone)."""
    return f"{when.astimezone(UTC):{STORED_MOMENT_FORMAT}} UTC"


def moment_shown(when: datetime) -> str:
    """`when` as text in the reader's time zone (the active one) and date format, the zone
    named: "2026-12-10 10:00 EET", "10.12.2026 10:00 EET"."""
    return moment_words(when, zone=True)


def in_english(text: object) -> str:
    """A message (a lazy label, say) in English, the language stored texts are written in."""
    with translation.override("en"):
        return str(text)


def _reads_english() -> bool:
    return (translation.get_language() or "en").split("-")[0] == "en"


@lru_cache(maxsize=4096)
def _shown_in(text: str, language: str, zone: str) -> str:
    # The language and the zone are the cache key: the same text reads differently in each.
    return _shown(text, 0)


def _shown(text: str, depth: int) -> str:
    if not text or depth > _MAX_DEPTH:
        return text
    said = _sentence_shown(text, depth)
    if said is not None:
        return said
    # A sentence used as the last clause, closed by a full stop that is not its own.
    if text.endswith(".") and not text.endswith(".."):
        said = _sentence_shown(text[:-1], depth)
        if said is not None:
            return said + "."
    if CLAUSE_SEPARATOR in text:
        return CLAUSE_SEPARATOR.join(
            _shown(clause, depth + 1) for clause in text.split(CLAUSE_SEPARATOR)
        )
    return text


def _sentence_shown(text: str, depth: int) -> str | None:
    """`text` translated when it is one whole sentence: a declared one, or one of the
    catalogue's messages without values (a check's words); else None."""
    for sentence in SENTENCES:
        if text.startswith(sentence.heads):
            values = sentence.values_in(text)
            if values is not None:
                return sentence._translated(values, depth=depth)
    message = gettext(text)
    return message if message != text else None


def _label_shown(english: str) -> str:
    """One of campaigns.selectors.APPROVAL_LABELS as stored (perhaps lower-cased), translated."""
    from .selectors import APPROVAL_LABELS  # the labels' module stores sentences too

    for label in APPROVAL_LABELS.values():
        name = in_english(label)
        if english == name:
            return str(label)
        if english == name.lower():
            said = str(label)
            return said[:1].lower() + said[1:]
    return english


def _field_shown(stored: str) -> str:
    """A placeholder's name as a stored sentence keeps it (campaigns.rendering.Slot.name in
    English), said as the composer names it; rows stored before names were stored hold the
    key, the same for the contact's own name and phone. A field's label is its own words."""
    if stored in ("Name", "name"):
        return pgettext("a person's name", "Name")
    if stored in ("Phone", "phone"):
        return gettext("Phone")
    return stored


def _literal_head(form: str) -> str:
    found = _PLACEHOLDER.search(form)
    return form if found is None else form[: found.start()]


def _count(value: object) -> int:
    try:
        return int(str(value).replace(",", ""))
    except ValueError:
        return 0


def _localised(value: str) -> str:
    if _GROUPED_COUNT.fullmatch(value):
        return number_format(int(value.replace(",", "")), force_grouping=True)
    moment = _STORED_MOMENT.fullmatch(value)
    if moment is not None:
        written = datetime.strptime(moment.group(1), STORED_MOMENT_FORMAT).replace(tzinfo=UTC)
        return moment_shown(written)
    return value


# --- the sentences, by who writes them ----------------------------------------------------------
# Declared with the values they are stored with; a sentence whose values may hold another
# sentence names them `inner` (one) or `clauses` (several, or any text).

# campaigns.engine.dispatch. The counts are said in words, the batches' count an inner sentence
# of its own ("1 batch", "3 batches") so each number has its own plural. Rows stored before said
# English's "(s)" and BSG's "campaign", with the batches' count a bare number: found by those
# words and said in these (_parts_said). Batches were called "parts" before the pages called them
# batches; rows stored so are said in the pages' word.
PARTS_COUNT = StoredSentence.ngettext(
    "%(count)s batch",
    "%(count)s batches",
    "count",
    formerly=("%(count)s part", "%(count)s parts"),
)


def _parts_said(values: dict[str, str]) -> dict[str, str]:
    """An old dispatch row's bare count of batches (the "2" of "2 part(s)") as the sentence the
    dispatch stores for it now ("2 batches")."""
    parts = values.pop("parts")
    return {**values, "in_parts": PARTS_COUNT.stored(count=parts)}


DISPATCHED_IN_PARTS = StoredSentence.ngettext(
    "%(recipients)s recipient resolved into %(in_parts)s.",
    "%(recipients)s recipients resolved into %(in_parts)s.",
    "recipients",
    inner=("in_parts",),
    formerly=("%(recipients)s recipients resolved into %(parts)s BSG campaign(s).",),
    formerly_values=_parts_said,
)
DISPATCHED_IN_PARTS_CAPPED = StoredSentence.ngettext(
    "%(recipients)s recipient resolved into %(in_parts)s. %(skipped)s left out: messaged by this "
    "schedule within its frequency cap.",
    "%(recipients)s recipients resolved into %(in_parts)s. %(skipped)s left out: messaged by "
    "this schedule within its frequency cap.",
    "recipients",
    inner=("in_parts",),
    formerly=(
        "%(recipients)s recipients resolved into %(parts)s BSG campaign(s). %(skipped)s left "
        "out: messaged by this schedule within its frequency cap.",
    ),
    formerly_values=_parts_said,
)
NO_RECIPIENTS_LEFT = StoredSentence.gettext_noop("No recipients left to send to.")
NO_RECIPIENTS_LEFT_CAPPED = StoredSentence.gettext_noop(
    "No recipients left to send to. %(skipped)s left out: messaged by this schedule within its "
    "frequency cap."
)
DISPATCH_AUDIT_IN_PARTS = StoredSentence.ngettext(
    "%(recipients)s recipient in %(in_parts)s.",
    "%(recipients)s recipients in %(in_parts)s.",
    "recipients",
    inner=("in_parts",),
    formerly=("%(recipients)s recipient(s) in %(parts)s part(s).",),
    formerly_values=_parts_said,
)
DISPATCH_AUDIT_IN_PARTS_REFUSED = StoredSentence.ngettext(
    "%(recipients)s recipient in %(in_parts)s. %(refusal)s",
    "%(recipients)s recipients in %(in_parts)s. %(refusal)s",
    "recipients",
    inner=("in_parts",),
    clauses=("refusal",),
    formerly=("%(recipients)s recipient(s) in %(parts)s part(s). %(refusal)s",),
    formerly_values=_parts_said,
)
DISPATCH_FAILED = StoredSentence.gettext_noop(
    "The recipients could not be resolved (%(error)s). Nothing was sent. Stop this campaign, "
    "then duplicate it and check its recipients.",
    clauses=("error",),
)
SENT_BACK_FOR_APPROVAL = StoredSentence.gettext_noop(
    "Sent back for approval, nothing sent: %(reason)s", clauses=("reason",)
)
# Why a campaign (or a schedule) approved by one of its authors may not go out now.
OWN_AUTHOR_APPROVED = StoredSentence.gettext_noop(
    "one of its own authors approved it while four-eyes was off, and four-eyes is on now."
)

# campaigns.selectors.audience_changes_text: clauses joined by "; ", closed by a full stop.
AUDIENCE_CHANGED = StoredSentence.ngettext(
    "its recipients or their details changed after it was approved (%(approved)s recipient "
    "approved, %(now)s now)",
    "its recipients or their details changed after it was approved (%(approved)s recipients "
    "approved, %(now)s now)",
    "approved",
    formerly=(
        "its recipients or their details changed after it was approved (%(approved)s recipient(s) "
        "approved, %(now)s now)",
    ),
)
AUDIENCE_CONTACTS_CHANGED = StoredSentence.ngettext(
    "%(count)s contact of its lists changed since, e.g. %(examples)s",
    "%(count)s contacts of its lists changed since, e.g. %(examples)s",
    "count",
    formerly=("%(count)s contact(s) of its lists changed since, e.g. %(examples)s",),
)
AUDIENCE_CONTACTS_ADDED = StoredSentence.ngettext(
    "%(count)s contact added to its lists since",
    "%(count)s contacts added to its lists since",
    "count",
    formerly=("%(count)s contact(s) added to its lists since",),
)

# campaigns.engine.bsg_groups: what BSG's contact book would send, unlike what was approved.
GROUPS_UNREADABLE = StoredSentence.gettext_noop(
    "BSG's contact book could not be read to check the groups (%(error)s)", clauses=("error",)
)
GROUPS_DIFFERENCE = StoredSentence.gettext_noop(
    "%(clauses)s. Push the lists to BSG or correct these contacts in BSG's contact book, then "
    "approve again",
    clauses=("clauses",),
)
GROUPS_EXTRA_OPTED_OUT = StoredSentence.ngettext(
    "BSG's groups hold %(count)s member not among the approved recipients (%(opted_out)s on "
    "do-not-contact): %(examples)s",
    "BSG's groups hold %(count)s members not among the approved recipients (%(opted_out)s on "
    "do-not-contact): %(examples)s",
    "count",
    inner=("examples",),
    formerly=(
        "BSG's groups hold %(count)s member(s) not among the approved recipients (%(opted_out)s on "
        "do-not-contact): %(examples)s",
    ),
)
GROUPS_EXTRA = StoredSentence.ngettext(
    "BSG's groups hold %(count)s member not among the approved recipients: %(examples)s",
    "BSG's groups hold %(count)s members not among the approved recipients: %(examples)s",
    "count",
    inner=("examples",),
    formerly=(
        "BSG's groups hold %(count)s member(s) not among the approved recipients: %(examples)s",
    ),
)
GROUPS_OTHER_VALUES = StoredSentence.ngettext(
    "BSG holds other values for %(count)s member, so their text would differ from the "
    "approved one: %(examples)s",
    "BSG holds other values for %(count)s members, so their text would differ from the "
    "approved one: %(examples)s",
    "count",
    inner=("examples",),
    formerly=(
        "BSG holds other values for %(count)s member(s), so their text would differ from the "
        "approved one: %(examples)s",
    ),
)
GROUPS_MISSING = StoredSentence.ngettext(
    "%(count)s approved recipient is not in BSG's groups",
    "%(count)s approved recipients are not in BSG's groups",
    "count",
    formerly=("%(count)s approved recipient(s) are not in BSG's groups",),
)
PHONES_AND_MORE = StoredSentence.gettext_noop("%(phones)s and %(more)s more")

# campaigns.checks: why BSG's group methods must not send to these lists (the composer says it
# at once; dispatch stores it on the part it refuses).
GROUPS_TOO_BIG = StoredSentence.gettext_noop(
    "The chosen lists have %(members)s contacts; BSG sends at most %(limit)s to contact-book "
    "groups in one campaign. Choose “To contact lists, personalised here”, which sends them in "
    "batches.",
    formerly=(
        "The chosen lists have %(members)s contacts; BSG sends at most %(limit)s to contact-book "
        "groups in one campaign. Choose “To contact lists, personalised here”, which sends them "
        "in parts.",
    ),
)
GROUPS_DO_NOT_CONTACT = StoredSentence.ngettext(
    "%(count)s member of the chosen lists is on the do-not-contact list, and BSG's group "
    "sending would message them anyway (BSG cannot leave a group member out). Choose “To "
    "contact lists” so they are left out.",
    "%(count)s members of the chosen lists are on the do-not-contact list, and BSG's group "
    "sending would message them anyway (BSG cannot leave a group member out). Choose “To "
    "contact lists” so they are left out.",
    "count",
    formerly=(
        "%(count)s member(s) of the chosen lists are on the do-not-contact list, and BSG's group "
        "sending would message them anyway (BSG cannot leave a group member out). Choose “To "
        "contact lists” so they are left out.",
    ),
)
GROUPS_DO_NOT_CONTACT_COPY = StoredSentence.ngettext(
    "%(count)s member of the chosen lists is on the do-not-contact list, and BSG's group "
    "sending would message them anyway (BSG cannot leave a group member out). Duplicate the "
    "campaign and choose “To contact lists” so they are left out.",
    "%(count)s members of the chosen lists are on the do-not-contact list, and BSG's group "
    "sending would message them anyway (BSG cannot leave a group member out). Duplicate the "
    "campaign and choose “To contact lists” so they are left out.",
    "count",
    formerly=(
        "%(count)s member(s) of the chosen lists are on the do-not-contact list, and BSG's group "
        "sending would message them anyway (BSG cannot leave a group member out). Duplicate the "
        "campaign and choose “To contact lists” so they are left out.",
    ),
)

# campaigns.engine.guard_rails: why a batch is held (CampaignPart.error, the event, the audit).
HELD_FAILURE_RATE = StoredSentence.ngettext(
    "Held: %(failed)s of %(final)s messages with a final status failed (%(percent)s%%, above the "
    "%(threshold)s threshold). Check the sender and the list, then resume or stop.",
    "Held: %(failed)s of %(final)s messages with a final status failed (%(percent)s%%, above the "
    "%(threshold)s threshold). Check the sender and the list, then resume or stop.",
    "final",
)
HELD_BALANCE = StoredSentence.gettext_noop(
    "Held: batch %(number)s would cost about %(cost)s %(currency)s and the BSG balance is "
    "%(balance)s %(currency)s. Top up the account, then resume.",
    formerly=(
        "Held: part %(number)s would cost about %(cost)s %(currency)s and the BSG balance is "
        "%(balance)s %(currency)s. Top up the account, then resume.",
    ),
)
HELD_BALANCE_CREDIT = StoredSentence.gettext_noop(
    "Held: batch %(number)s would cost about %(cost)s %(currency)s and the BSG balance is "
    "%(balance)s %(currency)s (credit %(credit)s). Top up the account, then resume.",
    formerly=(
        "Held: part %(number)s would cost about %(cost)s %(currency)s and the BSG balance is "
        "%(balance)s %(currency)s (credit %(credit)s). Top up the account, then resume.",
    ),
)

# campaigns.engine.submit and reconcile: each batch's way to BSG. Each says "Batch" as the
# campaign page's table does; `formerly` holds the words stored before, when it said "Part".
PART_UNCONFIRMED = StoredSentence.gettext_noop(
    "Batch %(number)s: no clear answer from BSG (%(error)s); checking BSG before anything is "
    "sent again.",
    clauses=("error",),
    formerly=(
        "Part %(number)s: no clear answer from BSG (%(error)s); checking BSG before anything is "
        "sent again.",
    ),
)
PART_REFUSED = StoredSentence.gettext_noop(
    "Batch %(number)s: BSG refused it: %(refusal)s",
    clauses=("refusal",),
    formerly=("Part %(number)s: BSG refused it: %(refusal)s",),
)
PART_NOT_SENT = StoredSentence.ngettext(
    "Batch %(number)s: not sent after %(attempts)s attempt; BSG's last answer: %(error)s. "
    "Nothing was accepted by BSG; resume it once BSG answers again.",
    "Batch %(number)s: not sent after %(attempts)s attempts; BSG's last answer: %(error)s. "
    "Nothing was accepted by BSG; resume it once BSG answers again.",
    "attempts",
    clauses=("error",),
    formerly=(
        "Part %(number)s: not sent after %(attempts)s attempt(s); BSG's last answer: %(error)s. "
        "Nothing was accepted by BSG; resume it once BSG answers again.",
        "Part %(number)s: not sent after %(attempts)s attempt; BSG's last answer: %(error)s. "
        "Nothing was accepted by BSG; resume it once BSG answers again.",
        "Part %(number)s: not sent after %(attempts)s attempts; BSG's last answer: %(error)s. "
        "Nothing was accepted by BSG; resume it once BSG answers again.",
    ),
)
PART_SUBMITTED = StoredSentence.gettext_noop(
    "Batch %(number)s sent to BSG: BSG campaign %(bsg_id)s (%(status)s).",
    inner=("status",),
    formerly=("Part %(number)s submitted: BSG campaign %(bsg_id)s (%(status)s).",),
)
PART_RECONCILED = StoredSentence.gettext_noop(
    "Batch %(number)s found at BSG after an unclear answer: BSG campaign %(bsg_id)s (%(status)s).",
    inner=("status",),
    formerly=(
        "Part %(number)s found at BSG after an unclear answer: BSG campaign %(bsg_id)s "
        "(%(status)s).",
    ),
)
STATUS_UNKNOWN = StoredSentence.gettext_noop("status unknown")
PART_UNASKABLE = StoredSentence.gettext_noop(
    "Batch %(number)s: BSG gave no clear answer to the send, and could not be asked whether it "
    "exists (%(error)s). It may or may not have been sent; check BSG's web account before "
    "sending it again.",
    clauses=("error",),
    formerly=(
        "Part %(number)s: BSG gave no clear answer to the send, and could not be asked whether it "
        "exists (%(error)s). It may or may not have been sent; check BSG's web account before "
        "sending it again.",
    ),
)
PART_NONE_AT_BSG = StoredSentence.gettext_noop(
    "Batch %(number)s: %(attempts)s attempts got no clear answer from BSG and BSG holds none of "
    "its messages; nothing was sent. Resume to try again.",
    formerly=(
        "Part %(number)s: %(attempts)s attempts got no clear answer from BSG and BSG holds none "
        "of its messages; nothing was sent. Resume to try again.",
    ),
)
PART_SENT_AGAIN = StoredSentence.gettext_noop(
    "Batch %(number)s: BSG provably holds none of its messages; sending it again with the same "
    "reference ids.",
    formerly=(
        "Part %(number)s: BSG provably holds none of its messages; sending it again with the "
        "same reference ids.",
    ),
)
PART_AMBIGUOUS = StoredSentence.gettext_noop(
    "Batch %(number)s: BSG gave no clear answer, and BSG holds several campaigns that could be "
    "it (%(ids)s); check which one is ours in BSG's web account.",
    formerly=(
        "Part %(number)s: BSG gave no clear answer, and BSG holds several campaigns that could "
        "be it (%(ids)s); check which one is ours in BSG's web account.",
    ),
)

# campaigns.engine.poll
PART_NO_BREAKDOWN = StoredSentence.gettext_noop(
    "BSG gave no breakdown by status for this batch (%(error)s); its figures are BSG's totals "
    "for the campaign.",
    clauses=("error",),
    formerly=(
        "BSG gave no breakdown by status for this part (%(error)s); its figures are BSG's totals "
        "for the campaign.",
    ),
)
# Written before statuses were said in words; kept so rows already stored are still found.
PART_STATUS_CHANGED = StoredSentence.gettext_noop(
    "Batch %(number)s: BSG status %(before)s → %(after)s.",
    formerly=("Part %(number)s: BSG status %(before)s → %(after)s.",),
)
# The statuses in words (campaigns.bsg_words, in English), translated when shown.
PART_STATUS_CHANGED_WORDS = StoredSentence.gettext_noop(
    "Batch %(number)s: %(before)s → %(after)s.",
    inner=("before", "after"),
    formerly=("Part %(number)s: %(before)s → %(after)s.",),
)
EVERY_PART_FINISHED = StoredSentence.gettext_noop(
    "Every batch has finished at BSG.", formerly=("Every part has finished at BSG.",)
)

# campaigns.engine.stop: the event, the audit entry, and BSG's answer kept on each batch.
CANCELLED_BEFORE_SENDING = StoredSentence.gettext_noop(
    "Cancelled before anything was sent; BSG was not called."
)
STOPPED_PARTS = StoredSentence.ngettext(
    "Stopped: %(stopped)s batch stopped at BSG, %(cancelled)s not submitted cancelled, "
    "%(refused)s refused by BSG.",
    "Stopped: %(stopped)s batches stopped at BSG, %(cancelled)s not submitted cancelled, "
    "%(refused)s refused by BSG.",
    "stopped",
    formerly=(
        "Stopped: %(stopped)s part(s) stopped at BSG, %(cancelled)s not submitted cancelled, "
        "%(refused)s refused by BSG.",
        "Stopped: %(stopped)s part stopped at BSG, %(cancelled)s not submitted cancelled, "
        "%(refused)s refused by BSG.",
        "Stopped: %(stopped)s parts stopped at BSG, %(cancelled)s not submitted cancelled, "
        "%(refused)s refused by BSG.",
    ),
)
STOPPED_PARTS_AUDIT = StoredSentence.ngettext(
    "%(stopped)s batch stopped at BSG, %(cancelled)s not submitted cancelled, %(refused)s "
    "refused by BSG.",
    "%(stopped)s batches stopped at BSG, %(cancelled)s not submitted cancelled, %(refused)s "
    "refused by BSG.",
    "stopped",
    formerly=(
        "%(stopped)s part(s) stopped at BSG, %(cancelled)s not submitted cancelled, %(refused)s "
        "refused by BSG.",
        "%(stopped)s part stopped at BSG, %(cancelled)s not submitted cancelled, %(refused)s "
        "refused by BSG.",
        "%(stopped)s parts stopped at BSG, %(cancelled)s not submitted cancelled, %(refused)s "
        "refused by BSG.",
    ),
)
STOP_REFUSED = StoredSentence.gettext_noop("BSG refused to stop it: %(error)s", clauses=("error",))
STOP_UNANSWERED = StoredSentence.gettext_noop(
    "BSG did not answer the stop request (%(error)s); check its status.", clauses=("error",)
)
STOPPED_AT_BSG = StoredSentence.gettext_noop(
    "Stopped at BSG (status %(status)s).", inner=("status",)
)
UNKNOWN = StoredSentence.gettext_noop("unknown")

# campaigns.engine.resume
PART_RESUMED = StoredSentence.gettext_noop(
    "Batch %(number)s resumed.", formerly=("Part %(number)s resumed.",)
)
RESUMED = StoredSentence.ngettext(
    "Resumed: %(count)s held batch will be sent.",
    "Resumed: %(count)s held batches will be sent.",
    "count",
    formerly=(
        "Resumed: %(count)s held part(s) will be sent.",
        "Resumed: %(count)s held part will be sent.",
        "Resumed: %(count)s held parts will be sent.",
    ),
)
RESUMED_AUDIT = StoredSentence.ngettext(
    "%(count)s held batch will be sent; the failure-rate hold is overridden.",
    "%(count)s held batches will be sent; the failure-rate hold is overridden.",
    "count",
    formerly=(
        "%(count)s held part(s) will be sent; the failure-rate hold is overridden.",
        "%(count)s held part will be sent; the failure-rate hold is overridden.",
        "%(count)s held parts will be sent; the failure-rate hold is overridden.",
    ),
)

# campaigns.engine.followup
RETRY_OF = StoredSentence.gettext_noop("Retry of the failed recipients of “%(name)s”.")
RETRY_OF_AUDIT = StoredSentence.gettext_noop(
    "Retry of the failed recipients of “%(name)s” (#%(id)s), asked to send."
)
# The do-not-contact entry's reason (contacts.DoNotContact.reason).
DELIVERY_FAILED_IN = StoredSentence.gettext_noop(
    "Delivery failed in %(count)s campaigns (campaign %(id)s)."
)
FAILURES_TO_DO_NOT_CONTACT = StoredSentence.ngettext(
    "%(count)s recipient who failed repeatedly added to do-not-contact.",
    "%(count)s recipients who failed repeatedly added to do-not-contact.",
    "count",
    formerly=("%(count)s recipient(s) who failed repeatedly added to do-not-contact.",),
)

# campaigns.engine.discovery and sweep
FOUND_ON_BSG = StoredSentence.gettext_noop(
    "Found on the BSG account (BSG campaign %(bsg_id)s, %(status)s): created elsewhere, shown "
    "read-only.",
    inner=("status",),
)
PART_CANCELLED_STOPPED = StoredSentence.gettext_noop(
    "Batch %(number)s cancelled: the campaign was stopped before it was sent.",
    formerly=("Part %(number)s cancelled: the campaign was stopped before it was sent.",),
)

# campaigns.engine.schedules: a recurring campaign's runs and its approval.
SCHEDULE_NOT_SENT = StoredSentence.gettext_noop(
    "Not sent by schedule “%(name)s”: %(problems)s", clauses=("problems",)
)
SCHEDULE_SENT = StoredSentence.gettext_noop(
    "Sent by schedule “%(name)s” (run %(run)s), as approved by %(approver)s on %(when)s.",
    inner=("approver",),
)
AN_APPROVER = StoredSentence.gettext_noop("an approver")
SCHEDULE_TIMING_CHANGED = StoredSentence.gettext_noop(
    "when it runs or its frequency cap changed after it was approved."
)
SCHEDULE_TEMPLATE_CHANGED = StoredSentence.gettext_noop(
    "%(changed)s of “%(campaign)s” changed after it was approved.", labels=("changed",)
)
SCHEDULE_APPROVAL_VOID = StoredSentence.gettext_noop(
    "Approval void, runs stopped: %(reason)s", clauses=("reason",)
)
SCHEDULE_SET_UP = StoredSentence.gettext_noop("Recurring campaign set up; it waits for approval.")
SCHEDULE_APPROVED = StoredSentence.gettext_noop(
    "Approved: each run sends “%(campaign)s” as it reads now, %(timing)s %(zone)s.",
    inner=("timing",),
)
# A schedule's timing in its audit entries; also what its approval compares (so never
# translated where it is stored).
CRON_TEXT = StoredSentence.gettext_noop(
    "at minute %(minute)s, hour %(hour)s, day of month %(day_of_month)s, month "
    "%(month_of_year)s, day of week %(day_of_week)s"
)

# campaigns.approval: asking, approving, sending back, and an approval an edit voided.
APPROVAL_REQUESTED_NOW = StoredSentence.gettext_noop(
    "Approval requested, to send as soon as approved."
)
APPROVAL_REQUESTED_AT = StoredSentence.gettext_noop("Approval requested, to send at %(when)s.")
ASKED_FOR_APPROVAL_NOW = StoredSentence.gettext_noop(
    "Asked for approval, to send as soon as approved."
)
ASKED_FOR_APPROVAL_AT = StoredSentence.gettext_noop("Asked for approval, to send at %(when)s.")
APPROVED_NOW = StoredSentence.gettext_noop("Approved; sending now.")
APPROVED_AT = StoredSentence.gettext_noop("Approved; scheduled for %(when)s.")
FIRST_APPROVED_NOW = StoredSentence.gettext_noop(
    "Approved; sending now. First approval of this campaign."
)
FIRST_APPROVED_AT = StoredSentence.gettext_noop(
    "Approved; scheduled for %(when)s. First approval of this campaign."
)
# The reason itself is the approver's, in their words and language.
SENT_BACK = StoredSentence.gettext_noop("Sent back: %(reason)s", clauses=("reason",))
APPROVAL_VOID = StoredSentence.gettext_noop(
    "Approval void: %(changed)s changed after it was approved.", labels=("changed",)
)

# campaigns.services: the composer's audit entries and a test send's outcome.
PASTED_NUMBERS = StoredSentence.ngettext(
    "%(count)s number", "%(count)s numbers", "count", formerly=("%(count)s number(s)",)
)
PASTED_NUMBERS_SWAPPED = StoredSentence.gettext_noop("%(numbers)s, other ones", inner=("numbers",))
DUPLICATED_FROM = StoredSentence.gettext_noop("Duplicated from “%(name)s” (#%(id)s).")
TEST_SEND_UNANSWERED = StoredSentence.gettext_noop(
    "BSG's answer never came, so it may have been sent; not repeated. (%(error)s)",
    clauses=("error",),
)


# The number is stored as BSG knows it ("+380501111111"), so the audit log can be searched by it,
# and said as people read it ("+380 50 111 1111", contacts.phones.phone_display).
TEST_SEND_AUDIT = StoredSentence.gettext_noop(
    "Test send to %(phone)s: %(outcome)s", clauses=("outcome",), phones=("phone",)
)
TEST_SEND_ACCEPTED = StoredSentence.gettext_noop("accepted by BSG as campaign %(bsg_id)s.")
# Whose data filled a test send's placeholders (TestSend.rendered_as).
RENDERED_WITHOUT_CONTACT = StoredSentence.gettext_noop(
    "The audience has no contact, so each placeholder shows its name."
)
RENDERED_AS_NOTED = StoredSentence.gettext_noop(
    "Rendered as %(who)s, %(how)s; %(notes)s.", inner=("who", "how"), clauses=("notes",)
)
RENDERED_AS = StoredSentence.gettext_noop("Rendered as %(who)s, %(how)s.", inner=("who", "how"))
# The contact's number stored as BSG knows it ("+380501111111"), said as people read it. No
# words of its own to translate, so not in the catalogue (made without gettext_noop).
NAMED_CONTACT = StoredSentence("%(name)s (%(phone)s)", phones=("phone",))
NAMELESS_CONTACT = StoredSentence.gettext_noop(
    "a contact without a name (%(phone)s)", phones=("phone",)
)
AS_CHOSEN = StoredSentence.gettext_noop("as chosen")
FIRST_OF_AUDIENCE = StoredSentence.gettext_noop("the first contact of the audience")
FIRST_OF_AUDIENCE_FILLED = StoredSentence.gettext_noop(
    "the first contact of the audience with every placeholder filled"
)
FALLBACK_FOR = StoredSentence.gettext_noop("the fallback for: %(fields)s", fields=("fields",))
EMPTY_FOR_THEM = StoredSentence.gettext_noop("empty for them: %(fields)s", fields=("fields",))
EMPTY_FOR_THEM_LEFT_OUT = StoredSentence.gettext_noop(
    "empty for them: %(fields)s (the campaign leaves such recipients out)", fields=("fields",)
)

# campaigns.selectors.campaign_approval_snapshot: the sending window, as the approval stores and
# compares it (so the snapshot reads the same whoever takes it, in whatever language).
WINDOW_SERVER_TIME = StoredSentence.gettext_noop("%(start)s to %(end)s server time")
WINDOW = StoredSentence.gettext_noop("%(start)s to %(end)s %(zone)s")

# campaigns.sendplan: a plan's failure, and BSG's answers kept in its figures (SendPlan.result).
PLAN_NOT_COMPUTED = StoredSentence.gettext_noop(
    "The plan could not be computed: %(error)s", clauses=("error",)
)
RCS_PRICED_ON_DELIVERY = StoredSentence.gettext_noop("BSG prices RCS when it is delivered.")
NO_RECIPIENTS_TO_PRICE = StoredSentence.gettext_noop("No recipients to price.")
FALLBACK_NOT_PRICED = StoredSentence.gettext_noop(
    "BSG did not estimate the SMS fallback: %(error)s", clauses=("error",)
)
NOT_PRICED = StoredSentence.gettext_noop(
    "BSG did not estimate the price: %(error)s", clauses=("error",)
)
NO_BALANCE = StoredSentence.gettext_noop(
    "BSG did not give the balance: %(error)s", clauses=("error",)
)
# Why BSG did not answer at all, in a marketer's words (campaigns.bsg_words.bsg_trouble): the
# header's balance, the plan's price and balance. The technical detail (the method, path and
# status) goes in a title and the log, never in the sentence.
BSG_NO_API_KEY = StoredSentence.gettext_noop(
    "BSG cannot be reached right now: no API key is set. Ask an admin."
)
BSG_KEY_REFUSED = StoredSentence.gettext_noop("BSG refused our API key. Ask an admin to check it.")
BSG_UNREACHABLE = StoredSentence.gettext_noop(
    "BSG cannot be reached right now. Try again in a few minutes."
)

# campaigns.message_templates and campaigns.archive: audit entries people read on the campaign's
# history (and on the audit log).
MESSAGE_TEMPLATE_DELETED = StoredSentence.gettext_noop(
    "Message template deleted: “%(name)s” (#%(id)s)."
)
STARTED_FROM_TEMPLATE = StoredSentence.gettext_noop(
    "Started from the message template “%(name)s” (#%(id)s)."
)
ARCHIVED = StoredSentence.gettext_noop(
    "Archived: hidden from the campaigns page and the recurring picker."
)
RESTORED = StoredSentence.gettext_noop("Restored from the archive.")
DRAFT_DELETED = StoredSentence.gettext_noop("Draft deleted: “%(name)s” (#%(id)s).")
