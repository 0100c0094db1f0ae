"""Reads for the campaigns app. Calls to BSG that only read live here, behind a short cache."""

import re
from collections.abc import Iterator
from dataclasses import dataclass

from django.core.cache import cache

from bsg import rules
from bsg.errors import BsgError
from bsg.schemas import Balance
from config.bsg import bsg_client
from contacts.models import ListMembership
from contacts.phones import InvalidPhone, normalize_phone
from contacts.selectors import audience_contacts, audience_summary, do_not_contact_phones

from .models import Campaign, SavedSender, SendPlan, TestSend

BALANCE_CACHE_KEY = "bsg:account-balance"
# The balance changes only when campaigns are billed; a minute old is fresh enough for a header,
# and it keeps a busy dashboard from calling BSG on every page view.
BALANCE_CACHE_SECONDS = 60


@dataclass(frozen=True)
class AccountState:
    balance: Balance | None
    error: str | None


def bsg_account_state() -> AccountState:
    """The BSG account's balance, or a plain-words reason it could not be read."""
    cached = cache.get(BALANCE_CACHE_KEY)
    if cached is not None:
        return cached
    try:
        state = AccountState(balance=bsg_client().balance(), error=None)
    except BsgError as error:
        # Not cached: the next view tries again, so a sandbox that starts late is seen at once.
        return AccountState(balance=None, error=str(error))
    cache.set(BALANCE_CACHE_KEY, state, BALANCE_CACHE_SECONDS)
    return state


# --- audiences ---------------------------------------------------------------------------------

# "number = reference" on one pasted line; entries are split at line ends, commas and semicolons.
_ENTRY_SEPARATORS = re.compile(r"[\n\r,;]+")


@dataclass(frozen=True)
class PastedNumber:
    phone: str
    reference_id: str | None


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


def pasted_numbers_parse(*, text: str) -> PastedNumbers:
    """Numbers pasted or typed for "To numbers", read the way contacts read them.

    Entries are separated by new lines, commas or semicolons; spaces inside an entry are part of
    the number (+380 50 123 45 67), unless the entry only makes sense as several numbers
    separated by spaces. `number = ref` gives that number BSG's optional reference id. A number
    given twice is sent once (the first reference id wins).
    """
    numbers: dict[str, PastedNumber] = {}
    invalid: list[InvalidEntry] = []
    duplicates = 0
    for raw in _ENTRY_SEPARATORS.split(text or ""):
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
            numbers[phone] = PastedNumber(phone=phone, reference_id=reference)
    return PastedNumbers(
        numbers=tuple(numbers.values()), invalid=tuple(invalid), duplicates=duplicates
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


@dataclass(frozen=True, slots=True)
class AudienceRow:
    phone: str
    name: str
    fields: dict
    reference_id: str | None
    contact_id: int | None


def audience_rows(
    *,
    channel: str,
    sms_mode: str,
    list_ids: list[int],
    pasted: str,
    limit: int | None = None,
    chunk_size: int = 5_000,
) -> Iterator[AudienceRow]:
    """Every recipient once, do-not-contact numbers left out, streamed from the database.

    Lists are read with `.values_list().iterator()` so a million contacts never sit in memory
    as model instances.
    """
    if channel == Campaign.Channel.SMS and sms_mode == Campaign.SmsMode.NUMBERS:
        parsed = pasted_numbers_parse(text=pasted)
        opted_out = do_not_contact_phones(phones=[n.phone for n in parsed.numbers])
        numbers = (n for n in parsed.numbers if n.phone not in opted_out)
        for index, number in enumerate(numbers):
            if limit is not None and index >= limit:
                return
            yield AudienceRow(number.phone, "", {}, number.reference_id, None)
        return
    rows = (
        audience_contacts(list_ids=list_ids)
        .order_by("id")
        .values_list("id", "phone", "name", "fields")
    )
    if limit is not None:
        rows = rows[:limit]
    for contact_id, phone, name, fields in rows.iterator(chunk_size=chunk_size):
        yield AudienceRow(phone, name, fields or {}, None, contact_id)


def campaign_audience_rows(
    *, campaign: Campaign, limit: int | None = None
) -> Iterator[AudienceRow]:
    return audience_rows(
        channel=campaign.channel,
        sms_mode=campaign.sms_mode,
        list_ids=campaign_list_ids(campaign=campaign),
        pasted=campaign.pasted_numbers,
        limit=limit,
    )


def campaign_latest_plan(*, campaign_id: int) -> SendPlan | None:
    return SendPlan.objects.filter(campaign_id=campaign_id).order_by("-created_at", "-id").first()


def campaign_list(*, limit: int = 200) -> list[Campaign]:
    return list(Campaign.objects.select_related("created_by").prefetch_related("lists")[:limit])


def saved_senders() -> list[SavedSender]:
    return list(SavedSender.objects.all())


def test_sends_of(*, campaign_id: int, limit: int = 5) -> list[TestSend]:
    return list(TestSend.objects.filter(campaign_id=campaign_id)[:limit])
