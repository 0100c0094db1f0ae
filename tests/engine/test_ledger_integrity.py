"""The ledger keeps its integrity without per-row foreign-key checks (campaigns migration 0015):
deleting campaigns or parts, by any path, deletes their ledger rows."""

import pytest
from django.db import connection

from campaigns.engine import dispatch, ledger
from campaigns.models import Recipient
from tests.engine.conftest import numbers, ready_campaign

pytestmark = pytest.mark.django_db


def _dispatched(count: int):
    campaign = ready_campaign(pasted_numbers=numbers(count))
    dispatch.campaign_dispatch(campaign_id=campaign.pk)
    return campaign


def test_deleting_parts_any_way_deletes_their_ledger_rows(engine_settings):
    kept, gone = _dispatched(3), _dispatched(3)

    with connection.cursor() as cursor:  # what bypasses the ORM's cascade
        cursor.execute("DELETE FROM campaigns_campaignpart WHERE campaign_id = %s", [gone.pk])

    assert set(Recipient.objects.values_list("campaign_id", flat=True)) == {kept.pk}


def test_deleting_a_campaign_any_way_deletes_its_ledger_rows(engine_settings):
    kept = _dispatched(3)
    # A campaign with nothing else pointing at it, holding one of the ledger rows.
    lone = ready_campaign(name="Lone")
    moved = Recipient.objects.filter(campaign=kept).order_by("seq").first()
    Recipient.objects.filter(pk=moved.pk).update(campaign=lone)

    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM campaigns_campaign WHERE id = %s", [lone.pk])

    assert not Recipient.objects.filter(pk=moved.pk).exists()
    assert Recipient.objects.filter(campaign=kept).count() == 2


def _known_rows() -> float:
    with connection.cursor() as cursor:
        cursor.execute("SELECT reltuples FROM pg_class WHERE oid = 'campaigns_recipient'::regclass")
        return cursor.fetchone()[0]


def test_a_dispatch_that_grows_the_ledger_by_a_lot_has_it_analysed(engine_settings, monkeypatch):
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL's planner statistics")
    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE campaigns_recipient")  # statistics that know no rows
    monkeypatch.setattr(ledger, "LEDGER_ANALYZE_MIN_ROWS", 3)

    _dispatched(2)  # fewer rows than the least worth analysing
    assert _known_rows() <= 0
    _dispatched(30)
    assert _known_rows() == 32  # analysed before its parts were let go
    _dispatched(3)  # a tenth of what the statistics know at most: left to autovacuum
    assert _known_rows() == 32
    _dispatched(4)  # over a tenth of it
    assert _known_rows() == 39
