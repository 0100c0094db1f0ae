"""The list's rows and the parts panel, shared from the cache as production does
(CAMPAIGN_LIST_CACHE_SECONDS, CAMPAIGN_PARTS_CACHE_SECONDS): fewer queries, never another
person's buttons, and the parts panel never stale."""

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.core.cache import cache
from django.test import Client
from django.urls import reverse

from campaigns.models import Campaign, CampaignPart
from tests.dashboard.conftest import campaign, many_campaigns, sending

pytestmark = pytest.mark.django_db

LIST = reverse("campaigns:list")


@pytest.fixture
def shared(settings):
    settings.CAMPAIGN_LIST_CACHE_SECONDS = 2
    settings.CAMPAIGN_PARTS_CACHE_SECONDS = 60
    settings.SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"


def person(name: str, *codenames: str) -> Client:
    user = get_user_model().objects.create_user(name, password="a-long-test-password")
    user.user_permissions.add(*Permission.objects.filter(codename__in=codenames))
    client = Client()
    client.force_login(user)
    return client


VIEWER = ("view_campaign",)
AUTHOR = ("view_campaign", "add_campaign", "export_contact")


def test_the_list_rows_are_shared_but_its_buttons_are_each_persons_own(shared):
    many_campaigns(30)
    author, viewer = person("author", *AUTHOR), person("viewer", *VIEWER)
    first = author.get(LIST).content.decode()
    second = viewer.get(LIST).content.decode()
    new_sms = reverse("campaigns:new", args=["sms"])
    assert f'href="{new_sms}"' in first and f'href="{new_sms}"' not in second
    table = first[first.index('<table class="table" id="campaigns">') : first.index("</table>")]
    assert table in second and "Campaign 0029" in table


def test_a_cached_list_reads_only_the_user(shared, django_assert_num_queries):
    many_campaigns(30)
    viewer = person("viewer", *VIEWER)
    viewer.get(LIST, {"status": "finished"})
    # The user; the session, permissions, rows and senders come from the cache.
    with django_assert_num_queries(1):
        again = viewer.get(LIST, {"status": "finished"})
    assert "Campaign 0029" in again.content.decode()


def test_a_cached_list_shows_the_filters_as_each_request_typed_them(shared):
    many_campaigns(30)
    viewer = person("viewer", *VIEWER)
    first = viewer.get(LIST, {"q": "Campaign", "status": "finished"}).content.decode()
    assert 'name="q" id="id_q" value="Campaign"' in first
    # Another spelling of the same search is its own page: its input shows what was typed.
    second = viewer.get(LIST, {"q": "campaign", "status": "finished"}).content.decode()
    assert 'name="q" id="id_q" value="campaign"' in second
    assert 'value="finished" selected' in second
    # And a refused filter is never served from, or put in, the cache.
    refused = viewer.get(LIST, {"q": "campaign", "status": "nonsense"})
    assert refused.status_code == 400
    assert "Fix the filters above to see campaigns." in refused.content.decode()


def test_a_cached_list_is_the_whole_page_the_person_may_see(shared):
    many_campaigns(3)
    author, viewer = person("author", *AUTHOR), person("viewer", *VIEWER)
    new_sms = reverse("campaigns:new", args=["sms"])
    viewer.get(LIST)
    assert f'href="{new_sms}"' in author.get(LIST).content.decode()
    assert f'href="{new_sms}"' not in viewer.get(LIST).content.decode()
    # Someone given the right to compose sees the button at once: what they may do is part of
    # the page's key, not left to the cache's seconds.
    user = get_user_model().objects.get(username="viewer")
    user.user_permissions.add(Permission.objects.get(codename="add_campaign"))
    assert f'href="{new_sms}"' in viewer.get(LIST).content.decode()


def test_the_list_shows_new_campaigns_once_its_moment_in_the_cache_is_over(shared):
    viewer = person("viewer", *VIEWER)
    assert "No campaigns yet" in viewer.get(LIST).content.decode()
    campaign(name="Brand new")
    cache.clear()  # as the 2 seconds running out would
    assert "Brand new" in viewer.get(LIST).content.decode()


def test_page_links_carry_the_filters_as_understood_not_as_typed(shared):
    many_campaigns(30)
    viewer = person("viewer", *VIEWER)
    response = viewer.get(LIST, {"status": "finished", "q": "", "sender": "  "})
    assert response.context["older_query"].startswith("status=finished&after=")
    assert "q=" not in response.context["older_query"]


def test_an_unchanged_parts_panel_costs_one_query_after_the_user(shared, django_assert_num_queries):
    made = sending(recipients=100, sent=10)
    viewer = person("viewer", *VIEWER)
    url = reverse("campaigns:parts", args=[made.pk])
    first = viewer.get(url, {"shown": "sending"}).content.decode()
    # The user, then the panel's fingerprint; the rest is the cached panel.
    with django_assert_num_queries(2):
        again = viewer.get(url, {"shown": "sending"}).content.decode()
    assert again == first


def test_the_parts_panel_follows_every_engine_write_at_once(shared):
    made = sending(recipients=100, sent=10, delivered=5)
    viewer = person("viewer", *VIEWER)
    url = reverse("campaigns:parts", args=[made.pk])
    assert ">10 <" in viewer.get(url).content.decode()
    # As the engine writes: a compare-and-set UPDATE, which no signal sees.
    CampaignPart.objects.filter(campaign=made).update(sent=73, delivered=70)
    panel = viewer.get(url).content.decode()
    assert 'id="figure-sent">73 ' in panel and 'id="figure-delivered">70 ' in panel
    Campaign.objects.filter(pk=made.pk).update(status=Campaign.Status.FINISHED)
    finished = viewer.get(url, {"shown": "sending"}).content.decode()
    assert "hx-trigger" not in finished and 'id="campaign-actions"' in finished


def test_the_parts_panel_buttons_stay_each_persons_own(shared):
    made = sending(recipients=100, sent=10)
    author, viewer = person("author", *AUTHOR), person("viewer", *VIEWER)
    url = reverse("campaigns:parts", args=[made.pk])
    export = reverse("campaigns:ledger-csv", args=[made.pk])
    assert export in author.get(url).content.decode()
    assert export not in viewer.get(url).content.decode()
    assert export in author.get(url).content.decode()


def test_a_panel_with_a_form_is_never_shared(shared):
    made = sending(recipients=100)
    CampaignPart.objects.filter(campaign=made).update(
        state=CampaignPart.State.NEEDS_ATTENTION, error="BSG refused the sender"
    )
    first = person("first", *AUTHOR, "change_campaignpart")
    second = person("second", *AUTHOR, "change_campaignpart")
    url = reverse("campaigns:parts", args=[made.pk])
    one = first.get(url).content.decode()
    two = second.get(url).content.decode()
    assert "Batch 1 (needs attention): BSG refused the sender" in one
    assert "csrfmiddlewaretoken" in one and "csrfmiddlewaretoken" in two
    token = one.split('name="csrfmiddlewaretoken" value="')[1].split('"')[0]
    assert token not in two


def test_an_unknown_campaign_is_still_404(shared):
    viewer = person("viewer", *VIEWER)
    assert viewer.get(reverse("campaigns:parts", args=[999_999])).status_code == 404
