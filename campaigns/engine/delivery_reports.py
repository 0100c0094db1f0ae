"""Delivery reports: the messages' statuses BSG pushes to our callback URL (issue 16).

Owns the callback URL and the secret in it, storing what arrives (the request does only that,
so BSG is answered at once however busy the ledger is), and applying stored reports to the
ledger in batches, in a worker. BSG neither signs these calls nor promises to make them
(bsg-api.md), so a report is a hint that spares a read of the part's messages: polling
(poll.py) stays the fallback that always works, and a lost report costs a delay, never a wrong
status for good.

Only SMS sends that carry our reference ids ask for reports (E1 sms/send, E3 send-individual):
the report names the message by its reference, which finds its ledger row at once. Group sends
(E2, E6) name no one by reference, and BSG's RCS campaign methods take no `callback_url` (the
YAML documents it on SMS methods and on single messages; RCS campaigns report to the "Callback
URL For RCS" set in BSG's personal area, which may name this same URL).
"""

from __future__ import annotations

import base64
import json
import logging
import math
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core import checks
from django.core.cache import cache
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.crypto import constant_time_compare, salted_hmac

from bsg.rules import callback_url_error
from bsg.schemas import ShapeError, StatusCallback

from ..models import (
    DELIVERED_MESSAGE_STATUSES,
    FAILED_MESSAGE_STATUSES,
    Campaign,
    CampaignPart,
    DeliveryReport,
    Recipient,
)
from .enqueue import task_send
from .ledger import recipient_statuses_write

logger = logging.getLogger(__name__)

CALLBACK_URL_NAME = "campaigns:bsg-status-callback"
# 18 bytes of HMAC-SHA256 in URL-safe base64: 24 characters, 144 bits. Short, because the whole
# URL must fit BSG's 100 characters (YAML CallbackUrl, maxLength 100).
_TOKEN_BYTES = 18
_HMAC_SALT = "campaigns.engine.delivery_reports.callback"

# What one call may hold: BSG documents one status a call (RcsStatusCallback); a list is taken
# too, as the sandbox batches them. The body's size is capped before it is read (the view).
MAX_REPORTS_PER_CALL = 10_000
# The fields of RcsStatusCallback (YAML), the only ones kept of a report; strings cut at this.
REPORT_FIELDS = (
    "id",
    "msisdn",
    "reference",
    "status",
    "error",
    "errorDescription",
    "time_in",
    "time_sent",
    "time_dr",
    "price",
    "currency",
)
_MAX_KEPT_STRING = 255

# Reports applied in one transaction, and how long one run of the worker applies before it
# leaves the rest to the next (its task's soft time limit is 60 s).
APPLY_BATCH = 2_000
APPLY_BUDGET_SECONDS = 45.0
# A burst of calls (one a second from BSG, or a batch a second from the sandbox) queues one task.
APPLY_DEBOUNCE_KEY = "engine:reports-apply-queued"
APPLY_DEBOUNCE_SECONDS = 2
PRUNE_BATCH = 10_000
# How long after a send its reports may come: the longest validity BSG takes (YAML: validity
# 1 to 72 hours), and the half hour poll.py also waits past it.
REPORTED_FOR = timedelta(hours=72, minutes=30)

# How far along a message is: a report moves a ledger row only forward. Final statuses share a
# rank, so a late contradicting report (delivered, then undelivered) does not flip a row; the
# poll after validity writes what BSG says in the end. "read" follows "delivered" (RCS).
_IN_FLIGHT_RANKS = {"scheduled": 1, "moderation": 1, "accepted": 2, "sending": 3, "sent": 4}
FINAL_STATUSES = (DELIVERED_MESSAGE_STATUSES | FAILED_MESSAGE_STATUSES) - {"read"}
_FINAL_RANK = 5
_READ_RANK = 6


def status_rank(status: str) -> int:
    """How far along `status` is; a status BSG adds tomorrow counts as in flight."""
    if status == "read":
        return _READ_RANK
    if status in FINAL_STATUSES:
        return _FINAL_RANK
    return _IN_FLIGHT_RANKS.get(status, 1 if status else 0)


# --- the callback URL and its secret ------------------------------------------------------------


def _token(secret: str) -> str:
    digest = salted_hmac(_HMAC_SALT, "status", secret=secret, algorithm="sha256").digest()
    return base64.urlsafe_b64encode(digest[:_TOKEN_BYTES]).decode()


def _secrets() -> list[str]:
    if settings.BSG_CALLBACK_SECRET:
        return [settings.BSG_CALLBACK_SECRET]
    # A rotated SECRET_KEY (kept in SECRET_KEY_FALLBACKS a while) still takes the reports of
    # parts sent before the rotation.
    return [settings.SECRET_KEY, *getattr(settings, "SECRET_KEY_FALLBACKS", [])]


def callback_token() -> str:
    """The secret path segment of this deployment's callback URL."""
    return _token(_secrets()[0])


def callback_token_valid(token: str) -> bool:
    """Whether `token` is ours, compared in constant time against every accepted secret."""
    valid = False
    for secret in _secrets():
        valid |= constant_time_compare(token, _token(secret))
    return valid


def callback_url() -> str | None:
    """The URL BSG pushes statuses to, or None when BSG_CALLBACK_BASE_URL is not set."""
    base = settings.BSG_CALLBACK_BASE_URL.strip().rstrip("/")
    if not base:
        return None
    return base + reverse(CALLBACK_URL_NAME, kwargs={"token": callback_token()})


def part_pushes_reports(campaign: Campaign) -> bool:
    """Whether this campaign's parts go out asking BSG to push their statuses."""
    return bool(
        settings.BSG_CALLBACK_BASE_URL.strip()
        and campaign.is_sms
        and campaign.sends_with_reference_ids
    )


def reports_quiet_window() -> timedelta:
    """How long a part that pushes its statuses may stay silent, while some of its recipients
    wait for one, before its messages are read as if nothing were pushed."""
    return timedelta(seconds=settings.BSG_CALLBACK_QUIET_SECONDS)


@checks.register("bsg")
def callback_url_check(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """At start (`manage.py check`, runserver, migrate): a callback URL BSG would refuse."""
    url = callback_url()
    if url is None:
        return []
    # The token is a secret: the messages show where it goes, not what it is.
    shown = url.replace(callback_token(), "<token>")
    problem = callback_url_error(url)
    if problem is not None:
        return [
            checks.Error(
                "BSG_CALLBACK_BASE_URL gives a callback URL BSG refuses: "
                + problem.replace(url, shown),
                hint="Use a shorter public address, or leave BSG_CALLBACK_BASE_URL empty to "
                "poll only.",
                id="campaigns.E001",
            )
        ]
    if not url.startswith("https://"):
        return [
            checks.Warning(
                f"The callback URL {shown} is not https: its secret crosses the internet in clear.",
                hint="Give BSG_CALLBACK_BASE_URL an https:// address.",
                id="campaigns.W001",
            )
        ]
    return []


# --- storing what BSG pushes ------------------------------------------------------------------


class ReportsRefused(ValueError):
    """The body is not a status or a list of statuses (answered 400, with this message)."""


@dataclass(frozen=True)
class StoreOutcome:
    received: int  # status objects in the call
    # Objects that are not usable statuses (a click report, garbage): answered 200 all the same,
    # so BSG does not send again what we would refuse again.
    skipped: int


def _refuse_constant(name: str) -> None:
    raise ReportsRefused(f"{name} is not a JSON number")


def _kept(value: object) -> object:
    """A scalar the database stores as it is: text without NUL or lone surrogates (PostgreSQL
    refuses both), cut to a length; objects and lists are not part of a status and are dropped."""
    if isinstance(value, str):
        text = value.encode("utf-8", "replace").decode("utf-8").replace("\x00", "")
        return text[:_MAX_KEPT_STRING]
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int):
        return value if abs(value) < 2**63 else str(value)[:_MAX_KEPT_STRING]
    if isinstance(value, float):
        return value if math.isfinite(value) else None  # 1e999 reads as infinity
    return None


def _report(item: object, now: datetime) -> DeliveryReport | None:
    if not isinstance(item, dict):
        return None
    kept = {name: _kept(item[name]) for name in REPORT_FIELDS if name in item}
    try:
        status = StatusCallback.from_api(kept, settings.BSG_TIME_ZONE)
    except ShapeError:
        return None
    key = f"r:{status.reference}" if status.reference else f"m:{status.message_id}"
    return DeliveryReport(
        key=key,
        status=status.status,
        reference_id=status.reference or "",
        bsg_message_id=status.message_id,
        phone=status.msisdn or "",
        payload=kept,
        received_at=now,
    )


def delivery_reports_store(*, body: bytes, now: datetime | None = None) -> StoreOutcome:
    """Store the statuses in one callback body (a JSON object, or a list of them); a status
    already stored is not stored again. ReportsRefused for a body that is neither."""
    now = now or timezone.now()
    try:
        data = json.loads(body, parse_constant=_refuse_constant)
    except ReportsRefused:
        raise
    except (ValueError, RecursionError) as error:
        # UnicodeDecodeError and JSONDecodeError are ValueErrors; nesting deeper than Python's
        # stack is a RecursionError.
        raise ReportsRefused(f"The body is not JSON: {str(error)[:200]}") from error
    if isinstance(data, dict):
        items: list[Any] = [data]
    elif isinstance(data, list):
        items = data
    else:
        raise ReportsRefused("Expected a JSON object or a list of them.")
    if len(items) > MAX_REPORTS_PER_CALL:
        raise ReportsRefused(f"At most {MAX_REPORTS_PER_CALL} statuses in one call.")
    reports = [report for report in (_report(item, now) for item in items) if report]
    if reports:
        # A repeat (same message, same status) meets the unique key and is left out.
        DeliveryReport.objects.bulk_create(reports, ignore_conflicts=True)
        delivery_reports_apply_soon()
    return StoreOutcome(received=len(items), skipped=len(items) - len(reports))


def delivery_reports_apply_soon() -> None:
    """Ask a worker to apply stored reports, once for a burst of calls: the first call in a
    short window queues the task, the others find it queued (the beat's sweep catches up if
    the broker or the cache is down)."""
    from .. import tasks

    if cache.add(APPLY_DEBOUNCE_KEY, "1", timeout=APPLY_DEBOUNCE_SECONDS):
        transaction.on_commit(
            lambda: task_send(tasks.delivery_reports_apply, countdown=1), robust=True
        )


# --- applying them to the ledger --------------------------------------------------------------


@dataclass
class ApplyOutcome:
    reports: int = 0
    matched: int = 0
    changed: int = 0
    pruned: int = 0


def delivery_reports_apply(
    *, now: datetime | None = None, budget_seconds: float = APPLY_BUDGET_SECONDS
) -> ApplyOutcome:
    """Apply stored reports to the ledger, batch after batch, until none is left or the budget
    is spent; then prune those applied long ago. Two workers never take the same report (rows
    are claimed with SKIP LOCKED on PostgreSQL; on SQLite the write lock serialises them)."""
    outcome = ApplyOutcome()
    started = time.monotonic()
    while time.monotonic() - started < budget_seconds:
        moment = now or timezone.now()
        with transaction.atomic():
            batch = list(
                DeliveryReport.objects.filter(applied_at__isnull=True)
                .order_by("id")
                # What applying reads: not the payload, whose JSON was decoded 2,000 times a
                # batch for nothing (bench/callbacks.py applies 2,000,000 reports).
                .only("id", "status", "reference_id", "bsg_message_id")
                .select_for_update(skip_locked=True)[:APPLY_BATCH]
            )
            if not batch:
                break
            _apply_batch(batch, moment, outcome)
    outcome.pruned = delivery_reports_prune(now=now)
    return outcome


def _recipients_for(batch: list[DeliveryReport], now: datetime) -> dict[int, Recipient]:
    """{report id: its ledger row}: by reference id (unique), else by BSG message id among the
    parts that may still be reported on (submitted within the longest validity)."""
    fields = ("id", "part_id", "reference_id", "bsg_message_id", "status")
    references = {r.reference_id for r in batch if r.reference_id}
    by_reference = {
        row.reference_id: row
        for row in Recipient.objects.filter(reference_id__in=references).only(*fields)
    }
    ids = {
        r.bsg_message_id for r in batch if r.bsg_message_id and r.reference_id not in by_reference
    }
    by_id: dict[int, Recipient] = {}
    if ids:
        recent = CampaignPart.objects.filter(submitted_at__gte=now - REPORTED_FOR).values_list(
            "pk", flat=True
        )
        for row in Recipient.objects.filter(part_id__in=list(recent), bsg_message_id__in=ids).only(
            *fields
        ):
            by_id[row.bsg_message_id] = row
    found: dict[int, Recipient] = {}
    for report in batch:
        row = by_reference.get(report.reference_id) if report.reference_id else None
        if row is None and report.bsg_message_id:
            row = by_id.get(report.bsg_message_id)
        if row is not None:
            found[report.pk] = row
    return found


def _apply_batch(batch: list[DeliveryReport], now: datetime, outcome: ApplyOutcome) -> None:
    rows = _recipients_for(batch, now)
    changed: dict[int, Recipient] = {}
    parts: set[int] = set()
    # The furthest status first wins ties within a batch; order does not matter across them.
    for report in sorted(batch, key=lambda r: status_rank(r.status)):
        row = rows.get(report.pk)
        if row is None:
            continue
        parts.add(row.part_id)
        if status_rank(report.status) > status_rank(row.status):
            row.status = report.status
            row.bsg_message_id = report.bsg_message_id or row.bsg_message_id
            row.status_at = now
            changed[row.pk] = row
    recipient_statuses_write(
        changes=[(row.pk, row.status, row.bsg_message_id) for row in changed.values()], at=now
    )
    if parts:
        CampaignPart.objects.filter(pk__in=parts).update(last_report_at=now)
    matched = [r.pk for r in batch if r.pk in rows]
    unmatched = [r.pk for r in batch if r.pk not in rows]
    DeliveryReport.objects.filter(pk__in=matched).update(applied_at=now, matched=True)
    DeliveryReport.objects.filter(pk__in=unmatched).update(applied_at=now, matched=False)
    outcome.reports += len(batch)
    outcome.matched += len(matched)
    outcome.changed += len(changed)
    if unmatched:
        logger.info("delivery reports: %s named no recipient of ours", len(unmatched))


def delivery_reports_prune(*, now: datetime | None = None) -> int:
    """Delete reports applied more than DELIVERY_REPORTS_KEEP_DAYS ago, a batch at a time."""
    before = (now or timezone.now()) - timedelta(days=settings.DELIVERY_REPORTS_KEEP_DAYS)
    pruned = 0
    while True:
        ids = list(
            DeliveryReport.objects.filter(applied_at__lt=before).values_list("pk", flat=True)[
                :PRUNE_BATCH
            ]
        )
        if not ids:
            return pruned
        pruned += DeliveryReport.objects.filter(pk__in=ids).delete()[0]
