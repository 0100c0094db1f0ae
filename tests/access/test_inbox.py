"""Each person's inbox on the home page, and its count in the navigation: what waits for them and
only what they may act on (campaigns.inbox)."""

from __future__ import annotations

import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from campaigns import inbox
from campaigns.engine import schedules
from campaigns.models import Campaign, CampaignPart
from contacts.models import ContactList

from .conftest import make_person

pytestmark = pytest.mark.django_db


@pytest.fixture
def team(groups):
    both = make_person("author", groups, name="writer-approver")
    both.groups.add(groups["Campaign approvers"])
    return {
        "author": make_person("author", groups, name="olena"),
        "editor": make_person("author", groups, name="taras"),
        "approver": make_person("approver", groups, name="ivan"),
        "viewer": make_person("viewer", groups, name="vera"),
        "both": both,
    }


def draft(name: str, **values) -> Campaign:
    return Campaign.objects.create(name=name, text="Hi", sender="Shop", **values)


def waiting(name: str, *, author, asked_by=None, **values) -> Campaign:
    made = draft(
        name,
        created_by=author,
        status=Campaign.Status.AWAITING_APPROVAL,
        approval_requested_at=timezone.now(),
        approval_requested_by=asked_by or author,
        **values,
    )
    return made


def inbox_of(client, person) -> str:
    client.force_login(person)
    body = client.get(reverse("campaigns:home")).content.decode()
    return body.split('id="inbox"')[1].split('aria-labelledby="totals-title"')[0]


def nav_count(client, person, url: str = "/campaigns/") -> str:
    client.force_login(person)
    body = client.get(url).content.decode()
    return body.split('id="nav-inbox"')[1].split("</a>")[0]


@pytest.fixture
def work(team):
    """One of each thing that can wait for someone, and one of each that must not show."""
    spring = ContactList.objects.create(name="Spring")
    mine = waiting("Olena's sale", author=team["author"])
    changed = waiting("Changed by the approver-author", author=team["author"])
    changed.content_authors.add(team["both"])
    asked = waiting("Asked by the approver-author", author=team["author"], asked_by=team["both"])
    by_engine = waiting(
        "Recipients changed",
        author=team["author"],
        sent_back_reason="Sent back for approval, nothing sent: 1 recipient changed.",
    )
    sent_back = draft(
        "Sent back sale", created_by=team["author"], sent_back_reason="Say which stores."
    )
    edited_back = draft("Edited by Taras", created_by=team["both"], sent_back_reason="Too long.")
    edited_back.content_authors.add(team["editor"])
    draft("Plain draft", created_by=team["author"])
    template = draft("Weekly", created_by=team["author"], sms_mode=Campaign.SmsMode.INDIVIDUAL)
    template.lists.set([spring])
    schedule = schedules.schedule_create(name="Every Monday", template_id=template.pk)
    stuck = draft("Stuck", status=Campaign.Status.SENDING)
    for number in (1, 2):  # one campaign, however many of its parts are held
        CampaignPart.objects.create(
            campaign=stuck, number=number, state=CampaignPart.State.HELD, error="Too many failed"
        )
    broken = draft("Broken", status=Campaign.Status.SENDING, dispatch_error="List was deleted")
    return locals()


def test_an_approver_sees_what_waits_for_their_approval_and_nothing_of_their_own(
    client, team, work
):
    inbox = inbox_of(client, team["approver"])
    for campaign in ("mine", "changed", "asked", "by_engine"):
        assert f'id="inbox-campaign-{work[campaign].pk}"' in inbox
    assert "1 recipient changed." in inbox  # the engine's reason, beside it
    assert f'id="inbox-schedule-{work["schedule"].pk}"' in inbox
    assert "Sent back to you" not in inbox
    # Approvers resume held parts: what needs attention is theirs too.
    assert "Stuck</a>, batch 1" in inbox and "Stuck</a>, batch 2" in inbox
    assert "Too many failed" in inbox
    assert "List was deleted" in inbox
    # Four campaigns and a schedule to approve, two campaigns needing attention.
    assert ">7<" in nav_count(client, team["approver"])

    # Four-eyes: who wrote, changed or asked for a campaign does not see it waiting for them.
    both = inbox_of(client, team["both"])
    assert f'id="inbox-campaign-{work["mine"].pk}"' in both
    assert f'id="inbox-campaign-{work["changed"].pk}"' not in both
    assert f'id="inbox-campaign-{work["asked"].pk}"' not in both
    assert f'id="inbox-schedule-{work["schedule"].pk}"' in both


def test_an_author_sees_what_was_sent_back_to_them_with_the_reason(client, team, work):
    inbox = inbox_of(client, team["author"])
    assert f'id="inbox-sent-back-{work["sent_back"].pk}"' in inbox
    assert "Say which stores." in inbox
    assert reverse("campaigns:edit", args=[work["sent_back"].pk]) in inbox
    assert "Plain draft" not in inbox and "Waiting for your approval" not in inbox
    assert "Stuck" not in inbox  # authors may not resume parts
    assert ">1<" in nav_count(client, team["author"])
    # Whoever changed a draft that was sent back hears of it too.
    assert f'id="inbox-sent-back-{work["edited_back"].pk}"' in inbox_of(client, team["editor"])


def test_a_viewer_has_an_empty_inbox_and_no_count(client, team, work):
    assert "Nothing needs you" in inbox_of(client, team["viewer"])
    assert "badge" not in nav_count(client, team["viewer"])


def test_four_eyes_off_an_author_may_approve_their_own(client, team, work, settings):
    settings.CAMPAIGNS_FOUR_EYES = False
    inbox = inbox_of(client, team["both"])
    assert f'id="inbox-campaign-{work["changed"].pk}"' in inbox
    assert f'id="inbox-campaign-{work["asked"].pk}"' in inbox


def test_sending_it_back_puts_the_reason_on_the_authors_edit_page_and_in_their_inbox(
    client, team, work
):
    campaign = work["mine"]
    client.force_login(team["approver"])
    client.post(reverse("campaigns:reject", args=[campaign.pk]), {"reason": "Name the stores."})
    client.force_login(team["author"])
    edit = client.get(reverse("campaigns:edit", args=[campaign.pk])).content.decode()
    banner = edit.split('id="sent-back"')[1].split("</div>")[0]
    assert "Sent back by an approver" in banner and "Name the stores." in banner
    assert f'id="inbox-sent-back-{campaign.pk}"' in inbox_of(client, team["author"])
    assert f'id="inbox-campaign-{campaign.pk}"' not in inbox_of(client, team["approver"])


def test_the_count_follows_every_page_through_the_balance_poll(client, team, work, bsg_settings):
    client.force_login(team["author"])
    header = client.get(reverse("campaigns:bsg-account")).content.decode()
    nav = header.split('id="nav-inbox"')[1].split("</a>")[0]
    assert 'hx-swap-oob="true"' in nav and ">1<" in nav
    Campaign.objects.filter(pk=work["mine"].pk).update(
        status=Campaign.Status.DRAFT, sent_back_reason="Again."
    )
    header = client.get(reverse("campaigns:bsg-account")).content.decode()
    assert ">2<" in header.split('id="nav-inbox"')[1].split("</a>")[0]
    # On a phone the links fold under "Menu": the count rides on it too.
    menu = header.split('id="menu-inbox"')[1].split("</span></span>")[0]
    assert 'hx-swap-oob="true"' in menu and ">2<" in menu and "Inbox: 2 waiting for you" in menu


def test_the_menu_a_phone_folds_the_links_under_shows_the_count(client, team, work):
    client.force_login(team["author"])
    page = client.get(reverse("campaigns:list")).content.decode()
    summary = page.split('<details class="menu" id="menu">')[1].split("</summary>")[0]
    assert ">1<" in summary and "Inbox: 1 waiting for you" in summary
    Campaign.objects.filter(pk=work["sent_back"].pk).update(sent_back_reason="")
    page = client.get(reverse("campaigns:list")).content.decode()
    summary = page.split('<details class="menu" id="menu">')[1].split("</summary>")[0]
    assert 'class="badge"' not in summary


def test_the_count_is_one_query_and_the_inbox_a_fixed_few_whatever_the_rows(
    client, team, work, django_assert_num_queries
):
    for i in range(30):
        waiting(f"More {i}", author=team["author"])
        draft(f"Back {i}", created_by=team["approver"], sent_back_reason="No.")
    client.force_login(team["approver"])
    client.get("/campaigns/")  # the user's permissions, now in the cache
    # session, user, the inbox count, saved senders, one page of campaigns, their figures
    with django_assert_num_queries(6):
        body = client.get("/campaigns/").content.decode()
    assert ">37<" in body.split('id="nav-inbox"')[1].split("</a>")[0]  # 34 + 1 + 2
    # session, user, counts, sending now (+ whether any waits), totals, the inbox's four
    # sections the approver may act on, imports
    with django_assert_num_queries(11):
        home = client.get(reverse("campaigns:home")).content.decode()
    assert home.count('id="inbox-campaign-') == 10  # the oldest ten; the count says how many
    assert '<span class="badge">35</span>' in home


@pytest.mark.parametrize("four_eyes", [True, False])
def test_the_kept_count_statement_counts_what_each_persons_querysets_count(
    team, work, settings, four_eyes
):
    """inbox_counts runs a statement compiled once per person and permissions (campaigns.inbox.
    _counts_statement): it must count what the sections' querysets count, for each person, and
    count rows that arrive after it was compiled."""
    settings.CAMPAIGNS_FOUR_EYES = four_eyes

    def counted_by_the_querysets(person) -> inbox.InboxCounts:
        found = {}
        if person.has_perm(inbox.APPROVE_PERMISSION):
            found["awaiting"] = (
                inbox._campaigns_awaiting(person).count()
                + inbox._schedules_awaiting(person).count()
            )
        if person.has_perm(inbox.EDIT_PERMISSION):
            found["sent_back"] = inbox._campaigns_sent_back(person).count()
        if person.has_perm(inbox.RESUME_PERMISSION):
            found["attention"] = (
                inbox._parts_needing_attention().values("campaign_id").distinct().count()
                + inbox._campaigns_not_dispatched().count()
            )
        return inbox.InboxCounts(**found)

    for _round in range(2):
        for person in team.values():
            assert inbox.inbox_counts(user=person) == counted_by_the_querysets(person)
        # Rows that arrive after the statements were compiled are counted by the next read.
        waiting("Arrived later", author=team["editor"])
        draft("Sent back later", created_by=team["author"], sent_back_reason="Shorter.")
    assert inbox.inbox_counts(user=team["approver"]).awaiting == 7


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's index plans")
def test_the_count_reads_the_drafts_sent_back_not_every_draft(team, work):
    """Every page counts the drafts sent back to its reader: a handful, among drafts that are a
    seventh of a million campaigns. The count must find them in their own partial index
    (campaign_sent_back), not read every draft through the status index (BENCHMARKS.md "Web
    under load", issue 16)."""
    Campaign.objects.bulk_create(
        Campaign(name=f"Draft {i}", text="Hi", sender="Shop", created_by=team["author"])
        for i in range(2000)
    )
    inbox._counts_statement.cache_clear()
    sql, params = inbox._counts_statement(
        team["both"].pk, may_approve=True, may_edit=True, may_resume=True, four_eyes=True
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE campaigns_campaign")
        cursor.execute(f"EXPLAIN {sql}", params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    # Its own index, no other: the status indexes would read all 2,000 drafts.
    assert "Index Scan using campaign_sent_back" in plan
