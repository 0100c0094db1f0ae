"""contacts/migrations/0012_membership_pair_is_the_key: a membership's (list, contact) pair
becomes its primary key and its `id` goes, on PostgreSQL and on SQLite, the memberships and
the lists' member counts unchanged, and back."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, connection, transaction
from django.db.migrations.executor import MigrationExecutor

BEFORE = [("contacts", "0011_list_member_counts")]
AFTER = [("contacts", "0012_membership_pair_is_the_key")]

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.sqlite]


def migrate(to):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()  # what the previous run left
    executor.migrate(to)
    return executor.loader.project_state(to).apps


def membership_table() -> tuple[list[str], list[str], set[str]]:
    """The table's columns, its primary key's columns, and its other unique constraints."""
    table = "contacts_listmembership"
    with connection.cursor() as cursor:
        columns = [c.name for c in connection.introspection.get_table_description(cursor, table)]
        constraints = connection.introspection.get_constraints(cursor, table)
    key = next(c["columns"] for c in constraints.values() if c["primary_key"])
    unique = {
        ",".join(c["columns"]) for c in constraints.values() if c["unique"] and not c["primary_key"]
    }
    return columns, key, unique


def counts(apps) -> dict[str, int]:
    ListMemberCount = apps.get_model("contacts", "ListMemberCount")
    return dict(ListMemberCount.objects.values_list("contact_list__name", "members"))


@pytest.fixture
def back_at_the_end():
    yield
    migrate(AFTER)


def test_the_pair_becomes_the_key_and_back_keeping_every_membership(back_at_the_end):
    old = migrate(BEFORE)
    ContactList = old.get_model("contacts", "ContactList")
    Contact = old.get_model("contacts", "Contact")
    ListMembership = old.get_model("contacts", "ListMembership")
    spring, vip = (ContactList.objects.create(name=name) for name in ("Spring", "VIP"))
    olena, petro, iryna = (
        Contact.objects.create(phone=phone)
        for phone in ("380501111111", "380502222222", "380503333333")
    )
    for contact_list, contact in [(spring, olena), (spring, petro), (spring, iryna), (vip, olena)]:
        ListMembership.objects.create(contact_list=contact_list, contact=contact)
    ListMembership.objects.filter(contact=petro).update(pushed_to_bsg_at="2026-12-01T09:00Z")
    before = sorted(
        ListMembership.objects.values_list(
            "contact_list_id", "contact_id", "added_at", "pushed_to_bsg_at"
        )
    )

    new = migrate(AFTER)
    columns, key, _unique = membership_table()
    assert "id" not in columns
    assert set(key) == {"contact_list_id", "contact_id"}
    if connection.vendor == "postgresql":  # SQLite's introspection lists them in table order
        assert key == ["contact_list_id", "contact_id"]  # the key's index leads with the list
    memberships = new.get_model("contacts", "ListMembership").objects
    assert (
        sorted(
            memberships.values_list("contact_list_id", "contact_id", "added_at", "pushed_to_bsg_at")
        )
        == before
    )
    assert counts(new) == {"Spring": 3, "VIP": 1}
    with pytest.raises(IntegrityError), transaction.atomic():
        memberships.create(contact_list_id=vip.pk, contact_id=olena.pk)
    # The count triggers and the delete triggers of migration 0009 still work on the new table.
    memberships.create(contact_list_id=vip.pk, contact_id=iryna.pk)
    new.get_model("contacts", "Contact").objects.filter(pk=olena.pk).delete()
    assert counts(new) == {"Spring": 2, "VIP": 1}
    assert sorted(memberships.values_list("contact_list_id", "contact_id")) == [
        (spring.pk, petro.pk),
        (spring.pk, iryna.pk),
        (vip.pk, iryna.pk),
    ]

    old = migrate(BEFORE)
    columns, key, unique = membership_table()
    assert key == ["id"] and "contact_list_id,contact_id" in unique
    memberships = old.get_model("contacts", "ListMembership").objects
    assert sorted(memberships.values_list("contact_list_id", "contact_id")) == [
        (spring.pk, petro.pk),
        (spring.pk, iryna.pk),
        (vip.pk, iryna.pk),
    ]
    assert memberships.get(contact_id=petro.pk).pushed_to_bsg_at is not None
    assert counts(old) == {"Spring": 2, "VIP": 1}
    # Ids again, for every row.
    assert len(set(memberships.values_list("id", flat=True))) == 3
