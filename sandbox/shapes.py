"""BSG's answer shapes, field for field, from the YAML's concrete samples and the vendor pages.

Where BSG's samples show an odd value, the sandbox sends the same, so the client meets it here
first: the campaign object carries ``calculated_price`` and ``currency`` only in the answer to
the request that created it (YAML: "price defined only as the response to create campaign or
calculate price requests"; its GET /api/campaigns/{id} and stop samples show 0 and null); the
detail's ``alternative_channels`` is ``[]`` when there is none (the E8 sample); a contact
without field values has ``"fields": []``, with values an object keyed by field id.
"""

import math
from array import array
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from functools import lru_cache

import phonenumbers

from sandbox import lifecycle, sms_segments
from sandbox.config import SandboxConfig
from sandbox.store import Campaign, Contact, ContactField, Group, MessageRow
from sandbox.vendor_rules import format_datetime

SEVEN_PLACES = Decimal("0.0000001")
# The id a fallback SMS of RCS message N gets in E9's alternative_channels.sms.id: BSG creates a
# separate SMS message; the sandbox derives its id so that it is stable.
FALLBACK_ID_OFFSET = 5_000_000_000

# E8 statistics keys, in the YAML sample's order (StatisticsData).
DETAIL_KEYS = (
    "delivered",
    "sent",
    "scheduled",
    "moderation",
    "accepted",
    "sending",
    "expired",
    "failed",
    "undelivered",
    "unknown",
    "read",
    "not_viber_user",
    "not_rcs_user",
)


def money(value: Decimal) -> str:
    """A price as BSG writes it in strings: seven decimals ("0.0100000", E9 amount.value)."""
    return str(value.quantize(SEVEN_PLACES))


def money_number(value: Decimal) -> float:
    """A price as BSG writes it in numbers (calculated_price, price, balance)."""
    return float(value.quantize(SEVEN_PLACES))


@lru_cache(maxsize=65_536)
def country_of(phone: int) -> str | None:
    """ISO 3166 country of a number (E9 "country": "UA"), None when the number is not valid."""
    try:
        region = phonenumbers.region_code_for_number(phonenumbers.parse(f"+{phone}"))
    except phonenumbers.NumberParseException:
        return None
    return region if region and region != "ZZ" else None


# A message's country as a number in its campaign's `countries` (0: not looked up yet).
_COUNTRIES: list[str | None] = [None, None]
_COUNTRY_NUMBERS: dict[str | None, int] = {None: 1}


def message_country(campaign: Campaign, index: int, phone: int) -> str | None:
    """country_of the campaign's message `index`, looked up once per message and kept in two
    bytes: E9 reads every message again and again, a million-recipient account's phones are
    too many for country_of's cache, and a miss costs ~35 µs (phonenumbers parses the number),
    most of an E9 page (bench/callbacks.py reads some 17,000,000 messages)."""
    known = campaign.countries
    if known is None:
        # Two readers may both make one: each keeps what it looked up, the other's is redone.
        known = campaign.countries = array("H", bytes(2 * campaign.size))
    number = known[index]
    if not number:
        country = country_of(phone)
        number = _COUNTRY_NUMBERS.get(country, 0)
        if not number:
            number = _COUNTRY_NUMBERS.setdefault(country, len(_COUNTRIES))
            if number == len(_COUNTRIES):
                _COUNTRIES.append(country)
        known[index] = number
    return _COUNTRIES[number]


# datetime.fromtimestamp rounds to the microsecond: below this fraction a moment never rounds
# into the next second, so it is written as its whole second is.
_SAME_SECOND = 0.999999


class Shapes:
    def __init__(self, config: SandboxConfig, sent_parts: Callable[[Campaign, int], int]) -> None:
        self._config = config
        self._sent_parts = sent_parts
        # Each second written once: an E9 page writes three dates a message, and a campaign's
        # messages are sent and delivered within a few seconds of each other.
        self._second = lru_cache(maxsize=4096)(self._written)

    def _written(self, moment: float) -> str:
        return format_datetime(datetime.fromtimestamp(moment, UTC), self._config.time_zone)

    def when(self, moment: float | None) -> str | None:
        if moment is None:
            return None
        second = math.floor(moment)
        if moment - second < _SAME_SECOND:
            return self._second(second)
        return self._written(moment)

    def _start_at(self, campaign: Campaign) -> str | None:
        # Instant campaigns show their creation moment as start_at (YAML samples).
        requested = campaign.requested_start
        return self.when(campaign.created if requested is None else requested)

    def campaign(self, campaign: Campaign, moment: float, *, created: bool = False) -> dict:
        """The campaign object of E1-E7 and E14 (YAML CampaignSchema, in the samples' order)."""
        tally = campaign.tally
        timeline = tally.timeline
        status = lifecycle.campaign_status(timeline, tally.finish, moment)
        counts = tally.counts(moment)
        alternative = None
        if tally.has_fallback:
            fallback = tally.fallback_counts(moment)
            alternative = {"sms": {"statistics": lifecycle.short_statistics(fallback)}}
        return {
            "id": campaign.id,
            "name": campaign.name,
            "sender": campaign.sender,
            "status": status,
            "message_type": campaign.kind,
            "start_at": self._start_at(campaign),
            "real_start_at": self.when(lifecycle.real_start_at(timeline, moment)),
            "finished_at": self.when(tally.finish if status == lifecycle.DONE else None),
            "created_at": self.when(campaign.created),
            "statistics": lifecycle.short_statistics(counts),
            "calculated_price": money_number(campaign.price) if created else 0,
            "currency": self._config.currency if created else None,
            "alternative_channels": alternative,
        }

    def detail(self, campaign: Campaign, moment: float) -> dict:
        """E8 GET /api/campaigns/{id}/detail (YAML CampaignDetails sample). Its ``sent`` and
        ``delivered`` count messages *in* that status now; cancelled messages of a stopped
        campaign have no key of their own and count only in total_messages."""
        tally = campaign.tally
        timeline = tally.timeline
        status = lifecycle.campaign_status(timeline, tally.finish, moment)
        counts = tally.counts(moment)
        statistics = dict.fromkeys(DETAIL_KEYS, 0)
        for name, count in counts.items():
            if name in statistics:
                statistics[name] = count
        alternative: object = []
        price = self._spent(campaign, counts)
        if tally.has_fallback:
            fallback = tally.fallback_counts(moment)
            breakdown = dict.fromkeys(DETAIL_KEYS, 0)
            breakdown.update(fallback)
            alternative = {"sms": {"statistics": breakdown}}
            if campaign.fallback is not None:
                started = sum(fallback.values())
                parts = self._fallback_parts(campaign)
                price += self._config.sms_part_price * parts * started
        return {
            "id": campaign.id,
            "name": campaign.name,
            "sender": campaign.sender,
            "status": status,
            "type": campaign.kind,
            "started_at": self._start_at(campaign),
            "actual_start_at": self.when(lifecycle.real_start_at(timeline, moment)),
            "finished_at": self.when(tally.finish if status == lifecycle.DONE else None),
            "created_at": self.when(campaign.created),
            "statistics": statistics,
            "total_messages": campaign.size,
            "total_phones": campaign.phones,
            "total_price": money(price),
            "currency": self._config.currency,
            "alternative_channels": alternative,
        }

    def _spent(self, campaign: Campaign, counts: dict[str, int]) -> Decimal:
        """What the campaign has cost so far: SMS are billed when dispatched, RCS messages only
        when delivered (YAML, "Billing of RCS messages")."""
        if campaign.kind == lifecycle.RCS:
            delivered = counts[lifecycle.DELIVERED] + counts[lifecycle.READ]
            return campaign.unit_price * delivered
        dispatched = lifecycle.short_statistics(counts)["sent"]
        return campaign.unit_price * self._sent_parts(campaign, dispatched)

    @staticmethod
    def _fallback_parts(campaign: Campaign) -> int:
        return sms_segments.parts(campaign.fallback.text) if campaign.fallback else 0

    def message(self, row: MessageRow, campaign: Campaign, moment: float) -> dict:
        """An E9 message (YAML GET /api/messages sample, plus RCS's rcs_options and
        alternative_channels from MessageApiSchema)."""
        index = row.id - campaign.first_message_id
        state = lifecycle.message_state(campaign.timeline, index, moment)
        price = (
            Decimal(0) if state.status == lifecycle.CANCELLED else campaign.message_price(row.parts)
        )
        answer = {
            "id": row.id,
            "campaign_id": campaign.id,
            "reference_id": row.reference_id,
            "type": campaign.kind,
            "source": "rest",
            "text": row.text if row.text is not None else campaign.text,
            "phone": row.phone,
            "validity": campaign.validity,
            "status": state.status,
            "amount": {"value": money(price), "currency": self._config.currency},
            "sender": row.sender if row.sender is not None else campaign.sender,
            "created_at": self.when(campaign.created),
            "sent_at": self.when(state.sent_at),
            "delivered_at": self.when(state.delivered_at),
            "country": message_country(campaign, index, row.phone),
            "parts": row.parts,
        }
        if campaign.kind == lifecycle.RCS:
            answer["rcs_options"] = campaign.options
            answer["alternative_channels"] = (
                {
                    "sms": {
                        "parts": self._fallback_parts(campaign),
                        "id": [FALLBACK_ID_OFFSET + row.id],
                    }
                }
                if state.fallback_status is not None
                else None
            )
        return answer

    def group(self, group: Group) -> dict:
        """YAML ContactGroupSchema (GET /api/groups/{id} sample)."""
        return {
            "id": group.id,
            "name": group.name,
            "description": group.description,
            "default": group.default,
            "created_at": self.when(group.created),
            "items": len(group.members),
            "stop_list_count": 0,
        }

    def contact(self, contact: Contact, groups: dict[int, Group]) -> dict:
        """YAML GET /api/contacts/{id} sample: fields keyed by field id, [] when none."""
        fields: object = {str(k): v for k, v in contact.fields.items()} or []
        return {
            "id": contact.id,
            "phone": contact.phone,
            "fields": fields,
            "groups": [self.group(groups[gid]) for gid in contact.groups if gid in groups],
            "hlr_status": "unknown",
            "hlr_last_check": None,
            "created_at": self.when(contact.created),
        }

    @staticmethod
    def field(field: ContactField) -> dict:
        """YAML ContactFieldSchema."""
        return {
            "id": field.id,
            "name": field.name,
            "type": field.type,
            "description": field.description,
            "is_visible": field.is_visible,
        }
