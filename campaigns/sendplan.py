"""The send plan: what sending a campaign will do, counted for every recipient after
personalisation, before anything is sent.

For each recipient the text is rendered and its encoding and parts counted by bsg.smstext (the
one source of truth). A million recipients must take well under a minute, so two things keep
the per-recipient work small:

- contacts are streamed as tuples (`values_list(...).iterator(chunk_size=...)`), never models;
- the count is cached by the rendered text's *shape* (`rendering.ShapeCache`, shared with the
  engine, which counts the same way when it writes the ledger): a value made only of one-septet
  ASCII GSM-7 characters changes the count only by its length, so the shape keeps just its
  length; any other value (an extension character, a typographic apostrophe, Cyrillic) is kept
  whole. A million contacts with a few thousand first names are a few hundred shapes.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import DatabaseError, transaction
from django.utils import timezone
from django.utils.translation import ngettext

from bsg import smstext
from bsg.errors import BsgError
from config.bsg import bsg_client
from contacts.models import ContactList
from contacts.selectors import fields_by_reference

from . import checks, rendering, selectors
from .audience_digest import AudienceDigest, audience_slice_rows
from .audience_values import AudienceValues, audience_values, audience_values_forget
from .bsg_words import bsg_trouble
from .models import Campaign, SendPlan
from .rcs_content import RcsContents, RcsTemplate, rcs_template
from .stored_text import (
    FALLBACK_NOT_PRICED,
    NO_BALANCE,
    NO_RECIPIENTS_TO_PRICE,
    NOT_PRICED,
    PLAN_NOT_COMPUTED,
    RCS_PRICED_ON_DELIVERY,
    StoredSentence,
)

logger = logging.getLogger(__name__)

PROGRESS_EVERY = 50_000
EXAMPLES = 5
# Phones per parts-count sent to BSG's price estimate (E10); bigger buckets are extrapolated
# from the sample, so a million recipients cost a handful of calls, not a million phones.
PRICE_SAMPLE = 1_000


@dataclass(frozen=True, slots=True)
class _Counted:
    stats: smstext.TextStats
    ucs2_field: str  # the field whose value made the text UCS-2 ("" if none did)
    ucs2_value: str
    longest_field: str


def send_plan_compute(*, plan_id: int) -> SendPlan | None:
    """Count the plan (pending -> running -> done/failed). A plan already taken is left alone."""
    taken = SendPlan.objects.filter(pk=plan_id, status=SendPlan.Status.PENDING).update(
        status=SendPlan.Status.RUNNING, started_at=timezone.now()
    )
    if taken != 1:
        logger.info("send plan %s: already taken, nothing to do", plan_id)
        return None
    plan = SendPlan.objects.select_related("campaign").get(pk=plan_id)
    try:
        result = plan_campaign(campaign=plan.campaign, plan_id=plan.pk)
    except ValidationError as refusal:
        # The checks' words, in the language of whoever asked for the plan (English in a
        # worker); the plan request refuses the same problems first, so this is rarely seen.
        SendPlan.objects.filter(pk=plan_id).update(
            status=SendPlan.Status.FAILED,
            error=" ".join(refusal.messages),
            finished_at=timezone.now(),
        )
    except Exception as error:
        logger.exception("send plan %s failed", plan_id)
        try:
            SendPlan.objects.filter(pk=plan_id).update(
                status=SendPlan.Status.FAILED,
                error=PLAN_NOT_COMPUTED.stored(error=error),
                finished_at=timezone.now(),
            )
        except DatabaseError:
            # The database refused this write too; the row stays RUNNING and the page gives
            # it up after SEND_PLAN_GIVEN_UP_AFTER (SendPlan.is_stalled).
            logger.exception("send plan %s: could not be marked failed", plan_id)
        raise
    else:
        SendPlan.objects.filter(pk=plan_id).update(
            status=SendPlan.Status.DONE,
            result=result,
            recipients_total=result["recipients"],
            recipients_done=result["recipients"],
            finished_at=timezone.now(),
        )
    return SendPlan.objects.get(pk=plan_id)


def _progress_record(plan_id: int, done: int) -> None:
    """The progress bar's figure. Only the page reads it, so a write the database refuses
    (busy beyond its timeout) is skipped, never the end of the count."""
    try:
        # A savepoint: a plan counted inside the request's transaction survives the refusal.
        with transaction.atomic():
            SendPlan.objects.filter(pk=plan_id).update(recipients_done=done)
    except DatabaseError as error:
        logger.warning("send plan %s: progress at %s not recorded: %s", plan_id, done, error)


def plan_campaign(
    *, campaign: Campaign, plan_id: int | None = None, ask_bsg: bool = True
) -> dict[str, Any]:
    """Every figure of the send plan as JSON-ready data (stored on SendPlan.result)."""
    list_ids = selectors.campaign_list_ids(campaign=campaign)
    counts = selectors.audience_counts(
        channel=campaign.channel,
        sms_mode=campaign.sms_mode,
        list_ids=list_ids,
        pasted=campaign.pasted_numbers,
    )
    rcs = None
    if campaign.is_sms:
        text = campaign.text
        compiled = rendering.compile_text(
            text, fields=fields_by_reference(), mode=_mode(campaign.sms_mode)
        )
        errors = compiled.errors
    else:
        # RCS cards are not SMS: only the optional SMS fallback is counted in parts; the
        # cards' placeholders count in the digest and in how many BSG campaigns it takes.
        rcs = rcs_template(campaign=campaign, fields=fields_by_reference())
        text = campaign.fallback_text if campaign.fallback_enabled else ""
        compiled = rcs.fallback
        errors = tuple(message for _index, _name, message in rcs.errors)
    if errors:
        # Not planned as it is (a placeholder that names no field, say): the one refusal type.
        raise ValidationError(list(errors))
    slice_rows = audience_slice_rows(campaign=campaign)
    tally = _Tally(
        compiled,
        leaves_out=campaign.leaves_out_recipients_missing_values,
        rcs=rcs,
        slice_rows=slice_rows,
    )
    # The approver approves these recipients with these values (campaigns.audience_digest).
    as_of = timezone.now()
    read = rcs.combined if rcs is not None else compiled
    rows = selectors.campaign_audience_rows(campaign=campaign, field_keys=read.field_keys)
    for done, row in enumerate(rows, start=1):
        tally.add(row)
        if plan_id is not None and done % PROGRESS_EVERY == 0:
            _progress_record(plan_id, done)
    # Counted for real: the composer's cached estimate of the same must not outlive it.
    audience_values_forget(list_ids=list_ids, compiled=compiled)

    result: dict[str, Any] = {
        "channel": campaign.channel,
        "method": campaign.bsg_method,
        "counts_sms": bool(text),
        "recipients": tally.recipients,
        "excluded_do_not_contact": counts.excluded_do_not_contact,
        "duplicates": counts.duplicates,
        "invalid": counts.invalid,
        "bsg_campaigns": tally.bsg_campaigns(channel=campaign.channel),
        # Personalised RCS: the distinct messages, each its own rcs/send (rcs_content).
        "rcs_messages": len(tally.rcs_groups) if rcs is not None and rcs.slots else None,
        "total_parts": tally.total_parts,
        "histogram": [
            {"encoding": encoding, "parts": parts, "recipients": n}
            for (encoding, parts), n in sorted(
                tally.histogram.items(), key=lambda i: (i[0][1], i[0][0])
            )
        ],
        "template_encoding": smstext.encoding_of(
            compiled.render_values([""] * len(compiled.slots))
        ),
        "pushed_to_ucs2": tally.pushed_to_ucs2,
        "ucs2_examples": tally.ucs2_examples,
        "ucs2_by_field": dict(tally.ucs2_by_field.most_common()),
        "over_limit": tally.over_limit,
        "over_limit_examples": tally.over_limit_examples,
        "empty_fields": dict(tally.empty_fields.most_common()),
        "missing_values": {
            "policy": campaign.missing_values,
            # Recipients without a value for a placeholder that has no fallback.
            "unfilled": tally.unfilled,
            "unfilled_by_field": dict(tally.unfilled_by_field.most_common()),
            # Left out of `recipients` for it (skip, or block: see Campaign).
            "left_out": tally.left_out,
            # Missing a value that a fallback filled, by placeholder, with the fallback.
            "fallbacks": {
                label: {"recipients": n, "fallback": tally.fallbacks[label]}
                for label, n in tally.fallback_used.most_common()
            },
            "blocked": campaign.missing_values == Campaign.MissingValues.BLOCK
            and tally.unfilled > 0,
            "audience": tally.recipients + tally.left_out,
        },
        "longest": tally.longest,
        # The first recipient whose text has the most parts (the composer's preview jumps to
        # them): a 100-character Cyrillic text costs more than a 150-character Latin one.
        "most_parts": tally.most_parts,
        "audience": {
            "digest": tally.digest.hexdigest(),
            "recipients": tally.recipients,
            "as_of": as_of.isoformat(),
            # Cut as the dispatch will cut it (campaigns.audience_digest).
            "slice_rows": slice_rows,
        },
    }
    if ask_bsg:
        result.update(_bsg_figures(campaign, compiled, tally, list_ids))
    return result


def campaign_sms_text(*, campaign: Campaign) -> str:
    """What of a campaign is counted in SMS parts: its text, or an RCS campaign's SMS fallback
    (RCS cards are not SMS)."""
    if campaign.is_sms:
        return campaign.text
    return campaign.fallback_text if campaign.fallback_enabled else ""


def campaign_compiled(*, campaign: Campaign, text: str) -> rendering.CompiledText:
    """`text` (the SMS text, or the RCS fallback) with its placeholders, read the way the
    campaign sends it: personalised here, by BSG's groups, or to everyone alike."""
    mode = _mode(campaign.sms_mode) if campaign.is_sms else _rcs_fallback_mode(campaign)
    return rendering.compile_text(text, fields=fields_by_reference(), mode=mode)


def _mode(sms_mode: str) -> str:
    if sms_mode == Campaign.SmsMode.INDIVIDUAL:
        return rendering.MODE_INDIVIDUAL
    if sms_mode == Campaign.SmsMode.GROUPS:
        return rendering.MODE_GROUPS
    return rendering.MODE_LITERAL


class _Tally:
    """Running figures over the recipients, in one pass."""

    def __init__(
        self,
        compiled: rendering.CompiledText,
        *,
        leaves_out: bool,
        rcs: RcsTemplate | None = None,
        slice_rows: int | None = None,
    ) -> None:
        self.compiled = compiled
        # Personalised RCS: `compiled` is its SMS fallback, the digest takes every card's values
        # too, and recipients are counted by rendered message (one rcs/send each).
        self.rcs = rcs if rcs is not None and rcs.slots else None
        self.rcs_contents = RcsContents(rcs) if self.rcs is not None else None
        self.rcs_groups: Counter[str] = Counter()
        self.leaves_out = leaves_out
        self.personalise = compiled.personalise
        self.unfilled = 0
        self.unfilled_by_field: Counter[str] = Counter()
        self.left_out = 0
        self.fallback_used: Counter[str] = Counter()
        # Every placeholder's fallback by label (an RCS campaign's cards' too).
        slots = self.rcs.slots if self.rcs is not None else compiled.slots
        self.fallbacks = {s.label: s.fallback for s in slots if s.fallback is not None}
        self.template_gsm7 = (
            smstext.encoding_of(compiled.render_values([""] * len(compiled.slots))) == smstext.GSM7
        )
        self.cache: rendering.ShapeCache[_Counted] = rendering.ShapeCache(self._count)
        self.recipients = 0
        # Recipients by what their text counts to (id of its _Counted: [_Counted, recipients,
        # settled]); the totals are summed from these at the end. Once a count has had its
        # first recipient, and the examples and the price sample it could add to are full, a
        # recipient of it costs one addition: ten million of them passed through every figure.
        self._uses: dict[int, list] = {}
        self.ucs2_examples: list[dict[str, Any]] = []
        self.over_limit_examples: list[dict[str, Any]] = []
        self.empty_fields: Counter[str] = Counter()
        self.longest: dict[str, Any] | None = None
        self._longest_length = -1
        self.most_parts: dict[str, Any] | None = None
        self._most_parts = -1
        self._literal = None if compiled.slots else self._count(())
        self.digest = AudienceDigest(slice_rows=slice_rows)
        # BSG's price estimate's samples, taken in this pass (a second pass over ten million
        # recipients cost as much as the first): by parts-count, the first recipient's text
        # and the first PRICE_SAMPLE phones.
        self.price_samples: dict[int, tuple[str, list[str]]] = {}

    def bsg_campaigns(self, *, channel: str) -> int:
        if self.rcs is None:
            return selectors.bsg_campaigns_for(channel=channel, recipients=self.recipients)
        return sum(
            selectors.bsg_campaigns_for(channel=channel, recipients=n)
            for n in self.rcs_groups.values()
        )

    def add(self, row: selectors.AudienceRow) -> None:
        if self.rcs is not None:
            self._add_rcs(row)
            return
        if not self.compiled.source or self._literal is not None:
            self.recipients += 1
            self.digest.add(row.phone, ())
            if not self.compiled.source:
                return
            counted, values = self._literal, ()
        else:
            values, missing, unfilled = self.personalise(
                phone=row.phone, name=row.name, fields=row.fields
            )
            if missing:
                self._missing(missing, unfilled)
                # The same rule as the ledger's (engine.ledger.ledger_rows): left out of the
                # counts and of the digest alike, so dispatch reads the same recipients.
                if unfilled and self.leaves_out:
                    self.left_out += 1
                    self.digest.skip()
                    return
            self.recipients += 1
            self.digest.add(row.phone, values)
            counted = self.cache.get(values)
        self._count_text(row, counted, values)

    def _add_rcs(self, row: selectors.AudienceRow) -> None:
        """The same values as the ledger reads (engine.ledger.ledger_rows), in the same order."""
        values, missing, unfilled = self.rcs.personalise(
            phone=row.phone, name=row.name, fields=row.fields
        )
        if missing:
            self._missing(missing, unfilled)
        self.recipients += 1
        self.digest.add(row.phone, values)
        self.rcs_groups[self.rcs_contents.key(values)] += 1
        if not self.compiled.source:
            return
        fallback_values = self.rcs.fallback_values(values)
        counted = self.cache.get(fallback_values) if fallback_values else self._literal
        self._count_text(row, counted, fallback_values)

    @property
    def total_parts(self) -> int:
        return sum(counted.stats.parts * n for counted, n, _settled in self._uses.values())

    @property
    def histogram(self) -> Counter[tuple[str, int]]:
        histogram: Counter[tuple[str, int]] = Counter()
        for counted, n, _settled in self._uses.values():
            histogram[(counted.stats.encoding, counted.stats.parts)] += n
        return histogram

    @property
    def pushed_to_ucs2(self) -> int:
        return sum(n for counted, n, _settled in self._uses.values() if counted.ucs2_field)

    @property
    def ucs2_by_field(self) -> Counter[str]:
        # In the order each field first pushed a recipient into UCS-2 (most_common's ties).
        by_field: Counter[str] = Counter()
        for counted, n, _settled in self._uses.values():
            if counted.ucs2_field:
                by_field[counted.ucs2_field] += n
        return by_field

    @property
    def over_limit(self) -> int:
        return sum(n for counted, n, _settled in self._uses.values() if not counted.stats.fits)

    def _count_text(
        self, row: selectors.AudienceRow, counted: _Counted, values: tuple[str, ...]
    ) -> None:
        use = self._uses.get(id(counted))
        if use is None:
            # Kept here, so its id is not another's while the tally lives.
            use = self._uses[id(counted)] = [counted, 0, False]
        use[1] += 1
        if use[2]:
            return
        self._count_text_first(row, counted, values)
        # Nothing below can change for this count again: the same stats never beat
        # themselves to most parts or longest, and full examples and samples stay full.
        parts = counted.stats.parts
        use[2] = (
            (not counted.ucs2_field or len(self.ucs2_examples) >= EXAMPLES)
            and (counted.stats.fits or len(self.over_limit_examples) >= EXAMPLES)
            and (not parts or len(self.price_samples[parts][1]) >= PRICE_SAMPLE)
        )

    def _count_text_first(
        self, row: selectors.AudienceRow, counted: _Counted, values: tuple[str, ...]
    ) -> None:
        """The figures a recipient adds to beyond the counts: examples, the price's sample,
        most parts and longest."""
        stats = counted.stats
        sample = self.price_samples.get(stats.parts)
        if sample is None:
            if stats.parts:
                text = self.compiled.render_values(values) if values else self.compiled.source
                self.price_samples[stats.parts] = (text, [row.phone])
        elif len(sample[1]) < PRICE_SAMPLE:
            sample[1].append(row.phone)
        if counted.ucs2_field and len(self.ucs2_examples) < EXAMPLES:
            value = counted.ucs2_value
            self.ucs2_examples.append(
                {
                    "phone": row.phone,
                    "field": counted.ucs2_field,
                    "value": value,
                    "characters": [
                        c for c in dict.fromkeys(value) if c in stats.non_gsm_characters
                    ],
                }
            )
        if not stats.fits and len(self.over_limit_examples) < EXAMPLES:
            self.over_limit_examples.append(
                {
                    "phone": row.phone,
                    "length": stats.length,
                    "max_length": stats.max_length,
                    "parts": stats.parts,
                    "field": counted.longest_field,
                }
            )
        if stats.parts > self._most_parts:
            self._most_parts = stats.parts
            self.most_parts = {
                "phone": row.phone,
                "length": stats.length,
                "parts": stats.parts,
                "encoding": stats.encoding,
            }
        if stats.length > self._longest_length:
            self._longest_length = stats.length
            text = self.compiled.render_values(values) if values else self.compiled.source
            self.longest = {
                "phone": row.phone,
                "text": text,
                "length": stats.length,
                "parts": stats.parts,
                "encoding": stats.encoding,
            }

    def _missing(self, missing: tuple[str, ...], unfilled: tuple[str, ...]) -> None:
        for label in missing:
            self.empty_fields[label] += 1
            if label not in unfilled:
                self.fallback_used[label] += 1
        if unfilled:
            self.unfilled += 1
            self.unfilled_by_field.update(unfilled)

    def _count(self, values: tuple[str, ...]) -> _Counted:
        text = self.compiled.render_values(values) if values else self.compiled.source
        stats = smstext.analyse(text)
        ucs2_field = ucs2_value = longest_field = ""
        if stats.encoding == smstext.UCS2 and self.template_gsm7:
            for slot, value in zip(self.compiled.slots, values, strict=True):
                if smstext.encoding_of(value) == smstext.UCS2:
                    ucs2_field, ucs2_value = slot.label, value
                    break
        if not stats.fits and values:
            longest = max(range(len(values)), key=lambda i: len(values[i]))
            longest_field = self.compiled.slots[longest].label
        return _Counted(stats, ucs2_field, ucs2_value, longest_field)


def _bsg_failure(refused: StoredSentence, error: BsgError) -> tuple[str, str]:
    """A failed price or balance as the plan stores it, and the technical detail for a title:
    BSG's own reason when it refused the request (`refused`), else why it did not answer, in a
    marketer's words (no key, no connection: bsg_words.bsg_trouble)."""
    logger.warning("BSG figure not read for the send plan: %s", error)
    if error.refuses_the_request:
        return refused.stored(error=error.message), str(error)
    return bsg_trouble(error).stored(), str(error)


def _bsg_figures(
    campaign: Campaign, compiled: rendering.CompiledText, tally: _Tally, list_ids: list[int]
) -> dict[str, Any]:
    """BSG's price estimate (E10) and the balance (E11); failures become messages, not errors."""
    figures: dict[str, Any] = {
        "price": None,
        "price_error": "",
        "balance": None,
        "balance_error": "",
        "balance_covers": None,
    }
    with bsg_client() as client:
        if campaign.is_rcs:
            # The YAML's "Campaign RCS": "Billing is performed only for RCS messages with
            # status Delivered", and E10 estimates SMS only: no RCS figure exists before
            # sending. The SMS fallback is an SMS, so E10 prices it: what it would cost if
            # every RCS message fell back (an upper bound of the fallback's share).
            figures["price_error"] = RCS_PRICED_ON_DELIVERY.stored()
            figures["fallback_price"] = None
            figures["fallback_price_error"] = ""
            if campaign.fallback_enabled and tally.recipients and compiled.source:
                try:
                    figures["fallback_price"] = _price(
                        client, campaign, compiled, tally, list_ids, campaign.fallback_sender
                    )
                except BsgError as error:
                    figures["fallback_price_error"], figures["fallback_price_detail"] = (
                        _bsg_failure(FALLBACK_NOT_PRICED, error)
                    )
        elif tally.recipients == 0:
            figures["price_error"] = NO_RECIPIENTS_TO_PRICE.stored()
        else:
            try:
                figures["price"] = _price(
                    client, campaign, compiled, tally, list_ids, campaign.sender
                )
            except BsgError as error:
                figures["price_error"], figures["price_detail"] = _bsg_failure(NOT_PRICED, error)
        try:
            balance = client.balance()
        except BsgError as error:
            figures["balance_error"], figures["balance_detail"] = _bsg_failure(NO_BALANCE, error)
        else:
            figures["balance"] = {
                "amount": str(balance.balance),
                "currency": balance.currency or "",
                "credit": str(balance.credit) if balance.credit is not None else None,
            }
            price = figures["price"]
            if price is not None and not price["currency"]:
                # BSG bills in the account's currency; an estimate that names none is in it.
                price["currency"] = balance.currency or ""
            if price is not None:
                # A postpaid account may go below zero down to its credit (E11 "credit").
                available = balance.balance + (balance.credit or 0)
                figures["balance_covers"] = Decimal(price["amount"]) <= available
    return figures


def _price(client, campaign, compiled, tally, list_ids, sender: str) -> dict[str, Any]:
    """E10's estimate of the SMS texts `compiled` makes (an SMS campaign's text, or an RCS
    campaign's fallback), sent from `sender`."""
    if campaign.sends_to_bsg_groups:
        groups = list(
            ContactList.objects.filter(id__in=list_ids, bsg_group_id__isnull=False).values_list(
                "bsg_group_id", flat=True
            )
        )
        estimate = client.price_estimate(
            sender=sender,
            text=compiled.for_bsg_groups(),
            groups=groups,
            tariff_code=campaign.tariff_code,
        )
        return {
            "amount": str(estimate.price or 0),
            "currency": estimate.currency or "",
            "extrapolated": False,
            "calls": 1,
        }
    # One call per parts-count: a sample of that bucket's phones with a text of that many parts
    # (taken while counting: _Tally.price_samples).
    by_parts: Counter[int] = Counter()
    for (_encoding, parts), n in tally.histogram.items():
        by_parts[parts] += n
    samples = tally.price_samples
    total = Decimal(0)
    currency = ""
    extrapolated = False
    for parts, (text, phones) in samples.items():
        estimate = client.price_estimate(
            sender=sender, text=text, phones=phones, tariff_code=campaign.tariff_code
        )
        currency = estimate.currency or currency
        price = estimate.price or Decimal(0)
        bucket_size = by_parts.get(parts, len(phones))
        if bucket_size > len(phones):
            extrapolated = True
            price = price * bucket_size / len(phones)
        total += price
    return {
        "amount": str(total.quantize(Decimal("0.0001"))),
        "currency": currency,
        "extrapolated": extrapolated,
        "calls": len(samples),
    }


# --- the composer's live preview -------------------------------------------------------------

PREVIEW_FIRST = 3
# The preview renders up to this many recipients as the user types; the send plan counts all.
PREVIEW_SCAN = 20_000


@dataclass(frozen=True)
class PreviewText:
    phone: str
    name: str
    text: str
    stats: smstext.TextStats
    # The placeholders this recipient has no value for, by their names (rendering.Slot.name):
    # rendered as nothing, and rendered as their fallback.
    empty_fields: tuple[str, ...]
    limit_error: str | None
    fallback_fields: tuple[str, ...] = ()


@dataclass(frozen=True)
class Preview:
    errors: tuple[str, ...]
    first: tuple[PreviewText, ...]
    longest: PreviewText | None
    counts: selectors.AudienceCounts
    scanned: int
    complete: bool  # every recipient was scanned
    total_parts: int
    over_limit: int
    with_empty_fields: int
    gsm7: rendering.Gsm7Report | None
    template_stats: smstext.TextStats
    # Refusals of the choice for recipients missing a value (beside that field).
    missing_values_errors: tuple[str, ...] = ()
    # What happens to recipients missing a value, placeholder by placeholder, in words.
    missing_notes: tuple[str, ...] = ()
    # The most expensive text the audience's values can make (campaigns.audience_values).
    worst: rendering.WorstCase | None = None
    left_out: int = 0  # of the scanned recipients


def campaign_preview(*, campaign: Campaign, list_ids: list[int], text: str) -> Preview:
    """What the first recipients and the longest text look like, and the worst case over the
    whole audience, for a campaign as typed (saved or not). `text` is the SMS text, or the RCS
    campaign's SMS fallback."""
    compiled = campaign_compiled(campaign=campaign, text=text)
    counts = selectors.audience_counts(
        channel=campaign.channel,
        sms_mode=campaign.sms_mode,
        list_ids=list_ids,
        pasted=campaign.pasted_numbers,
    )
    gsm7 = rendering.gsm7_report(text) if text else None
    template_stats = smstext.analyse(text)
    if compiled.errors or not text:
        return Preview(
            errors=compiled.errors,
            first=(),
            longest=None,
            counts=counts,
            scanned=0,
            complete=False,
            total_parts=0,
            over_limit=0,
            with_empty_fields=0,
            gsm7=gsm7,
            template_stats=template_stats,
        )
    values = audience_values(list_ids=list_ids, compiled=compiled) if campaign.uses_lists else None
    missing_error = (
        checks.missing_values_error(campaign=campaign, list_ids=list_ids, compiled=compiled)
        if campaign.is_sms and campaign.uses_lists
        else None
    )
    leaves_out = campaign.leaves_out_recipients_missing_values
    first: list[PreviewText] = []
    longest: PreviewText | None = None
    scanned = total_parts = over_limit = with_empty = left_out = 0
    rows = selectors.audience_rows(
        channel=campaign.channel,
        sms_mode=campaign.sms_mode,
        list_ids=list_ids,
        pasted=campaign.pasted_numbers,
        limit=PREVIEW_SCAN,
    )
    for row in rows:
        scanned += 1
        rendered = compiled.render(phone=row.phone, name=row.name, fields=row.fields)
        if rendered.empty_fields and leaves_out:
            left_out += 1
            continue
        stats = smstext.analyse(rendered.text)
        total_parts += stats.parts
        over_limit += not stats.fits
        with_empty += bool(rendered.empty_fields)
        if len(first) < PREVIEW_FIRST or longest is None or stats.length > longest.stats.length:
            item = _preview_text(compiled, row.phone, row.name, rendered, stats)
            if len(first) < PREVIEW_FIRST:
                first.append(item)
            if longest is None or stats.length > longest.stats.length:
                longest = item
    return Preview(
        errors=(),
        first=tuple(first),
        longest=longest,
        counts=counts,
        scanned=scanned,
        complete=scanned >= counts.recipients,
        total_parts=total_parts,
        over_limit=over_limit,
        with_empty_fields=with_empty,
        gsm7=gsm7,
        template_stats=template_stats,
        missing_values_errors=(missing_error,) if missing_error else (),
        missing_notes=_missing_notes(campaign, compiled, values, leaves_out=leaves_out),
        worst=rendering.worst_case(compiled, values.candidates(compiled)) if values else None,
        left_out=left_out,
    )


def recipient_text(
    *, compiled: rendering.CompiledText, phone: str, name: str, fields: dict
) -> PreviewText:
    """One contact's text as the campaign would send it, with its encoding and parts."""
    rendered = compiled.render(phone=phone, name=name, fields=fields)
    return _preview_text(compiled, phone, name, rendered, smstext.analyse(rendered.text))


def _preview_text(
    compiled: rendering.CompiledText,
    phone: str,
    name: str,
    rendered: rendering.Rendered,
    stats: smstext.TextStats,
) -> PreviewText:
    return PreviewText(
        phone=phone,
        name=name,
        text=rendered.text,
        stats=stats,
        empty_fields=compiled.names(rendered.empty_fields),
        limit_error=smstext.limit_error(rendered.text),
        fallback_fields=compiled.names(rendered.fallback_fields),
    )


def _missing_notes(
    campaign: Campaign,
    compiled: rendering.CompiledText,
    values: AudienceValues | None,
    *,
    leaves_out: bool,
) -> tuple[str, ...]:
    """What each placeholder's missing values come to, in words, for the preview."""
    if values is None:
        return ()
    notes = []
    fallbacks = {s.label: s.fallback for s in compiled.slots if s.fallback is not None}
    blocked = campaign.missing_values == Campaign.MissingValues.BLOCK
    names = {s.label: s.name for s in compiled.slots}
    for label, facts in values.fields.items():
        if not facts.missing:
            continue
        said = {
            "count": checks.count_text(facts.missing),
            "recipients": checks.count_text(values.recipients),
            "placeholder": rendering.placeholder_said(label, names.get(label, label)),
        }
        if label in fallbacks and label not in compiled.unfilled_labels:
            note = ngettext(
                "%(count)s of %(recipients)s recipients have no %(placeholder)s: they get "
                "“%(fallback)s”.",
                "%(count)s of %(recipients)s recipients have no %(placeholder)s: they get "
                "“%(fallback)s”.",
                values.recipients,
            )
            said["fallback"] = fallbacks[label]
        elif blocked:
            note = ngettext(
                "%(count)s of %(recipients)s recipients have no %(placeholder)s: sending is "
                "blocked until they have one.",
                "%(count)s of %(recipients)s recipients have no %(placeholder)s: sending is "
                "blocked until they have one.",
                values.recipients,
            )
        elif leaves_out:
            note = ngettext(
                "%(count)s of %(recipients)s recipients have no %(placeholder)s: they are left "
                "out.",
                "%(count)s of %(recipients)s recipients have no %(placeholder)s: they are left "
                "out.",
                values.recipients,
            )
        elif campaign.sms_mode == Campaign.SmsMode.GROUPS:
            note = ngettext(
                "%(count)s of %(recipients)s recipients have no %(placeholder)s: BSG sends their "
                "text with nothing there.",
                "%(count)s of %(recipients)s recipients have no %(placeholder)s: BSG sends their "
                "text with nothing there.",
                values.recipients,
            )
        else:
            note = ngettext(
                "%(count)s of %(recipients)s recipients have no %(placeholder)s: their text has "
                "nothing there. Give it a fallback: %(example)s.",
                "%(count)s of %(recipients)s recipients have no %(placeholder)s: their text has "
                "nothing there. Give it a fallback: %(example)s.",
                values.recipients,
            )
            said["example"] = f"{{{label}|…}}"
        notes.append(note % said)
    return tuple(notes)


def _rcs_fallback_mode(campaign: Campaign) -> str:
    """An RCS fallback is personalised like an SMS to contact lists, literal to BSG groups
    (campaigns.rcs_content)."""
    return rendering.MODE_LITERAL if campaign.sends_to_bsg_groups else rendering.MODE_INDIVIDUAL


# --- the RCS composer's carousel ---------------------------------------------------------------


@dataclass(frozen=True)
class RcsPreviewMessage:
    """What one recipient's phone shows: the cards as rendered for them."""

    phone: str
    name: str
    cards: tuple[dict[str, Any], ...]
    empty_fields: tuple[str, ...]  # by their names, as PreviewText's


@dataclass(frozen=True)
class RcsPreview:
    errors: tuple[str, ...]
    # The first recipients' messages; with no recipient (or placeholders that cannot be
    # filled), the cards as typed, each placeholder shown by its name.
    messages: tuple[RcsPreviewMessage, ...]
    personalised: bool
    # Distinct messages among the scanned recipients: each is its own BSG campaign.
    distinct_messages: int
    scanned: int
    complete: bool
    # BSG campaigns as the send plan counts them for personalised RCS: each distinct message
    # its own, split at BSG's size limit (_Tally.bsg_campaigns); of the scanned recipients, so
    # a floor when the scan is not complete. 0 when not personalised (the audience's count).
    bsg_campaigns: int = 0


def rcs_preview(*, campaign: Campaign, list_ids: list[int]) -> RcsPreview:
    """The RCS cards as the first recipients get them, rendered through the same
    campaigns.rcs_content template as the send plan and the engine."""
    template = rcs_template(campaign=campaign, fields=fields_by_reference())
    errors = tuple(
        message if index is None else checks.card_message(index, message)
        for index, _name, message in template.errors
    )
    as_typed = RcsPreviewMessage(phone="", name="", cards=template.cards, empty_fields=())
    if not template.slots or not list_ids:
        return RcsPreview(
            errors=errors,
            messages=(as_typed,) if template.cards else (),
            personalised=False,
            distinct_messages=1 if template.cards else 0,
            scanned=0,
            complete=False,
        )
    contents = RcsContents(template)
    keys: Counter[str] = Counter()
    messages: list[RcsPreviewMessage] = []
    scanned = 0
    rows = selectors.audience_rows(
        channel=campaign.channel,
        sms_mode=campaign.sms_mode,
        list_ids=list_ids,
        pasted=campaign.pasted_numbers,
        limit=PREVIEW_SCAN,
    )
    for row in rows:
        scanned += 1
        values, _missing, unfilled = template.personalise(
            phone=row.phone, name=row.name, fields=row.fields
        )
        keys[contents.key(values)] += 1
        if len(messages) < PREVIEW_FIRST:
            rendered = template.render(values)
            messages.append(
                RcsPreviewMessage(
                    phone=row.phone,
                    name=row.name,
                    cards=tuple(rendered.cards),
                    empty_fields=template.combined.names(unfilled),
                )
            )
    return RcsPreview(
        errors=errors,
        messages=tuple(messages) or (as_typed,),
        personalised=bool(messages),
        distinct_messages=len(keys),
        scanned=scanned,
        complete=scanned < PREVIEW_SCAN,
        bsg_campaigns=sum(
            selectors.bsg_campaigns_for(channel=campaign.channel, recipients=n)
            for n in keys.values()
        ),
    )
