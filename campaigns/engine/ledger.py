"""The ledger: one row per recipient, with the text it gets and a reference id.

Reference ids are deterministic (installation salt, campaign, position), so a part sent again
after an unclear answer carries the same ids and BSG refuses the repeats."""

from __future__ import annotations

import secrets
import string
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack
from datetime import datetime

from django.db import connection, transaction

from bsg import smstext
from config.streaming import rows_streamed
from contacts.models import DoNotContact
from contacts.selectors import fields_by_reference, opted_out_since

from .. import rendering, selectors
from ..audience_digest import ApprovedAudience, AudienceDigest
from ..models import FAILED_MESSAGE_STATUSES, Campaign, EngineInstallation, Recipient
from ..rcs_content import RcsContents, RcsTemplate, rcs_template

LEDGER_BATCH = 5_000
# Recipients' statuses written in one statement, each its own transaction (on SQLite a
# 10,000-recipient part held the write lock for about 5 s in one, found running the newcomer's
# path). Three values a row, well under SQLite's 32,766 bound variables.
STATUS_BATCH = 1_000


_SALT_ALPHABET = string.ascii_lowercase + string.digits


def installation_salt() -> str:
    """This installation's salt, created once and kept in the database."""
    row = EngineInstallation.objects.order_by("id").first()
    if row is not None:
        return row.salt
    salt = "".join(secrets.choice(_SALT_ALPHABET) for _ in range(8))
    EngineInstallation.objects.get_or_create(id=1, defaults={"salt": salt})
    return EngineInstallation.objects.order_by("id").first().salt


_BASE36 = string.digits + string.ascii_lowercase


def base36(number: int) -> str:
    out = ""
    while True:
        number, rest = divmod(number, 36)
        out = _BASE36[rest] + out
        if not number:
            return out


# The position's base-36 digits in a reference id, zero-padded: ids then sort as their
# positions do, and a dispatch adds each to the unique index's right edge instead of all over
# it (a quarter off inserting three million ids in psql). Six digits hold 2,176,782,335
# positions; a bigger one is simply longer.
REFERENCE_SEQ_DIGITS = 6


def reference_head_for(*, salt: str, campaign_id: int) -> str:
    """What every reference id of the campaign starts with: salt, campaign, "Z"."""
    return f"{salt}{base36(campaign_id)}Z"


def reference_seq(seq: int) -> str:
    """The reference id's tail for position `seq`."""
    return base36(seq).rjust(REFERENCE_SEQ_DIGITS, "0")


def reference_id_for(*, salt: str, campaign_id: int, seq: int) -> str:
    """Deterministic, at most 32 [a-zA-Z0-9], unique account-wide: salt, campaign, position.

    The salt is lower-case and digits of fixed length and "Z" cannot occur in base 36 as
    written here, so no two (campaign, seq) pairs give the same string (8 + at most 7 + 1 + 6
    characters for any campaign and position a database holds)."""
    return reference_head_for(salt=salt, campaign_id=campaign_id) + reference_seq(seq)


def ledger_rows(
    campaign: Campaign,
    *,
    approved: ApprovedAudience | None = None,
    digest: AudienceDigest | None = None,
    first_key: int | None = None,
    end_key: int | None = None,
) -> Iterator[tuple[int, str, int | None, str, int, str | None, str | None]]:
    """Every recipient once as (position, phone, contact id, text, SMS parts, reference id or
    None, message key or None): from the lists (minus do-not-contact), the pasted numbers, or,
    for "retry failed only", the failed rows of the original's ledger (their texts and counts
    as they were sent). Position: the recipient's place among the audience rows read (0-based,
    those left out included), which the dispatch makes its seq.

    With `first_key` / `end_key`, one slice of the audience (selectors.audience_slice_keys).

    For RCS the text is the SMS fallback (personalised to contact lists). A personalised RCS
    campaign's recipients also carry the key of their rendered message (campaigns.rcs_content):
    BSG's rcs/send takes one message for all its phones, so dispatch puts recipients with the
    same key into the same parts and keeps the message on them (CampaignPart.content).

    With `approved`, the audience is read as its approver's send plan read it (opt-outs as of
    then) and each recipient fed to `digest` before the opt-outs since are left out, so the
    digest compares with the approved one (campaigns.audience_digest). Recipients missing a
    value the campaign leaves out (Campaign.leaves_out_recipients_missing_values) are left out
    before the digest, exactly as the send plan leaves them out.

    Tuples, not objects: a million of them pass through here. Each text is counted through
    the send plan's shape cache, so a million recipients cost a few hundred counts."""
    if campaign.retry_of_id:
        rows = (
            Recipient.objects.filter(
                campaign_id=campaign.retry_of_id, status__in=FAILED_MESSAGE_STATUSES
            )
            .exclude(phone__in=DoNotContact.objects.values("phone"))
            .values_list("seq", "phone", "contact_id", "text", "sms_parts")
        )
        streamed = rows_streamed(rows, key="seq", chunk_size=LEDGER_BATCH)
        for position, (_, phone, contact_id, text, sms_parts) in enumerate(streamed):
            yield position, phone, contact_id, text, sms_parts, None, None
        return
    if campaign.is_rcs:
        template = rcs_template(campaign=campaign, fields=fields_by_reference())
        rows = _audience_rows(campaign, approved, first_key, end_key, template.combined)
        yield from _rcs_rows(campaign, template, rows, approved=approved, digest=digest)
        return
    compiled = None
    if campaign.is_sms and campaign.sms_mode != Campaign.SmsMode.NUMBERS:
        mode = (
            rendering.MODE_GROUPS
            if campaign.sms_mode == Campaign.SmsMode.GROUPS
            else rendering.MODE_INDIVIDUAL
        )
        compiled = rendering.compile_text(campaign.text, fields=fields_by_reference(), mode=mode)
    rows = _audience_rows(campaign, approved, first_key, end_key, compiled)
    opted_out_by = approved.as_of if approved is not None else None
    opted_out_later = opted_out_since(since=opted_out_by) if opted_out_by is not None else set()
    add = digest.add if digest is not None else _ignore
    if compiled is not None and compiled.slots:
        personalise, render = compiled.personalise, compiled.render_values
        parts = rendering.ShapeCache(lambda values: _sms_parts(render(values))).get
        leaves_out = campaign.leaves_out_recipients_missing_values
        skip = digest.skip if digest is not None else _ignore_row
        for position, row in enumerate(rows):
            values, _missing, unfilled = personalise(
                phone=row.phone, name=row.name, fields=row.fields
            )
            if unfilled and leaves_out:
                # As the send plan left them out (sendplan._Tally.add): not in the digest.
                skip()
                continue
            add(row.phone, values)
            if opted_out_later and row.phone in opted_out_later:
                continue
            yield (
                position,
                row.phone,
                row.contact_id,
                render(values),
                parts(values),
                row.reference_id,
                None,
            )
        return
    literal = campaign.text
    literal_parts = _sms_parts(literal)
    for position, row in enumerate(rows):
        add(row.phone, ())
        if opted_out_later and row.phone in opted_out_later:
            continue
        yield position, row.phone, row.contact_id, literal, literal_parts, row.reference_id, None


def _audience_rows(
    campaign: Campaign,
    approved: ApprovedAudience | None,
    first_key: int | None,
    end_key: int | None,
    compiled: rendering.CompiledText | None,
) -> Iterator[selectors.AudienceRow]:
    """The audience (or its slice), each contact with the fields `compiled`'s placeholders
    read and no others."""
    return selectors.campaign_audience_rows(
        campaign=campaign,
        opted_out_by=approved.as_of if approved is not None else None,
        first_key=first_key,
        end_key=end_key,
        field_keys=compiled.field_keys if compiled is not None else (),
    )


def _rcs_rows(
    campaign: Campaign,
    template: RcsTemplate,
    rows: Iterator[selectors.AudienceRow],
    *,
    approved: ApprovedAudience | None,
    digest: AudienceDigest | None,
) -> Iterator[tuple[int, str, int | None, str, int, str | None, str | None]]:
    """ledger_rows for RCS: the values read as the send plan read them (sendplan._Tally
    ._add_rcs), into the digest, then each recipient's fallback text and message key."""
    fallback = template.fallback
    opted_out_by = approved.as_of if approved is not None else None
    opted_out_later = opted_out_since(since=opted_out_by) if opted_out_by is not None else set()
    add = digest.add if digest is not None else _ignore
    if not template.slots:
        literal = campaign.fallback_text if campaign.fallback_enabled else ""
        literal_parts = _sms_parts(literal)
        for position, row in enumerate(rows):
            add(row.phone, ())
            if opted_out_later and row.phone in opted_out_later:
                continue
            yield (
                position,
                row.phone,
                row.contact_id,
                literal,
                literal_parts,
                row.reference_id,
                None,
            )
        return
    contents = RcsContents(template)
    render = fallback.render_values
    parts = rendering.ShapeCache(lambda values: _sms_parts(render(values))).get
    for position, row in enumerate(rows):
        values, _missing, _unfilled = template.personalise(
            phone=row.phone, name=row.name, fields=row.fields
        )
        add(row.phone, values)
        if opted_out_later and row.phone in opted_out_later:
            continue
        fallback_values = template.fallback_values(values)
        text = render(fallback_values) if template.fallback_enabled else ""
        yield (
            position,
            row.phone,
            row.contact_id,
            text,
            parts(fallback_values) if text else 0,
            row.reference_id,
            contents.key(values),
        )


def _ignore(phone: str, values: tuple[str, ...]) -> None:
    return None


def _ignore_row() -> None:
    return None


def _sms_parts(text: str) -> int:
    return smstext.analyse(text).parts if text else 0


class LedgerWriter:
    """Writes ledger rows in batches, each its own short transaction: COPY on PostgreSQL,
    bulk_create elsewhere. `on_flush` runs in each batch's transaction (the dispatch's
    heartbeat). Used as a context manager: leaving it flushes what is left, or on an error rolls
    the open batch back.

    On PostgreSQL outside a transaction, a batch's COPY opens with its first row and each row
    goes to the server as it is added, so PostgreSQL inserts it, and keeps the ledger's five
    indexes, while the caller makes the next ones; copied at the flush, the caller waited for
    all of that (a third of a process's time in a ten-million dispatch). The connection is the
    COPY's until the batch is flushed: the caller flushes before any query of its own (the
    dispatch does before it makes a part). Inside a transaction (a test's, whose reads share
    the connection), rows are kept and copied at the flush."""

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

    def __init__(self, *, on_flush: Callable[[], None] | None = None) -> None:
        self.rows: list[tuple] = []
        self.postgres = connection.vendor == "postgresql"
        self.streamed = self.postgres and not connection.in_atomic_block
        self.on_flush = on_flush
        self._batch = LEDGER_BATCH * (4 if self.postgres else 1)
        # While a streamed batch is open: its transaction and cursor, its COPY, and its rows.
        self._open: ExitStack | None = None
        self._copying: ExitStack | None = None
        self._write_row: Callable[[tuple], None] | None = None
        self._streamed_rows = 0

    def __enter__(self) -> LedgerWriter:
        return self

    def __exit__(self, kind, error, trace) -> None:
        if error is None:
            self.flush()
        else:
            self._abandon(kind, error, trace)

    def add(self, row: tuple) -> None:
        if self.streamed:
            if self._open is None:
                self._begin()
            self._write_row(row)
            self._streamed_rows += 1
            if self._streamed_rows >= self._batch:
                self.flush()
            return
        self.rows.append(row)
        if len(self.rows) >= self._batch:
            self.flush()

    def flush(self) -> None:
        if self.streamed:
            if self._open is not None:
                self._end()
            return
        if not self.rows:
            return
        with transaction.atomic():
            if self.postgres:
                with connection.cursor() as cursor:
                    _commit_without_waiting_for_the_disk(cursor)
                    with cursor.copy(_COPY_SQL) as copy:
                        write_row = copy.write_row
                        for row in self.rows:
                            write_row(row)
            else:
                Recipient.objects.bulk_create(
                    [Recipient(**dict(zip(self.COLUMNS, row, strict=True))) for row in self.rows],
                    batch_size=LEDGER_BATCH,
                )
            if self.on_flush is not None:
                # In the batch's own transaction: one commit, not a second one that waits for
                # the disk (50 of those cost a million-recipient dispatch ~2 s).
                self.on_flush()
        self.rows = []

    def _begin(self) -> None:
        opened = ExitStack()
        with ExitStack() as undo:
            undo.push(opened)  # rolled back if the COPY cannot start
            opened.enter_context(transaction.atomic())
            cursor = opened.enter_context(connection.cursor())
            _commit_without_waiting_for_the_disk(cursor)
            copying = ExitStack()
            self._write_row = copying.enter_context(cursor.copy(_COPY_SQL)).write_row
            undo.pop_all()
        self._open, self._copying = opened, copying

    def _end(self) -> None:
        opened, copying = self._detach()
        with opened:  # commits, or rolls back if the COPY or on_flush fails
            copying.close()  # the COPY ends once PostgreSQL has taken every row
            if self.on_flush is not None:
                self.on_flush()

    def _abandon(self, kind, error, trace) -> None:
        if self._open is None:
            return
        opened, copying = self._detach()
        try:
            copying.__exit__(kind, error, trace)  # the server is told the COPY failed
        finally:
            opened.__exit__(kind, error, trace)  # and the batch rolled back

    def _detach(self) -> tuple[ExitStack, ExitStack]:
        """The open batch's transaction and COPY, the writer left with no batch open."""
        opened, copying = self._open, self._copying
        self._open = self._copying = self._write_row = None
        self._streamed_rows = 0
        return opened, copying


_COPY_SQL = f"COPY {Recipient._meta.db_table} ({', '.join(LedgerWriter.COLUMNS)}) FROM STDIN"


def _commit_without_waiting_for_the_disk(cursor) -> None:
    # A batch lost in a crash is written again: the dispatch that wrote it is taken again from
    # the start, and its parts wait for the whole ledger (ledger_resolved_at, committed
    # durably). So a batch's commit need not wait for the disk, which cost ~35 ms a batch.
    cursor.execute("SET LOCAL synchronous_commit TO OFF")


# A dispatch that wrote at least this many rows, and more than a tenth of what the ledger's
# statistics know of, has the table analysed before its parts go (ledger_statistics_refresh).
LEDGER_ANALYZE_MIN_ROWS = 100_000
LEDGER_ANALYZE_SHARE = 0.1


def ledger_statistics_refresh(*, written: int) -> bool:
    """Analyse the ledger after a dispatch that grew it by a lot; True when it did.

    Each submit then reads its part's rows on a plan made from real figures. On a ledger
    whose statistics did not know the new rows (never analysed, or a tenth of its present
    size), PostgreSQL guessed 35,000 rows for a part of 10,000, costed the read above its
    JIT and parallel thresholds and launched two workers and a compilation for each of the
    990 parts of a ten-million campaign: 70 ms a read instead of 6 (BENCHMARKS.md). Autovacuum
    would analyse it in time for the next campaign, not for this one, which submits at once
    (and it may be off). Only PostgreSQL: SQLite plans without table statistics here."""
    if connection.vendor != "postgresql" or written < LEDGER_ANALYZE_MIN_ROWS:
        return False
    table = Recipient._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute("SELECT reltuples FROM pg_class WHERE oid = %s::regclass", [table])
        known = cursor.fetchone()[0]
        # -1: never analysed (PostgreSQL 14 and later); 0: analysed while empty.
        if known > 0 and written <= known * LEDGER_ANALYZE_SHARE:
            return False
        cursor.execute(f"ANALYZE {connection.ops.quote_name(table)}")
    return True


def recipient_statuses_write(
    *, changes: Sequence[tuple[int, str, int | None]], at: datetime
) -> None:
    """Write each (ledger row id, status, BSG message id) of `changes`, with `at` as their
    status_at: one UPDATE … FROM (VALUES …) a STATUS_BATCH of rows, PostgreSQL and SQLite
    alike (column1… are both's names for a VALUES list's columns). bulk_update wrote one
    CASE … WHEN a row for each field, about a second of the worker's CPU for every 1,000 rows
    and as many comparisons for the database (found reading a 1,000,000-recipient campaign's
    statuses, bench/callbacks.py)."""
    table = connection.ops.quote_name(Recipient._meta.db_table)
    moment = Recipient._meta.get_field("status_at").get_db_prep_value(at, connection)
    for start in range(0, len(changes), STATUS_BATCH):
        batch = changes[start : start + STATUS_BATCH]
        rows = ", ".join(["(%s, %s, %s)"] * len(batch))
        with connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {table} SET status = changed.column2, "  # noqa: S608 - only placeholders
                "bsg_message_id = CAST(changed.column3 AS bigint), status_at = %s "
                f"FROM (VALUES {rows}) AS changed WHERE {table}.id = changed.column1",
                [moment, *(value for change in batch for value in change)],
            )
