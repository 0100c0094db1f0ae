"""Putting campaigns away through the pages: a draft or an ended campaign is archived (hidden
from the campaigns page and the recurring picker, shown again under "Show archived") and
restored; only a draft is deleted, never one a schedule copies; nothing anyone waits on is
archived or deleted; every move is in the audit log."""

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

from audit.models import AuditEntry
from campaigns.engine import schedules
from campaigns.models import Campaign, CampaignSchedule
from tests.access.conftest import groups, make_person  # noqa: F401 - the fixture
from tests.campaigns.conftest import make_campaign

pytestmark = pytest.mark.django_db

LIST = reverse("campaigns:list")
SCHEDULES = reverse("campaigns:schedules")


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def author(groups):  # noqa: F811 - the fixture imported above
    return make_person("author", groups, name="olena")


@pytest.fixture
def author_client(client, author):
    client.force_login(author)
    return client


def saved(audience=None, **values) -> Campaign:
    campaign = make_campaign(**values)
    campaign.save()
    if audience is not None:
        campaign.lists.set([audience["spring"]])
    return campaign


def said(response) -> str:
    return " ".join(str(m) for m in get_messages(response.wsgi_request))


def listed(client, **query) -> list[str]:
    return [row.campaign.name for row in client.get(LIST, query).context["page"].rows]


def picker(client) -> list[int]:
    return [pk for pk, _label in client.get(SCHEDULES).context["form"].fields["template"].choices]


def url(name: str, campaign: Campaign) -> str:
    return reverse(f"campaigns:{name}", args=[campaign.pk])


def actions(campaign_id: int) -> list[str]:
    return list(
        AuditEntry.objects.filter(
            target_content_type__model="campaign", target_object_id=str(campaign_id)
        )
        .order_by("id")
        .values_list("action", flat=True)
    )


def test_an_archived_draft_leaves_the_list_and_the_picker_until_restored(
    author_client, author, audience
):
    draft = saved(audience, name="Old idea")
    saved(audience, name="Current")
    assert listed(author_client) == ["Current", "Old idea"] and draft.pk in picker(author_client)

    response = author_client.post(url("archive", draft))
    assert response.status_code == 302 and "is archived" in said(response)
    draft.refresh_from_db()
    assert draft.is_archived and draft.status == Campaign.Status.DRAFT
    assert listed(author_client) == ["Current"]
    assert draft.pk not in picker(author_client)
    # "Show archived" shows it again, marked.
    shown = author_client.get(LIST, {"archived": "on"})
    assert [row.campaign.name for row in shown.context["page"].rows] == ["Current", "Old idea"]
    assert "status-archived" in shown.content.decode()
    # Its page says so and offers to restore it; no Edit while it is archived.
    detail = author_client.get(url("detail", draft)).content.decode()
    assert 'id="restore-campaign"' in detail and url("edit", draft) not in detail

    response = author_client.post(url("restore", draft))
    assert "restored" in said(response)
    assert listed(author_client) == ["Current", "Old idea"] and draft.pk in picker(author_client)
    assert actions(draft.pk)[-2:] == ["campaign-archive", "campaign-restore"]
    entry = AuditEntry.objects.get(action="campaign-archive")
    assert entry.actor == author


def test_an_archived_draft_is_neither_edited_nor_sent_nor_scheduled(author_client, audience):
    draft = saved(audience)
    author_client.post(url("archive", draft))
    edit = author_client.get(url("edit", draft))
    assert edit.status_code == 302 and "restore it to change it" in said(edit)
    ask = author_client.post(url("approval-request", draft), {"intent": "send"})
    assert "archived; restore it before sending it" in said(ask)
    draft.refresh_from_db()
    assert draft.status == Campaign.Status.DRAFT
    with pytest.raises(Exception, match="archived"):
        schedules.schedule_create(name="Weekly", template_id=draft.pk)


def test_a_finished_campaign_is_archived_but_never_deleted(author_client, audience):
    finished = saved(audience, status=Campaign.Status.FINISHED)
    detail = author_client.get(url("detail", finished)).content.decode()
    assert 'id="archive-campaign"' in detail and 'id="delete-campaign"' not in detail
    refused = author_client.post(url("delete", finished))
    assert "only drafts can be deleted" in said(refused)
    assert Campaign.objects.filter(pk=finished.pk).exists()
    author_client.post(url("archive", finished))
    finished.refresh_from_db()
    assert finished.is_archived


@pytest.mark.parametrize(
    "status",
    [
        Campaign.Status.AWAITING_APPROVAL,
        Campaign.Status.SCHEDULED,
        Campaign.Status.READY,
        Campaign.Status.SENDING,
    ],
)
def test_nothing_anyone_waits_on_is_archived_or_deleted(author_client, audience, status):
    waiting = saved(audience, status=status)
    detail = author_client.get(url("detail", waiting)).content.decode()
    assert 'id="archive-campaign"' not in detail and 'id="delete-campaign"' not in detail
    archive = author_client.post(url("archive", waiting))
    assert "only drafts and campaigns that have ended can be archived" in said(archive)
    delete = author_client.post(url("delete", waiting))
    assert "only drafts can be deleted" in said(delete)
    waiting.refresh_from_db()
    assert waiting.status == status and not waiting.is_archived
    assert actions(waiting.pk) == []


def test_a_draft_is_deleted_for_good_and_the_log_keeps_its_name(author_client, author):
    draft = saved(name="Typo draft")
    response = author_client.post(url("delete", draft))
    assert response.status_code == 302 and response["Location"] == LIST
    assert "“Typo draft” is deleted" in said(response)
    assert not Campaign.objects.filter(pk=draft.pk).exists()
    entry = AuditEntry.objects.get(action="campaign-delete")
    assert entry.actor == author and f"“Typo draft” (#{draft.pk})" in entry.message
    assert author_client.post(url("delete", draft)).status_code == 404


def test_a_campaign_a_schedule_copies_is_not_deleted_and_the_page_says_why(author_client, audience):
    template = saved(audience, name="Weekly news")
    schedules.schedule_create(name="Mondays", template_id=template.pk)
    response = author_client.post(url("delete", template), follow=True)
    body = response.content.decode()
    assert "“Weekly news” cannot be deleted: the recurring schedule “Mondays” copy it" in body
    assert Campaign.objects.filter(pk=template.pk).exists()
    assert CampaignSchedule.objects.filter(template=template).exists()
    assert "campaign-delete" not in actions(template.pk)


def test_a_viewer_may_not_archive_restore_or_delete(client, groups, audience):  # noqa: F811
    draft = saved(audience)
    client.force_login(make_person("viewer", groups, name="vera"))
    detail = client.get(url("detail", draft)).content.decode()
    assert 'id="archive-campaign"' not in detail and 'id="delete-campaign"' not in detail
    for name in ("archive", "restore", "delete"):
        assert client.post(url(name, draft)).status_code == 403
    draft.refresh_from_db()
    assert not draft.is_archived


def test_show_archived_keeps_the_page_at_a_fixed_number_of_queries(
    author_client, audience, django_assert_num_queries
):
    for number in range(30):
        made = saved(audience, name=f"Campaign {number}")
        if number % 3 == 0:
            author_client.post(url("archive", made))
    author_client.get(LIST)  # the permission cache warms up
    # session, user, saved senders, one page of campaigns, their parts' figures, and the
    # navigation's count of what waits for this author (campaigns.inbox)
    with django_assert_num_queries(6):
        assert len(author_client.get(LIST).context["page"].rows) == 20
    # A search adds the bound of its window of newest campaigns (campaigns.dashboard).
    with django_assert_num_queries(7):
        author_client.get(LIST, {"archived": "on", "q": "Campaign"})
