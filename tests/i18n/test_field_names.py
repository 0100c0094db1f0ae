# The Ukrainian is the point of some of these tests: their Cyrillic letters are meant.
# ruff: noqa: RUF001
"""A placeholder's field is named to the marketer as the composer's "Insert field" picker
names it ("City", "First name", "Name"), not by its key (`city`): in the live preview, the
recipient preview and a test send's note, in English and in Ukrainian."""

import pytest
from django.urls import reverse
from django.utils import translation

from accounts.services import account_settings_update
from campaigns import rendering, stored_text
from campaigns.models import Campaign, SendPlan
from contacts.models import Contact, ContactField, ContactList, ListMembership

pytestmark = pytest.mark.django_db


@pytest.fixture
def shoppers(db):
    """Spring: Olena in Kyiv, and Oksana with no city; no one has a first name."""
    ContactField.objects.create(key="city", label="Місто")
    ContactField.objects.create(key="first_name", label="First name")
    spring = ContactList.objects.create(name="Spring")
    for phone, name, city in [("380501111111", "Olena", "Kyiv"), ("380503333333", "Oksana", "")]:
        contact = Contact.objects.create(phone=phone, name=name, fields={"city": city})
        ListMembership.objects.create(contact_list=spring, contact=contact)
    return spring


def preview(client, spring, text: str) -> str:
    data = {
        "channel": "sms",
        "name": "Spring sale",
        "sms_mode": "individual",
        "text": text,
        "missing_values": "fallback",
        "sender": "Shop",
        "validity_hours": "72",
        "tariff_code": "0",
        "start": "now",
        "start_at": "",
        "pasted_numbers": "",
        "lists": [spring.pk],
    }
    return client.post(reverse("campaigns:preview"), data).content.decode()


@pytest.mark.parametrize(
    ("language", "fallback_used", "empty"),
    [
        ("en", "Fallback used: Місто", "Empty: First name"),
        ("uk", "Використано запасне значення: Місто", "Порожні: First name"),
    ],
)
def test_the_preview_names_each_field_as_the_picker_does(
    client, django_user_model, shoppers, language, fallback_used, empty
):
    author = django_user_model.objects.create_superuser("olena", password="x" * 20)
    account_settings_update(user=author, language=language)
    client.force_login(author)
    page = preview(client, shoppers, "Hi {first_name}, sale in {city|your city}")
    assert fallback_used in page and empty in page
    assert ": city" not in page and ": first_name" not in page


def test_the_contacts_own_name_and_phone_are_named_in_the_readers_language():
    compiled = rendering.compile_text(
        "{name} {phone} {city}",
        fields={"city": ContactField(key="city", label="Місто")},
        mode=rendering.MODE_INDIVIDUAL,
    )
    with translation.override("en"):
        assert compiled.names(("name", "phone", "city")) == ("Name", "Phone", "Місто")
    with translation.override("uk"):
        assert compiled.names(("name", "phone", "city")) == ("Ім’я", "Телефон", "Місто")
    # A label no placeholder of the text has (a field gone since) is said as it is.
    assert compiled.names(("gone",)) == ("gone",)
    # A field without a label of its own is named by its key, as the picker names it.
    unlabelled = rendering.compile_text(
        "{city}", fields={"city": ContactField(key="city")}, mode=rendering.MODE_INDIVIDUAL
    )
    assert unlabelled.names(("city",)) == ("city",)


def test_a_test_sends_note_names_the_fields_and_says_them_in_the_readers_language():
    stored = stored_text.EMPTY_FOR_THEM.stored(fields="Name, Місто")
    assert stored == "empty for them: Name, Місто"
    with translation.override("uk"):
        assert stored_text.shown(stored) == "для нього порожні: Ім’я, Місто"
    # A note stored before names were (by key) still reads; the contact's own name is named.
    with translation.override("uk"):
        assert stored_text.shown("the fallback for: name, city") == (
            stored_text.FALLBACK_FOR.shown(fields="Name, city")
        )


# A plan stored before its fields were named: each placeholder by its label (the field's key, or
# "name"), as SendPlan.result keeps them. `promo` is a field deleted since.
STORED_PLAN = {
    "recipients": 3,
    "total_parts": 14,
    "pushed_to_ucs2": 1,
    "ucs2_examples": [
        {"phone": "380501111111", "field": "city", "value": "Київ", "characters": ["К", "ї"]}
    ],
    "over_limit": 1,
    "over_limit_examples": [
        {"phone": "380502222222", "length": 1700, "max_length": 1530, "parts": 12, "field": "promo"}
    ],
    "missing_values": {
        "policy": "skip",
        "unfilled": 2,
        "unfilled_by_field": {"city": 1, "promo": 1},
        "left_out": 2,
        "fallbacks": {"name": {"recipients": 1, "fallback": "friend"}},
        "blocked": False,
        "audience": 5,
    },
}


@pytest.mark.parametrize(
    ("language", "said"),
    [
        (
            "en",
            [
                "+380 50 111 1111: City = “Київ”",
                "(longest field: promo)",
                "2 of 5 recipients are left out: no value for City {city} (1), {promo} (1).",
                "1 recipient has no Name {name}: they get “friend”.",
            ],
        ),
        (
            "uk",
            [
                "+380 50 111 1111: City = “Київ”",
                "(найдовше поле: promo)",
                "2 з 5 отримувачів пропущено: немає значення для City {city} (1), {promo} (1).",
                "1 отримувач не має значення для Ім’я {name}: отримає «friend».",
            ],
        ),
    ],
)
def test_the_plan_panel_names_each_field_and_says_what_to_type_where_it_is_missing(
    client, django_user_model, language, said
):
    ContactField.objects.create(key="city", label="City")
    campaign = Campaign.objects.create(name="Spring sale", text="Hi {name|friend}, {city}{promo}")
    SendPlan.objects.create(
        campaign=campaign, fingerprint="old", status=SendPlan.Status.DONE, result=STORED_PLAN
    )
    author = django_user_model.objects.create_superuser("olena", password="x" * 20)
    account_settings_update(user=author, language=language)
    client.force_login(author)
    panel = client.get(reverse("campaigns:plan", args=[campaign.pk])).content.decode()
    for words in said:
        assert words in panel
    assert ": city =" not in panel and "field: city" not in panel
