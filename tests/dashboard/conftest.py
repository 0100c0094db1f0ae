"""Builders for the dashboard's tests: campaigns with parts, a ledger and snapshots, in bulk."""

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from campaigns.models import Campaign, CampaignPart, CampaignSnapshot, Recipient


@pytest.fixture
def boss(db):
    # A superuser passes every permission check without a query, so the counts below are the
    # pages' own (config/access.py's groups are tested in tests/access).
    return get_user_model().objects.create_superuser("boss", password="a-long-test-password")


@pytest.fixture
def signed_in(client, boss):
    client.force_login(boss)
    return client


def campaign(**values) -> Campaign:
    defaults = {
        "name": "Spring sale",
        "channel": Campaign.Channel.SMS,
        "sms_mode": Campaign.SmsMode.NUMBERS,
        "text": "20% off today",
        "sender": "Shop",
        "status": Campaign.Status.DRAFT,
    }
    return Campaign.objects.create(**{**defaults, **values})


def sending(*, recipients: int = 10, sent: int = 0, delivered: int = 0, **values) -> Campaign:
    """A campaign with one submitted part carrying these figures."""
    values.setdefault("status", Campaign.Status.SENDING)
    values.setdefault("dispatched_at", timezone.now())
    values.setdefault("ledger_resolved_at", values["dispatched_at"])
    made = campaign(**values)
    part(made, number=1, recipients=recipients, sent=sent, delivered=delivered)
    return made


def part(owner: Campaign, *, number: int = 1, **values) -> CampaignPart:
    defaults = {
        "state": CampaignPart.State.SUBMITTED,
        "bsg_status": "sending",
        "recipients": 10,
        "bsg_campaign_id": owner.pk * 1000 + number,
    }
    return CampaignPart.objects.create(campaign=owner, number=number, **{**defaults, **values})


def many_campaigns(count: int, **values) -> list[Campaign]:
    """`count` campaigns, one part each, created a second apart (newest last)."""
    start = timezone.now() - timedelta(seconds=count)
    campaigns = Campaign.objects.bulk_create(
        Campaign(
            name=f"Campaign {i:04d}",
            sender="Shop" if i % 2 else "Bank",
            channel=Campaign.Channel.SMS if i % 3 else Campaign.Channel.RCS,
            status=values.get("status", Campaign.Status.FINISHED),
            dispatched_at=start + timedelta(seconds=i),
        )
        for i in range(count)
    )
    # created_at is auto_now_add: spread it so the order is known.
    for i, made in enumerate(campaigns):
        made.created_at = start + timedelta(seconds=i)
    Campaign.objects.bulk_update(campaigns, ["created_at"], batch_size=500)
    CampaignPart.objects.bulk_create(
        CampaignPart(
            campaign=made,
            number=1,
            state=CampaignPart.State.SUBMITTED,
            bsg_status="done",
            recipients=10,
            sent=8,
            delivered=6,
        )
        for made in campaigns
    )
    return campaigns


def ledger(owner: Campaign, count: int, *, status_of=lambda seq: "") -> CampaignPart:
    """`count` recipients in one part; status_of(seq) gives each one's BSG status."""
    made = part(owner, recipients=count)
    Recipient.objects.bulk_create(
        Recipient(
            campaign=owner,
            part=made,
            seq=seq,
            phone=f"38050{7000000 + seq}",
            text=f"Hello {seq}",
            sms_parts=1,
            reference_id=f"t{owner.pk}Z{seq}",
            status=status_of(seq),
        )
        for seq in range(count)
    )
    return made


def snapshots(owner: Campaign, made: CampaignPart, figures: list[tuple[int, int]], start=None):
    start = start or timezone.now() - timedelta(minutes=len(figures))
    CampaignSnapshot.objects.bulk_create(
        CampaignSnapshot(
            campaign=owner,
            part=made,
            taken_at=start + timedelta(seconds=10 * i),
            bsg_status="sending",
            sent=sent,
            delivered=delivered,
        )
        for i, (sent, delivered) in enumerate(figures)
    )
