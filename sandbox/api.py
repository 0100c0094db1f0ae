"""The BSG endpoints: one method per endpoint, each validating, acting on the store and shaping
the answer as BSG does. HTTP plumbing (auth, faults, duplicate guard, logging) is in ``app``.

Each handler takes a ``Call`` and returns (status, JSON payload or None for an empty body);
refusals are raised as ``validation.fields.Refusal`` and answered in BSG's error shape.
"""

import hmac
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from werkzeug.datastructures import MultiDict

from sandbox import lifecycle, sms_segments
from sandbox.config import SandboxConfig
from sandbox.shapes import Shapes, money_number
from sandbox.store import Campaign, Contact, Group, NewMessage, Store
from sandbox.tokens import TokenIssuer
from sandbox.validation import book, queries, rcs, sms
from sandbox.validation.fields import (
    FIELD_NOT_FOUND,
    GROUP_NOT_FOUND,
    INVALID,
    Delivery,
    Refusal,
    key,
    refusal,
    require_object,
)
from sandbox.vendor_rules import (
    BLANK,
    CONTACTS_PAGE,
    GROUPS_PAGE,
    MAX_RCS_RECIPIENTS,
    MAX_SMS_RECIPIENTS,
)

Answer = tuple[int, object]


@dataclass(frozen=True)
class Call:
    path: str
    args: MultiDict[str, str]
    body: object  # parsed JSON; None when the request had no body
    now: float  # sandbox clock, unix seconds

    @property
    def now_datetime(self) -> datetime:
        return datetime.fromtimestamp(self.now, UTC)


class BsgApi:
    def __init__(
        self, config: SandboxConfig, store: Store, tokens: TokenIssuer, shapes: Shapes
    ) -> None:
        self._config = config
        self._store = store
        self._tokens = tokens
        self._shapes = shapes
        self._tz = config.time_zone

    # --- auth ------------------------------------------------------------------------------------

    def login(self, call: Call) -> Answer:
        """POST /api/auth/login {"api_key"} -> {"bearer"} (not wrapped in data)."""
        data = require_object(call.body)
        api_key = data.get("api_key")
        if not isinstance(api_key, str) or not api_key:
            raise refusal(INVALID, {"api_key": [BLANK]})
        if not hmac.compare_digest(api_key.encode(), self._config.api_key.encode()):
            raise Refusal({"message": "Invalid credentials."}, status=401)
        return 200, {"bearer": self._tokens.issue()}

    def refresh(self, call: Call) -> Answer:
        """POST /api/auth/refresh, signed with a valid token -> a new {"bearer"}. The old token
        stays valid until its own exp (BSG does not say it is revoked; web and worker processes
        sharing one token must not be cut off by one of them refreshing)."""
        return 200, {"bearer": self._tokens.issue()}

    # --- SMS campaigns ---------------------------------------------------------------------------

    def _tariff_connected(self, code: int) -> None:
        # YAML POST /api/campaigns/price 422 "Tariff was not found" (errors: []): a valid code
        # (0-9) that is not connected to the account.
        if code not in self._config.tariff_codes:
            raise refusal("Tariff was not found")

    def _name(self, kind: str) -> Callable[[float], str]:
        prefix = "SMS" if kind == lifecycle.SMS else "RCS"
        # Vendor page rcs-send-groups.txt: "RCS api campaign / {yyyy-mm-dd hh:mm:ss}".
        return lambda created: f"{prefix} api campaign / {self._shapes.when(created)}"

    def _create(
        self,
        call: Call,
        *,
        kind: str,
        sender: str,
        text: str | None,
        delivery: Delivery,
        messages: Sequence[NewMessage],
        reference_list: str = "phones",
        options: dict[str, object] | None = None,
        fallback: rcs.SmsFallback | None = None,
        add_to_contact_book: bool = False,
        callback_url: str | None = None,
    ) -> Answer:
        campaign = self._store.create_campaign(
            kind=kind,
            endpoint=call.path,
            name=self._name(kind),
            sender=sender,
            text=text,
            validity=delivery.validity,
            tariff_code=delivery.tariff_code,
            requested_start=delivery.start_at.timestamp() if delivery.start_at else None,
            messages=messages,
            unit_price=(
                self._config.sms_part_price
                if kind == lifecycle.SMS
                else self._config.rcs_message_price
            ),
            reference_field=lambda index: key(reference_list, index, "reference_id"),
            created=call.now,
            options=options,
            fallback=fallback,
            add_to_contact_book=add_to_contact_book,
            callback_url=callback_url,
        )
        return 200, {"data": self._shapes.campaign(campaign, call.now, created=True)}

    def sms_send(self, call: Call) -> Answer:
        """E1 POST /api/campaigns/sms/send."""
        parsed = sms.sms_send(call.body, now=call.now_datetime, time_zone=self._tz)
        self._tariff_connected(parsed.delivery.tariff_code)
        parts = sms_segments.parts(parsed.text)
        messages = [
            NewMessage(r.phone, r.reference_id, None, None, parts) for r in parsed.recipients
        ]
        return self._create(
            call,
            kind=lifecycle.SMS,
            sender=parsed.sender,
            text=parsed.text,
            delivery=parsed.delivery,
            messages=messages,
            callback_url=parsed.callback_url,
        )

    def sms_send_groups(self, call: Call) -> Answer:
        """E2 POST /api/campaigns/sms/send-groups: one message per contact of the lists (one per
        phone number), {field_id} placeholders filled from the contact's fields."""
        parsed = sms.sms_send_groups(
            call.body,
            now=call.now_datetime,
            time_zone=self._tz,
            group_exists=self._group_exists,
        )
        self._tariff_connected(parsed.delivery.tariff_code)
        contacts = self._recipients_of(parsed.groups, MAX_SMS_RECIPIENTS)
        messages = self._personalised(parsed.text, contacts)
        return self._create(
            call,
            kind=lifecycle.SMS,
            sender=parsed.sender,
            text=parsed.text,
            delivery=parsed.delivery,
            messages=messages,
            callback_url=parsed.callback_url,
        )

    def _recipients_of(self, groups: Sequence[int], limit: int) -> list[Contact]:
        contacts = self._store.group_contacts(groups)
        if not contacts:
            # BSG does not say; an empty campaign helps nobody, so the sandbox refuses it.
            raise refusal(INVALID, {"groups": ["The lists hold no contacts."]})
        if len(contacts) > limit:
            # Vendor pages: "no more than 10 000 contacts for one campaign" (RCS: 5,000, YAML).
            raise refusal(
                INVALID,
                {
                    "groups": [
                        f"The lists hold {len(contacts)} contacts; a campaign reaches at most "
                        f"{limit}."
                    ]
                },
            )
        return contacts

    def _personalised(self, template: str, contacts: Sequence[Contact]) -> list[NewMessage]:
        parts_by_text: dict[str, int] = {}
        messages = []
        for contact in contacts:
            text = sms.personalise(template, contact.fields, self._field_exists)
            parts = parts_by_text.get(text)
            if parts is None:
                parts = parts_by_text[text] = sms_segments.parts(text)
            messages.append(
                NewMessage(contact.phone, None, None if text == template else text, None, parts)
            )
        return messages

    def sms_send_individual(self, call: Call) -> Answer:
        """E3 POST /api/campaigns/sms/send-individual: its own text and sender per message."""
        parsed = sms.sms_send_individual(call.body, now=call.now_datetime, time_zone=self._tz)
        self._tariff_connected(parsed.delivery.tariff_code)
        # The validation counted the parts of the texts it passed on its fast path.
        parts_by_text = parsed.parts_by_text
        campaign_text, campaign_sender = parsed.text, parsed.sender
        messages = []
        for phone, reference_id, text, sender in parsed.recipients:
            text = text or ""
            parts = parts_by_text.get(text)
            if parts is None:
                parts = parts_by_text[text] = sms_segments.parts(text)
            messages.append(
                NewMessage(
                    phone,
                    reference_id,
                    None if text == campaign_text else text,
                    None if sender == campaign_sender else sender,
                    parts,
                )
            )
        return self._create(
            call,
            kind=lifecycle.SMS,
            sender=parsed.sender,
            text=parsed.text,
            delivery=parsed.delivery,
            messages=messages,
            reference_list="messages",
            callback_url=parsed.callback_url,
        )

    def campaign_price(self, call: Call) -> Answer:
        """E10 POST /api/campaigns/price -> {"price", "currency"} (not wrapped: YAML
        CampaignPrice200Response). Price = SMS parts of each message x the per-part price."""
        parsed = sms.campaign_price(call.body, group_exists=self._group_exists)
        self._tariff_connected(parsed.tariff_code)
        parts = sms_segments.parts(parsed.text) * len(parsed.phones)
        if parsed.groups:
            contacts = self._store.group_contacts(parsed.groups)
            parts += sum(m.parts for m in self._personalised(parsed.text, contacts))
        price = self._config.sms_part_price * parts
        return 200, {"price": money_number(price), "currency": self._config.currency}

    # --- RCS campaigns ---------------------------------------------------------------------------

    def rcs_send_groups(self, call: Call) -> Answer:
        """E6 POST /api/campaigns/rcs/send-groups."""
        parsed = rcs.rcs_send_groups(
            call.body,
            now=call.now_datetime,
            time_zone=self._tz,
            group_exists=self._group_exists,
        )
        self._tariff_connected(parsed.delivery.tariff_code)
        contacts = self._recipients_of(parsed.groups, MAX_RCS_RECIPIENTS)
        messages = [NewMessage(c.phone, None, None, None, 1) for c in contacts]
        return self._create_rcs(call, parsed, messages)

    def rcs_send(self, call: Call) -> Answer:
        """E14 POST /api/campaigns/rcs/send (phones are added to the contact book unless
        add_to_contact_book is false: YAML AddToContactBook, default true)."""
        parsed = rcs.rcs_send(call.body, now=call.now_datetime, time_zone=self._tz)
        self._tariff_connected(parsed.delivery.tariff_code)
        messages = [NewMessage(r.phone, r.reference_id, None, None, 1) for r in parsed.recipients]
        return self._create_rcs(
            call, parsed, messages, add_to_contact_book=parsed.add_to_contact_book
        )

    def _create_rcs(
        self, call: Call, parsed: rcs.RcsCampaign, messages: list[NewMessage], **extra: Any
    ) -> Answer:
        """An RCS campaign from E6 or E14: both carry the same sender, cards and fallback."""
        return self._create(
            call,
            kind=lifecycle.RCS,
            sender=parsed.sender,
            text=parsed.text,
            delivery=parsed.delivery,
            messages=messages,
            options=parsed.options,
            fallback=parsed.fallback,
            **extra,
        )

    # --- campaigns: read and stop ----------------------------------------------------------------

    def _campaign(self, campaign_id: int) -> Campaign:
        campaign = self._store.campaign(campaign_id)
        if campaign is None:
            raise refusal("Not Found", status=404)
        return campaign

    def campaign(self, call: Call, id: int) -> Answer:
        """E7 GET /api/campaigns/{id}."""
        return 200, {"data": self._shapes.campaign(self._campaign(id), call.now)}

    def campaign_detail(self, call: Call, id: int) -> Answer:
        """E8 GET /api/campaigns/{id}/detail."""
        return 200, {"data": self._shapes.detail(self._campaign(id), call.now)}

    def campaign_stop(self, call: Call, id: int) -> Answer:
        """E4 PATCH /api/campaigns/{id}/stop: 422 "Invalid campaign status" unless stoppable."""
        campaign = self._store.stop_campaign(id, call.now)
        return 200, {"data": self._shapes.campaign(campaign, call.now)}

    def campaigns(self, call: Call) -> Answer:
        """E5 GET /api/campaigns: the window filters on created_at."""
        query = queries.campaign_query(call.args, now=call.now_datetime, time_zone=self._tz)
        moment = call.now
        found = [
            c
            for c in self._store.campaigns_created_between(
                query.start.timestamp(), query.end.timestamp()
            )
            if c.kind == query.type
        ]
        if query.search_field is not None and query.search_value is not None:
            needle = query.search_value.casefold()
            attribute = "sender" if query.search_field == "sender" else "name"
            found = [c for c in found if needle in getattr(c, attribute).casefold()]

        def sort_key(c: Campaign) -> tuple:
            if query.sort == "sender":
                return (c.sender.casefold(), c.id)
            if query.sort == "type":
                return (c.kind, c.id)
            if query.sort == "date":
                return (c.created, c.id)
            if query.sort == "status":
                return (lifecycle.campaign_status(c.timeline, c.tally.finish, moment), c.id)
            return (c.id,)

        found.sort(key=sort_key, reverse=query.way == "desc")
        window = found[query.page.offset : query.page.offset + query.page.limit]
        return 200, {
            "data": [self._shapes.campaign(c, moment) for c in window],
            "meta": {
                "page": {
                    "total": len(found),
                    "limit": query.page.limit,
                    "offset": query.page.offset,
                }
            },
        }

    # --- messages --------------------------------------------------------------------------------

    def messages(self, call: Call) -> Answer:
        """E9 GET /api/messages (window on the messages' created_at, i.e. their campaign's)."""
        query = queries.message_query(call.args, time_zone=self._tz)
        ranges: list[tuple[int, int]] = []
        empty = False
        if query.campaign_id is not None:
            campaign = self._store.campaign(query.campaign_id)
            if campaign is None:
                empty = True
            else:
                ranges.append((campaign.first_message_id, campaign.last_message_id))
        if query.start is not None or query.end is not None:
            start = query.start.timestamp() if query.start else float("-inf")
            end = query.end.timestamp() if query.end else float("inf")
            within = self._store.campaigns_created_between(start, end)
            if within:
                ranges.append((within[0].first_message_id, within[-1].last_message_id))
            else:
                empty = True
        moment = call.now
        rows, total = (
            ([], 0)
            if empty
            else self._store.find_messages(
                message_id=query.id,
                id_ranges=ranges,
                reference_id=query.reference_id,
                sort=query.sort,
                descending=query.way == "desc",
                offset=query.page.offset,
                limit=query.page.limit,
                delivered_at=lambda row: (
                    lifecycle.message_state(
                        self._store.campaigns[row.campaign_id].timeline,
                        row.id - self._store.campaigns[row.campaign_id].first_message_id,
                        moment,
                    ).delivered_at
                ),
            )
        )
        return 200, {
            "data": [
                self._shapes.message(row, self._store.campaigns[row.campaign_id], moment)
                for row in rows
            ],
            "meta": {
                "page": {"limit": query.page.limit, "offset": query.page.offset, "total": total}
            },
        }

    # --- account ---------------------------------------------------------------------------------

    def balance(self, call: Call) -> Answer:
        """E11 GET /api/accounts/balance -> {"data": {"balance", "currency", "credit"}}."""
        with self._store.lock:
            balance = self._store.balance
        return 200, {
            "data": {
                "balance": money_number(balance),
                "currency": self._config.currency,
                "credit": money_number(self._config.credit),
            }
        }

    # --- contact book: lists ---------------------------------------------------------------------

    def _group_exists(self, group_id: int) -> bool:
        return group_id in self._store.groups

    def _field_exists(self, field_id: int) -> bool:
        return field_id in self._store.fields

    def _contact_exists(self, contact_id: int) -> bool:
        return contact_id in self._store.contacts

    def groups(self, call: Call) -> Answer:
        """GET /api/groups -> {"data": [...], "total"} (YAML ContactLists200Response)."""
        paging = queries.book_page(call.args, GROUPS_PAGE)
        with self._store.lock:
            groups = list(self._store.groups.values())
            data = [
                self._shapes.group(g) for g in groups[paging.offset : paging.offset + paging.limit]
            ]
        return 200, {"data": data, "total": len(groups)}

    def group_create(self, call: Call) -> Answer:
        """POST /api/groups -> 201; a name already used -> 422 "Contact group is already exists"."""
        parsed = book.group(call.body)
        group = self._store.create_group(parsed.name, parsed.description, parsed.default, call.now)
        return 201, {"data": self._shapes.group(group)}

    def _group(self, group_id: int) -> Group:
        group = self._store.groups.get(group_id)
        if group is None:
            # YAML ContactListUpdate422Response: "Contact group is not found".
            raise refusal(GROUP_NOT_FOUND)
        return group

    def group(self, call: Call, id: int) -> Answer:
        with self._store.lock:
            return 200, {"data": self._shapes.group(self._group(id))}

    def group_update(self, call: Call, id: int) -> Answer:
        parsed = book.group(call.body)
        group = self._store.update_group(id, parsed.name, parsed.description, parsed.default)
        return 200, {"data": self._shapes.group(group)}

    def group_delete(self, call: Call, id: int) -> Answer:
        self._store.delete_group(id)
        return 204, None

    def group_attach(self, call: Call) -> Answer:
        """POST /api/groups/attach {contacts (<= 200), groups (<= 100)} -> 200 {} (the YAML
        documents only "type: object")."""
        with self._store.lock:
            contacts, groups = book.attach(
                call.body, contact_exists=self._contact_exists, group_exists=self._group_exists
            )
            self._store.attach(contacts, groups)
        return 200, {}

    def group_detach(self, call: Call) -> Answer:
        with self._store.lock:
            contacts, groups = book.attach(
                call.body, contact_exists=self._contact_exists, group_exists=self._group_exists
            )
            self._store.detach(contacts, groups)
        return 200, {}

    # --- contact book: contacts ------------------------------------------------------------------

    def contacts(self, call: Call) -> Answer:
        """GET /api/contacts[?groups[]=...] -> {"data": [...], "total"} (YAML, default limit 20)."""
        paging = queries.book_page(call.args, CONTACTS_PAGE)
        wanted: list[int] = []
        for raw in call.args.getlist("groups[]"):
            if not raw.isdigit():
                raise refusal(INVALID, {"groups": ["This value should be of type integer."]})
            wanted.append(int(raw))
        with self._store.lock:
            if wanted:
                members: dict[int, None] = {}
                for group_id in wanted:
                    group = self._store.groups.get(group_id)
                    if group is not None:
                        members.update(group.members)
                contacts = [self._store.contacts[cid] for cid in members]
            else:
                contacts = list(self._store.contacts.values())
            page = contacts[paging.offset : paging.offset + paging.limit]
            data = [self._shapes.contact(c, self._store.groups) for c in page]
        return 200, {"data": data, "total": len(contacts)}

    def contact_create(self, call: Call) -> Answer:
        """POST /api/contacts -> 201; a phone already in the book -> 422 (YAML message)."""
        with self._store.lock:
            parsed = book.contact(
                call.body, field_exists=self._field_exists, group_exists=self._group_exists
            )
            contact = self._store.create_contact(
                parsed.phone, parsed.fields, parsed.groups, call.now
            )
            return 201, {"data": self._shapes.contact(contact, self._store.groups)}

    def _contact(self, contact_id: int) -> Contact:
        contact = self._store.contacts.get(contact_id)
        if contact is None:
            raise refusal("Invalid contact id")  # YAML Contact422Response
        return contact

    def contact(self, call: Call, id: int) -> Answer:
        with self._store.lock:
            return 200, {"data": self._shapes.contact(self._contact(id), self._store.groups)}

    def contact_update(self, call: Call, id: int) -> Answer:
        with self._store.lock:
            self._contact(id)
            parsed = book.contact(
                call.body, field_exists=self._field_exists, group_exists=self._group_exists
            )
            contact = self._store.update_contact(id, parsed.phone, parsed.fields, parsed.groups)
            return 200, {"data": self._shapes.contact(contact, self._store.groups)}

    def contact_delete(self, call: Call, id: int) -> Answer:
        self._store.delete_contact(id)
        return 204, None

    # --- contact book: custom fields -------------------------------------------------------------

    def fields(self, call: Call) -> Answer:
        """GET /api/contacts/fields -> {"data": [...]} (YAML ContactFieldCollectionSchema)."""
        with self._store.lock:
            return 200, {"data": [self._shapes.field(f) for f in self._store.fields.values()]}

    def field_create(self, call: Call) -> Answer:
        parsed = book.contact_field(call.body)
        visible = True if parsed.is_visible is None else parsed.is_visible
        field = self._store.create_field(
            parsed.name or "", parsed.type or "text", parsed.description, visible
        )
        return 201, {"data": self._shapes.field(field)}

    def field_update(self, call: Call, id: int) -> Answer:
        parsed = book.contact_field(call.body, partial=True)
        with self._store.lock:
            field = self._store.fields.get(id)
            if field is None:
                raise refusal(FIELD_NOT_FOUND)
            if parsed.name is not None:
                field.name = parsed.name
            if parsed.description is not None:
                field.description = parsed.description
            if parsed.is_visible is not None:
                field.is_visible = parsed.is_visible
            return 200, {"data": self._shapes.field(field)}

    def fields_delete(self, call: Call) -> Answer:
        with self._store.lock:
            ids = book.field_ids(call.body, field_exists=self._field_exists)
            self._store.delete_fields(ids)
        return 204, None
