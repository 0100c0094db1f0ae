"""The campaign engine: resolve recipients, submit parts, reconcile, poll and stop.

The database is the truth. Every move of a part is a compare-and-set on its `state`, so a task
delivered twice, a worker killed mid-request or a beat that fires twice does nothing the first
one did not already decide. The one thing that is never done blindly is a second POST of a part
whose first POST may have been accepted: each one could be a paid SMS blast. Such a part is
`unconfirmed` until BSG's own records (E9 by reference id, E5 for group sends) say whether it
exists; only when they provably do not may it be sent again, with the SAME reference ids, which
BSG refuses as duplicates if the first request got through after all.
"""

from __future__ import annotations

import csv
import io
import logging
import random
import secrets
import string
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import Count, F, Q, Sum
from django.utils import timezone

from audit.services import audit_record
from bsg import rules, smstext
from bsg.client import BsgClient, IndividualMessage
from bsg.client import Recipient as BsgRecipient
from bsg.errors import BsgError, BsgNotAuthorised, BsgRejected
from bsg.schemas import TERMINAL_STATUSES
from bsg.schemas import Campaign as BsgCampaign
from config.bsg import bsg_client
from contacts.csvsafe import neutralise_cell
from contacts.models import ContactList, DoNotContact, ListMembership
from contacts.selectors import fields_by_reference

from . import rendering, selectors
from .models import (
    Campaign,
    CampaignEvent,
    CampaignPart,
    CampaignSchedule,
    CampaignSnapshot,
    EngineInstallation,
    Recipient,
)

logger = logging.getLogger(__name__)

Part = CampaignPart
State = CampaignPart.State
Status = Campaign.Status

LEDGER_BATCH = 5_000
# E9's page[limit] is 15-500 (YAML); one reference is one message, so the smallest page will do.
REFERENCE_PAGE = 15
# Recipient statuses that "retry failed only" sends again (E9 message statuses, lower-cased).
FAILED_MESSAGE_STATUSES = frozenset({"undelivered", "expired", "failed", "rejected", "unknown"})
DELIVERED_MESSAGE_STATUSES = frozenset({"delivered", "read"})
_SALT_ALPHABET = string.ascii_lowercase + string.digits


class EngineRefused(Exception):
    """The engine will not do what was asked; the message says why, for the user."""


# --- reference ids -----------------------------------------------------------------------------


def installation_salt() -> str:
    """This installation's salt, created once and kept in the database."""
    row = EngineInstallation.objects.order_by("id").first()
    if row is not None:
        return row.salt
    salt = "".join(secrets.choice(_SALT_ALPHABET) for _ in range(8))
    EngineInstallation.objects.get_or_create(id=1, defaults={"salt": salt})
    return EngineInstallation.objects.order_by("id").first().salt


_BASE36 = string.digits + string.ascii_lowercase


def _to36(number: int) -> str:
    out = ""
    while True:
        number, rest = divmod(number, 36)
        out = _BASE36[rest] + out
        if not number:
            return out


def reference_id_for(*, salt: str, campaign_id: int, seq: int) -> str:
    """Deterministic, at most 32 [a-zA-Z0-9], unique account-wide: salt, campaign, position.

    The salt is lower-case and digits of fixed length and "Z" cannot occur in base 36 as
    written here, so no two (campaign, seq) pairs give the same string."""
    return f"{salt}{_to36(campaign_id)}Z{_to36(seq)}"


# --- events ------------------------------------------------------------------------------------


def _event(
    campaign_id: int,
    kind: str,
    message: str,
    *,
    part_id: int | None = None,
    user: Any = None,
) -> None:
    CampaignEvent.objects.create(
        campaign_id=campaign_id,
        part_id=part_id,
        kind=kind,
        message=message,
        user=user if user is not None and getattr(user, "is_authenticated", False) else None,
    )


# --- dispatch: resolve the ledger and split into parts -----------------------------------------


def campaign_is_due(*, campaign: Campaign, now: datetime) -> bool:
    """Ready now, or scheduled and due here, or scheduled at BSG (handed over at once)."""
    if campaign.status == Status.READY:
        return True
    if campaign.status != Status.SCHEDULED:
        return False
    return campaign.bsg_schedules or campaign.start_at is None or campaign.start_at <= now


@dataclass
class DispatchResult:
    campaign_id: int
    part_ids: list[int] = field(default_factory=list)
    recipients: int = 0
    refused: str = ""


def campaign_dispatch(*, campaign_id: int, now: datetime | None = None) -> DispatchResult | None:
    """Take a due campaign (compare-and-set to `sending`), resolve every recipient into the
    ledger and cut it into parts, all in one transaction: a worker that dies half-way leaves
    the campaign as it was, and the sweep takes it again. None when the campaign was not due or
    another worker took it."""
    now = now or timezone.now()
    campaign = Campaign.objects.filter(pk=campaign_id).first()
    if campaign is None or not campaign_is_due(campaign=campaign, now=now):
        logger.info("campaign %s: not due or already taken; nothing to dispatch", campaign_id)
        return None
    with transaction.atomic():
        taken_from = campaign.status
        changed = Campaign.objects.filter(pk=campaign_id, status=campaign.status).update(
            status=Status.SENDING, dispatched_at=now, updated_at=now
        )
        if changed != 1:
            logger.info("campaign %s: taken by another worker", campaign_id)
            return None
        campaign.refresh_from_db()
        result = _resolve_ledger(campaign)
        # Sending, or finished at once when nobody was left to send to or BSG would refuse.
        ended = Campaign.objects.filter(pk=campaign_id).values_list("status", flat=True).get()
        audit_record(
            action="campaign-dispatch",
            target=campaign,
            changes={"status": [taken_from, ended]},
            message=f"{result.recipients} recipient(s) in {len(result.part_ids)} part(s)."
            + (f" {result.refused}" if result.refused else ""),
        )
        transaction.on_commit(lambda: parts_enqueue_submit(part_ids=result.part_ids))
    logger.info(
        "campaign %s: dispatched, %s recipients in %s parts",
        campaign_id,
        result.recipients,
        len(result.part_ids),
    )
    return result


def _part_size(campaign: Campaign) -> int:
    return rules.MAX_RCS_RECIPIENTS if campaign.is_rcs else rules.MAX_SMS_RECIPIENTS


def _ledger_rows(campaign: Campaign) -> Iterator[tuple[str, int | None, str, int, str | None]]:
    """Every recipient once as (phone, contact id, text, SMS parts, reference id or None): from
    the lists (minus do-not-contact), the pasted numbers, or, for "retry failed only", the
    failed rows of the original's ledger (their texts and counts as they were sent).

    Tuples, not objects: a million of them pass through here. Each text is counted through
    the send plan's shape cache, so a million recipients cost a few hundred counts."""
    if campaign.retry_of_id:
        rows = (
            Recipient.objects.filter(
                campaign_id=campaign.retry_of_id, status__in=FAILED_MESSAGE_STATUSES
            )
            .exclude(phone__in=DoNotContact.objects.values("phone"))
            .order_by("seq")
            .values_list("phone", "contact_id", "text", "sms_parts")
        )
        for phone, contact_id, text, sms_parts in rows.iterator(chunk_size=LEDGER_BATCH):
            yield phone, contact_id, text, sms_parts, None
        return
    compiled = None
    if campaign.is_sms and campaign.sms_mode != Campaign.SmsMode.NUMBERS:
        mode = (
            rendering.MODE_GROUPS
            if campaign.sms_mode == Campaign.SmsMode.GROUPS
            else rendering.MODE_INDIVIDUAL
        )
        compiled = rendering.compile_text(campaign.text, fields=fields_by_reference(), mode=mode)
    rows = selectors.campaign_audience_rows(campaign=campaign)
    if compiled is not None and compiled.slots:
        values_for, render = compiled.values_for, compiled.render_values
        parts = rendering.ShapeCache(lambda values: _sms_parts(render(values))).get
        for row in rows:
            values = values_for(phone=row.phone, name=row.name, fields=row.fields)
            yield row.phone, row.contact_id, render(values), parts(values), row.reference_id
        return
    literal = campaign.text if campaign.is_sms else campaign.fallback_text
    literal_parts = _sms_parts(literal)
    for row in rows:
        yield row.phone, row.contact_id, literal, literal_parts, row.reference_id


def _sms_parts(text: str) -> int:
    return smstext.analyse(text).parts if text else 0


def _resolve_ledger(campaign: Campaign) -> DispatchResult:
    result = DispatchResult(campaign_id=campaign.pk)
    if (
        campaign.is_sms
        and campaign.sms_mode == Campaign.SmsMode.GROUPS
        and not campaign.retry_of_id
    ):
        refusal = _groups_do_not_contact_refusal(campaign)
        if refusal:
            part = Part.objects.create(
                campaign=campaign, number=1, state=State.REJECTED, error=refusal
            )
            _event(campaign.pk, CampaignEvent.Kind.REJECTED, refusal, part_id=part.pk)
            Campaign.objects.filter(pk=campaign.pk).update(status=Status.FINISHED)
            result.refused = refusal
            return result
    # BSG's group methods send to the whole group in one campaign: no split there.
    size = (
        None
        if campaign.is_sms and campaign.sms_mode == Campaign.SmsMode.GROUPS
        else _part_size(campaign)
    )
    campaign_id = campaign.pk
    # reference_id_for(salt=..., campaign_id=..., seq=...) with its constant head built once.
    reference_head = reference_id_for(salt=installation_salt(), campaign_id=campaign_id, seq=0)[:-1]
    writer = _LedgerWriter(campaign_id)
    add = writer.add
    part_ids: list[int] = []
    counts: list[int] = []
    part_id = 0
    left_in_part = 0
    seq = 0
    capped = schedule_capped_phones(campaign=campaign, now=timezone.now())
    skipped = 0
    for phone, contact_id, text, sms_parts, reference in _ledger_rows(campaign):
        if capped and phone in capped:
            skipped += 1
            continue
        if not left_in_part:
            part_id = Part.objects.create(campaign=campaign, number=len(part_ids) + 1).pk
            part_ids.append(part_id)
            counts.append(0)
            left_in_part = size or -1  # without a size, one part that never fills
        left_in_part -= 1
        counts[-1] += 1
        add(
            (
                campaign_id,
                part_id,
                seq,
                phone,
                contact_id,
                text,
                sms_parts,
                reference or reference_head + _to36(seq),
                "",  # no BSG status yet
            )
        )
        seq += 1
    writer.flush()
    for pk, count in zip(part_ids, counts, strict=True):
        Part.objects.filter(pk=pk).update(recipients=count)
    result.part_ids = part_ids
    result.recipients = seq
    capped_note = (
        f" {skipped} left out: messaged by this schedule within its frequency cap."
        if skipped
        else ""
    )
    if not part_ids:
        Campaign.objects.filter(pk=campaign_id).update(status=Status.FINISHED)
        _event(
            campaign_id, CampaignEvent.Kind.FINISHED, "No recipients left to send to." + capped_note
        )
    else:
        _event(
            campaign_id,
            CampaignEvent.Kind.DISPATCHED,
            f"{seq} recipients resolved into {len(part_ids)} BSG campaign(s)." + capped_note,
        )
    return result


class _LedgerWriter:
    """Writes ledger rows in batches: COPY on PostgreSQL, bulk_create elsewhere."""

    COLUMNS = (
        "campaign_id",
        "part_id",
        "seq",
        "phone",
        "contact_id",
        "text",
        "sms_parts",
        "reference_id",
        "status",
    )

    def __init__(self, campaign_id: int) -> None:
        self.rows: list[tuple] = []
        self.postgres = connection.vendor == "postgresql"

    def add(self, row: tuple) -> None:
        self.rows.append(row)
        if len(self.rows) >= LEDGER_BATCH * (4 if self.postgres else 1):
            self.flush()

    def flush(self) -> None:
        if not self.rows:
            return
        if self.postgres:
            table = Recipient._meta.db_table
            columns = ", ".join(self.COLUMNS)
            with (
                connection.cursor() as cursor,
                cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy,
            ):
                write_row = copy.write_row
                for row in self.rows:
                    write_row(row)
        else:
            Recipient.objects.bulk_create(
                [Recipient(**dict(zip(self.COLUMNS, row, strict=True))) for row in self.rows],
                batch_size=LEDGER_BATCH,
            )
        self.rows = []


def _groups_do_not_contact_refusal(campaign: Campaign) -> str:
    """BSG's group methods send to every member of the group, and BSG has no way to leave a
    contact out (bsg-api.md: no detach endpoint), so a do-not-contact number in a linked list
    would be messaged. Refuse, and say how to send without them."""
    list_ids = selectors.campaign_list_ids(campaign=campaign)
    opted_out = (
        ListMembership.objects.filter(contact_list_id__in=list_ids)
        .filter(contact__phone__in=DoNotContact.objects.values("phone"))
        .values("contact_id")
        .distinct()
        .count()
    )
    if not opted_out:
        return ""
    return (
        f"{opted_out} member(s) of the chosen lists are on the do-not-contact list, and BSG's "
        "group sending would message them anyway (BSG cannot leave a group member out). "
        "Duplicate the campaign and choose “To contact lists” so they are left out."
    )


# --- submit ------------------------------------------------------------------------------------


def _backoff(attempts: int) -> timedelta:
    """Exponential backoff with full jitter, capped (settings)."""
    base = settings.ENGINE_BACKOFF_BASE
    ceiling = min(settings.ENGINE_BACKOFF_MAX, base * 2 ** max(0, attempts - 1))
    return timedelta(seconds=base + random.uniform(0, ceiling))


@dataclass(frozen=True)
class SubmitOutcome:
    part_id: int
    state: str
    detail: str = ""
    retry_in: float | None = None


def part_submit(
    *, part_id: int, now: datetime | None = None, client: BsgClient | None = None
) -> SubmitOutcome | None:
    """Submit one part if it is pending and due; None when another worker has it or it moved."""
    now = now or timezone.now()
    part = Part.objects.select_related("campaign").filter(pk=part_id).first()
    if part is None:
        return None
    campaign = part.campaign
    if campaign.status != Status.SENDING:
        return None
    opens = window_opens_at(campaign=campaign, now=now)
    if opens is not None:
        # Outside the sending window: the sweep submits it once the window opens (nothing is
        # parked in the broker until then).
        moved = Part.objects.filter(pk=part_id, state=State.PENDING).update(next_attempt_at=opens)
        if moved:
            logger.info(
                "part %s of campaign %s: outside the sending window; waits until %s",
                part_id,
                campaign.pk,
                opens.isoformat(),
            )
        return SubmitOutcome(part_id, State.PENDING, f"outside the sending window until {opens}")
    # The claim: exactly one worker moves pending -> submitting.
    changed = (
        Part.objects.filter(pk=part_id, state=State.PENDING)
        .filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
        .update(
            state=State.SUBMITTING,
            attempts=F("attempts") + 1,
            last_attempt_at=now,
            next_attempt_at=None,
        )
    )
    if changed != 1:
        logger.info(
            "part %s of campaign %s: not pending or not due; left alone", part_id, campaign.pk
        )
        return None
    part.refresh_from_db()
    own_client = client is None
    client = client or bsg_client()
    try:
        reason = _hold_reason(client, campaign, part)
        if reason:
            return _hold(part, reason)
        answer = _post_part(client, campaign, part, now)
    except BsgError as error:
        return _submit_failed(part, error, now)
    finally:
        if own_client:
            client.close()
    _link(part, answer, now, how="submitted")
    return SubmitOutcome(part_id=part.pk, state=State.SUBMITTED, detail=str(answer.id))


def _post_part(client: BsgClient, campaign: Campaign, part: CampaignPart, now: datetime):
    start_at = (
        campaign.start_at
        if campaign.bsg_schedules and campaign.start_at and campaign.start_at > now
        else None
    )
    ledger = Recipient.objects.filter(part_id=part.pk).order_by("seq")
    if campaign.retry_of_id or (
        campaign.is_sms and campaign.sms_mode == Campaign.SmsMode.INDIVIDUAL
    ):
        messages = [
            IndividualMessage(phone=phone, text=text, sender=campaign.sender, reference_id=ref)
            for phone, text, ref in ledger.values_list("phone", "text", "reference_id")
        ]
        return client.sms_send_individual(
            messages=messages,
            validity=campaign.validity_hours,
            tariff_code=campaign.tariff_code,
            start_at=start_at,
        )
    if campaign.is_sms and campaign.sms_mode == Campaign.SmsMode.NUMBERS:
        phones = [
            BsgRecipient(number=phone, reference_id=ref)
            for phone, ref in ledger.values_list("phone", "reference_id")
        ]
        return client.sms_send(
            phones=phones,
            text=campaign.text,
            sender=campaign.sender,
            validity=campaign.validity_hours,
            tariff_code=campaign.tariff_code,
            start_at=start_at,
        )
    if campaign.is_sms:
        compiled = rendering.compile_text(
            campaign.text, fields=fields_by_reference(), mode=rendering.MODE_GROUPS
        )
        groups = list(
            ContactList.objects.filter(campaigns=campaign, bsg_group_id__isnull=False)
            .order_by("id")
            .values_list("bsg_group_id", flat=True)
        )
        return client.sms_send_groups(
            groups=groups,
            text=compiled.for_bsg_groups(),
            sender=campaign.sender,
            validity=campaign.validity_hours,
            tariff_code=campaign.tariff_code,
            start_at=start_at,
        )
    # RCS goes out through E14 (phones with reference ids) rather than E6 (groups): it is the
    # only RCS method that can be split at 5,000, leave do-not-contact numbers out and be
    # reconciled by reference id.
    from .services import _fallback_for_client, rcs_cards_for_client

    phones = [
        BsgRecipient(number=phone, reference_id=ref)
        for phone, ref in ledger.values_list("phone", "reference_id")
    ]
    return client.rcs_send(
        phones=phones,
        sender=campaign.rcs_agent,
        cards=rcs_cards_for_client(campaign.rcs_cards),
        sms_fallback=_fallback_for_client(campaign),
        check_stop_list=campaign.rcs_check_stop_list,
        validity=campaign.validity_hours,
        start_at=start_at,
    )


def _uses_references(campaign: Campaign) -> bool:
    return bool(
        campaign.retry_of_id or campaign.is_rcs or campaign.sms_mode != Campaign.SmsMode.GROUPS
    )


def _submit_failed(part: CampaignPart, error: BsgError, now: datetime) -> SubmitOutcome:
    campaign_id = part.campaign_id
    if error.may_have_been_accepted:
        Part.objects.filter(pk=part.pk, state=State.SUBMITTING).update(
            state=State.UNCONFIRMED, outcome_was_unknown=True, error=str(error)
        )
        _event(
            campaign_id,
            CampaignEvent.Kind.UNCONFIRMED,
            f"Part {part.number}: no clear answer from BSG ({error}); checking BSG before "
            "anything is sent again.",
            part_id=part.pk,
        )
        logger.warning("part %s of campaign %s: unconfirmed: %s", part.pk, campaign_id, error)
        return SubmitOutcome(
            part.pk, State.UNCONFIRMED, str(error), retry_in=settings.ENGINE_RECONCILE_GRACE
        )
    if (
        isinstance(error, BsgRejected)
        and part.outcome_was_unknown
        and any("reference" in key for key in error.errors)
    ):
        # Our reference ids are taken: an earlier attempt that got no answer went through.
        Part.objects.filter(pk=part.pk, state=State.SUBMITTING).update(
            state=State.UNCONFIRMED, error=str(error)
        )
        logger.warning(
            "part %s of campaign %s: references already at BSG; reconciling", part.pk, campaign_id
        )
        return SubmitOutcome(part.pk, State.UNCONFIRMED, str(error), retry_in=0)
    if isinstance(error, BsgRejected):
        Part.objects.filter(pk=part.pk, state=State.SUBMITTING).update(
            state=State.REJECTED, error=_rejection_text(error), finished_at=now
        )
        _event(
            campaign_id,
            CampaignEvent.Kind.REJECTED,
            f"Part {part.number}: BSG refused it: {_rejection_text(error)}",
            part_id=part.pk,
        )
        logger.warning("part %s of campaign %s: rejected: %r", part.pk, campaign_id, error)
        campaign_finish_if_settled(campaign_id=campaign_id, now=now)
        return SubmitOutcome(part.pk, State.REJECTED, str(error))
    if isinstance(error, BsgNotAuthorised) or part.attempts >= settings.ENGINE_SUBMIT_MAX_ATTEMPTS:
        message = (
            f"Part {part.number}: not sent after {part.attempts} attempt(s); BSG's last answer: "
            f"{error}. Nothing was accepted by BSG; resume it once BSG answers again."
        )
        Part.objects.filter(pk=part.pk, state=State.SUBMITTING).update(
            state=State.NEEDS_ATTENTION, error=message
        )
        _event(campaign_id, CampaignEvent.Kind.NEEDS_ATTENTION, message, part_id=part.pk)
        logger.error("part %s of campaign %s: needs attention: %s", part.pk, campaign_id, error)
        return SubmitOutcome(part.pk, State.NEEDS_ATTENTION, message)
    # Nothing reached BSG (503, refused connection): safe to ask again later.
    delay = _backoff(part.attempts)
    Part.objects.filter(pk=part.pk, state=State.SUBMITTING).update(
        state=State.PENDING, next_attempt_at=now + delay, error=str(error)
    )
    logger.info(
        "part %s of campaign %s: BSG unavailable (%s); retry in %.1fs",
        part.pk,
        campaign_id,
        error,
        delay.total_seconds(),
    )
    return SubmitOutcome(part.pk, State.PENDING, str(error), retry_in=delay.total_seconds())


def _rejection_text(error: BsgRejected) -> str:
    details = [f"{k}: {' '.join(v)}" for k, v in list(error.errors.items())[:5]]
    return error.message + (" — " + "; ".join(details) if details else "")


def _link(part: CampaignPart, answer: BsgCampaign, now: datetime, *, how: str) -> bool:
    """Record the BSG campaign a part became; False if the part had already moved on."""
    from_states = [State.SUBMITTING] if how == "submitted" else [State.UNCONFIRMED]
    # The discovery may have recorded this BSG campaign as "created elsewhere" while our answer
    # was in doubt: it is ours, so that record goes.
    Campaign.objects.filter(created_elsewhere=True, parts__bsg_campaign_id=answer.id).delete()
    changed = Part.objects.filter(pk=part.pk, state__in=from_states).update(
        state=State.SUBMITTED,
        bsg_campaign_id=answer.id,
        bsg_status=answer.status or "",
        sent=answer.statistics.sent,
        delivered=answer.statistics.delivered,
        submitted_at=now,
        error="",
        next_messages_poll_at=now,
    )
    if changed != 1:
        return False
    _record_unit_price(part, answer)
    kind = CampaignEvent.Kind.SUBMITTED if how == "submitted" else CampaignEvent.Kind.RECONCILED
    verb = "submitted" if how == "submitted" else "found at BSG after an unclear answer"
    _event(
        part.campaign_id,
        kind,
        f"Part {part.number} {verb}: BSG campaign {answer.id} "
        f"({answer.status or 'status unknown'}).",
        part_id=part.pk,
    )
    logger.info("part %s of campaign %s: %s as BSG %s", part.pk, part.campaign_id, how, answer.id)
    if Campaign.objects.filter(pk=part.campaign_id, status=Status.STOPPED).exists():
        # Stopped while this part's request was in doubt: stop what turned out to exist.
        part.refresh_from_db()
        _stop_part(part, user=None)
    return True


# --- reconcile ---------------------------------------------------------------------------------


def part_reconcile(
    *, part_id: int, now: datetime | None = None, client: BsgClient | None = None
) -> SubmitOutcome | None:
    """Settle an unconfirmed part from BSG's records; None if it is not unconfirmed."""
    now = now or timezone.now()
    part = Part.objects.select_related("campaign").filter(pk=part_id).first()
    if part is None or part.state != State.UNCONFIRMED:
        return None
    own_client = client is None
    client = client or bsg_client()
    try:
        if _uses_references(part.campaign):
            found = _find_by_references(client, part)
        else:
            found = _find_by_window(client, part, now)
    except _Ambiguous as ambiguous:
        return _needs_attention(part, str(ambiguous))
    except BsgError as error:
        tries = part.reconcile_tries + 1
        Part.objects.filter(pk=part.pk, state=State.UNCONFIRMED).update(reconcile_tries=tries)
        if tries >= settings.ENGINE_RECONCILE_MAX_TRIES:
            return _needs_attention(
                part,
                f"Part {part.number}: BSG gave no clear answer to the send, and could not be "
                f"asked whether it exists ({error}). It may or may not have been sent; check "
                "BSG's web account before sending it again.",
            )
        logger.info("part %s: reconcile lookup failed (%s); later", part.pk, error)
        return SubmitOutcome(
            part.pk, State.UNCONFIRMED, str(error), retry_in=_backoff(tries).total_seconds()
        )
    finally:
        if own_client:
            client.close()
    if found is not None:
        if isinstance(found, int):
            found = client_campaign(found)
        _link(part, found, now, how="reconciled")
        return SubmitOutcome(part.pk, State.SUBMITTED, str(found.id))
    # None of its messages at BSG. A request that timed out may still be processed a moment
    # later, so "none" only counts once the grace period has passed since the attempt.
    waited = (now - part.last_attempt_at).total_seconds() if part.last_attempt_at else 1e9
    if waited < settings.ENGINE_RECONCILE_GRACE:
        return SubmitOutcome(
            part.pk,
            State.UNCONFIRMED,
            "not found yet",
            retry_in=settings.ENGINE_RECONCILE_GRACE - waited,
        )
    if part.attempts >= settings.ENGINE_SUBMIT_MAX_ATTEMPTS:
        return _needs_attention(
            part,
            f"Part {part.number}: {part.attempts} attempts got no clear answer from BSG and BSG "
            "holds none of its messages; nothing was sent. Resume to try again.",
        )
    changed = Part.objects.filter(pk=part.pk, state=State.UNCONFIRMED).update(
        state=State.PENDING, next_attempt_at=now, reconcile_tries=0
    )
    if changed == 1:
        _event(
            part.campaign_id,
            CampaignEvent.Kind.RETRY,
            f"Part {part.number}: BSG provably holds none of its messages; sending it again "
            "with the same reference ids.",
            part_id=part.pk,
        )
        transaction.on_commit(lambda: parts_enqueue_submit(part_ids=[part.pk]))
    return SubmitOutcome(part.pk, State.PENDING, "none found at BSG")


class _Ambiguous(Exception):
    pass


def client_campaign(campaign_id: int) -> BsgCampaign:
    client = bsg_client()
    try:
        return client.campaign_get(campaign_id=campaign_id)
    finally:
        client.close()


def _find_by_references(client: BsgClient, part: CampaignPart) -> BsgCampaign | None:
    """BSG creates a campaign with all its messages or none, so a few of the part's reference
    ids say it: the first and the last."""
    ledger = Recipient.objects.filter(part_id=part.pk)
    first = ledger.order_by("seq").values_list("reference_id", flat=True).first()
    last = ledger.order_by("-seq").values_list("reference_id", flat=True).first()
    for reference in dict.fromkeys(r for r in (first, last) if r):
        page = client.messages_page(reference_id=reference, limit=REFERENCE_PAGE)
        for message in page.items:
            if message.reference_id == reference and message.campaign_id:
                return client.campaign_get(campaign_id=message.campaign_id)
    return None


def _find_by_window(client: BsgClient, part: CampaignPart, now: datetime) -> BsgCampaign | None:
    """Group sends carry no reference ids: look for a campaign of ours created around the
    attempt (E5), with our sender, not already linked to another part."""
    campaign = part.campaign
    since = (part.last_attempt_at or now) - timedelta(minutes=2)
    taken = set(
        Part.objects.filter(bsg_campaign_id__isnull=False).values_list("bsg_campaign_id", flat=True)
    )
    candidates = [
        c
        for c in client.iter_campaigns(
            message_type="rcs" if campaign.is_rcs else "sms",
            date_from=since,
            date_to=now + timedelta(minutes=1),
        )
        if c.id not in taken and (c.sender or "") == (campaign.sender or campaign.rcs_agent)
    ]
    if len(candidates) > 1:
        ids = ", ".join(str(c.id) for c in candidates)
        raise _Ambiguous(
            f"Part {part.number}: BSG gave no clear answer, and BSG holds several campaigns "
            f"that could be it ({ids}); check which one is ours in BSG's web account."
        )
    return candidates[0] if candidates else None


def _needs_attention(part: CampaignPart, message: str) -> SubmitOutcome:
    Part.objects.filter(pk=part.pk, state__in=[State.UNCONFIRMED, State.SUBMITTING]).update(
        state=State.NEEDS_ATTENTION, error=message
    )
    _event(part.campaign_id, CampaignEvent.Kind.NEEDS_ATTENTION, message, part_id=part.pk)
    logger.error("part %s of campaign %s: needs attention: %s", part.pk, part.campaign_id, message)
    return SubmitOutcome(part.pk, State.NEEDS_ATTENTION, message)


def part_resume(*, part_id: int, user: Any = None) -> bool:
    """A person asks to try a held or needs-attention part again (from pending, from zero)."""
    part = Part.objects.filter(pk=part_id).first()
    if part is None:
        return False
    changed = Part.objects.filter(
        pk=part_id, state__in=[State.HELD, State.NEEDS_ATTENTION], outcome_was_unknown=False
    ).update(state=State.PENDING, attempts=0, next_attempt_at=None, error="")
    if changed != 1:
        # A part that may have been accepted is reconciled again, never resent blindly.
        changed = Part.objects.filter(
            pk=part_id, state=State.NEEDS_ATTENTION, outcome_was_unknown=True
        ).update(state=State.UNCONFIRMED, attempts=0, reconcile_tries=0)
    if changed == 1:
        _event(
            part.campaign_id,
            CampaignEvent.Kind.RETRY,
            f"Part {part.number} resumed.",
            part_id=part_id,
            user=user,
        )
        audit_record(
            action="part-resume",
            target=part.campaign,
            changes={f"part {part.number}": [part.state, "resumed"]},
            actor=user,
        )
        transaction.on_commit(lambda: parts_enqueue_submit(part_ids=[part_id]))
    return changed == 1


# --- the sweep -----------------------------------------------------------------------------------


@dataclass
class SweepReport:
    dispatched: list[int] = field(default_factory=list)
    submit: list[int] = field(default_factory=list)
    reconcile: list[int] = field(default_factory=list)
    stuck: list[int] = field(default_factory=list)
    cancelled: list[int] = field(default_factory=list)


def engine_sweep(*, now: datetime | None = None, enqueue: bool = True) -> SweepReport:
    """What is due, from the database: campaigns ready or scheduled and due, parts pending and
    due, parts left `submitting` by a worker that died (they become unconfirmed: the request
    may have reached BSG), and unconfirmed parts to reconcile."""
    now = now or timezone.now()
    report = SweepReport()
    due = Campaign.objects.filter(
        Q(status=Status.READY)
        | Q(status=Status.SCHEDULED, bsg_schedules=True)
        | Q(status=Status.SCHEDULED, start_at__lte=now)
    ).values_list("id", flat=True)
    report.dispatched = list(due)
    cutoff = now - timedelta(seconds=settings.ENGINE_STUCK_SUBMITTING)
    stuck = list(
        Part.objects.filter(state=State.SUBMITTING, last_attempt_at__lt=cutoff).values_list(
            "id", flat=True
        )
    )
    for part_id in stuck:
        changed = Part.objects.filter(
            pk=part_id, state=State.SUBMITTING, last_attempt_at__lt=cutoff
        ).update(state=State.UNCONFIRMED, outcome_was_unknown=True)
        if changed:
            report.stuck.append(part_id)
            logger.warning("part %s: left submitting by a lost worker; now unconfirmed", part_id)
    # A part sent back to pending while its campaign was being stopped (a harmless failure, or
    # "none at BSG" after an unclear answer) would wait for ever: nothing submits a stopped
    # campaign's parts. Cancel it, as the stop would have (found by bench/soak_system.py).
    orphaned = Part.objects.filter(state=State.PENDING, campaign__status=Status.STOPPED)
    for part_id, campaign_id, number in orphaned.values_list("id", "campaign_id", "number"):
        if Part.objects.filter(pk=part_id, state=State.PENDING).update(
            state=State.CANCELLED, finished_at=now
        ):
            report.cancelled.append(part_id)
            _event(
                campaign_id,
                CampaignEvent.Kind.CANCELLED,
                f"Part {number} cancelled: the campaign was stopped before it was sent.",
                part_id=part_id,
            )
    report.submit = list(
        Part.objects.filter(
            Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now),
            state=State.PENDING,
            campaign__status=Status.SENDING,
        ).values_list("id", flat=True)
    )
    report.reconcile = list(
        Part.objects.filter(state=State.UNCONFIRMED).values_list("id", flat=True)
    )
    if enqueue:
        from . import tasks

        for campaign_id in report.dispatched:
            _send_task(tasks.campaign_dispatch, campaign_id)
        parts_enqueue_submit(part_ids=report.submit)
        for part_id in report.reconcile:
            _send_task(tasks.part_reconcile, part_id)
    return report


def _send_task(task, *args: Any, countdown: float | None = None) -> bool:
    """Enqueue, and survive a broker that is down: the sweep finds the work in the database."""
    try:
        task.apply_async(args=args, countdown=countdown)
    except Exception as error:  # kombu raises several types; all mean "not queued now"
        logger.warning("%s%s not queued (%s); the sweep will take it", task.name, args, error)
        return False
    return True


def parts_enqueue_submit(*, part_ids: Iterable[int]) -> None:
    from . import tasks

    for part_id in part_ids:
        _send_task(tasks.part_submit, part_id)


def campaign_enqueue_dispatch(*, campaign_id: int) -> None:
    """After the transaction that made a campaign due commits, ask a worker for it. A campaign
    scheduled here for later is not parked in the broker: the sweep dispatches it when due."""
    from . import tasks

    campaign = Campaign.objects.filter(pk=campaign_id).first()
    if campaign is None or not campaign_is_due(campaign=campaign, now=timezone.now()):
        return
    transaction.on_commit(lambda: _send_task(tasks.campaign_dispatch, campaign_id), robust=True)


# --- poll ---------------------------------------------------------------------------------------


@dataclass
class PollReport:
    parts: int = 0
    api_calls: int = 0
    changed: int = 0
    finished: int = 0
    skipped: bool = False


POLL_LOCK_KEY = "engine:poll-lock"


def engine_poll(*, now: datetime | None = None, client: BsgClient | None = None) -> PollReport:
    """Refresh every submitted part not yet terminal, with as few calls as the API allows; one
    poll at a time, however many beats fire (a cache lock that expires by itself)."""
    from django.core.cache import cache

    # As long as the poll task's hard time limit: a killed poll frees the lock by itself.
    lock_seconds = 90
    if not cache.add(POLL_LOCK_KEY, "1", timeout=lock_seconds):
        return PollReport(skipped=True)
    try:
        return _poll(now or timezone.now(), client)
    finally:
        cache.delete(POLL_LOCK_KEY)


class _CountingClient:
    """Counts the API calls a poll makes (the bench and a test check the figure)."""

    def __init__(self, client: BsgClient) -> None:
        self.client = client
        self.calls = 0

    def __getattr__(self, name: str) -> Callable:
        method = getattr(self.client, name)

        def counted(*args: Any, **kwargs: Any) -> Any:
            if name != "iter_campaigns":
                self.calls += 1
            return method(*args, **kwargs)

        return counted


def _live_parts(**filters: Any) -> list[CampaignPart]:
    return list(
        Part.objects.filter(
            state=State.SUBMITTED, finished_at__isnull=True, **filters
        ).select_related("campaign")
    )


def _poll_parts(
    parts: list[CampaignPart],
    now: datetime,
    client: BsgClient | None,
    *,
    messages: Callable[[_CountingClient], None],
) -> PollReport:
    """Fetch and apply these parts' figures, then refresh recipient statuses via `messages`."""
    report = PollReport(parts=len(parts))
    own_client = client is None
    raw = client or bsg_client()
    counting = _CountingClient(raw)
    try:
        if parts:
            fetched = _fetch(counting, parts)
            for part in parts:
                answer = fetched.get(part.bsg_campaign_id)
                if answer is None:
                    continue
                changed, finished = _apply(counting, part, answer, now)
                report.changed += changed
                report.finished += finished
        messages(counting)
    finally:
        if own_client:
            raw.close()
    report.api_calls = counting.calls
    return report


def _poll(now: datetime, client: BsgClient | None) -> PollReport:
    return _poll_parts(
        _live_parts(), now, client, messages=lambda counting: _poll_messages(counting, now)
    )


def _fetch(client: _CountingClient, parts: list[CampaignPart]) -> dict[int, BsgCampaign]:
    wanted = {p.bsg_campaign_id: p for p in parts}
    if len(parts) == 1:
        try:
            answer = client.campaign_get(campaign_id=parts[0].bsg_campaign_id)
        except BsgError as error:
            logger.info("poll: part %s not read: %s", parts[0].pk, error)
            return {}
        return {answer.id: answer}
    found: dict[int, BsgCampaign] = {}
    since = min(p.submitted_at for p in parts) - timedelta(minutes=5)
    until = timezone.now() + timedelta(minutes=5)
    kinds = {"rcs" if p.campaign.is_rcs else "sms" for p in parts}
    for kind in sorted(kinds):
        try:
            # E5 filters its window on created_at; 500 a page is the most it gives (YAML).
            page_offset = 0
            while True:
                page = client.campaigns_page(
                    message_type=kind,
                    date_from=since,
                    date_to=until,
                    offset=page_offset,
                    limit=500,
                )
                for item in page.items:
                    if item.id in wanted:
                        found[item.id] = item
                page_offset += len(page.items)
                if not page.items or (page.total is not None and page_offset >= page.total):
                    break
                if len(found) == len(wanted):
                    break
        except BsgError as error:
            logger.info("poll: campaign list not read (%s); next cycle", error)
    for missing in set(wanted) - set(found):
        try:
            found[missing] = client.campaign_get(campaign_id=missing)
        except BsgError as error:
            logger.info("poll: BSG campaign %s not read: %s", missing, error)
    return found


FALLBACK_PREFIX = "fallback_sms_"


def _breakdown_with_fallback(detail: Any) -> dict[str, int]:
    """E8's per-status counts, with the RCS campaign's SMS fallback counts beside them under a
    prefix, so one flat dict sums across parts and the page can tell the two channels apart."""
    breakdown = dict(detail.statistics)
    for name, count in (detail.fallback_statistics or {}).items():
        breakdown[f"{FALLBACK_PREFIX}{name}"] = count
    return breakdown


def _apply(
    client: _CountingClient, part: CampaignPart, answer: BsgCampaign, now: datetime
) -> tuple[bool, bool]:
    status = answer.status or ""
    sent, delivered = answer.statistics.sent, answer.statistics.delivered
    changed = (status, sent, delivered) != (part.bsg_status, part.sent, part.delivered)
    terminal = status in TERMINAL_STATUSES
    updates: dict[str, Any] = {"last_polled_at": now}
    if changed:
        updates.update(bsg_status=status, sent=sent, delivered=delivered)
    if terminal and part.bsg_status not in TERMINAL_STATUSES:
        # The recipients' statuses are read in this same cycle rather than a minute later, so
        # the recipients tab agrees with "Finished" as soon as the page shows it.
        updates["next_messages_poll_at"] = now
    if terminal:
        # The breakdown and price once the part ends (E8): one call per part, once.
        try:
            detail = client.campaign_detail(campaign_id=part.bsg_campaign_id)
        except BsgError as error:
            logger.info("poll: detail of part %s not read (%s); next cycle", part.pk, error)
            terminal = False
        else:
            updates.update(
                breakdown=_breakdown_with_fallback(detail),
                price=detail.total_price,
                currency=detail.currency or "",
            )
            if _reports_pending(part, status, detail.statistics, now):
                # Stopped while messages were out: their delivery reports still come, and
                # BSG's counts move until they have (found by bench/soak_system.py).
                terminal = False
            elif status == "stopped":
                # The counts above were read before this breakdown, and reports that landed in
                # between are in one and not the other. Nothing is in flight now: read again.
                try:
                    final = client.campaign_get(campaign_id=part.bsg_campaign_id)
                except BsgError as error:
                    logger.info("poll: part %s not read again (%s); next cycle", part.pk, error)
                    terminal = False
                else:
                    sent, delivered = final.statistics.sent, final.statistics.delivered
                    changed = (status, sent, delivered) != (
                        part.bsg_status,
                        part.sent,
                        part.delivered,
                    )
                    updates.update(
                        bsg_status=status, sent=sent, delivered=delivered, finished_at=now
                    )
            else:
                updates["finished_at"] = now
    Part.objects.filter(pk=part.pk, state=State.SUBMITTED).update(**updates)
    if changed or terminal:
        CampaignSnapshot.objects.create(
            campaign_id=part.campaign_id,
            part_id=part.pk,
            taken_at=now,
            bsg_status=status,
            sent=sent,
            delivered=delivered,
            breakdown=updates.get("breakdown", part.breakdown),
        )
    if status != part.bsg_status:
        _event(
            part.campaign_id,
            CampaignEvent.Kind.STATUS_CHANGED,
            f"Part {part.number}: BSG status {part.bsg_status or '—'} → {status}.",
            part_id=part.pk,
        )
    if terminal:
        campaign_finish_if_settled(campaign_id=part.campaign_id, now=now)
    return changed, terminal


def campaigns_poll_now(
    *, campaign_ids: Iterable[int], now: datetime | None = None, client: BsgClient | None = None
) -> PollReport:
    """Refresh these campaigns' live parts now (admin's "Refresh now"), the way the beat's poll
    does: figures, snapshots, events, the finish, and per-recipient statuses."""
    now = now or timezone.now()
    parts = _live_parts(campaign_id__in=list(campaign_ids))
    if not parts:
        return PollReport(parts=0)

    def refresh_messages(counting: _CountingClient) -> None:
        for part in parts:
            try:
                part_messages_refresh(part=part, client=counting, now=now)
            except BsgError as error:
                logger.info("refresh: messages of part %s not read (%s)", part.pk, error)

    return _poll_parts(parts, now, client, messages=refresh_messages)


# E8 statuses of a message BSG has dispatched and not yet reported on.
IN_FLIGHT_MESSAGE_STATUSES = ("accepted", "sending", "sent")


def _reports_pending(
    part: CampaignPart, status: str, breakdown: dict[str, int], now: datetime
) -> bool:
    """A stopped BSG campaign with messages still awaiting their delivery report (E8 counts
    messages *in* each status), within their validity: after it no report can come."""
    if status != "stopped" or not any(breakdown.get(s) for s in IN_FLIGHT_MESSAGE_STATUSES):
        return False
    submitted = part.submitted_at or now
    return now < submitted + timedelta(hours=part.campaign.validity_hours)


def campaign_finish_if_settled(*, campaign_id: int, now: datetime | None = None) -> bool:
    parts = list(Part.objects.filter(campaign_id=campaign_id))
    if not parts or not all(p.is_settled for p in parts):
        return False
    changed = Campaign.objects.filter(pk=campaign_id, status=Status.SENDING).update(
        status=Status.FINISHED, updated_at=now or timezone.now()
    )
    if changed:
        _event(campaign_id, CampaignEvent.Kind.FINISHED, "Every part has finished at BSG.")
        audit_record(
            action="campaign-finish",
            target=Campaign.objects.get(pk=campaign_id),
            changes={"status": [Status.SENDING, Status.FINISHED]},
            message="Every part has finished at BSG.",
        )
    return bool(changed)


MESSAGE_POLL_PARTS_PER_CYCLE = 10


def _poll_messages(client: _CountingClient, now: datetime) -> None:
    """Per-recipient statuses (E9, by campaign, 500 a page) for parts that are due: every poll
    while sending, then at growing intervals until validity has passed (reports keep coming)."""
    due = list(
        Part.objects.filter(state=State.SUBMITTED, next_messages_poll_at__lte=now).select_related(
            "campaign"
        )[:MESSAGE_POLL_PARTS_PER_CYCLE]
    )
    for part in due:
        try:
            part_messages_refresh(part=part, client=client, now=now)
        except BsgError as error:
            logger.info("poll: messages of part %s not read (%s)", part.pk, error)


def part_messages_refresh(*, part: CampaignPart, client: Any, now: datetime) -> int:
    by_reference = _uses_references(part.campaign)
    statuses: dict[str, tuple[str, int]] = {}
    offset = 0
    while True:
        page = client.messages_page(campaign_id=part.bsg_campaign_id, offset=offset, limit=500)
        for message in page.items:
            key = message.reference_id if by_reference else str(message.phone or "")
            if key:
                statuses[key] = ((message.status or "").lower(), message.id)
        offset += len(page.items)
        if not page.items or (page.total is not None and offset >= page.total):
            break
    rows = Recipient.objects.filter(part_id=part.pk).only("id", "reference_id", "phone", "status")
    changed = []
    for row in rows.iterator(chunk_size=LEDGER_BATCH):
        found = statuses.get(row.reference_id if by_reference else row.phone)
        if found and found[0] != row.status:
            row.status, row.bsg_message_id, row.status_at = found[0], found[1], now
            changed.append(row)
    Recipient.objects.bulk_update(
        changed, ["status", "bsg_message_id", "status_at"], batch_size=1000
    )
    Part.objects.filter(pk=part.pk).update(
        messages_polled_at=now, next_messages_poll_at=_next_messages_poll(part, now)
    )
    return len(changed)


def _next_messages_poll(part: CampaignPart, now: datetime) -> datetime | None:
    part.refresh_from_db(fields=["bsg_status", "submitted_at", "messages_polled_at"])
    if part.bsg_status not in TERMINAL_STATUSES:
        return now + timedelta(seconds=settings.BSG_POLL_INTERVAL)
    # After the part ends, delivery reports keep arriving until validity has passed.
    submitted = part.submitted_at or now
    until = submitted + timedelta(hours=part.campaign.validity_hours, minutes=30)
    if now >= until:
        return None
    age = (now - submitted).total_seconds()
    return now + timedelta(seconds=min(3600, max(60, age / 2)))


# --- stop ---------------------------------------------------------------------------------------


@dataclass
class StopReport:
    cancelled_locally: bool = False
    stopped: list[int] = field(default_factory=list)
    refused: dict[int, str] = field(default_factory=dict)
    cancelled_parts: int = 0


def campaign_stop(*, campaign_id: int, user: Any = None) -> StopReport:
    """Stop a campaign: cancel it here if nothing was submitted yet, else stop every part BSG
    may still be sending, and record who asked and BSG's answer for each part."""
    now = timezone.now()
    campaign = Campaign.objects.get(pk=campaign_id)
    if campaign.is_read_only:
        raise EngineRefused(
            "This campaign was created elsewhere on the BSG account; stop it where it was made."
        )
    who = user if user is not None and getattr(user, "is_authenticated", False) else None
    report = StopReport()
    cancelled = Campaign.objects.filter(
        pk=campaign_id, status__in=[Status.READY, Status.SCHEDULED]
    ).update(status=Status.CANCELLED, stopped_at=now, stopped_by=who, updated_at=now)
    if cancelled:
        report.cancelled_locally = True
        _event(
            campaign_id,
            CampaignEvent.Kind.CANCELLED,
            "Cancelled before anything was sent; BSG was not called.",
            user=user,
        )
        audit_record(
            action="campaign-stop",
            target=campaign,
            changes={"status": [campaign.status, Status.CANCELLED]},
            message="Cancelled before anything was sent; BSG was not called.",
            actor=user,
        )
        return report
    if campaign.status != Status.SENDING:
        raise EngineRefused(
            f"This campaign is {campaign.get_status_display().lower()}: there is nothing left "
            "to stop."
        )
    # Parts not yet submitted never will be.
    report.cancelled_parts = Part.objects.filter(
        campaign_id=campaign_id, state__in=[State.PENDING, State.HELD]
    ).update(state=State.CANCELLED, finished_at=now)
    Campaign.objects.filter(pk=campaign_id, status=Status.SENDING).update(
        status=Status.STOPPED, stopped_at=now, stopped_by=who, updated_at=now
    )
    for part in Part.objects.filter(campaign_id=campaign_id, state=State.SUBMITTED):
        if not part.is_stoppable:
            continue
        answer = _stop_part(part, user=user)
        if answer.startswith("Stopped"):
            report.stopped.append(part.pk)
        else:
            report.refused[part.pk] = answer
    _event(
        campaign_id,
        CampaignEvent.Kind.STOPPED,
        f"Stopped: {len(report.stopped)} part(s) stopped at BSG, {report.cancelled_parts} not "
        f"submitted cancelled, {len(report.refused)} refused by BSG.",
        user=user,
    )
    audit_record(
        action="campaign-stop",
        target=campaign,
        changes={"status": [campaign.status, Status.STOPPED]},
        message=f"{len(report.stopped)} part(s) stopped at BSG, {report.cancelled_parts} not "
        f"submitted cancelled, {len(report.refused)} refused by BSG.",
        actor=user,
    )
    return report


def _stop_part(part: CampaignPart, *, user: Any) -> str:
    client = bsg_client()
    try:
        answer = client.campaign_stop(campaign_id=part.bsg_campaign_id)
    except BsgRejected as error:
        text = f"BSG refused to stop it: {error.message}"
    except BsgError as error:
        text = f"BSG did not answer the stop request ({error}); check its status."
    else:
        text = f"Stopped at BSG (status {answer.status or 'unknown'})."
        Part.objects.filter(pk=part.pk).update(bsg_status=answer.status or part.bsg_status)
    finally:
        client.close()
    Part.objects.filter(pk=part.pk).update(stop_answer=text)
    logger.info("part %s of campaign %s: stop: %s", part.pk, part.campaign_id, text)
    return text


# --- the ledger, read -------------------------------------------------------------------------


def campaign_totals(*, campaign_id: int) -> dict[str, Any]:
    totals = Part.objects.filter(campaign_id=campaign_id).aggregate(
        recipients=Sum("recipients"),
        sent=Sum("sent"),
        delivered=Sum("delivered"),
        price=Sum("price"),
    )
    return {k: v or 0 for k, v in totals.items()}


def ledger_csv_rows(*, campaign_id: int) -> Iterator[str]:
    """The ledger as CSV lines: who did and did not receive the campaign, and why."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)

    def line(values: list[Any]) -> str:
        buffer.seek(0)
        buffer.truncate()
        writer.writerow(values)
        return buffer.getvalue()

    yield line(["phone", "part", "reference_id", "received", "status", "reason", "sms_parts"])
    parts = {p.pk: p for p in Part.objects.filter(campaign_id=campaign_id)}
    rows = (
        Recipient.objects.filter(campaign_id=campaign_id)
        .order_by("seq")
        .values_list("phone", "part_id", "reference_id", "status", "sms_parts")
    )
    for phone, part_id, reference, status, sms_parts in rows.iterator(chunk_size=LEDGER_BATCH):
        part = parts[part_id]
        received = "yes" if status in ("delivered", "read") else "no"
        if part.state != State.SUBMITTED:
            reason = f"part {part.get_state_display().lower()}" + (
                f": {part.error}" if part.error else ""
            )
        else:
            reason = status or "no report yet"
        # Digits without "+": a leading "+" would make a spreadsheet read the cell as a formula.
        yield line(
            [phone, part.number, reference, received, status, neutralise_cell(reason), sms_parts]
        )


def campaign_retry_failed(*, campaign_id: int, user: Any = None) -> Campaign:
    """A new draft that sends each undelivered, expired or failed recipient the text it was
    meant to get (through send-individual)."""
    original = Campaign.objects.get(pk=campaign_id)
    failed = Recipient.objects.filter(campaign_id=campaign_id, status__in=FAILED_MESSAGE_STATUSES)
    if not failed.exists():
        raise EngineRefused("No recipient of this campaign is known to have failed.")
    if not original.is_sms:
        raise EngineRefused("Retrying failed recipients is for SMS campaigns.")
    with transaction.atomic():
        retry = Campaign.objects.create(
            name=f"Retry of {original.name}"[:200],
            channel=original.channel,
            sms_mode=Campaign.SmsMode.INDIVIDUAL,
            text=original.text,
            sender=original.sender,
            validity_hours=original.validity_hours,
            tariff_code=original.tariff_code,
            retry_of=original,
            status=Status.READY,
            send_requested_at=timezone.now(),
            send_requested_by=user
            if user is not None and getattr(user, "is_authenticated", False)
            else None,
            created_by=user
            if user is not None and getattr(user, "is_authenticated", False)
            else None,
        )
        _event(
            retry.pk,
            CampaignEvent.Kind.SEND_REQUESTED,
            f"Retry of the failed recipients of “{original.name}”.",
            user=user,
        )
        audit_record(
            action="campaign-retry-failed",
            target=retry,
            message=f"Retry of the failed recipients of “{original.name}” (#{original.pk}), "
            "asked to send.",
            actor=user,
        )
        campaign_enqueue_dispatch(campaign_id=retry.pk)
    return retry


# --- guard rails: failure rate, balance, sending window ------------------------------------------


def window_opens_at(*, campaign: Campaign, now: datetime) -> datetime | None:
    """None when a part may go now (no window, or inside it); else when the window next opens.

    The window is local time in `window_time_zone` (the recipients' zone); an end before the
    start means it crosses midnight (20:00-08:00)."""
    if not campaign.has_window:
        return None
    zone = ZoneInfo(campaign.window_time_zone or settings.TIME_ZONE)
    local = now.astimezone(zone)
    start, end, moment = campaign.window_start, campaign.window_end, local.time()
    inside = start <= moment < end if start <= end else (moment >= start or moment < end)
    if inside:
        return None
    opening = datetime.combine(local.date(), start, tzinfo=zone)
    if opening <= local:
        opening = datetime.combine(local.date() + timedelta(days=1), start, tzinfo=zone)
    return opening


def campaign_failure_figures(*, campaign_id: int) -> tuple[int, int]:
    """(messages with a final status, of which failed) in the campaign's ledger."""
    figures = Recipient.objects.filter(
        campaign_id=campaign_id,
        status__in=FAILED_MESSAGE_STATUSES | DELIVERED_MESSAGE_STATUSES,
    ).aggregate(final=Count("id"), failed=Count("id", filter=Q(status__in=FAILED_MESSAGE_STATUSES)))
    return figures["final"] or 0, figures["failed"] or 0


def _hold_reason(client: BsgClient, campaign: Campaign, part: CampaignPart) -> str:
    """Why this part must not go now, or "" (the guard rails)."""
    if (
        not campaign.failure_hold_overridden
        # No per-recipient status is known before some part's messages were read (E9): skip
        # the count over the ledger until then.
        and Part.objects.filter(campaign_id=campaign.pk, messages_polled_at__isnull=False).exists()
    ):
        final, failed = campaign_failure_figures(campaign_id=campaign.pk)
        if final >= settings.ENGINE_HOLD_MIN_FINAL and failed / final > (
            settings.ENGINE_HOLD_FAILURE_RATE
        ):
            return (
                f"Held: {failed} of {final} messages with a final status failed "
                f"({failed * 100 // final}%, above the {settings.ENGINE_HOLD_FAILURE_RATE:.0%} "
                "threshold). Check the sender and the list, then resume or stop."
            )
    if settings.ENGINE_HOLD_ON_LOW_BALANCE and campaign.parts.count() > 1:
        # A single-part campaign BSG cannot pay for is refused by BSG with its own message;
        # holding matters when earlier parts already went and the rest can wait for a top-up.
        return _balance_hold_reason(client, campaign, part)
    return ""


def _part_units(campaign: Campaign, part: CampaignPart) -> int:
    """What BSG charges per unit for: SMS parts (SMS), messages (RCS)."""
    if campaign.is_rcs:
        return part.recipients
    return Recipient.objects.filter(part_id=part.pk).aggregate(n=Sum("sms_parts"))["n"] or 0


def _unit_price(client: BsgClient, campaign: Campaign, part: CampaignPart) -> Decimal | None:
    if campaign.unit_price is not None:
        return campaign.unit_price
    if not campaign.is_sms:
        return None
    sample = Recipient.objects.filter(part_id=part.pk).order_by("seq").first()
    if sample is None or not sample.sms_parts:
        return None
    # E10 for one recipient of this part: the price of its SMS parts.
    estimate = client.price_estimate(
        sender=campaign.sender, text=sample.text, phones=[sample.phone], tariff_code=None
    )
    if estimate.price is None:
        return None
    return Decimal(estimate.price) / sample.sms_parts


def _balance_hold_reason(client: BsgClient, campaign: Campaign, part: CampaignPart) -> str:
    try:
        unit = _unit_price(client, campaign, part)
        if unit is None:
            return ""
        balance = client.balance()
    except BsgError as error:
        # Not knowing is no reason to hold: BSG refuses what the account cannot pay for.
        logger.info("part %s: balance guard could not ask BSG (%s); sending", part.pk, error)
        return ""
    cost = unit * _part_units(campaign, part)
    available = balance.balance + (balance.credit or 0)
    if cost <= available:
        return ""
    currency = balance.currency or ""
    return (
        f"Held: part {part.number} would cost about {cost:.2f} {currency} and the BSG balance "
        f"is {balance.balance:.2f} {currency}"
        + (f" (credit {balance.credit:.2f})" if balance.credit else "")
        + ". Top up the account, then resume."
    )


def _hold(part: CampaignPart, reason: str) -> SubmitOutcome:
    """Hold this claimed part and every part of the campaign not yet submitted."""
    Part.objects.filter(pk=part.pk, state=State.SUBMITTING).update(
        state=State.HELD, error=reason, attempts=F("attempts") - 1
    )
    Part.objects.filter(campaign_id=part.campaign_id, state=State.PENDING).update(
        state=State.HELD, error=reason
    )
    _event(part.campaign_id, CampaignEvent.Kind.HELD, reason, part_id=part.pk)
    audit_record(action="campaign-hold", target=part.campaign, message=reason)
    logger.warning("campaign %s: held before part %s: %s", part.campaign_id, part.pk, reason)
    return SubmitOutcome(part.pk, State.HELD, reason)


def _record_unit_price(part: CampaignPart, answer: BsgCampaign) -> None:
    """BSG's calculated price of the first part, per unit: the balance guard's estimate."""
    if answer.calculated_price is None:
        return
    campaign = Campaign.objects.get(pk=part.campaign_id)
    if campaign.unit_price is not None:
        return
    units = _part_units(campaign, part)
    if units:
        unit = (Decimal(str(answer.calculated_price)) / units).quantize(Decimal("0.000001"))
        Campaign.objects.filter(pk=campaign.pk, unit_price__isnull=True).update(unit_price=unit)


def campaign_resume(*, campaign_id: int, user: Any = None) -> int:
    """A person resumes a held campaign: its held parts go back to pending. They have seen the
    failure rate, so it does not hold them again; the balance is still checked."""
    now = timezone.now()
    with transaction.atomic():
        part_ids = list(
            Part.objects.filter(
                campaign_id=campaign_id, state=State.HELD, campaign__status=Status.SENDING
            ).values_list("id", flat=True)
        )
        if not part_ids:
            raise EngineRefused("Nothing of this campaign is held: there is nothing to resume.")
        resumed = Part.objects.filter(pk__in=part_ids, state=State.HELD).update(
            state=State.PENDING, attempts=0, next_attempt_at=None, error=""
        )
        Campaign.objects.filter(pk=campaign_id).update(failure_hold_overridden=True, updated_at=now)
        _event(
            campaign_id,
            CampaignEvent.Kind.RESUMED,
            f"Resumed: {resumed} held part(s) will be sent.",
            user=user,
        )
        audit_record(
            action="campaign-resume",
            target=Campaign.objects.get(pk=campaign_id),
            message=f"{resumed} held part(s) will be sent; the failure-rate hold is overridden.",
            actor=user,
        )
        transaction.on_commit(lambda: parts_enqueue_submit(part_ids=part_ids))
    return resumed


# --- recurring campaigns -------------------------------------------------------------------------


def _cron_sets(schedule: CampaignSchedule):
    from celery.schedules import crontab

    cron = schedule.periodic_task.crontab
    parsed = crontab(
        minute=cron.minute,
        hour=cron.hour,
        day_of_week=cron.day_of_week,
        day_of_month=cron.day_of_month,
        month_of_year=cron.month_of_year,
    )
    return parsed, ZoneInfo(str(cron.timezone))


def _fires_on(parsed: Any, day: date) -> bool:
    # Celery counts days of the week from Sunday = 0, and requires both day fields to match.
    return (
        day.month in parsed.month_of_year
        and day.day in parsed.day_of_month
        and day.isoweekday() % 7 in parsed.day_of_week
    )


def _fire_times(parsed: Any, day: date, zone: ZoneInfo, *, reverse: bool) -> Iterator[datetime]:
    for hour in sorted(parsed.hour, reverse=reverse):
        for minute in sorted(parsed.minute, reverse=reverse):
            yield datetime.combine(day, time(hour, minute), tzinfo=zone)


def schedule_next_run(*, schedule: CampaignSchedule, now: datetime | None = None):
    """When beat next fires this schedule (None when paused or it never fires)."""
    if schedule.is_paused or schedule.periodic_task.crontab is None:
        return None
    parsed, zone = _cron_sets(schedule)
    local = (now or timezone.now()).astimezone(zone)
    for offset in range(0, 370 * 4):
        day = local.date() + timedelta(days=offset)
        if _fires_on(parsed, day):
            for moment in _fire_times(parsed, day, zone, reverse=False):
                if moment > local:
                    return moment
    return None


def _previous_run(schedule: CampaignSchedule, now: datetime) -> datetime | None:
    parsed, zone = _cron_sets(schedule)
    local = now.astimezone(zone)
    for offset in range(0, 370 * 4):
        day = local.date() - timedelta(days=offset)
        if _fires_on(parsed, day):
            for moment in _fire_times(parsed, day, zone, reverse=True):
                if moment <= local:
                    return moment
    return None


def schedule_run_key(*, schedule: CampaignSchedule, now: datetime) -> str:
    """The run a task belongs to: the latest time the schedule fired at or before now, so two
    beats firing for one minute, or a task delivered late or twice, name the same run."""
    fired = _previous_run(schedule, now) if schedule.periodic_task_id else None
    moment = (fired or now).astimezone(ZoneInfo("UTC"))
    return f"s{schedule.pk}-{moment:%Y%m%d%H%M}"


def schedule_run(*, schedule_id: int, now: datetime | None = None) -> Campaign | None:
    """One run of a recurring schedule: a fresh copy of the template, ready to send to its
    lists. None when paused, or this run already has its copy."""
    from .services import campaign_check

    now = now or timezone.now()
    schedule = (
        CampaignSchedule.objects.select_related("template", "periodic_task__crontab")
        .filter(pk=schedule_id)
        .first()
    )
    if schedule is None or schedule.is_paused:
        logger.info("schedule %s: missing or paused; no run", schedule_id)
        return None
    key = schedule_run_key(schedule=schedule, now=now)
    if Campaign.objects.filter(schedule_run_key=key).exists():
        logger.info("schedule %s: run %s already has its copy", schedule_id, key)
        return None
    template = schedule.template
    list_ids = selectors.campaign_list_ids(campaign=template)
    problems = campaign_check(
        campaign=template, list_ids=list_ids, when=None, schedule=False, now=now
    )
    copy = Campaign.objects.get(pk=template.pk)
    copy.pk = copy.id = None
    local = now.astimezone(ZoneInfo(str(schedule.periodic_task.crontab.timezone)))
    copy.name = f"{template.name} · {local:%Y-%m-%d %H:%M}"[:200]
    copy.status = Status.DRAFT if problems.errors else Status.READY
    copy.start_at = None
    copy.bsg_schedules = False
    copy.send_requested_at = now
    copy.send_requested_by = None
    copy.duplicated_from = template
    copy.schedule = schedule
    copy.schedule_run_key = key
    copy.unit_price = None
    copy.failure_hold_overridden = False
    try:
        with transaction.atomic():
            copy.save(force_insert=True)
            copy.lists.set(list_ids)
            CampaignSchedule.objects.filter(pk=schedule.pk).update(last_run_at=now)
            if problems.errors:
                text = "; ".join(m for ms in problems.errors.values() for m in ms)
                _event(
                    copy.pk,
                    CampaignEvent.Kind.NEEDS_ATTENTION,
                    f"Not sent by schedule “{schedule.name}”: {text}",
                )
            else:
                _event(
                    copy.pk,
                    CampaignEvent.Kind.SEND_REQUESTED,
                    f"Sent by schedule “{schedule.name}” (run {key}).",
                )
                campaign_enqueue_dispatch(campaign_id=copy.pk)
    except IntegrityError:
        # Another worker made this run's copy between our check and our insert.
        logger.info("schedule %s: run %s made by another worker", schedule_id, key)
        return None
    logger.info("schedule %s: run %s made campaign %s", schedule_id, key, copy.pk)
    return copy


class ScheduleInvalid(EngineRefused):
    pass


def schedule_create(
    *,
    name: str,
    template_id: int,
    minute: str = "0",
    hour: str = "9",
    day_of_week: str = "*",
    day_of_month: str = "*",
    month_of_year: str = "*",
    time_zone: str = "",
    frequency_cap_days: int | None = None,
    user: Any = None,
) -> CampaignSchedule:
    """A recurring campaign: a CampaignSchedule and its beat PeriodicTask + CrontabSchedule."""
    import json

    from celery.schedules import crontab
    from django_celery_beat.models import CrontabSchedule, PeriodicTask

    template = Campaign.objects.filter(pk=template_id).first()
    if template is None:
        raise ScheduleInvalid("Choose the campaign each run copies.")
    if template.created_elsewhere or not template.uses_lists:
        raise ScheduleInvalid(
            "A recurring campaign sends to contact lists: choose a campaign that uses lists."
        )
    if (
        settings.CAMPAIGNS_FOUR_EYES
        and user is not None
        and getattr(user, "pk", None) is not None
        and user.pk == template.created_by_id
    ):
        # Every run goes out without anyone pressing Send: setting it up is the approval.
        raise ScheduleInvalid(
            "You wrote this campaign; someone else must approve it (set up its schedule)."
        )
    if not name.strip():
        raise ScheduleInvalid("Give the schedule a name.")
    fields = {
        "minute": minute.strip() or "0",
        "hour": hour.strip() or "*",
        "day_of_week": day_of_week.strip() or "*",
        "day_of_month": day_of_month.strip() or "*",
        "month_of_year": month_of_year.strip() or "*",
    }
    try:
        crontab(**fields)
    except (ValueError, KeyError) as error:
        raise ScheduleInvalid(f"That schedule is not a valid cron expression: {error}") from None
    zone_name = time_zone.strip() or settings.TIME_ZONE
    try:
        ZoneInfo(zone_name)
    except (ValueError, KeyError, OSError):
        raise ScheduleInvalid(f"Unknown time zone “{zone_name}”.") from None
    who = user if user is not None and getattr(user, "is_authenticated", False) else None
    with transaction.atomic():
        cron, _ = CrontabSchedule.objects.get_or_create(**fields, timezone=zone_name)
        schedule = CampaignSchedule.objects.create(
            name=name.strip()[:200],
            template=template,
            frequency_cap_days=frequency_cap_days or None,
            created_by=who,
        )
        schedule.periodic_task = PeriodicTask.objects.create(
            name=f"Recurring campaign {schedule.pk}: {schedule.name}"[:200],
            task="campaigns.tasks.schedule_run",
            crontab=cron,
            args=json.dumps([schedule.pk]),
        )
        schedule.save(update_fields=["periodic_task"])
    return schedule


def schedule_set_paused(*, schedule_id: int, paused: bool) -> CampaignSchedule:
    """Pause or resume a recurring campaign (its beat task's `enabled`)."""
    schedule = CampaignSchedule.objects.select_related("periodic_task").get(pk=schedule_id)
    if schedule.periodic_task is None:
        raise ScheduleInvalid("This schedule's beat task was deleted in admin; create it again.")
    # save() rather than update(): django-celery-beat notices the change through it.
    schedule.periodic_task.enabled = not paused
    schedule.periodic_task.save(update_fields=["enabled"])
    return schedule


def campaign_schedules() -> list[CampaignSchedule]:
    return list(
        CampaignSchedule.objects.select_related("template", "periodic_task__crontab").annotate(
            run_count=Count("runs")
        )
    )


def schedule_template_choices() -> list[Campaign]:
    """Campaigns a recurring schedule can copy: ours, sending to lists, not a run's copy."""
    return [
        c
        for c in Campaign.objects.filter(created_elsewhere=False, schedule__isnull=True)[:200]
        if c.uses_lists
    ]


def schedule_capped_phones(*, campaign: Campaign, now: datetime) -> set[str]:
    """Phones this campaign's schedule messaged within its frequency cap (the ledger)."""
    if not campaign.schedule_id:
        return set()
    days = (
        CampaignSchedule.objects.filter(pk=campaign.schedule_id)
        .values_list("frequency_cap_days", flat=True)
        .first()
    )
    if not days:
        return set()
    return set(
        Recipient.objects.filter(
            campaign__schedule_id=campaign.schedule_id,
            campaign__dispatched_at__gte=now - timedelta(days=days),
            part__state=State.SUBMITTED,
        )
        .exclude(campaign_id=campaign.pk)
        .values_list("phone", flat=True)
        .distinct()
    )


# --- campaigns created elsewhere on the BSG account ----------------------------------------------


def bsg_campaigns_discover(
    *, now: datetime | None = None, client: BsgClient | None = None
) -> list[int]:
    """Record, read-only, the recent BSG campaigns (E5 window) that were not created here.

    A campaign of ours whose answer is still in doubt is not yet linked to its part, so recent
    ones, and any created after an unsettled attempt of ours, are left for a later run."""
    now = now or timezone.now()
    known = set(
        Part.objects.filter(bsg_campaign_id__isnull=False).values_list("bsg_campaign_id", flat=True)
    )
    from .models import TestSend

    known |= set(
        TestSend.objects.filter(bsg_campaign_id__isnull=False).values_list(
            "bsg_campaign_id", flat=True
        )
    )
    settle_cutoff = now - timedelta(seconds=settings.ENGINE_STUCK_SUBMITTING)
    in_doubt = (
        Part.objects.filter(
            state__in=[State.SUBMITTING, State.UNCONFIRMED, State.NEEDS_ATTENTION],
            last_attempt_at__isnull=False,
        )
        .order_by("last_attempt_at")
        .values_list("last_attempt_at", flat=True)
        .first()
    )
    if in_doubt is not None:
        settle_cutoff = min(settle_cutoff, in_doubt - timedelta(minutes=2))
    found: list[int] = []
    own_client = client is None
    client = client or bsg_client()
    try:
        for kind in ("sms", "rcs"):
            for item in client.iter_campaigns(
                message_type=kind,
                date_from=now - timedelta(days=settings.ENGINE_DISCOVER_DAYS),
                date_to=now + timedelta(minutes=1),
            ):
                if item.id in known or (item.created_at and item.created_at > settle_cutoff):
                    continue
                if item.created_at is None:
                    continue
                _record_foreign(item, kind, now)
                known.add(item.id)
                found.append(item.id)
    except BsgError as error:
        # What was recorded before the error stays (one transaction each); beat runs this
        # again soon, so a busy or unreachable BSG only delays discovery.
        logger.warning("discover: BSG not read to the end this time: %s", error)
    finally:
        if own_client:
            client.close()
    if found:
        logger.info("discover: %s BSG campaign(s) created elsewhere recorded", len(found))
    return found


def _record_foreign(item: BsgCampaign, kind: str, now: datetime) -> None:
    terminal = (item.status or "") in TERMINAL_STATUSES
    with transaction.atomic():
        campaign = Campaign.objects.create(
            name=(item.name or f"BSG campaign {item.id}")[:200],
            channel=Campaign.Channel.RCS if kind == "rcs" else Campaign.Channel.SMS,
            sms_mode=Campaign.SmsMode.NUMBERS if kind == "sms" else "",
            sender=(item.sender or "")[:40] if kind == "sms" else "",
            rcs_agent=(item.sender or "")[:100] if kind == "rcs" else "",
            status=Status.FINISHED if terminal else Status.SENDING,
            created_elsewhere=True,
            dispatched_at=item.created_at,
        )
        part = Part.objects.create(
            campaign=campaign,
            number=1,
            state=State.SUBMITTED,
            bsg_campaign_id=item.id,
            bsg_status=item.status or "",
            sent=item.statistics.sent,
            delivered=item.statistics.delivered,
            submitted_at=item.created_at,
            finished_at=now if terminal else None,
        )
        _event(
            campaign.pk,
            CampaignEvent.Kind.CREATED,
            f"Found on the BSG account (BSG campaign {item.id}, {item.status or 'status unknown'})"
            ": created elsewhere, shown read-only.",
            part_id=part.pk,
        )


# --- recipients who fail repeatedly --------------------------------------------------------------


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


def do_not_contact_add_repeated_failures(
    *, campaign_id: int, user: Any = None, min_campaigns: int | None = None
) -> int:
    """Put this campaign's repeatedly failing recipients on do-not-contact (source
    delivery_failures); returns how many were added."""
    failing = repeated_failures(campaign_id=campaign_id, min_campaigns=min_campaigns)
    if not failing:
        raise EngineRefused(
            "No recipient of this campaign has failed in "
            f"{min_campaigns or settings.ENGINE_DNC_AFTER_FAILURES} or more campaigns."
        )
    who = user if user is not None and getattr(user, "is_authenticated", False) else None
    with transaction.atomic():
        created = DoNotContact.objects.bulk_create(
            [
                DoNotContact(
                    phone=phone,
                    source=DoNotContact.Source.DELIVERY_FAILURES,
                    reason=f"Delivery failed in {count} campaigns (campaign {campaign_id}).",
                    created_by=who,
                )
                for phone, count in failing.items()
            ],
            ignore_conflicts=True,
        )
        _event(
            campaign_id,
            CampaignEvent.Kind.DO_NOT_CONTACT,
            f"{len(created)} recipient(s) who failed repeatedly added to do-not-contact.",
            user=user,
        )
        # One entry for the batch, on the campaign, never one per number.
        audit_record(
            action="do-not-contact-add-failures",
            target=Campaign.objects.get(pk=campaign_id),
            message=f"{len(created)} recipient(s) who failed repeatedly added to do-not-contact.",
            actor=user,
        )
    return len(created)
