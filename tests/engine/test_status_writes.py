"""The recipients' statuses the poll and the pushed reports write: one statement a batch, on
PostgreSQL and on the newcomer's SQLite alike (`make test` runs these on both)."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from campaigns.engine import dispatch, ledger
from campaigns.models import Recipient
from tests.engine.conftest import numbers, ready_campaign

pytestmark = [pytest.mark.django_db, pytest.mark.sqlite]


def _rows(count: int) -> list[Recipient]:
    campaign = ready_campaign(pasted_numbers=numbers(count))
    dispatch.campaign_dispatch(campaign_id=campaign.pk)
    return list(Recipient.objects.filter(campaign=campaign).order_by("seq"))


def test_each_row_gets_its_own_status_and_message_id_and_the_others_are_untouched(
    engine_settings,
):
    first, second, third, untouched = _rows(4)
    Recipient.objects.filter(pk=third.pk).update(bsg_message_id=4419393777, status="sent")
    at = timezone.now() - timedelta(minutes=3)

    ledger.recipient_statuses_write(
        changes=[
            (first.pk, "delivered", 4419393401),
            (second.pk, "undelivered", 4419393402),
            (third.pk, "expired", None),  # a report without BSG's id: it is cleared as told
        ],
        at=at,
    )

    got = {
        row.pk: (row.status, row.bsg_message_id, row.status_at)
        for row in Recipient.objects.filter(campaign_id=first.campaign_id)
    }
    assert got == {
        first.pk: ("delivered", 4419393401, at),
        second.pk: ("undelivered", 4419393402, at),
        third.pk: ("expired", None, at),
        untouched.pk: (untouched.status, None, None),
    }


def test_a_batch_is_one_statement_and_nothing_is_one_of_none(engine_settings, monkeypatch):
    monkeypatch.setattr(ledger, "STATUS_BATCH", 2)
    rows = _rows(5)
    at = timezone.now()

    with CaptureQueriesContext(connection) as nothing:
        ledger.recipient_statuses_write(changes=[], at=at)
    with CaptureQueriesContext(connection) as five:
        ledger.recipient_statuses_write(
            changes=[(row.pk, "delivered", 4419393401 + row.seq) for row in rows], at=at
        )

    assert len(nothing) == 0
    assert [query["sql"].split()[0] for query in five] == ["UPDATE"] * 3
    assert sorted(
        Recipient.objects.filter(pk__in=[row.pk for row in rows]).values_list(
            "status", "bsg_message_id"
        )
    ) == [("delivered", 4419393401 + row.seq) for row in rows]
