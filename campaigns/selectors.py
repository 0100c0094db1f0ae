"""Reads for the campaigns app: the composer's audience and plan, the approval snapshot, the
ledger and schedules. The dashboard pages' reads live in campaigns/dashboard.py."""

import csv
import functools
import hashlib
import io
import json
import math
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from itertools import islice
from typing import Any, NamedTuple

from django.conf import settings
from django.db import connection
from django.db.models import Count, F, Q, Sum, TextField, Window
from django.db.models.fields.json import KeyTransform
from django.db.models.functions import Cast, Mod, RowNumber
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext, pgettext

from audit.words import moment_words
from bsg import rules
from config.streaming import rows_streamed
from contacts.csvsafe import neutralise_cell, phone_cell
from contacts.models import ContactField, DoNotContact, ListMembership
from contacts.phones import InvalidPhone, normalize_phone
from contacts.selectors import audience_contacts, audience_summary, do_not_contact_phones

from .models import (
    DELIVERED_MESSAGE_STATUSES,
    FAILED_MESSAGE_STATUSES,
    Campaign,
    CampaignPart,
    CampaignSchedule,
    Recipient,
    SavedSender,
    SendPlan,
    TestPhone,
    TestSend,
)
from .rendering import CompiledText, own_name
from .stored_text import (
    AUDIENCE_CHANGED,
    AUDIENCE_CONTACTS_ADDED,
    AUDIENCE_CONTACTS_CHANGED,
    CLAUSE_SEPARATOR,
    WINDOW,
    WINDOW_SERVER_TIME,
    in_english,
    shown,
)

# --- audiences ---------------------------------------------------------------------------------

# "number = reference" on one pasted line; entries are split at line ends, commas and semicolons.
_LINE_ENDS = re.compile(r"\r\n|\r|\n")
_ENTRY_SEPARATORS = re.compile(r"[,;]")


@dataclass(frozen=True)
class PastedNumber:
    phone: str
    reference_id: str | None
    # The line of the pasted text it was on (1-based), for messages that name it.
    line: int = 0


@dataclass(frozen=True)
class RepeatedReference:
    """A reference id given to a second number: BSG and our ledger need each one once."""

    reference_id: str
    line: int
    first_line: int


@dataclass(frozen=True)
class InvalidEntry:
    entry: str
    message: str


@dataclass(frozen=True)
class PastedNumbers:
    """What a pasted block of numbers holds, after normalisation and de-duplication."""

    numbers: tuple[PastedNumber, ...]
    invalid: tuple[InvalidEntry, ...]
    duplicates: int
    repeated_references: tuple[RepeatedReference, ...] = ()


def pasted_numbers_parse(*, text: str) -> PastedNumbers:
    """Numbers pasted or typed for "To numbers", read the way contacts read them.

    Entries are separated by new lines, commas or semicolons; spaces inside an entry are part of
    the number (+380 50 123 45 67), unless the entry only makes sense as several numbers
    separated by spaces. `number = ref` gives that number BSG's optional reference id. A number
    given twice is sent once (the first reference id wins); a reference id given to two
    numbers is reported in `repeated_references` (sending refuses it).
    """
    numbers: dict[str, PastedNumber] = {}
    invalid: list[InvalidEntry] = []
    duplicates = 0
    reference_lines: dict[str, int] = {}
    repeated: list[RepeatedReference] = []
    for line, text_line in enumerate(_LINE_ENDS.split(text or ""), start=1):
        for raw in _ENTRY_SEPARATORS.split(text_line):
            entry = raw.strip()
            if not entry:
                continue
            reference: str | None = None
            if "=" in entry:
                entry_number, reference = (part.strip() for part in entry.split("=", 1))
                problem = rules.reference_id_error(reference)
                if problem:
                    invalid.append(InvalidEntry(entry=entry, message=problem))
                    continue
            else:
                entry_number = entry
            try:
                phones = [normalize_phone(entry_number)]
            except InvalidPhone as error:
                phones = _space_separated(entry_number)
                if not phones or reference is not None:
                    invalid.append(InvalidEntry(entry=entry, message=str(error)))
                    continue
            for phone in phones:
                if phone in numbers:
                    duplicates += 1
                    continue
                numbers[phone] = PastedNumber(phone=phone, reference_id=reference, line=line)
                if reference is None:
                    continue
                if reference in reference_lines:
                    repeated.append(RepeatedReference(reference, line, reference_lines[reference]))
                else:
                    reference_lines[reference] = line
    return PastedNumbers(
        numbers=tuple(numbers.values()),
        invalid=tuple(invalid),
        duplicates=duplicates,
        repeated_references=tuple(repeated),
    )


# Campaigns whose pasted reference ids are spoken for although not yet in the ledger: the
# engine writes the ledger when it dispatches them.
_WAITING_TO_SEND = (
    Campaign.Status.AWAITING_APPROVAL,
    Campaign.Status.READY,
    Campaign.Status.SCHEDULED,
)
_REFERENCE_BATCH = 1_000
# Ten thousand pasted numbers could all be wrong: the field shows the first ones and a count.
REFERENCE_PROBLEMS_SHOWN = 20


def pasted_reference_problems(*, parsed: PastedNumbers, campaign_id: int | None) -> list[str]:
    """Why the pasted reference ids cannot be sent, line by line: each may be used once, here
    and account-wide (the ledger's reference_id is unique, and BSG finds messages by it).

    Checks the numbers' own repeats, the ledgers of campaigns sent before, and the pasted
    numbers of campaigns waiting to send (their ledger is written only when they go)."""
    problems = [
        _("Line %(first)s and line %(line)s both use reference id %(reference)s.")
        % {"first": r.first_line, "line": r.line, "reference": r.reference_id}
        for r in parsed.repeated_references
    ]
    lines = {n.reference_id: n.line for n in parsed.numbers if n.reference_id is not None}
    if not lines:
        return problems
    others = Campaign.objects.exclude(pk=campaign_id) if campaign_id else Campaign.objects.all()
    # reference id -> (whose, waiting to send or already sent)
    used: dict[str, tuple[str, bool]] = {}
    references = list(lines)
    for start in range(0, len(references), _REFERENCE_BATCH):
        batch = references[start : start + _REFERENCE_BATCH]
        found = Recipient.objects.filter(reference_id__in=batch).exclude(campaign_id=campaign_id)
        for reference, name in found.values_list("reference_id", "campaign__name"):
            used.setdefault(reference, (name, False))
    waiting = others.filter(
        status__in=_WAITING_TO_SEND,
        channel=Campaign.Channel.SMS,
        sms_mode=Campaign.SmsMode.NUMBERS,
        retry_of__isnull=True,
        pasted_numbers__contains="=",
    )
    for name, pasted in waiting.values_list("name", "pasted_numbers").iterator():
        for number in pasted_numbers_parse(text=pasted).numbers:
            if number.reference_id in lines:
                used.setdefault(number.reference_id, (name, True))
    problems += [
        _reference_taken(line, reference, *used[reference])
        for reference, line in lines.items()
        if reference in used
    ]
    if len(problems) > REFERENCE_PROBLEMS_SHOWN:
        more = len(problems) - REFERENCE_PROBLEMS_SHOWN
        problems = [
            *problems[:REFERENCE_PROBLEMS_SHOWN],
            ngettext(
                "…and %(count)s more reference ids.", "…and %(count)s more reference ids.", more
            )
            % {"count": more},
        ]
    return problems


def _reference_taken(line: int, reference: str, name: str, waiting: bool) -> str:
    said = {"line": line, "reference": reference, "name": name}
    if waiting:
        return (
            _(
                "Line %(line)s: reference id %(reference)s is already taken by campaign "
                "“%(name)s”, waiting to send."
            )
            % said
        )
    return (
        _("Line %(line)s: reference id %(reference)s was already used by campaign “%(name)s”.")
        % said
    )


def _space_separated(entry: str) -> list[str]:
    tokens = entry.split()
    if len(tokens) < 2:
        return []
    try:
        return [normalize_phone(token) for token in tokens]
    except InvalidPhone:
        return []


@dataclass(frozen=True)
class AudienceCounts:
    """Who a campaign reaches: the totals the preview and the send plan show."""

    recipients: int
    excluded_do_not_contact: int
    duplicates: int
    invalid: int
    bsg_campaigns: int


def bsg_campaigns_for(*, channel: str, recipients: int) -> int:
    """How many BSG campaigns an audience splits into (10,000 SMS / 5,000 RCS each)."""
    size = rules.MAX_RCS_RECIPIENTS if channel == "rcs" else rules.MAX_SMS_RECIPIENTS
    return -(-recipients // size) if recipients else 0


def campaign_list_ids(*, campaign: Campaign) -> list[int]:
    return sorted(campaign.lists.values_list("id", flat=True)) if campaign.pk else []


def audience_counts(
    *, channel: str, sms_mode: str, list_ids: list[int], pasted: str
) -> AudienceCounts:
    """Totals for an audience as composed (saved or not): recipients, exclusions, BSG splits."""
    if channel == Campaign.Channel.SMS and sms_mode == Campaign.SmsMode.NUMBERS:
        parsed = pasted_numbers_parse(text=pasted)
        opted_out = do_not_contact_phones(phones=[n.phone for n in parsed.numbers])
        recipients = len(parsed.numbers) - len(opted_out)
        return AudienceCounts(
            recipients=recipients,
            excluded_do_not_contact=len(opted_out),
            duplicates=parsed.duplicates,
            invalid=len(parsed.invalid),
            bsg_campaigns=bsg_campaigns_for(channel=channel, recipients=recipients),
        )
    summary = audience_summary(list_ids=list_ids)
    memberships = ListMembership.objects.filter(contact_list_id__in=list_ids).count()
    return AudienceCounts(
        recipients=summary.recipients,
        excluded_do_not_contact=summary.excluded,
        # A contact in two of the lists is sent one message.
        duplicates=max(0, memberships - summary.members),
        invalid=0,
        bsg_campaigns=bsg_campaigns_for(channel=channel, recipients=summary.recipients),
    )


class AudienceRow(NamedTuple):
    # A named tuple: ten million are made for a send plan, and a tuple costs ~40 % less to
    # make than a dataclass with slots.

    phone: str
    name: str
    fields: dict
    reference_id: str | None
    contact_id: int | None
    # Its place in the audience's order, for cutting the audience into dispatch slices: the
    # contact's id, or a pasted number's index among the numbers as pasted.
    key: int = 0


def audience_rows(
    *,
    channel: str,
    sms_mode: str,
    list_ids: list[int],
    pasted: str,
    limit: int | None = None,
    chunk_size: int = 5_000,
    opted_out_by: datetime | None = None,
    first_key: int | None = None,
    end_key: int | None = None,
    field_keys: Sequence[str] | None = None,
) -> Iterator[AudienceRow]:
    """Every recipient once, do-not-contact numbers left out (those on the list by
    `opted_out_by`, if given: contacts.selectors.audience_contacts), streamed from the database;
    with `first_key` / `end_key`, only those whose key is at least / below them (one slice of a
    dispatch: audience_slice_keys). With `field_keys`, each row's `fields` holds those fields
    only (the ones a text's placeholders read), with the values `fields` would hold.

    Lists are read as tuples (config.streaming.rows_streamed), so a million contacts never sit
    in memory as model instances, and the caller may write while it reads.
    """
    if channel == Campaign.Channel.SMS and sms_mode == Campaign.SmsMode.NUMBERS:
        parsed = pasted_numbers_parse(text=pasted)
        opted_out = do_not_contact_phones(
            phones=[n.phone for n in parsed.numbers], opted_out_by=opted_out_by
        )
        numbers = (
            (key, n)
            for key, n in enumerate(parsed.numbers)
            if n.phone not in opted_out
            and (first_key is None or key >= first_key)
            and (end_key is None or key < end_key)
        )
        for index, (key, number) in enumerate(numbers):
            if limit is not None and index >= limit:
                return
            yield AudienceRow(number.phone, "", {}, number.reference_id, None, key)
        return
    contacts = audience_contacts(
        list_ids=list_ids, opted_out_by=opted_out_by, first_key=first_key, end_key=end_key
    )
    if field_keys is not None and connection.vendor == "postgresql":
        yield from _audience_contacts_projected(contacts, tuple(field_keys), limit, chunk_size)
        return
    # The fields as JSON text, decoded here: what JSONField's converter does, without Django's
    # per-row converter loop around it (a fifth of a dispatch's own CPU per recipient).
    rows = contacts.annotate(fields_text=Cast("fields", TextField())).values_list(
        "id", "phone", "name", "fields_text"
    )
    streamed = rows_streamed(rows, key="id", chunk_size=chunk_size)
    decode = json.loads
    for contact_id, phone, name, text in streamed if limit is None else islice(streamed, limit):
        fields = decode(text) if text else {}
        yield AudienceRow(phone, name, fields, None, contact_id, contact_id)


def _audience_contacts_projected(
    contacts, field_keys: tuple[str, ...], limit: int | None, chunk_size: int
) -> Iterator[AudienceRow]:
    """audience_rows' contacts with only `field_keys` of their fields: each value read as its
    own JSON text (`fields -> key`), so ten million recipients neither cross the wire with
    every field nor cost a JSON parse of a whole object each. A string without an escape is
    the text between its quotes; anything else is parsed as JSON, so every value is what
    json.loads of the whole object would have given (the digest the approver approved is made
    of them). PostgreSQL only: SQLite keeps reading the whole object."""
    names = [f"field_{index}" for index in range(len(field_keys))]
    rows = contacts.annotate(
        **{
            name: Cast(KeyTransform(key, "fields"), TextField())
            for name, key in zip(names, field_keys, strict=True)
        }
    ).values_list("id", "phone", "name", *names)
    streamed = rows_streamed(rows, key="id", chunk_size=chunk_size)
    yield from _projected_rows_reader(field_keys)(
        streamed if limit is None else islice(streamed, limit)
    )


# One field's value in _projected_rows_reader's generated code: a string without an escape is
# the text between its quotes, anything else is JSON (exactly what json.loads of the object
# gave: the approved digest is made of these values).
_PROJECTED_FIELD = """\
        if {text} is not None:
            fields[keys[{index}]] = (
                {text}[1:-1] if {text}[0] == '"' and "\\\\" not in {text} else decode({text})
            )
"""


@functools.lru_cache(maxsize=64)
def _projected_rows_reader(field_keys: tuple[str, ...]) -> Callable[[Iterable[tuple]], Iterator]:
    """A generator function made for these keys: it turns each (id, phone, name, *value
    texts) into an AudienceRow with one statement a field, no loop, zip or unpacking into a
    list (half of what a generic comprehension cost a row; a send plan reads ten million)."""
    texts = [f"t{index}" for index in range(len(field_keys))]
    source = (
        "def read(rows):\n"
        f"    for contact_id, phone, name{''.join(', ' + text for text in texts)} in rows:\n"
        "        fields = {}\n"
        + "".join(_PROJECTED_FIELD.format(text=text, index=i) for i, text in enumerate(texts))
        + "        yield Row(phone, name, fields, None, contact_id, contact_id)\n"
    )
    namespace = {"keys": field_keys, "decode": json.loads, "Row": AudienceRow}
    exec(compile(source, "<audience rows>", "exec"), namespace)  # noqa: S102
    return namespace["read"]


def audience_slice_keys(
    *,
    channel: str,
    sms_mode: str,
    list_ids: list[int],
    pasted: str,
    every: int,
    opted_out_by: datetime | None = None,
) -> list[int]:
    """The key of the first recipient of each run of `every` in audience_rows' order (the
    1st, the every+1st, ...): where a dispatch cuts the audience into slices. For contacts
    PostgreSQL numbers the rows and sends only the keys, so ten million recipients cost one
    read of their ids on the server and a thousand ids over the wire."""
    if channel == Campaign.Channel.SMS and sms_mode == Campaign.SmsMode.NUMBERS:
        keys = [
            row.key
            for row in audience_rows(
                channel=channel,
                sms_mode=sms_mode,
                list_ids=list_ids,
                pasted=pasted,
                opted_out_by=opted_out_by,
            )
        ]
        return keys[::every]
    # No ordering of the query's own: Django wraps a filter on a window in an outer query
    # that kept the model's ordering, and PostgreSQL then sorted all ten million numbered
    # rows (on disk) before keeping every `every`-th: ~4 s of the cut's 18. Sorted here.
    numbered = (
        audience_contacts(list_ids=list_ids, opted_out_by=opted_out_by)
        .order_by()
        .annotate(position=Window(RowNumber(), order_by=F("id").asc()))
    )
    firsts = numbered.annotate(in_run=Mod(F("position") - 1, every)).filter(in_run=0)
    return sorted(firsts.values_list("id", flat=True))


def campaign_audience_rows(
    *,
    campaign: Campaign,
    limit: int | None = None,
    opted_out_by: datetime | None = None,
    first_key: int | None = None,
    end_key: int | None = None,
    field_keys: Sequence[str] | None = None,
) -> Iterator[AudienceRow]:
    return audience_rows(
        channel=campaign.channel,
        sms_mode=campaign.sms_mode,
        list_ids=campaign_list_ids(campaign=campaign),
        pasted=campaign.pasted_numbers,
        limit=limit,
        opted_out_by=opted_out_by,
        first_key=first_key,
        end_key=end_key,
        field_keys=field_keys,
    )


def campaign_audience_slice_keys(
    *, campaign: Campaign, every: int, opted_out_by: datetime | None = None
) -> list[int]:
    return audience_slice_keys(
        channel=campaign.channel,
        sms_mode=campaign.sms_mode,
        list_ids=campaign_list_ids(campaign=campaign),
        pasted=campaign.pasted_numbers,
        every=every,
        opted_out_by=opted_out_by,
    )


def placeholder_choices() -> list[tuple[str, str]]:
    """(placeholder, label) for the composer's "Insert field" picker: the contact's own name
    and phone, then every contact field."""
    choices = [("{name}", pgettext("a person's name", "Name")), ("{phone}", _("Phone"))]
    for key, label in ContactField.objects.order_by("label", "key").values_list("key", "label"):
        choices.append((f"{{{key}}}", label or key))
    return choices


def placeholder_names(*, labels: Iterable[str]) -> dict[str, str]:
    """Each placeholder's name (rendering.Slot.name) by the label a send plan's figures keep it
    under (its field's key, or "name" and "phone"): the field's label as it reads now, its key
    when the field is gone. One query, none when only the contact's own columns are named."""
    names = {label: own_name(label) for label in labels}
    keys = [label for label, name in names.items() if name is None]
    if keys:
        names.update(ContactField.objects.filter(key__in=keys).values_list("key", "label"))
    return {label: name or label for label, name in names.items()}


# A test send renders as one real recipient: the first of this many with every placeholder
# filled, else the first of them. Bounded, so a million-contact list costs one small read.
TEST_CONTACT_SCAN = 1_000


def test_send_contact(*, campaign: Campaign, compiled: CompiledText) -> AudienceRow | None:
    """The audience's recipient a test send renders as when no contact was chosen: the first
    one with a value for every placeholder of `compiled`, or else the first one; None when the
    audience is empty."""
    first = None
    for row in campaign_audience_rows(campaign=campaign, limit=TEST_CONTACT_SCAN):
        if not compiled.personalise(phone=row.phone, name=row.name, fields=row.fields).missing:
            return row
        first = first or row
    return first


def campaign_latest_plan(*, campaign_id: int) -> SendPlan | None:
    return SendPlan.objects.filter(campaign_id=campaign_id).order_by("-created_at", "-id").first()


def test_phones_for(*, user: Any) -> list[TestPhone]:
    """The phones this person may send tests to: their own and the team's shared ones (an
    admin keeps the list, Admin -> Test phones)."""
    if user is None or not getattr(user, "is_authenticated", False):
        return []
    return list(TestPhone.objects.filter(Q(owner__isnull=True) | Q(owner=user)))


def saved_senders() -> list[SavedSender]:
    return list(SavedSender.objects.all())


def test_sends_of(*, campaign_id: int, limit: int = 5) -> list[TestSend]:
    return list(TestSend.objects.filter(campaign_id=campaign_id)[:limit])


# --- four-eyes approval: what was approved, and what changed since -------------------------------

# Snapshot key -> what the approver reads. Text, audience and schedule are what issue 6 asks to
# show; the rest changes what goes out just as much.
# English is what the log stores of them (campaigns.stored_text, in_english).
APPROVAL_LABELS = {
    "name": gettext_lazy("Name"),
    "channel": gettext_lazy("Channel"),
    "sms_mode": gettext_lazy("Send to"),
    "rcs_mode": gettext_lazy("Send to"),
    "sender": gettext_lazy("Sender"),
    "text": gettext_lazy("Text"),
    "pasted_numbers": gettext_lazy("Numbers"),
    "lists": gettext_lazy("Lists"),
    "rcs_agent": gettext_lazy("RCS agent"),
    "rcs_cards": gettext_lazy("RCS cards"),
    "rcs_check_stop_list": gettext_lazy("BSG stop-list check"),
    "fallback_enabled": gettext_lazy("SMS fallback"),
    "fallback_text": gettext_lazy("Fallback text"),
    "fallback_sender": gettext_lazy("Fallback sender"),
    "fallback_validity_hours": gettext_lazy("Fallback validity (hours)"),
    "missing_values": gettext_lazy("Recipients missing a value"),
    "validity_hours": gettext_lazy("Validity (hours)"),
    "tariff_code": gettext_lazy("Tariff"),
    "send_at": gettext_lazy("When"),
    "bsg_schedules": gettext_lazy("Scheduled by BSG"),
    "window": gettext_lazy("Sending window"),
    "audience": gettext_lazy("Recipients and their details"),
}
# Sets of entries: the approver reads what was added and removed, not two long lists.
APPROVAL_SET_KEYS = ("lists", "pasted_numbers")


@dataclass(frozen=True)
class ApprovalChange:
    key: str
    # Lazy: read in the reader's language, and in English where the log stores it.
    label: str | Promise
    before: str
    after: str
    added: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()


def campaign_approval_snapshot(*, campaign: Campaign) -> dict:
    """What an approver approves: content, audience and when, as JSON (Campaign.approval_snapshot).

    "send_at" is the author's intent while the campaign waits (None: as soon as approved)."""
    window = ""
    if campaign.has_window:
        hours = {"start": f"{campaign.window_start:%H:%M}", "end": f"{campaign.window_end:%H:%M}"}
        if campaign.window_time_zone:
            window = WINDOW.stored(**hours, zone=campaign.window_time_zone)
        else:
            window = WINDOW_SERVER_TIME.stored(**hours)
    lists = sorted(campaign.lists.values_list("id", "name")) if campaign.pk else []
    return {
        "name": campaign.name,
        "channel": campaign.channel,
        "sms_mode": campaign.sms_mode if campaign.is_sms else "",
        "sender": campaign.sender if campaign.is_sms else "",
        "text": campaign.text if campaign.is_sms else "",
        "missing_values": campaign.missing_values if campaign.is_sms else "",
        "pasted_numbers": sorted(
            {line.strip() for line in re.split(r"[\n,;]+", campaign.pasted_numbers) if line.strip()}
        )
        if campaign.is_sms and not campaign.uses_lists
        else [],
        "lists": [f"{name} (#{pk})" for pk, name in lists] if campaign.uses_lists else [],
        # None on SMS, so snapshots taken before RCS had a choice read the same.
        "rcs_mode": (campaign.rcs_mode or Campaign.RcsMode.LISTS) if campaign.is_rcs else None,
        "rcs_agent": campaign.rcs_agent if campaign.is_rcs else "",
        "rcs_cards": campaign.rcs_cards if campaign.is_rcs else [],
        "rcs_check_stop_list": campaign.rcs_check_stop_list if campaign.is_rcs else None,
        "fallback_enabled": campaign.fallback_enabled if campaign.is_rcs else None,
        "fallback_text": campaign.fallback_text if campaign.is_rcs else "",
        "fallback_sender": campaign.fallback_sender if campaign.is_rcs else "",
        "fallback_validity_hours": campaign.fallback_validity_hours if campaign.is_rcs else None,
        "validity_hours": campaign.validity_hours,
        "tariff_code": campaign.tariff_code,
        "send_at": campaign.approval_send_at.isoformat() if campaign.approval_send_at else None,
        "bsg_schedules": campaign.bsg_schedules,
        "window": window,
        "audience": _planned_audience(campaign),
    }


def _planned_audience(campaign: Campaign) -> dict | None:
    """Who gets what, as the latest send plan read it (campaigns.audience_digest): approving
    approves these recipients with these values. None without a plan that still holds."""
    plan = campaign_latest_plan(campaign_id=campaign.pk) if campaign.pk else None
    if plan is None or plan.status != SendPlan.Status.DONE:
        return None
    if campaign.audience_changed_at and plan.created_at <= campaign.audience_changed_at:
        return None
    return plan.result.get("audience")


def audience_changes_text(*, campaign: Campaign, since: datetime, approved: int, now: int) -> str:
    """What dispatch found changed in a campaign's recipients since its approval, in words for
    the approver (the digest says that something changed; this says where to look)."""
    said = [AUDIENCE_CHANGED.stored(approved=approved, now=now)]
    list_ids = campaign_list_ids(campaign=campaign)
    if list_ids and campaign.uses_lists:
        changed = audience_contacts(list_ids=list_ids).filter(updated_at__gt=since)
        count = changed.count()
        if count:
            examples = ", ".join(
                f"“{name}” (+{phone})" if name else f"+{phone}"
                for name, phone in changed.order_by("-updated_at", "-id").values_list(
                    "name", "phone"
                )[:5]
            )
            said.append(AUDIENCE_CONTACTS_CHANGED.stored(count=count, examples=examples))
        added = ListMembership.objects.filter(
            contact_list_id__in=list_ids, added_at__gt=since
        ).count()
        if added:
            said.append(AUDIENCE_CONTACTS_ADDED.stored(count=added))
    return CLAUSE_SEPARATOR.join(said) + "."


def campaign_approval_fingerprint(*, snapshot: dict) -> str:
    """What the approver saw, posted back with "Approve" so a change in between is caught."""
    raw = json.dumps(snapshot, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(raw.encode()).hexdigest()


def campaign_approval_changes(*, before: dict, after: dict) -> list[ApprovalChange]:
    """Each snapshot key whose value differs, in APPROVAL_LABELS order, ready to show."""
    changes = []
    for key, label in APPROVAL_LABELS.items():
        old, new = before.get(key), after.get(key)
        if old == new:
            continue
        if key in APPROVAL_SET_KEYS:
            old_set, new_set = set(old or []), set(new or [])
            changes.append(
                ApprovalChange(
                    key=key,
                    label=label,
                    before=_approval_shown(key, old),
                    after=_approval_shown(key, new),
                    added=tuple(sorted(new_set - old_set)),
                    removed=tuple(sorted(old_set - new_set)),
                )
            )
        else:
            changes.append(
                ApprovalChange(
                    key=key,
                    label=label,
                    before=_approval_shown(key, old),
                    after=_approval_shown(key, new),
                )
            )
    return changes


def _approval_shown(key: str, value) -> str:
    if key == "audience":
        if not value:
            return _("Not planned since it changed: compute the send plan")
        as_of = datetime.fromisoformat(value["as_of"])
        return ngettext(
            "%(count)s recipient, with their name and fields as of %(when)s",
            "%(count)s recipients, with their names and fields as of %(when)s",
            value["recipients"],
        ) % {"count": value["recipients"], "when": moment_words(as_of, zone=True)}
    if key == "send_at":
        if not value:
            return _("As soon as approved")
        return moment_words(datetime.fromisoformat(value), zone=True)
    if key == "pasted_numbers":
        count = len(value or [])
        return ngettext("%(count)s number", "%(count)s numbers", count) % {"count": count}
    if key == "rcs_mode" and value:
        if value in Campaign.RcsMode.values:
            return str(Campaign.RcsMode(value).label)
        return str(value)
    if key == "sms_mode" and value:
        return str(Campaign.SMS_MODE_WORDS.get(value, value))
    if key == "missing_values" and value in Campaign.MissingValues.values:
        return str(Campaign.MissingValues(value).label)
    if key == "lists":
        return ", ".join(value) if value else _("none")
    if key == "rcs_cards":
        return json.dumps(value or [], ensure_ascii=False, indent=1)
    if key == "window" and value:
        return shown(value)
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    return str(value)


# --- the ledger and the engine's figures, read ------------------------------------------------

LEDGER_CSV_BATCH = 5_000


def campaign_totals(*, campaign_id: int) -> dict[str, Any]:
    totals = CampaignPart.objects.filter(campaign_id=campaign_id).aggregate(
        recipients=Sum("recipients"),
        sent=Sum("sent"),
        delivered=Sum("delivered"),
        price=Sum("price"),
    )
    return {k: v or 0 for k, v in totals.items()}


def ledger_csv_rows(*, campaign_id: int) -> Iterator[str]:
    """The ledger as CSV lines: who did and did not receive the campaign, and why.

    In English whatever the reader's language, as the engine stores its reasons: a data file
    whose words are the same for everyone, so a spreadsheet or a script reading it keeps
    working."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)

    def line(values: list[Any]) -> str:
        buffer.seek(0)
        buffer.truncate()
        writer.writerow(values)
        return buffer.getvalue()

    yield line(["phone", "part", "reference_id", "received", "status", "reason", "sms_parts"])
    parts = {p.pk: p for p in CampaignPart.objects.filter(campaign_id=campaign_id)}
    rows = (
        Recipient.objects.filter(campaign_id=campaign_id)
        .order_by("seq")
        .values_list("phone", "part_id", "reference_id", "status", "sms_parts")
    )
    for phone, part_id, reference, status, sms_parts in rows.iterator(chunk_size=LEDGER_CSV_BATCH):
        part = parts[part_id]
        received = "yes" if status in ("delivered", "read") else "no"
        if part.state != CampaignPart.State.SUBMITTED:
            reason = f"part {in_english(part.get_state_display()).lower()}" + (
                f": {part.error}" if part.error else ""
            )
        else:
            reason = status or "no report yet"
        yield line(
            [
                phone_cell(phone),
                part.number,
                reference,
                received,
                status,
                neutralise_cell(reason),
                sms_parts,
            ]
        )


def campaign_failure_figures(*, campaign_id: int, rate: float, min_final: int) -> tuple[int, int]:
    """(messages with a final status, of which failed) in the campaign's ledger, exact whenever
    more than `rate` of at least `min_final` final ones failed; otherwise the final ones may be
    counted only as far as shows that they did not (then `failed / final <= rate` or
    `final < min_final` still holds of what is returned).

    The guard rails ask before every part, and a big campaign's delivered messages are
    millions: counting them all for each of its thousand parts made its submits slower the
    further they got. The failed ones are few in any campaign worth sending (their index range
    is short); the final ones are then counted up to the number at which the failures would be
    `rate` or less of them, or `min_final`, whichever is more.
    """
    ledger = Recipient.objects.filter(campaign_id=campaign_id)
    failed = ledger.filter(status__in=FAILED_MESSAGE_STATUSES).count()
    if not failed:
        return 0, 0  # no failure: no rate to hold for, whatever the count of the others
    final_ones = ledger.filter(status__in=FAILED_MESSAGE_STATUSES | DELIVERED_MESSAGE_STATUSES)
    if rate <= 0:
        return final_ones.count(), failed
    # failed / final > rate  <=>  final < failed / rate: counting past that bound (and past
    # min_final) cannot change the answer. One more than it, so float rounding never decides.
    enough = max(math.ceil(failed / rate), min_final) + 1
    final = final_ones[:enough].count()
    return final, failed


def repeated_failures(*, campaign_id: int, min_campaigns: int | None = None) -> dict[str, int]:
    """Phones that failed in this campaign and in at least `min_campaigns` campaigns in all,
    not yet on the do-not-contact list: {phone: campaigns failed in}."""
    threshold = min_campaigns or settings.ENGINE_DNC_AFTER_FAILURES
    failed_here = Recipient.objects.filter(
        campaign_id=campaign_id, status__in=FAILED_MESSAGE_STATUSES
    ).values("phone")
    rows = (
        Recipient.objects.filter(status__in=FAILED_MESSAGE_STATUSES, phone__in=failed_here)
        .exclude(phone__in=DoNotContact.objects.values("phone"))
        .values("phone")
        .annotate(campaigns=Count("campaign_id", distinct=True))
        .filter(campaigns__gte=threshold)
        .order_by("phone")
    )
    return {row["phone"]: row["campaigns"] for row in rows}


def campaign_schedules() -> list[CampaignSchedule]:
    return list(
        CampaignSchedule.objects.select_related("template", "periodic_task__crontab").annotate(
            run_count=Count("runs")
        )
    )


def schedule_template_choices() -> list[Campaign]:
    """Campaigns a recurring schedule can copy: ours, sending to lists, not a run's copy, not
    archived."""
    return [
        c
        for c in Campaign.objects.filter(
            created_elsewhere=False, schedule__isnull=True, archived_at__isnull=True
        )[:200]
        if c.uses_lists
    ]
