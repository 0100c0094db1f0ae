"""The dispatch in slices (issue 16): a campaign's audience cut at each part's worth of
recipients, each slice written by whichever worker process claims it, the whole checked
against the approved digest by the worker that writes the last one.

A part holds 10 recipients here (rules.MAX_SMS_RECIPIENTS patched), so 25 recipients are three
slices. "Other workers" are played by calling dispatch_slice_write, the slice task's service,
with the dispatching worker's own loop held back."""

from datetime import timedelta

import pytest
from django.utils import timezone

from bsg import rules
from campaigns import sendplan
from campaigns.audience_digest import AudienceDigest
from campaigns.engine import dispatch, ledger, stop, sweep
from campaigns.models import Campaign, CampaignPart, DispatchSlice, Recipient
from contacts.models import Contact, ContactField, ContactList, DoNotContact, ListMembership
from tests.engine.conftest import numbers, ready_campaign

State = CampaignPart.State


@pytest.fixture
def small_parts(monkeypatch):
    monkeypatch.setattr(rules, "MAX_SMS_RECIPIENTS", 10)


@pytest.fixture
def friends(db) -> ContactList:
    """25 contacts with a first name, and one more on do-not-contact (not in the audience)."""
    ContactField.objects.create(key="first_name", label="First name")
    contact_list = ContactList.objects.create(name="Friends")
    contacts = Contact.objects.bulk_create(
        Contact(phone=f"38067{2000000 + i}", fields={"first_name": f"Name{i}"}) for i in range(26)
    )
    ListMembership.objects.bulk_create(
        ListMembership(contact_list=contact_list, contact=contact) for contact in contacts
    )
    DoNotContact.objects.create(phone=contacts[7].phone)
    return contact_list


def personalised(contact_list: ContactList, **overrides) -> Campaign:
    return ready_campaign(
        sms_mode=Campaign.SmsMode.INDIVIDUAL,
        text="Hi {first_name}",
        pasted_numbers="",
        lists=[contact_list],
        **overrides,
    )


def approve_as_planned(campaign: Campaign) -> dict:
    """The audience its approver approves: what its send plan read (as an approval records)."""
    audience = sendplan.plan_campaign(campaign=campaign, ask_bsg=False)["audience"]
    Campaign.objects.filter(pk=campaign.pk).update(approval_snapshot={"audience": audience})
    return audience


def the_ledger(campaign: Campaign) -> list[tuple]:
    """Everything about the ledger that does not name the campaign: seq, phone, text, the
    reference id's tail (after the campaign's own head), its part's number and size."""
    head = ledger.reference_head_for(salt=ledger.installation_salt(), campaign_id=campaign.pk)
    rows = Recipient.objects.filter(campaign=campaign).order_by("seq")
    return [
        (
            r.seq,
            r.phone,
            r.text,
            r.reference_id.removeprefix(head),
            r.part.number,
            r.part.recipients,
        )
        for r in rows.select_related("part")
    ]


def dispatched_by_other_workers(campaign: Campaign, monkeypatch, order=reversed) -> None:
    """Cut by the dispatching worker, whose own loop is held back; each slice then written by
    the slice task, in `order`."""
    with monkeypatch.context() as held:
        held.setattr(dispatch, "_slices_write", lambda campaign_id, **kwargs: None)
        assert dispatch.campaign_dispatch(campaign_id=campaign.pk) is None
    slices = list(DispatchSlice.objects.filter(campaign=campaign).values_list("id", flat=True))
    for slice_id in order(slices):
        dispatch.dispatch_slice_write(slice_id=slice_id)


def test_slices_written_in_any_order_give_the_ledger_one_slice_gives(
    engine_settings, small_parts, friends, monkeypatch
):
    whole = personalised(friends)
    with monkeypatch.context() as one_slice:
        one_slice.setattr(dispatch, "audience_slice_rows", lambda campaign: None)
        result = dispatch.campaign_dispatch(campaign_id=whole.pk)
    assert DispatchSlice.objects.filter(campaign=whole).count() == 1
    assert result.recipients == 25 and len(result.part_ids) == 3

    sliced = personalised(friends)
    dispatched_by_other_workers(sliced, monkeypatch)
    assert list(
        DispatchSlice.objects.filter(campaign=sliced).values_list("number", "state", "written")
    ) == [(0, "written", 10), (1, "written", 10), (2, "written", 5)]
    sliced.refresh_from_db()
    assert sliced.ledger_resolved_at is not None and sliced.status == Campaign.Status.SENDING

    assert the_ledger(sliced) == the_ledger(whole)
    rows = the_ledger(sliced)
    assert [row[0] for row in rows] == list(range(25))
    assert [row[2] for row in rows][:3] == ["Hi Name0", "Hi Name1", "Hi Name2"]
    assert "Hi Name7" not in [row[2] for row in rows]  # on do-not-contact
    assert [(row[4], row[5]) for row in rows[::10]] == [(1, 10), (2, 10), (3, 5)]
    # Every part queued for submission by the worker that wrote the last slice.
    parts = set(CampaignPart.objects.filter(campaign=sliced).values_list("id", flat=True))
    assert len(parts) == 3 and parts <= set(sweep.engine_sweep(enqueue=False).submit)


def test_an_approved_campaign_goes_out_in_slices_when_its_recipients_are_unchanged(
    engine_settings, small_parts, friends, sandbox
):
    campaign = personalised(friends)
    audience = approve_as_planned(campaign)
    assert audience["slice_rows"] == 10 and audience["recipients"] == 25
    result = dispatch.campaign_dispatch(campaign_id=campaign.pk)
    assert not result.sent_back and result.recipients == 25 and len(result.part_ids) == 3
    assert DispatchSlice.objects.filter(campaign=campaign).count() == 3


def test_a_value_changed_after_approval_sends_a_sliced_campaign_back_with_nothing_sent(
    engine_settings, small_parts, friends, sandbox, monkeypatch
):
    campaign = personalised(friends)
    approve_as_planned(campaign)
    # In the last slice: the first two are written before anything can tell.
    Contact.objects.filter(phone="380672000023").update(fields={"first_name": "Bob. Pay now"})
    dispatched_by_other_workers(campaign, monkeypatch, order=list)
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.AWAITING_APPROVAL
    assert campaign.ledger_resolved_at is None
    assert campaign.sent_back_reason
    assert not Recipient.objects.filter(campaign=campaign).exists()
    assert not CampaignPart.objects.filter(campaign=campaign).exists()
    assert not DispatchSlice.objects.filter(campaign=campaign).exists()
    assert sandbox.state.requests == []


def test_a_campaign_approved_before_slices_is_dispatched_in_one_slice(
    engine_settings, small_parts, friends
):
    """Its digest is the one-slice digest over the whole audience (no `slice_rows`): the
    dispatch keeps to one slice, so the approval still holds."""
    campaign = personalised(friends)
    audience = approve_as_planned(campaign)
    whole = AudienceDigest()
    for contact in Contact.objects.order_by("id").exclude(phone="380672000007"):
        whole.add(contact.phone, (contact.fields["first_name"],))
    old = {"digest": whole.hexdigest(), "recipients": 25, "as_of": audience["as_of"]}
    Campaign.objects.filter(pk=campaign.pk).update(approval_snapshot={"audience": old})
    result = dispatch.campaign_dispatch(campaign_id=campaign.pk)
    assert not result.sent_back, Campaign.objects.get(pk=campaign.pk).sent_back_reason
    assert DispatchSlice.objects.filter(campaign=campaign).count() == 1
    assert result.recipients == 25 and len(result.part_ids) == 3


def test_a_one_slice_digest_is_the_digest_approvals_always_had(db):
    lines = [("380501111111", ("Olena",)), ("380502222222", ("Ivan",))]
    whole, sliced = AudienceDigest(), AudienceDigest(slice_rows=10)
    for phone, values in lines:
        whole.add(phone, values)
        sliced.add(phone, values)
    assert whole.hexdigest() == sliced.hexdigest()
    cut = AudienceDigest(slice_rows=1)
    for phone, values in lines:
        cut.add(phone, values)
    assert cut.hexdigest() != whole.hexdigest()


class WorkerKilled(BaseException):
    """What a SIGKILL looks like from inside: nothing of the worker's own code runs after."""


def test_a_slice_whose_worker_died_half_way_is_written_again_without_duplicates(
    db, engine_settings, small_parts, sandbox, monkeypatch
):
    monkeypatch.setattr(ledger, "LEDGER_BATCH", 2)  # batches of 8 rows (PostgreSQL) or 2
    flushes = []
    heartbeat = dispatch._heartbeat

    def die_in_the_second_slice(campaign_id: int) -> None:
        heartbeat(campaign_id)
        writing = DispatchSlice.objects.filter(state="writing").values_list("number", flat=True)
        flushes.append(writing.get())
        if flushes.count(1) == 2:  # slice 1's first batch is committed, its second dies
            raise WorkerKilled

    monkeypatch.setattr(dispatch, "_heartbeat", die_in_the_second_slice)
    campaign = ready_campaign(pasted_numbers=numbers(25))
    with pytest.raises(WorkerKilled):
        dispatch.campaign_dispatch(campaign_id=campaign.pk)
    monkeypatch.setattr(dispatch, "_heartbeat", heartbeat)
    assert list(
        DispatchSlice.objects.filter(campaign=campaign).values_list("state", flat=True)
    ) == [
        "written",
        "writing",
        "pending",
    ]
    assert 10 < Recipient.objects.filter(campaign=campaign).count() < 20
    # Another worker takes the last slice's task meanwhile; the dead one's stays claimed.
    last = DispatchSlice.objects.get(campaign=campaign, number=2)
    assert dispatch.dispatch_slice_write(slice_id=last.pk) is None
    middle = DispatchSlice.objects.get(campaign=campaign, number=1)
    assert dispatch.dispatch_slice_write(slice_id=middle.pk) is None  # its heartbeat is fresh
    campaign.refresh_from_db()
    assert campaign.ledger_resolved_at is None
    assert sweep.engine_sweep(enqueue=False).submit == []

    later = timezone.now() + timedelta(seconds=engine_settings.ENGINE_STUCK_DISPATCH + 1)
    assert campaign.pk in sweep.engine_sweep(now=later, enqueue=False).dispatched
    result = dispatch.campaign_dispatch(campaign_id=campaign.pk, now=later)
    assert result.recipients == 25
    rows = list(Recipient.objects.filter(campaign=campaign).values_list("seq", "reference_id"))
    assert sorted(seq for seq, _ in rows) == list(range(25))
    assert len({reference for _, reference in rows}) == 25
    assert list(
        CampaignPart.objects.filter(campaign=campaign).values_list("number", "recipients")
    ) == [(1, 10), (2, 10), (3, 5)]
    assert list(
        DispatchSlice.objects.filter(campaign=campaign).values_list("attempt", flat=True)
    ) == [1, 2, 1]


def test_a_worker_that_lost_its_slice_cannot_write_to_it_any_more(
    db, engine_settings, small_parts, monkeypatch
):
    campaign = ready_campaign(pasted_numbers=numbers(25))
    with monkeypatch.context() as held:
        held.setattr(dispatch, "_slices_write", lambda campaign_id, **kwargs: None)
        dispatch.campaign_dispatch(campaign_id=campaign.pk)
    now = timezone.now()
    lost = dispatch._slice_claim(campaign.pk, now=now, number=1)
    later = now + timedelta(seconds=engine_settings.ENGINE_STUCK_DISPATCH + 1)
    taken = dispatch._slice_claim(campaign.pk, now=later, number=1)
    assert (lost.attempt, taken.attempt) == (1, 2)
    with pytest.raises(dispatch.SliceTaken):
        dispatch._slice_write(lost)
    assert not Recipient.objects.filter(campaign=campaign).exists()
    assert dispatch._slice_write(taken) is False  # not the last slice
    assert Recipient.objects.filter(campaign=campaign).count() == 10


def test_a_stop_during_a_sliced_dispatch_stops_it(
    db, engine_settings, small_parts, sandbox, monkeypatch
):
    campaign = ready_campaign(pasted_numbers=numbers(25))
    with monkeypatch.context() as held:
        held.setattr(dispatch, "_slices_write", lambda campaign_id, **kwargs: None)
        dispatch.campaign_dispatch(campaign_id=campaign.pk)
    first, *others = DispatchSlice.objects.filter(campaign=campaign).values_list("id", flat=True)
    dispatch.dispatch_slice_write(slice_id=first)
    stop.campaign_stop(campaign_id=campaign.pk)
    for slice_id in others:
        assert dispatch.dispatch_slice_write(slice_id=slice_id) is None
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.STOPPED and campaign.ledger_resolved_at is None
    assert Recipient.objects.filter(campaign=campaign).count() == 10
    assert list(CampaignPart.objects.filter(campaign=campaign).values_list("state", flat=True)) == [
        State.CANCELLED
    ]
    assert sweep.engine_sweep(enqueue=False).submit == []
    assert sandbox.state.requests == []


def test_a_recipient_who_joined_a_slice_after_the_cut_gets_a_seq_of_their_own(
    engine_settings, small_parts, friends, monkeypatch
):
    """Slices read the audience when they are written: a contact added to a list inside an
    already cut slice makes it hold 11. Its seq comes from past every slice's room, never one
    the next slice uses (a schedule's run, say, has no approved digest to send it back)."""
    campaign = personalised(friends)
    with monkeypatch.context() as held:
        held.setattr(dispatch, "_slices_write", lambda campaign_id, **kwargs: None)
        dispatch.campaign_dispatch(campaign_id=campaign.pk)
    # Opted back in: contact 7 is in the first slice's range again.
    DoNotContact.objects.all().delete()
    for slice_id in DispatchSlice.objects.filter(campaign=campaign).values_list("id", flat=True):
        dispatch.dispatch_slice_write(slice_id=slice_id)
    rows = list(
        Recipient.objects.filter(campaign=campaign).order_by("seq").values_list("seq", flat=True)
    )
    assert rows == [*range(25), 30]
    assert list(
        CampaignPart.objects.filter(campaign=campaign).values_list("number", "recipients")
    ) == [(1, 10), (2, 1), (3, 10), (4, 5)]
