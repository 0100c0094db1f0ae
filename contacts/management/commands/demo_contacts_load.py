"""`demo_contacts_load`: the demo audience `make run` loads (lists, fields, ~200 contacts and
some opt-outs).

Idempotent: every row is found by its natural key (list name, field key, phone) first, so
running it again adds nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.core.management.base import BaseCommand
from django.db import transaction

from contacts.models import Contact, ContactField, ContactList, DoNotContact, ListMembership
from contacts.phones import normalize_phone

DEMO_LISTS = {
    "Kyiv customers": "Customers who ordered in Kyiv.",
    "Newsletter": "Agreed to the weekly newsletter.",
    "VIP": "Top customers.",
}
DEMO_FIELDS = {"first_name": "First name", "city": "City", "order_no": "Order number"}
FIRST_NAMES = ["Olena", "Taras", "Iryna", "Andrii", "Oksana", "Dmytro", "Kateryna", "Yurii"]
LAST_NAMES = ["Kovalenko", "Shevchenko", "Bondarenko", "Tkachenko", "Melnyk", "Boyko"]
CITIES = ["Kyiv", "Lviv", "Odesa", "Kharkiv", "Dnipro"]
# Ukrainian mobile operators' codes (Kyivstar 67, Vodafone 50, lifecell 63...): valid numbers.
OPERATOR_CODES = ["50", "63", "66", "67", "68", "73", "93", "95", "96", "97", "98", "99"]
DEMO_CONTACTS = 200
DEMO_OPT_OUTS = [
    (3, DoNotContact.Source.MANUAL, "Asked not to be contacted by phone."),
    (17, DoNotContact.Source.BSG_STOP_LIST, "Replied STOP."),
    (42, DoNotContact.Source.DELIVERY_FAILURES, "Five failed deliveries in a row."),
    (99, DoNotContact.Source.IMPORT, "Opt-out list from the shop."),
]


@dataclass(frozen=True)
class DemoLoadResult:
    lists: int
    fields: int
    contacts: int
    opt_outs: int


def demo_phone(index: int) -> str:
    """The index-th demo number, normalized (and so checked) by contacts.phones."""
    code = OPERATOR_CODES[index % len(OPERATOR_CODES)]
    return normalize_phone(f"+380{code}{1_000_000 + index * 7_919 % 9_000_000:07d}")


@transaction.atomic
def demo_contacts_load() -> DemoLoadResult:
    """Creates whatever of the demo audience is missing; returns how many rows it created."""
    lists = {}
    created_lists = 0
    for name, description in DEMO_LISTS.items():
        contact_list = ContactList.objects.filter(name__iexact=name).first()
        if contact_list is None:
            contact_list = ContactList.objects.create(name=name, description=description)
            created_lists += 1
        lists[name] = contact_list
    created_fields = 0
    for key, label in DEMO_FIELDS.items():
        _, created = ContactField.objects.get_or_create(key=key, defaults={"label": label})
        created_fields += created
    wanted = {}
    for i in range(DEMO_CONTACTS):
        first = FIRST_NAMES[i % len(FIRST_NAMES)]
        last = LAST_NAMES[(i // len(FIRST_NAMES)) % len(LAST_NAMES)]
        city = CITIES[i % len(CITIES)] if i % 3 else "Kyiv"
        wanted[demo_phone(i)] = Contact(
            phone=demo_phone(i),
            name=f"{first} {last}",
            fields={"first_name": first, "city": city, "order_no": f"A-{10_000 + i}"},
        )
    existing = set(Contact.objects.filter(phone__in=wanted).values_list("phone", flat=True))
    Contact.objects.bulk_create([c for p, c in wanted.items() if p not in existing])
    contacts = {c.phone: c for c in Contact.objects.filter(phone__in=wanted)}
    memberships = []
    for i, phone in enumerate(wanted):
        contact = contacts[phone]
        if contact.fields.get("city") == "Kyiv":
            memberships.append(
                ListMembership(contact=contact, contact_list=lists["Kyiv customers"])
            )
        if i % 2 == 0:
            memberships.append(ListMembership(contact=contact, contact_list=lists["Newsletter"]))
        if i % 10 == 0:
            memberships.append(ListMembership(contact=contact, contact_list=lists["VIP"]))
    ListMembership.objects.bulk_create(memberships, ignore_conflicts=True)
    created_opt_outs = 0
    for index, source, reason in DEMO_OPT_OUTS:
        _, created = DoNotContact.objects.get_or_create(
            phone=demo_phone(index), defaults={"source": source, "reason": reason}
        )
        created_opt_outs += created
    return DemoLoadResult(
        lists=created_lists,
        fields=created_fields,
        contacts=len(wanted) - len(existing),
        opt_outs=created_opt_outs,
    )


class Command(BaseCommand):
    help = "Create the demo lists, fields, ~200 contacts and opt-outs if they are missing."

    def handle(self, *args, **options):
        result = demo_contacts_load()
        self.stdout.write(
            f"Demo contacts: {result.lists} lists, {result.fields} fields, "
            f"{result.contacts} contacts, {result.opt_outs} opt-outs created."
        )
