"""The home page: sending now, totals for today / 7 / 30 days, parts needing attention, imports."""

from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from campaigns import dashboard
from campaigns.models import Campaign, CampaignPart
from campaigns.stored_text import HELD_BALANCE
from contacts.models import ContactImport, ContactList
from tests.dashboard.conftest import campaign, many_campaigns, part, sending

pytestmark = pytest.mark.django_db


def test_an_empty_home_says_so_for_every_panel(signed_in):
    body = signed_in.get(reverse("campaigns:home")).content.decode()
    assert "No campaign is sending right now" in body
    assert "Nothing needs you" in body
    assert "No imports yet" in body
    # Nothing is live, so nothing polls but the header balance.
    assert 'id="sending-now"' in body and "data-live" not in body


def test_sending_now_shows_progress_and_polls_until_nothing_sends(signed_in):
    live = sending(name="Black Friday", recipients=200, sent=100, delivered=50)
    campaign(name="Old news", status=Campaign.Status.FINISHED)
    body = signed_in.get(reverse("campaigns:home")).content.decode()
    assert "Black Friday" in body and "Old news" not in body.split('id="sending-now"')[1]
    assert 'value="50"' in body  # sent: 100 of 200
    assert 'value="25"' in body  # delivered: 50 of 200
    assert "50.0% delivered" in body
    panel = signed_in.get(reverse("campaigns:home-sending")).content.decode()
    assert 'hx-trigger="every 5s"' in panel and "data-live" in panel
    Campaign.objects.filter(pk=live.pk).update(status=Campaign.Status.FINISHED)
    panel = signed_in.get(reverse("campaigns:home-sending")).content.decode()
    assert "hx-trigger" not in panel and "No campaign is sending right now" in panel


def test_totals_count_what_went_out_today_this_week_and_this_month():
    now = timezone.now()
    sending(recipients=100, sent=90, delivered=80, dispatched_at=now)
    sending(recipients=50, sent=50, delivered=25, dispatched_at=now - timedelta(days=3))
    sending(recipients=10, sent=10, delivered=10, dispatched_at=now - timedelta(days=20))
    sending(recipients=999, sent=999, delivered=999, dispatched_at=now - timedelta(days=40))
    campaign(name="Draft, never sent")
    today, week, month = dashboard.dashboard_totals(now=now)
    assert (today.campaigns, today.figures) == (1, dashboard.Figures(100, 90, 80))
    assert (week.campaigns, week.figures) == (2, dashboard.Figures(150, 140, 105))
    assert (month.campaigns, month.figures) == (3, dashboard.Figures(160, 150, 115))
    assert week.figures.delivery_rate == 75.0
    assert dashboard.Figures().delivery_rate is None


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's index plans")
@pytest.mark.django_db(transaction=True)
def test_totals_read_the_figures_of_recent_campaigns_from_the_parts_index_alone():
    """The totals sum the parts of the campaigns dispatched in the last 30 days: a lookup a
    campaign in part_campaign_figures, which carries the figures, not a read of every part ever
    made (1.25M at a million campaigns: 0.6 s on every home page; BENCHMARKS.md "Web under
    load", issue 16). Outside a transaction, so that VACUUM can mark the pages all-visible as
    a running database's autovacuum has: an index-only scan counts on it."""
    sending(recipients=100, sent=90, delivered=80)
    many_campaigns(200)
    with CaptureQueriesContext(connection) as captured:
        dashboard.dashboard_totals()
    (totals,) = captured.captured_queries
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE campaigns_campaign, campaigns_campaignpart")
    with transaction.atomic(), connection.cursor() as cursor:
        # Tiny tables: forbid reading a whole table, or a bitmap of one, to see what serves.
        for method in ("seqscan", "bitmapscan"):
            cursor.execute(f"SET LOCAL enable_{method} = off")
        cursor.execute(f"EXPLAIN {totals['sql']}")
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "Index Only Scan using part_campaign_figures on campaigns_campaignpart" in plan, plan


def test_parts_needing_attention_link_to_their_campaign(signed_in):
    stuck = sending(name="Stuck one")
    part(stuck, number=2, state=CampaignPart.State.NEEDS_ATTENTION, error="No answer from BSG")
    body = signed_in.get(reverse("campaigns:home")).content.decode()
    attention = body.split('id="attention"')[1].split("</section>")[0]
    assert reverse("campaigns:detail", args=[stuck.pk]) in attention
    # "Batch", as the send plan's "Batches sent to BSG" (SMS parts are another thing).
    assert "No answer from BSG" in attention and "batch 2:" in attention


def test_a_held_batch_says_held_once(signed_in):
    """Every hold's sentence begins "Held:", so the line shows no "Held" badge before it; a
    batch that needs attention keeps its badge, its sentence does not say so."""
    held = sending(name="Short of credit")
    reason = HELD_BALANCE.stored(number=3, cost="12.00", currency="EUR", balance="1.00")
    part(held, number=3, state=CampaignPart.State.HELD, error=reason)
    stuck = sending(name="Stuck one")
    part(stuck, number=2, state=CampaignPart.State.NEEDS_ATTENTION, error="No answer from BSG")
    body = signed_in.get(reverse("campaigns:home")).content.decode()
    attention = body.split('id="attention"')[1].split("</section>")[0]
    held_line, stuck_line = (
        line for line in attention.split("<li>")[1:] if "Short of credit" in line or "Stuck" in line
    )
    if "Stuck" in held_line:
        held_line, stuck_line = stuck_line, held_line
    assert "Held: batch 3 would cost about 12.00 EUR" in held_line
    assert "status-held" not in held_line and ", batch 3:" not in held_line
    assert "status-needs_attention" in stuck_line and "Needs attention" in stuck_line


def test_recent_imports_are_listed_newest_first(signed_in):
    spring = ContactList.objects.create(name="Spring")
    ContactImport.objects.create(original_name="old.csv", contact_list=spring)
    ContactImport.objects.create(
        original_name="new.csv", contact_list=spring, status="done", rows_created=7
    )
    body = signed_in.get(reverse("campaigns:home")).content.decode()
    imports = body.split('id="recent-imports"')[1]
    assert imports.index("new.csv") < imports.index("old.csv")
    assert "7 new" in imports and "into Spring" in imports


def test_home_reads_a_fixed_number_of_queries_with_1000_campaigns(
    signed_in, django_assert_num_queries
):
    many_campaigns(1_000)
    many_campaigns(20, status=Campaign.Status.SENDING)
    stuck = Campaign.objects.filter(status="sending").first()
    part(stuck, number=2, state=CampaignPart.State.HELD)
    for i in range(10):
        ContactImport.objects.create(original_name=f"{i}.csv")
    # session, user, the inbox's counts (shared with the navigation), sending now + their
    # figures, totals (one aggregate), the inbox's one non-empty section (needs attention: its
    # parts and its campaigns that could not be dispatched), imports
    with django_assert_num_queries(9):
        response = signed_in.get(reverse("campaigns:home"))
    assert response.status_code == 200
    with django_assert_num_queries(4):
        signed_in.get(reverse("campaigns:home-sending"))
