"""The RCS composer through HTTP: the card editor's buttons without JavaScript (add, remove,
move), placeholders refused to BSG groups beside the field, and the preview's carousel."""

import re

import pytest
from django.urls import reverse

from campaigns.models import Campaign

pytestmark = pytest.mark.django_db


@pytest.fixture
def client_in(client, user):
    client.force_login(user)
    return client


def rcs_data(list_id: int, cards: list[dict], **overrides) -> dict:
    data = {
        "name": "Cards",
        "rcs_mode": "lists",
        "rcs_agent": "Shop agent",
        "lists": [list_id],
        "validity_hours": "72",
        "tariff_code": "0",
        "fallback_validity_hours": "72",
        "start": "now",
        "card-TOTAL_FORMS": str(len(cards)),
        "card-INITIAL_FORMS": "0",
    }
    for index, card in enumerate(cards):
        for name, value in card.items():
            data[f"card-{index}-{name}"] = value
    data.update(overrides)
    return data


def card_titles(page: str) -> list[str]:
    """The card editor's title inputs, in order, as (name, value)."""
    return re.findall(r'name="card-(\d+)-title"(?: value="([^"]*)")?', page)


def test_a_new_campaign_starts_with_one_card_and_a_saved_one_gets_no_blank_card(
    client_in, audience
):
    page = client_in.get(reverse("campaigns:new", args=["rcs"])).content.decode()
    assert card_titles(page) == [("0", "")]
    assert "Add card" in page
    assert 'id="card-template"' in page  # what the script clones

    data = rcs_data(audience["spring"].id, [{"title": "One"}, {"title": "Two"}], action="save")
    assert client_in.post(reverse("campaigns:new", args=["rcs"]), data).status_code == 302
    campaign = Campaign.objects.get()
    page = client_in.get(reverse("campaigns:edit", args=[campaign.pk])).content.decode()
    # Exactly the two saved cards: saving does not add an empty one each time.
    assert card_titles(page) == [("0", "One"), ("1", "Two")]


def test_card_buttons_work_without_javascript_and_save_nothing(client_in, audience):
    cards = [{"title": "First", "text": "1"}, {"title": "Second", "text": "2"}]
    url = reverse("campaigns:new", args=["rcs"])

    added = client_in.post(url, rcs_data(audience["spring"].id, cards, card_edit="add"))
    assert added.status_code == 200
    page = added.content.decode()
    assert card_titles(page) == [("0", "First"), ("1", "Second"), ("2", "")]
    assert 'value="Cards"' in page  # the rest of the form is kept as typed
    assert not Campaign.objects.exists()  # a card button saves nothing

    moved = client_in.post(url, rcs_data(audience["spring"].id, cards, card_edit="down:0"))
    assert card_titles(moved.content.decode()) == [("0", "Second"), ("1", "First")]
    moved = client_in.post(url, rcs_data(audience["spring"].id, cards, card_edit="up:1"))
    assert card_titles(moved.content.decode()) == [("0", "Second"), ("1", "First")]

    removed = client_in.post(url, rcs_data(audience["spring"].id, cards, card_edit="remove:0"))
    page = removed.content.decode()
    assert card_titles(page) == [("0", "Second")]
    assert 'name="card-TOTAL_FORMS" value="1"' in page

    # The rearranged page saves as shown.
    data = rcs_data(audience["spring"].id, [{"title": "Second", "text": "2"}], action="save")
    client_in.post(url, data)
    assert Campaign.objects.get().rcs_cards == [{"title": "Second", "text": "2"}]


def test_card_buttons_refuse_what_cannot_be(client_in, audience):
    url = reverse("campaigns:new", args=["rcs"])
    ten = [{"title": f"Card {n}"} for n in range(10)]
    page = client_in.post(url, rcs_data(audience["spring"].id, ten, card_edit="add"))
    assert len(card_titles(page.content.decode())) == 10  # BSG takes at most 10
    one = [{"title": "Only"}]
    for edit in ("up:0", "down:0", "remove:7", "sideways:1"):
        page = client_in.post(url, rcs_data(audience["spring"].id, one, card_edit=edit))
        assert page.status_code in (200, 302)
        assert card_titles(page.content.decode()) in ([("0", "Only")], [])


def test_groups_mode_refuses_placeholders_beside_the_field(client_in, audience):
    data = rcs_data(
        audience["spring"].id,
        [{"title": "Sale", "text": "Hi {first_name}"}],
        rcs_mode="groups",
        fallback_enabled="on",
        fallback_text="Hi {first_name|friend}",
        fallback_sender="Shop",
        action="plan",
    )
    # Saved, not planned: back to the composer, which marks what stops it beside each field.
    response = client_in.post(reverse("campaigns:new", args=["rcs"]), data, follow=True)
    assert response.redirect_chain and "No send plan" in response.content.decode()
    page = response.content.decode()
    card_field = page[page.index('id="field-card-0-text"') :][:1500]
    assert "BSG sends one RCS message to a whole contact-book group" in card_field
    fallback_field = page[page.index('id="field-fallback_text"') :][:1500]
    assert "fills no placeholders" in fallback_field
    campaign = Campaign.objects.get()  # saved as typed, not planned
    assert campaign.rcs_cards[0]["text"] == "Hi {first_name}"
    assert not campaign.send_plans.exists()

    # The same text to contact lists is personalised, not refused.
    data.update(rcs_mode="lists")
    response = client_in.post(reverse("campaigns:edit", args=[campaign.pk]), data)
    assert response.status_code == 302


def test_placeholders_in_a_media_url_or_a_button_are_refused(client_in, audience):
    data = rcs_data(
        audience["spring"].id,
        [
            {
                "text": "Hi {first_name}",
                "media_url": "https://example.test/{first_name}.png",
                "suggestion_1_label": "Go {first_name}",
                "suggestion_1_target": "https://example.test/",
            }
        ],
        action="plan",
    )
    page = client_in.post(
        reverse("campaigns:new", args=["rcs"]), data, follow=True
    ).content.decode()
    media_field = page[page.index('id="field-card-0-media_url"') :][:1200]
    assert "title and text only" in media_field
    button_field = page[page.index('id="field-card-0-suggestion_1_target"') :][:1200]
    assert "title and text only" in button_field


def test_the_preview_is_a_carousel_per_recipient_with_drawn_icons(client_in, audience):
    data = rcs_data(
        audience["spring"].id,
        [
            {
                "title": "For {first_name|you}",
                "media_url": "https://example.test/spring.png",
                "suggestion_1_label": "Call us",
                "suggestion_1_target": "+380 50 111 1111",
            },
            {"text": "Second card"},
        ],
        channel="rcs",
        fallback_enabled="on",
        fallback_text="Hi {first_name|friend}",
        fallback_sender="Shop",
    )
    page = client_in.post(reverse("campaigns:preview"), data).content.decode()
    assert page.count('class="rcs-carousel"') == 3  # the first three recipients
    assert "For Olena" in page and "For Ivan" in page and "For you" in page
    # Whom each carousel is for, the number as contacts pages show it.
    assert "For +380 50 111 1111 · Olena" in page and "+380501111111" not in page
    assert "2 cards: a carousel the recipient swipes." in page
    # The image as a box naming it (the CSP allows no external images), icons drawn in SVG.
    assert 'class="rcs-media" href="https://example.test/spring.png"' in page
    assert "<img" not in page
    assert page.count('<svg class="icon"') >= 6
    assert not re.search("[\U0001f300-\U0001faff]", page)  # no emoji
    assert "Hi friend" in page  # the fallback, personalised
    assert "BSG prices RCS when it is delivered" in page


@pytest.mark.parametrize("fallback", [False, True])
def test_the_preview_counts_bsg_campaigns_as_the_send_plan_does(
    client_in, user, audience, bsg_settings, fallback
):
    """Personalised RCS goes as one BSG campaign per distinct message: the live preview and
    the send plan say the same number."""
    extra = {"fallback_enabled": "on", "fallback_text": "Hi", "fallback_sender": "Shop"}
    data = rcs_data(
        audience["spring"].id,
        [{"title": "For {first_name|you}", "text": "Spring sale"}],
        channel="rcs",
        **(extra if fallback else {}),
    )
    preview = client_in.post(reverse("campaigns:preview"), data).content.decode()
    shown = re.search(r'id="preview-bsg-campaigns">\s*(\d+)', preview).group(1)
    assert "(3 different personalised messages; each goes to BSG in a batch of its own)" in preview
    assert "Batches sent to BSG" in preview and "BSG campaigns" not in preview

    client_in.post(reverse("campaigns:new", args=["rcs"]), {**data, "action": "plan"})
    plan = Campaign.objects.get().send_plans.get()
    assert plan.result["bsg_campaigns"] == int(shown) == 3
