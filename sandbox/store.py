"""The sandbox account's state: campaigns, messages, contact book, balance.

Messages are the only thing that grows large (the sandbox must hold a million), so they live in
an in-process SQLite database; everything else is a few thousand Python objects at most.

Layout choices, for memory and speed at a million rows:
- A campaign's messages get consecutive ids, so "the messages of campaign C" and "messages of
  campaigns created between A and B" (campaign ids grow with creation time) are rowid ranges:
  no index on campaign_id is needed.
- reference_id has a partial UNIQUE index (only rows that have one): reference ids are unique
  across the account (YAML: "messages with duplicate reference_id will be rejected"), and
  GET /api/messages?filter[reference_id]=... finds a message by it.
- A message's text and sender are stored only when they differ from the campaign's (E2
  personalisation, E3), so a 10,000-phone E1 campaign stores its text once.
- Statuses are not stored: ``lifecycle`` computes them from the campaign's timeline.

One connection serves every thread, guarded by the store's lock; every public method takes it.
Creating a campaign takes it twice, briefly, so that concurrent sends are not served one after
another (BSG answers them in parallel): once to check and reserve what must be decided as one
step (its reference ids unused and unclaimed, the funds, its ids, the charge), once to insert its
messages and publish it (readers never see messages without their campaign). The work per
message (statuses planned, rows built) runs between the two, outside the lock; its reference ids
are held in ``_pending`` meanwhile, so a concurrent send naming one of them is refused as if it
were stored: one reference id is never accepted twice.
"""

import math
import sqlite3
import threading
from array import array
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import NamedTuple

from sandbox import lifecycle
from sandbox.config import SandboxConfig
from sandbox.validation.fields import DUPLICATE_IN_ACCOUNT, refusal
from sandbox.validation.rcs import SmsFallback

# First ids, in the ranges BSG's samples show (campaign 53703353, message 4419393338, list
# 1864620, contact 248452959, field 387714): clients see realistic, large integers.
FIRST_CAMPAIGN_ID = 53_703_401
FIRST_MESSAGE_ID = 4_419_393_401
FIRST_GROUP_ID = 1_864_701
FIRST_CONTACT_ID = 248_453_001
FIRST_FIELD_ID = 388_101

_SCHEMA = """
CREATE TABLE messages (
    id INTEGER PRIMARY KEY,
    campaign_id INTEGER NOT NULL,
    phone INTEGER NOT NULL,
    reference_id TEXT,
    text TEXT,
    sender TEXT,
    parts INTEGER NOT NULL
);
CREATE UNIQUE INDEX messages_reference_id ON messages (reference_id)
    WHERE reference_id IS NOT NULL;
"""
_COLUMNS = "id, campaign_id, phone, reference_id, text, sender, parts"
# SQLite's default bound-variable limit is 32,766; stay well under it.
_CHUNK = 900


@dataclass(frozen=True, slots=True)
class MessageRow:
    id: int
    campaign_id: int
    phone: int
    reference_id: str | None
    text: str | None
    sender: str | None
    parts: int


class NewMessage(NamedTuple):
    """A message to store, its fields in the table's column order after id and campaign_id (a
    tuple: ten thousand are made per request, and each becomes a row as it is)."""

    phone: int
    reference_id: str | None
    text: str | None  # None = the campaign's text
    sender: str | None  # None = the campaign's sender
    parts: int


@dataclass(frozen=True, slots=True)
class _Reservation:
    """What ``Store._reserve`` set aside for a campaign being created: its ids, its creation
    moment, its charge and its reference ids (held in ``Store._pending`` until stored)."""

    generation: int
    campaign_id: int
    first_message_id: int
    created: float
    price: Decimal
    references: list[str]


@dataclass
class Campaign:
    id: int
    kind: str  # lifecycle.SMS or lifecycle.RCS
    endpoint: str  # the path that created it
    name: str
    sender: str
    text: str | None
    validity: int
    tariff_code: int
    requested_start: float | None  # start_at as asked (None = now)
    first_message_id: int
    size: int
    phones: int  # distinct phone numbers
    parts: int  # SMS parts over all messages
    unit_price: Decimal  # per SMS part, or per RCS message
    price: Decimal  # the estimate charged at creation
    refunded: Decimal
    options: dict[str, object] | None  # RCS options, as sent
    fallback: SmsFallback | None
    callback_url: str | None  # where its messages' statuses are pushed (sandbox.callbacks)
    # The tally carries the timeline it was built from: one attribute, replaced in one
    # assignment when the campaign is stopped, so a reader never pairs a new timeline with an
    # old tally.
    tally: lifecycle.Tally
    # Its messages' countries as E9 has looked them up (sandbox.shapes.message_country).
    countries: array | None = None

    @property
    def timeline(self) -> lifecycle.Timeline:
        return self.tally.timeline

    @property
    def created(self) -> float:
        return self.timeline.created

    @property
    def last_message_id(self) -> int:
        return self.first_message_id + self.size - 1

    def message_price(self, parts: int) -> Decimal:
        return self.unit_price * (parts if self.kind == lifecycle.SMS else 1)


@dataclass
class Group:
    id: int
    name: str
    description: str | None
    default: bool
    created: float
    members: dict[int, None] = field(default_factory=dict)  # contact ids, in order of joining


@dataclass
class Contact:
    id: int
    phone: int
    fields: dict[int, str]
    groups: dict[int, None]
    created: float


@dataclass
class ContactField:
    id: int
    name: str
    type: str
    description: str | None
    is_visible: bool


class Store:
    def __init__(self, config: SandboxConfig) -> None:
        self.lock = threading.RLock()
        self._config = config
        self._db = sqlite3.connect(":memory:", check_same_thread=False, isolation_level=None)
        self._db.executescript(_SCHEMA)
        # Counts resets: a creation reserved before one is not stored into the fresh account.
        self._generation = 0
        self.reset()

    def reset(self) -> None:
        with self.lock:
            self._db.execute("DELETE FROM messages")
            self._db.execute("VACUUM")
            self.campaigns: dict[int, Campaign] = {}
            # Creation times in whole seconds, in campaign-id order: BSG keeps dates to the
            # second, so a window ending at "10:03:28" includes a campaign created at 10:03:28.4.
            self._created: list[int] = []
            self._campaign_ids: list[int] = []
            # The campaigns that gave a callback_url, in the order they were published: the
            # callback thread looks at these every fraction of a second, and looking through
            # every campaign instead held the lock and the GIL for ~35 s of a 990-campaign
            # dispatch that asked for no callbacks.
            self._calling_back: list[int] = []
            self.groups: dict[int, Group] = {}
            self.contacts: dict[int, Contact] = {}
            self.contact_by_phone: dict[int, int] = {}
            self.fields: dict[int, ContactField] = {}
            self.balance: Decimal = self._config.balance
            self._next_campaign = FIRST_CAMPAIGN_ID
            self._next_message = FIRST_MESSAGE_ID
            self._next_group = FIRST_GROUP_ID
            self._next_contact = FIRST_CONTACT_ID
            self._next_field = FIRST_FIELD_ID
            # Reference ids of campaigns reserved and not yet stored (see the module's doc).
            self._pending: set[str] = set()
            self._last_created = -math.inf
            self._generation += 1

    # --- campaigns -------------------------------------------------------------------------------

    def create_campaign(
        self,
        *,
        kind: str,
        endpoint: str,
        name: Callable[[float], str],
        sender: str,
        text: str | None,
        validity: int,
        tariff_code: int,
        requested_start: float | None,
        messages: Sequence[NewMessage],
        unit_price: Decimal,
        reference_field: Callable[[int], str],
        created: float,
        options: dict[str, object] | None = None,
        fallback: SmsFallback | None = None,
        add_to_contact_book: bool = False,
        callback_url: str | None = None,
    ) -> Campaign:
        """Checks what needs the account (reference ids unused, funds), then stores the campaign
        and its messages and charges its estimate: refused with nothing stored, or stored
        whole."""
        size = len(messages)
        parts = sum(message.parts for message in messages)
        price = unit_price * (parts if kind == lifecycle.SMS else size)
        phones = len({message.phone for message in messages})
        references = [m.reference_id for m in messages if m.reference_id is not None]
        while True:
            held = self._reserve(messages, references, price, created, reference_field)
            try:
                timeline = lifecycle.Timeline.plan(
                    campaign_id=held.campaign_id,
                    kind=kind,
                    seed=self._config.seed,
                    size=size,
                    created=held.created,
                    start_at=requested_start,
                    speed=self._config.speed,
                    fallback=fallback is not None,
                )
                campaign = Campaign(
                    id=held.campaign_id,
                    kind=kind,
                    endpoint=endpoint,
                    name=name(held.created),
                    sender=sender,
                    text=text,
                    validity=validity,
                    tariff_code=tariff_code,
                    requested_start=requested_start,
                    first_message_id=held.first_message_id,
                    size=size,
                    phones=phones,
                    parts=parts,
                    unit_price=unit_price,
                    price=price,
                    refunded=Decimal(0),
                    options=options,
                    fallback=fallback,
                    callback_url=callback_url,
                    tally=lifecycle.Tally(timeline),
                )
                first, campaign_id = held.first_message_id, held.campaign_id
                rows = [
                    (first + index, campaign_id, *message) for index, message in enumerate(messages)
                ]
            except BaseException:
                self._release(held)
                raise
            if self._publish(held, campaign, rows, add_to_contact_book):
                return campaign
            # The account was reset while the rows were being built: create it in the fresh one,
            # as a request that arrived just after the reset.

    def _reserve(
        self,
        messages: Sequence[NewMessage],
        references: list[str],
        price: Decimal,
        created: float,
        reference_field: Callable[[int], str],
    ) -> _Reservation:
        """Under the lock: refuses a reference id stored or reserved by a concurrent send, and a
        campaign the funds do not cover; else takes the next ids and the charge."""
        with self.lock:
            taken = self._pending.intersection(references)
            taken.update(self._taken_references(references))
            if taken:
                errors = {
                    reference_field(index): [DUPLICATE_IN_ACCOUNT]
                    for index, message in enumerate(messages)
                    if message.reference_id in taken
                }
                raise refusal("The given data was invalid.", errors)
            available = self.balance + self._config.credit
            if price > available:
                # BSG documents no answer for an SMS campaign it cannot pay for; its 2FA
                # endpoint refuses with "Insufficient funds ... Please top up your account."
                raise refusal(
                    "Insufficient funds",
                    [
                        f"Insufficient funds to send the campaign: it costs {price} "
                        f"{self._config.currency}, the balance and credit allow "
                        f"{available} {self._config.currency}. Please top up your account."
                    ],
                )
            # Campaign ids follow creation time (GET /api/campaigns windows bisect on it): a
            # request that took its clock reading before a concurrent one reserved is created
            # at that one's moment, not before it.
            created = max(created, self._last_created)
            self._last_created = created
            held = _Reservation(
                generation=self._generation,
                campaign_id=self._next_campaign,
                first_message_id=self._next_message,
                created=created,
                price=price,
                references=references,
            )
            self._next_campaign += 1
            self._next_message += len(messages)
            self.balance -= price
            self._pending.update(references)
            return held

    def _publish(
        self,
        held: _Reservation,
        campaign: Campaign,
        rows: list[tuple[object, ...]],
        add_to_contact_book: bool,
    ) -> bool:
        """Under the lock: stores the messages and makes the campaign visible, in one step;
        False (nothing stored) when the account was reset since ``held`` was reserved."""
        with self.lock:
            if held.generation != self._generation:
                return False
            self._db.execute("BEGIN")
            try:
                self._db.executemany(
                    f"INSERT INTO messages ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)",  # noqa: S608
                    rows,
                )
            except BaseException:
                self._db.execute("ROLLBACK")
                self._release(held)
                raise
            self._db.execute("COMMIT")
            self._pending.difference_update(held.references)
            self.campaigns[campaign.id] = campaign
            # Reservations can finish out of order: keep both lists in campaign-id order.
            at = bisect_left(self._campaign_ids, campaign.id)
            self._campaign_ids.insert(at, campaign.id)
            self._created.insert(at, math.floor(campaign.created))
            if campaign.callback_url:
                self._calling_back.append(campaign.id)
            if add_to_contact_book:
                for row in rows:
                    phone = row[2]
                    if phone not in self.contact_by_phone:
                        self._add_contact(phone, {}, [], campaign.created)  # type: ignore[arg-type]
            return True

    def _release(self, held: _Reservation) -> None:
        """Gives back what a creation that failed before it was stored reserved (its ids stay
        unused: a later campaign may already have the next ones)."""
        with self.lock:
            if held.generation != self._generation:
                return
            self.balance += held.price
            self._pending.difference_update(held.references)

    def _taken_references(self, references: Iterable[str]) -> set[str]:
        wanted = list(references)
        taken: set[str] = set()
        for start in range(0, len(wanted), _CHUNK):
            chunk = wanted[start : start + _CHUNK]
            marks = ",".join("?" * len(chunk))
            taken.update(
                row[0]
                for row in self._db.execute(
                    f"SELECT reference_id FROM messages WHERE reference_id IN ({marks})",  # noqa: S608 - only placeholders
                    chunk,
                )
            )
        return taken

    def campaign(self, campaign_id: int) -> Campaign | None:
        with self.lock:
            return self.campaigns.get(campaign_id)

    def all_campaigns(self) -> list[Campaign]:
        """In id order (concurrent creations may be published out of it)."""
        with self.lock:
            return [self.campaigns[campaign_id] for campaign_id in self._campaign_ids]

    def campaigns_calling_back(self) -> list[Campaign]:
        """The campaigns that gave a callback_url (sandbox.callbacks)."""
        with self.lock:
            return [self.campaigns[campaign_id] for campaign_id in self._calling_back]

    def campaigns_created_between(self, start: float, end: float) -> list[Campaign]:
        with self.lock:
            low = bisect_left(self._created, start)
            high = bisect_right(self._created, end)
            return [self.campaigns[cid] for cid in self._campaign_ids[low:high]]

    def stop_campaign(self, campaign_id: int, moment: float) -> Campaign:
        """Stops a campaign in a stoppable status: messages not yet dispatched are cancelled
        and their price refunded."""
        with self.lock:
            campaign = self.campaigns.get(campaign_id)
            if campaign is None:
                raise refusal("Not Found", status=404)
            status = lifecycle.campaign_status(campaign.timeline, campaign.tally.finish, moment)
            if status not in lifecycle.STOPPABLE:
                raise refusal("Invalid campaign status")
            timeline = campaign.timeline.stopped(moment)
            kept = timeline.kept
            if kept < campaign.size:
                cancelled_parts = self._db.execute(
                    "SELECT COALESCE(SUM(parts), 0), COUNT(*) FROM messages "
                    "WHERE id BETWEEN ? AND ?",
                    (campaign.first_message_id + kept, campaign.last_message_id),
                ).fetchone()
                units = cancelled_parts[0] if campaign.kind == lifecycle.SMS else cancelled_parts[1]
                refund = campaign.unit_price * units
                campaign.refunded += refund
                self.balance += refund
            campaign.tally = lifecycle.Tally(timeline)
            return campaign

    def sent_parts(self, campaign: Campaign, count: int) -> int:
        """SMS parts of the campaign's first ``count`` messages (dispatch follows id order)."""
        if count <= 0:
            return 0
        with self.lock:
            row = self._db.execute(
                "SELECT COALESCE(SUM(parts), 0) FROM messages WHERE id BETWEEN ? AND ?",
                (campaign.first_message_id, campaign.first_message_id + count - 1),
            ).fetchone()
        return int(row[0])

    def reference_ids(self, campaign: Campaign) -> list[str]:
        with self.lock:
            return [
                row[0]
                for row in self._db.execute(
                    "SELECT reference_id FROM messages WHERE id BETWEEN ? AND ? "
                    "AND reference_id IS NOT NULL ORDER BY id",
                    (campaign.first_message_id, campaign.last_message_id),
                )
            ]

    def messages_by_id(self, ids: Sequence[int]) -> dict[int, MessageRow]:
        """The messages with these ids (those that exist), by id."""
        found: dict[int, MessageRow] = {}
        with self.lock:
            for start in range(0, len(ids), _CHUNK):
                chunk = ids[start : start + _CHUNK]
                marks = ",".join("?" * len(chunk))
                for row in self._db.execute(
                    f"SELECT {_COLUMNS} FROM messages WHERE id IN ({marks})",  # noqa: S608 - only placeholders
                    chunk,
                ):
                    found[row[0]] = MessageRow(*row)
        return found

    def message_count(self) -> int:
        with self.lock:
            return int(self._db.execute("SELECT COUNT(*) FROM messages").fetchone()[0])

    def message_totals(self) -> dict[str, int]:
        """Messages, distinct phones and distinct reference ids over every campaign: a client
        that sent ten million recipients once each sees three equal figures, without fetching
        ten million reference ids."""
        with self.lock:
            messages, phones, references = self._db.execute(
                "SELECT COUNT(*), COUNT(DISTINCT phone), COUNT(DISTINCT reference_id) FROM messages"
            ).fetchone()
            return {
                "campaigns": len(self.campaigns),
                "messages": int(messages),
                "phones": int(phones),
                "reference_ids": int(references),
            }

    # --- messages --------------------------------------------------------------------------------

    def find_messages(
        self,
        *,
        message_id: int | None,
        id_ranges: Sequence[tuple[int, int]],
        reference_id: str | None,
        sort: str,
        descending: bool,
        offset: int,
        limit: int,
        delivered_at: Callable[[MessageRow], float | None],
    ) -> tuple[list[MessageRow], int]:
        """(one page of messages, total matching). ``id_ranges`` all apply (intersection).
        sort is id, phone or delivered (delivery time is computed, not stored: that sort runs
        in Python over the matching rows, fine for a campaign, slow for a whole account)."""
        where = ["1 = 1"]
        params: list[object] = []
        if message_id is not None:
            where.append("id = ?")
            params.append(message_id)
        for low, high in id_ranges:
            where.append("id BETWEEN ? AND ?")
            params.extend((low, high))
        if reference_id is not None:
            where.append("reference_id = ?")
            params.append(reference_id)
        condition = " AND ".join(where)
        direction = "DESC" if descending else "ASC"
        with self.lock:
            total = int(
                self._db.execute(
                    f"SELECT COUNT(*) FROM messages WHERE {condition}",  # noqa: S608 - fixed SQL
                    params,
                ).fetchone()[0]
            )
            if sort == "delivered":
                rows = [
                    MessageRow(*row)
                    for row in self._db.execute(
                        f"SELECT {_COLUMNS} FROM messages WHERE {condition}",  # noqa: S608
                        params,
                    )
                ]
            else:
                order = "phone" if sort == "phone" else "id"
                rows = [
                    MessageRow(*row)
                    for row in self._db.execute(
                        f"SELECT {_COLUMNS} FROM messages WHERE {condition} "  # noqa: S608
                        f"ORDER BY {order} {direction}, id {direction} LIMIT ? OFFSET ?",
                        [*params, limit, offset],
                    )
                ]
                return rows, total
        # Undelivered messages sort after delivered ones (NULLS LAST), whatever the direction.
        delivered = [(delivered_at(row), row) for row in rows]
        done = sorted(
            ((moment, row) for moment, row in delivered if moment is not None),
            key=lambda pair: (pair[0], pair[1].id),
            reverse=descending,
        )
        pending = sorted(
            (row for moment, row in delivered if moment is None),
            key=lambda row: row.id,
            reverse=descending,
        )
        ordered = [row for _, row in done] + pending
        return ordered[offset : offset + limit], total

    # --- contact book ----------------------------------------------------------------------------

    def group_named(self, name: str) -> Group | None:
        with self.lock:
            return next((g for g in self.groups.values() if g.name == name), None)

    def create_group(
        self, name: str, description: str | None, default: bool, created: float
    ) -> Group:
        with self.lock:
            if self.group_named(name) is not None:
                raise refusal("Contact group is already exists")
            group = Group(self._next_group, name, description, default, created)
            self._next_group += 1
            self.groups[group.id] = group
            return group

    def update_group(
        self, group_id: int, name: str, description: str | None, default: bool
    ) -> Group:
        with self.lock:
            group = self.groups.get(group_id)
            if group is None:
                raise refusal("Contact group is not found")
            other = self.group_named(name)
            if other is not None and other.id != group_id:
                raise refusal("Contact group is already exists")
            group.name, group.description, group.default = name, description, default
            return group

    def delete_group(self, group_id: int) -> None:
        with self.lock:
            group = self.groups.pop(group_id, None)
            if group is None:
                raise refusal("Contact group is not found")
            # Vendor (YAML): deleting a list keeps its contacts in the Contact Book.
            for contact_id in group.members:
                self.contacts[contact_id].groups.pop(group_id, None)

    def _add_contact(
        self, phone: int, values: dict[int, str], groups: Iterable[int], created: float
    ) -> Contact:
        contact = Contact(self._next_contact, phone, dict(values), {}, created)
        self._next_contact += 1
        self.contacts[contact.id] = contact
        self.contact_by_phone[phone] = contact.id
        self._join(contact, groups)
        return contact

    def _join(self, contact: Contact, groups: Iterable[int]) -> None:
        for group_id in groups:
            contact.groups[group_id] = None
            self.groups[group_id].members[contact.id] = None

    def create_contact(
        self, phone: int, values: dict[int, str], groups: Sequence[int], created: float
    ) -> Contact:
        with self.lock:
            if phone in self.contact_by_phone:
                raise refusal("Phone number is already exist in contact book")
            return self._add_contact(phone, values, groups, created)

    def update_contact(
        self, contact_id: int, phone: int, values: dict[int, str], groups: Sequence[int]
    ) -> Contact:
        """PUT /api/contacts/{id}: changes the phone, sets the given field values and adds the
        contact to the given lists (YAML: "add the contact to the list")."""
        with self.lock:
            contact = self.contacts.get(contact_id)
            if contact is None:
                raise refusal("Invalid contact id")
            owner = self.contact_by_phone.get(phone)
            if owner is not None and owner != contact_id:
                raise refusal("Phone number is already exist in contact book")
            del self.contact_by_phone[contact.phone]
            contact.phone = phone
            self.contact_by_phone[phone] = contact_id
            contact.fields.update(values)
            self._join(contact, groups)
            return contact

    def delete_contact(self, contact_id: int) -> None:
        with self.lock:
            contact = self.contacts.pop(contact_id, None)
            if contact is None:
                raise refusal("Invalid contact id")
            del self.contact_by_phone[contact.phone]
            for group_id in contact.groups:
                self.groups[group_id].members.pop(contact_id, None)

    def attach(self, contact_ids: Sequence[int], group_ids: Sequence[int]) -> None:
        with self.lock:
            for contact_id in contact_ids:
                self._join(self.contacts[contact_id], group_ids)

    def detach(self, contact_ids: Sequence[int], group_ids: Sequence[int]) -> None:
        with self.lock:
            for contact_id in contact_ids:
                contact = self.contacts[contact_id]
                for group_id in group_ids:
                    contact.groups.pop(group_id, None)
                    self.groups[group_id].members.pop(contact_id, None)

    def group_contacts(self, group_ids: Sequence[int]) -> list[Contact]:
        """Contacts of the lists, in list order then joining order, one per phone number (a
        campaign sends once to a number that is on two lists)."""
        with self.lock:
            seen: set[int] = set()
            found: list[Contact] = []
            for group_id in group_ids:
                for contact_id in self.groups[group_id].members:
                    contact = self.contacts[contact_id]
                    if contact.phone not in seen:
                        seen.add(contact.phone)
                        found.append(contact)
            return found

    def create_field(
        self, name: str, kind: str, description: str | None, is_visible: bool
    ) -> ContactField:
        with self.lock:
            created = ContactField(self._next_field, name, kind, description, is_visible)
            self._next_field += 1
            self.fields[created.id] = created
            return created

    def delete_fields(self, field_ids: Sequence[int]) -> None:
        with self.lock:
            for field_id in field_ids:
                self.fields.pop(field_id, None)
                for contact in self.contacts.values():
                    contact.fields.pop(field_id, None)

    # --- inspection ------------------------------------------------------------------------------

    def memory_summary(self) -> dict[str, int]:
        with self.lock:
            return {
                "campaigns": len(self.campaigns),
                "messages": self.message_count(),
                "contacts": len(self.contacts),
                "groups": len(self.groups),
                "fields": len(self.fields),
            }
