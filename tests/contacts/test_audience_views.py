"""The contacts pages: forms keep what was typed, errors are specific, query counts are fixed."""

import csv
import io

import pytest
from django.urls import reverse
from django.utils import timezone

from contacts import services
from contacts.models import Contact, ContactField, ContactList, DoNotContact, ListMembership

pytestmark = pytest.mark.django_db


def _csv(response) -> list[list[str]]:
    body = b"".join(response.streaming_content).decode("utf-8")
    assert body.startswith("\ufeff")
    return list(csv.reader(io.StringIO(body[1:])))


def _many(count: int, contact_list: ContactList | None = None) -> None:
    contacts = Contact.objects.bulk_create(
        Contact(phone=f"38050{i:07d}", name=f"Person {i}", fields={"city": "Kyiv"})
        for i in range(count)
    )
    if contact_list is not None:
        ListMembership.objects.bulk_create(
            ListMembership(contact=c, contact_list=contact_list) for c in contacts
        )


def test_pages_ask_for_a_login(client):
    response = client.get(reverse("contacts:contact-index"))
    assert response.status_code == 302


def test_adding_a_contact_with_a_bad_number_keeps_everything_typed(admin_client):
    services.contact_field_create(key="city", label="City")
    vip = services.contact_list_create(name="VIP")
    response = admin_client.post(
        reverse("contacts:contact-new"),
        {"phone": "12345", "name": "<b>Olena</b>", "field_city": "Kyiv", "lists": [vip.id]},
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert "Not a phone number we can send to" in html
    assert "too short" in html
    assert 'value="&lt;b&gt;Olena&lt;/b&gt;"' in html
    assert 'value="Kyiv"' in html
    assert "checked" in html
    assert not Contact.objects.exists()


def test_adding_and_editing_a_contact(admin_client):
    services.contact_field_create(key="city", label="City")
    vip = services.contact_list_create(name="VIP")
    response = admin_client.post(
        reverse("contacts:contact-new"),
        {"phone": "050 123 45 67", "name": "Olena", "field_city": "Kyiv", "lists": [vip.id]},
    )
    assert response.status_code == 302
    contact = Contact.objects.get()
    assert contact.phone == "380501234567"
    assert contact.fields == {"city": "Kyiv"}
    assert list(contact.lists.all()) == [vip]

    page = admin_client.get(reverse("contacts:contact-edit", args=[contact.id]))
    assert 'value="+380501234567"' in page.content.decode()
    response = admin_client.post(
        reverse("contacts:contact-edit", args=[contact.id]),
        {"phone": "+380501234567", "name": "Olena K", "field_city": ""},
    )
    assert response.status_code == 302
    contact.refresh_from_db()
    assert contact.name == "Olena K" and contact.fields == {} and not contact.lists.exists()


def test_a_number_already_known_is_a_form_error(admin_client):
    services.contact_create(phone="380501234567")
    response = admin_client.post(reverse("contacts:contact-new"), {"phone": "+380501234567"})
    assert "+380501234567 is already a contact" in response.content.decode()
    assert Contact.objects.count() == 1


def test_the_contact_page_searches_by_phone_typed_any_way_name_field_and_list(admin_client):
    services.contact_field_create(key="city", label="City")
    vip = services.contact_list_create(name="VIP")
    services.contact_create(phone="380501234567", name="Olena", fields={"city": "Kyiv"})
    services.contact_create(
        phone="380671112233", name="Taras", fields={"city": "Lviv"}, list_ids=[vip.id]
    )
    url = reverse("contacts:contact-index")

    def phones(**params) -> set[str]:
        page = admin_client.get(url, params).context["page"]
        return {c.phone for c in page.items}

    assert phones(phone="+380 50 12") == {"380501234567"}
    assert phones(phone="050-123") == {"380501234567"}
    assert phones(phone="00380 67") == {"380671112233"}
    assert phones(name="lEn") == {"380501234567"}
    assert phones(field_key="city", field_value="Lviv") == {"380671112233"}
    assert phones(list_id=vip.id) == {"380671112233"}
    assert phones(phone="abc") == set()
    assert phones() == {"380501234567", "380671112233"}


def test_the_contact_table_is_a_partial_for_htmx(admin_client):
    services.contact_create(phone="380501234567", name="Olena")
    response = admin_client.get(
        reverse("contacts:contact-index"),
        {"name": "ole"},
        HTTP_HX_REQUEST="true",
        HTTP_HX_TARGET="contact-table",
    )
    html = response.content.decode()
    assert html.lstrip().startswith('<div id="contact-table">')
    assert "+380 50 123 4567" in html and "<html" not in html


def test_pages_go_by_cursor_newest_first(admin_client):
    _many(120)
    url = reverse("contacts:contact-index")
    first = admin_client.get(url).context["page"]
    assert len(first.items) == 50 and first.prev_before is None
    second = admin_client.get(url, {"after": first.next_after}).context["page"]
    third = admin_client.get(url, {"after": second.next_after}).context["page"]
    assert len(third.items) == 20 and third.next_after is None
    back = admin_client.get(url, {"before": second.prev_before}).context["page"]
    assert [c.pk for c in back.items] == [c.pk for c in first.items]
    seen = [c.pk for p in (first, second, third) for c in p.items]
    assert len(set(seen)) == 120 and seen == sorted(seen, reverse=True)


@pytest.mark.parametrize("count", [5, 60])
def test_the_contact_page_costs_the_same_queries_whatever_the_data(
    admin_client, django_assert_max_num_queries, count
):
    vip = services.contact_list_create(name="VIP")
    services.contact_list_create(name="Other")
    services.contact_field_create(key="city", label="City")
    _many(count, vip)
    url = reverse("contacts:contact-index")
    # session, user, the navigation's inbox count, lists and fields for the filter, page,
    # memberships, the estimate (and a COUNT while PostgreSQL has never analysed the table)
    with django_assert_max_num_queries(9):
        assert admin_client.get(url).status_code == 200
    with django_assert_max_num_queries(7):  # filtered: no estimate
        response = admin_client.get(url, {"list_id": vip.id, "name": "Person", "phone": "380"})
        assert len(response.context["page"].items) == min(count, 50)


def test_the_list_pages_cost_the_same_queries_whatever_the_data(
    admin_client, django_assert_max_num_queries
):
    lists = [services.contact_list_create(name=f"List {i}") for i in range(5)]
    _many(60, lists[0])
    DoNotContact.objects.create(phone="380500000001")
    # Each page also reads the navigation's inbox count (one query).
    with django_assert_max_num_queries(4):
        response = admin_client.get(reverse("contacts:list-index"))
    assert [x.member_count for x in response.context["lists"]][:1] == [60]
    # 10: session and user; the list, its page of members, their lists, the fields their values
    # are labelled with, the member count and the opt-outs; its audit log (one query, whatever
    # the number of entries) and the navigation's inbox count.
    with django_assert_max_num_queries(10):
        response = admin_client.get(reverse("contacts:list-detail", args=[lists[0].id]))
    assert response.context["summary"].recipients == 59
    with django_assert_max_num_queries(6):
        admin_client.get(reverse("contacts:dnc-index"))


def test_export_neutralises_formulas_and_writes_phones_in_international_format(admin_client):
    services.contact_field_create(key="city", label="City")
    vip = services.contact_list_create(name="VIP")
    services.contact_create(
        phone="380501234567",
        name='=HYPERLINK("x")',
        fields={"city": "@evil"},
        list_ids=[vip.id],
    )
    services.contact_create(phone="380671112233", name="Taras")

    rows = _csv(admin_client.get(reverse("contacts:list-export", args=[vip.id])))
    assert rows == [["phone", "name", "city"], ["+380501234567", '\'=HYPERLINK("x")', "'@evil"]]

    rows = _csv(admin_client.get(reverse("contacts:contact-export"), {"name": "tar"}))
    assert rows == [["phone", "name", "city"], ["+380671112233", "Taras", ""]]


def test_list_lifecycle_through_the_pages(admin_client):
    response = admin_client.post(reverse("contacts:list-new"), {"name": "Kyiv customers"})
    contact_list = ContactList.objects.get()
    assert response.status_code == 302
    response = admin_client.post(reverse("contacts:list-new"), {"name": "kyiv CUSTOMERS"})
    assert "already exists" in response.content.decode()

    admin_client.post(reverse("contacts:list-edit", args=[contact_list.id]), {"name": "Kyiv"})
    admin_client.post(reverse("contacts:list-archive", args=[contact_list.id]))
    contact_list.refresh_from_db()
    assert contact_list.name == "Kyiv" and contact_list.is_archived

    services.contact_create(phone="380501234567", list_ids=[contact_list.id])
    confirm = admin_client.get(reverse("contacts:list-delete", args=[contact_list.id]))
    assert "<strong>1</strong> memberships" in confirm.content.decode()
    admin_client.post(reverse("contacts:list-delete", args=[contact_list.id]))
    assert not ContactList.objects.exists() and Contact.objects.count() == 1


def test_linking_a_list_picks_from_the_bsg_groups(admin_client, bsg_settings, sandbox):
    group = sandbox.state.store.create_group("Spring sale", None, False, 0.0)
    first = services.contact_list_create(name="First")
    second = services.contact_list_create(name="Second")
    url = reverse("contacts:list-link", args=[first.id])
    assert "Spring sale" in admin_client.get(url).content.decode()
    assert admin_client.post(url, {"group_id": group.id}).status_code == 302

    response = admin_client.post(
        reverse("contacts:list-link", args=[second.id]), {"group_id": group.id}
    )
    assert "already linked to “First”" in response.content.decode()
    assert ContactList.objects.get(pk=second.id).bsg_group_id is None


def test_the_link_page_says_plainly_when_bsg_cannot_be_reached(admin_client, settings):
    settings.BSG_API_URL = "http://127.0.0.1:9"
    settings.BSG_API_KEY = "key"
    contact_list = services.contact_list_create(name="Offline")
    response = admin_client.get(reverse("contacts:list-link", args=[contact_list.id]))
    assert response.status_code == 200
    assert "Could not read your BSG lists" in response.content.decode()


def test_the_push_panel_polls_only_while_the_push_can_change(admin_client):
    contact_list = services.contact_list_create(name="Pushing")
    ContactList.objects.filter(pk=contact_list.id).update(
        push_status="running", push_total=400, push_done=200
    )
    url = reverse("contacts:list-push-status", args=[contact_list.id])
    html = admin_client.get(url).content.decode()
    assert "hx-trigger" in html and "200 of 400" in html and 'value="50"' in html
    ContactList.objects.filter(pk=contact_list.id).update(push_status="done", push_done=400)
    html = admin_client.get(url).content.decode()
    assert "hx-trigger" not in html and "Pushed to BSG" in html


def test_the_push_panel_says_the_list_is_linked_once_the_push_made_its_group(admin_client):
    """The push creates the BSG group and links the list to it while the page polls: the panel
    it polls is the whole BSG section, which must not go on saying "Not linked"."""
    contact_list = services.contact_list_create(name="Pushing")
    ContactList.objects.filter(pk=contact_list.id).update(push_status="running", push_total=4)
    url = reverse("contacts:list-push-status", args=[contact_list.id])
    assert "Not linked" in admin_client.get(url).content.decode()
    ContactList.objects.filter(pk=contact_list.id).update(
        push_status="done", push_done=4, bsg_group_id=77, push_finished_at=timezone.now()
    )
    html = admin_client.get(url).content.decode()
    assert "Pushed to BSG" in html and "Linked to BSG contact book <strong>77</strong>" in html
    assert "Not linked" not in html and "Link to an existing BSG list" not in html
    assert "Push new members to BSG" in html


def test_fields_pages_create_link_and_delete(admin_client, bsg_settings):
    from config.bsg import bsg_client

    with bsg_client() as client:
        bsg_city = client.field_create(name="City", type="text")
    page = admin_client.get(reverse("contacts:field-new")).content.decode()
    assert f"{{{bsg_city.id}}}" in page
    response = admin_client.post(
        reverse("contacts:field-new"),
        {"key": "city", "label": "City", "bsg_field_id": bsg_city.id},
    )
    assert response.status_code == 302
    assert ContactField.objects.get().bsg_field_id == bsg_city.id

    response = admin_client.post(reverse("contacts:field-new"), {"key": "First Name", "label": "x"})
    assert "lowercase letters" in response.content.decode()

    response = admin_client.post(
        reverse("contacts:field-new-in-bsg"),
        {"bsg-key": "order_no", "bsg-label": "Order number", "bsg-bsg_type": "number"},
    )
    assert response.status_code == 302
    order_no = ContactField.objects.get(key="order_no")
    with bsg_client() as client:
        assert order_no.bsg_field_id in {f.id for f in client.fields_list()}

    field = ContactField.objects.get(key="city")
    admin_client.post(reverse("contacts:field-delete", args=[field.id]))
    assert not ContactField.objects.filter(key="city").exists()


def test_do_not_contact_add_search_export_and_remove(admin_client, admin_user):
    url = reverse("contacts:dnc-index")
    response = admin_client.post(url, {"phone": "not a phone", "reason": "asked"})
    assert "Not a phone number we can send to" in response.content.decode()
    assert 'value="asked"' in response.content.decode()
    admin_client.post(url, {"phone": "+380 50 123 45 67", "reason": "=asked"})
    admin_client.post(url, {"phone": "0501234567", "reason": "again"})
    entry = DoNotContact.objects.get()
    assert entry.created_by == admin_user and entry.reason == "=asked"

    page = admin_client.get(url, {"phone": "+38050"}).context["page"]
    assert [e.phone for e in page.items] == ["380501234567"]
    rows = _csv(admin_client.get(reverse("contacts:dnc-export")))
    assert rows[1][:3] == ["+380501234567", "'=asked", "manual"]

    admin_client.post(reverse("contacts:dnc-remove", args=[entry.id]))
    assert not DoNotContact.objects.exists()


def test_search_results_page_by_cursor_too(admin_client):
    _many(120)
    url = reverse("contacts:contact-index")
    seen = []
    params = {"name": "person", "phone": "+38050"}
    page = admin_client.get(url, params).context["page"]
    while True:
        seen += [c.pk for c in page.items]
        if page.next_after is None:
            break
        page = admin_client.get(url, {**params, "after": page.next_after}).context["page"]
    assert len(set(seen)) == 120 and seen == sorted(seen, reverse=True)
    back = admin_client.get(url, {**params, "before": seen[50]}).context["page"]
    assert [c.pk for c in back.items] == seen[:50]


@pytest.mark.parametrize("cursor", ["yesterday", "-5", "9" * 25])
def test_a_hand_edited_page_link_shows_the_first_page_with_a_reason(admin_client, cursor):
    spring = ContactList.objects.create(name="Spring")
    _many(60, spring)
    DoNotContact.objects.bulk_create(DoNotContact(phone=f"38067{i:07d}") for i in range(60))
    for url, params in (
        (reverse("contacts:contact-index"), {"name": "person", "after": cursor}),
        (reverse("contacts:list-detail", args=[spring.pk]), {"after": cursor}),
        (reverse("contacts:dnc-index"), {"source": "manual", "before": cursor}),
    ):
        response = admin_client.get(url, params)
        assert response.status_code == 200, url
        page = response.context["page"]
        assert len(page.items) == 50 and page.prev_before is None, url
        assert "That page link is not valid" in response.content.decode(), url
    # The filters still apply beside the bad link.
    response = admin_client.get(
        reverse("contacts:contact-index"), {"phone": "+380500000001", "after": cursor}
    )
    assert [c.phone for c in response.context["page"].items] == ["380500000001"]


def test_list_members_and_do_not_contact_page_by_cursor(admin_client):
    spring = ContactList.objects.create(name="Spring")
    _many(70, spring)
    DoNotContact.objects.bulk_create(DoNotContact(phone=f"38067{i:07d}") for i in range(70))
    for url in (reverse("contacts:list-detail", args=[spring.pk]), reverse("contacts:dnc-index")):
        first = admin_client.get(url)
        body = first.content.decode()
        assert first.context["previous_query"] == "" and 'rel="next"' in body
        second = admin_client.get(url + "?" + first.context["next_query"]).context["page"]
        assert len(second.items) == 20 and second.next_after is None
        seen = [row.pk for row in first.context["page"].items + second.items]
        assert len(set(seen)) == 70 and seen == sorted(seen, reverse=True)


def test_list_links_and_buttons_read_their_values_through_forms(admin_client):
    spring = ContactList.objects.create(name="Spring")
    index = reverse("contacts:list-index")
    assert admin_client.get(index, {"archived": "yes please"}).status_code == 200
    assert admin_client.get(index, {"archived": "1"}).context["archived"] is True
    archive = reverse("contacts:list-archive", args=[spring.pk])
    response = admin_client.post(archive, {"archive": "perhaps"}, follow=True)
    assert "Select a valid choice" in response.content.decode()
    spring.refresh_from_db()
    assert not spring.is_archived
    admin_client.post(archive)
    spring.refresh_from_db()
    assert spring.is_archived
    admin_client.post(archive, {"archive": "0"})
    spring.refresh_from_db()
    assert not spring.is_archived
    new = reverse("contacts:contact-new")
    assert admin_client.get(new, {"list": "Spring"}).status_code == 200
    ticked = admin_client.get(new, {"list": spring.pk}).context["form"]
    assert ticked.initial["lists"] == [spring.pk]
