"""The dispatch's ledger rows streamed into PostgreSQL as they are made (engine.ledger
.LedgerWriter outside a transaction, as in a worker): the same ledger as rows kept and copied
at the flush, a part made mid-slice included, and a batch whose slice was lost rolled back.

These tests commit (transactional_db): inside a test's transaction the writer keeps its rows,
which the rest of tests/engine covers."""

import pytest
from django.db import connection

from bsg import rules
from campaigns.engine import dispatch, ledger
from campaigns.models import Campaign, CampaignPart, DispatchSlice, Recipient
from contacts.models import Contact, ContactField, ContactList, ListMembership
from tests.engine.conftest import numbers, ready_campaign

pytestmark = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="COPY streams on PostgreSQL only"
)


@pytest.fixture
def writers(transactional_db, monkeypatch) -> list[ledger.LedgerWriter]:
    """Every writer the dispatch makes, to see that it streamed."""
    made = []
    real = ledger.LedgerWriter

    def recorded(**kwargs):
        writer = real(**kwargs)
        made.append(writer)
        return writer

    monkeypatch.setattr(dispatch, "LedgerWriter", recorded)
    return made


def test_streamed_slices_write_the_ledger_a_part_at_a_time(
    writers, engine_settings, sandbox, monkeypatch
):
    monkeypatch.setattr(rules, "MAX_SMS_RECIPIENTS", 10)
    monkeypatch.setattr(ledger, "LEDGER_BATCH", 1)  # a COPY of 4 rows at most
    campaign = ready_campaign(pasted_numbers=numbers(25))

    result = dispatch.campaign_dispatch(campaign_id=campaign.pk)

    assert writers and all(writer.streamed for writer in writers)
    assert result.recipients == 25
    rows = Recipient.objects.filter(campaign=campaign).order_by("seq")
    assert list(rows.values_list("seq", flat=True)) == list(range(25))
    assert list(
        CampaignPart.objects.filter(campaign=campaign).values_list(
            "number", "recipients", "sms_parts"
        )
    ) == [(1, 10, 10), (2, 10, 10), (3, 5, 5)]


def test_a_personalised_rcs_slice_makes_its_parts_while_rows_stream(
    writers, engine_settings, sandbox
):
    ContactField.objects.create(key="first_name", label="First name")
    friends = ContactList.objects.create(name="Friends")
    for phone, first in [
        ("380661000001", "Olena"),
        ("380661000002", "Ivan"),
        ("380661000003", "Olena"),
        ("380661000004", "Ivan"),
        ("380661000005", ""),
    ]:
        contact = Contact.objects.create(phone=phone, fields={"first_name": first})
        ListMembership.objects.create(contact_list=friends, contact=contact)
    campaign = ready_campaign(
        channel=Campaign.Channel.RCS,
        rcs_mode=Campaign.RcsMode.LISTS,
        rcs_agent="Shop agent",
        rcs_cards=[{"text": "Hi {first_name|friend}"}],
        pasted_numbers="",
        lists=[friends],
    )

    result = dispatch.campaign_dispatch(campaign_id=campaign.pk)

    assert all(writer.streamed for writer in writers)
    # A part for each message, made between rows of the one slice: Olena's, Ivan's, friend's.
    assert len(result.part_ids) == 3
    by_part = {
        part.content["cards"][0]["text"]: sorted(part.ledger.values_list("phone", flat=True))
        for part in CampaignPart.objects.filter(campaign=campaign)
    }
    assert by_part == {
        "Hi Olena": ["380661000001", "380661000003"],
        "Hi Ivan": ["380661000002", "380661000004"],
        "Hi friend": ["380661000005"],
    }
    assert sorted(Recipient.objects.filter(campaign=campaign).values_list("seq", flat=True)) == [
        0,
        1,
        2,
        3,
        4,
    ]


def test_a_streamed_batch_of_a_lost_slice_is_rolled_back(
    writers, engine_settings, sandbox, monkeypatch
):
    monkeypatch.setattr(rules, "MAX_SMS_RECIPIENTS", 10)
    campaign = ready_campaign(pasted_numbers=numbers(25))
    real = dispatch._slice_heartbeat

    def taken_by_another_worker(piece, campaign_id):
        if piece.number == 1:
            # Claimed again meanwhile (its heartbeat had stopped): this worker's batch must go.
            DispatchSlice.objects.filter(pk=piece.pk).update(attempt=piece.attempt + 1)
        real(piece, campaign_id)

    monkeypatch.setattr(dispatch, "_slice_heartbeat", taken_by_another_worker)
    assert dispatch.campaign_dispatch(campaign_id=campaign.pk) is None

    assert all(writer.streamed for writer in writers)
    # Slices 0 and 2 written; nothing of slice 1's rows committed, its part left empty.
    seqs = set(Recipient.objects.filter(campaign=campaign).values_list("seq", flat=True))
    assert seqs == set(range(10)) | set(range(20, 25))
    campaign.refresh_from_db()
    assert campaign.ledger_resolved_at is None and campaign.dispatch_error == ""
