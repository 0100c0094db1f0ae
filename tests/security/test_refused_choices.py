"""A select's refused value is never said back (config.choices).

Django's stock "Select a valid choice. %(value)s is not one of the available choices." repeated
whatever a hand-edited link sent: `?status=%00` put a raw NUL in the campaigns page, a
100,000-character time zone made "Your settings" a 133 KB page. Each select says what to do
instead, and the page stays as small as it is without the value.
"""

import pytest
from django.core.cache import cache
from django.urls import reverse

from accounts.models import AccountSettings
from campaigns.models import Campaign

pytestmark = pytest.mark.django_db

NUL = "\x00"
HUGE = "x" * 100_000
# A page with one refused value is a normal page: far below the 100,000 characters sent.
SMALL_PAGE = 60_000

CAMPAIGN_LIST = reverse("campaigns:list")


def _refused_page(response, *, status: int) -> str:
    assert response.status_code == status
    html = response.content.decode()
    assert NUL not in html and HUGE[:1000] not in html
    assert len(response.content) < SMALL_PAGE
    assert "Select a valid choice" not in html
    return html


@pytest.mark.parametrize("value", [NUL, HUGE, "nonsense"])
def test_the_campaign_status_filter_refuses_without_echoing(client_in, settings, value):
    settings.CAMPAIGN_LIST_CACHE_SECONDS = 60
    cache.clear()
    html = _refused_page(client_in.get(CAMPAIGN_LIST, {"status": value}), status=400)
    assert "That status does not exist. Pick a status from the list." in html
    # A refused filter is never cached: asked again, it is refused again, not served a page.
    assert client_in.get(CAMPAIGN_LIST, {"status": value}).status_code == 400


@pytest.mark.parametrize("value", [NUL, HUGE])
def test_the_campaign_channel_filter_refuses_without_echoing(client_in, value):
    html = _refused_page(client_in.get(CAMPAIGN_LIST, {"channel": value}), status=400)
    assert "That channel does not exist. Pick a channel from the list." in html


def test_the_refusal_is_in_ukrainian_for_a_ukrainian_reader(client_in):
    client_in.cookies["django_language"] = "uk"
    html = _refused_page(client_in.get(CAMPAIGN_LIST, {"status": NUL}), status=400)
    assert "Такого статусу немає. Виберіть статус зі списку." in html


@pytest.mark.parametrize("value", [NUL, HUGE])
def test_the_recipients_status_filter_refuses_without_echoing(client_in, value):
    made = Campaign.objects.create(name="Spring", text="Hi", sender="Shop")
    url = reverse("campaigns:recipients", args=[made.pk])
    html = _refused_page(client_in.get(url, {"status": value}), status=400)
    assert "That message status does not exist. Pick a message status from the list." in html


@pytest.mark.parametrize(
    ("name", "said"),
    [
        ("field_key", "That field does not exist. Pick a field from the list."),
        ("list_id", "That list does not exist. Pick a list from the choices."),
    ],
)
@pytest.mark.parametrize("value", [NUL, HUGE, "999999"])
def test_the_contacts_filters_refuse_without_echoing(client_in, audience, name, said, value):
    response = client_in.get(reverse("contacts:contact-index"), {name: value})
    assert said in _refused_page(response, status=response.status_code)


@pytest.mark.parametrize("value", [NUL, HUGE])
def test_the_do_not_contact_source_filter_refuses_without_echoing(client_in, value):
    response = client_in.get(reverse("contacts:dnc-index"), {"source": value})
    html = _refused_page(response, status=response.status_code)
    assert "That source does not exist. Pick a source from the list." in html


@pytest.mark.parametrize("value", [NUL, HUGE, "Mars/Olympus"])
def test_your_settings_refuses_a_time_zone_without_echoing(client_in, value):
    response = client_in.post(reverse("accounts:settings"), {"language": "en", "time_zone": value})
    html = _refused_page(response, status=200)
    assert "That is not a time zone we know. Pick a time zone from the list." in html
    assert not AccountSettings.objects.exists()
