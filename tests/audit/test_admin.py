"""Django admin for superusers: every screen answers with data present, the campaign actions do
what they say, phone search reads numbers as people type them, and the audit log is read-only."""

import pytest
from django.contrib import admin
from django.contrib.contenttypes.models import ContentType
from django.contrib.messages import get_messages
from django.urls import reverse
from django_celery_beat.models import PeriodicTask

from audit.models import AuditEntry
from campaigns.models import Campaign, CampaignPart, CampaignSnapshot
from contacts.models import Contact, ContactList, DoNotContact, ListMemberCount, ListMembership
from tests.audit.admin_pages import admin_data, admin_urls, submitted_campaign
from tests.engine.conftest import numbers, ready_campaign

pytestmark = pytest.mark.django_db


def _messages(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def test_every_admin_screen_answers_for_a_superuser_with_data(
    admin_client_in, superuser, bsg_settings
):
    admin_data(superuser)
    seen = 0
    for url in admin_urls():
        response = admin_client_in.get(url)
        # Add forms of read-only models refuse (403); nothing may fail.
        assert response.status_code in (200, 403), url
        seen += response.status_code == 200
    assert seen > 30


def test_django_celery_beat_keeps_its_admin():
    assert PeriodicTask in admin.site._registry


def test_a_non_superuser_is_kept_out_of_admin(client, user):
    client.force_login(user)
    response = client.get(reverse("admin:campaigns_campaign_changelist"))
    assert response.status_code == 302 and "/login/" in response["Location"]


def _act(client, action: str, *campaigns: Campaign):
    return client.post(
        reverse("admin:campaigns_campaign_changelist"),
        {"action": action, "_selected_action": [c.pk for c in campaigns]},
        follow=True,
    )


def test_stop_stops_each_campaign_and_says_so_for_each(admin_client_in, superuser, bsg_settings):
    sending = submitted_campaign(pasted_numbers=numbers(3))
    finished = ready_campaign(name="Old", status=Campaign.Status.FINISHED)
    response = _act(admin_client_in, "stop_campaigns", sending, finished)
    assert response.status_code == 200
    sending.refresh_from_db()
    assert sending.status == Campaign.Status.STOPPED and sending.stopped_by == superuser
    said = _messages(response)
    assert any("Spring sale" in m and "stopped at BSG" in m for m in said)
    assert any("Old" in m and "nothing left to stop" in m for m in said)
    assert AuditEntry.objects.get(action="campaign-stop").actor == superuser


def test_refresh_now_polls_the_selected_campaigns(admin_client_in, bsg_settings):
    sending = submitted_campaign(pasted_numbers=numbers(3))
    other = submitted_campaign(name="Other", pasted_numbers=numbers(2, start=10))
    draft = Campaign.objects.create(name="Draft")
    response = _act(admin_client_in, "refresh_campaigns", sending, draft)
    part = CampaignPart.objects.get(campaign=sending)
    assert part.last_polled_at is not None and part.bsg_status
    assert CampaignSnapshot.objects.filter(campaign=sending).exists()
    # Only the selected ones.
    assert CampaignPart.objects.get(campaign=other).last_polled_at is None
    said = _messages(response)
    assert any("Spring sale" in m and "1 part refreshed" in m for m in said)
    assert any("Draft" in m and "nothing to refresh" in m for m in said)


def test_duplicate_as_draft_makes_one_draft_per_campaign(admin_client_in, superuser):
    first = ready_campaign(name="First", status=Campaign.Status.FINISHED)
    second = ready_campaign(name="Second", status=Campaign.Status.STOPPED)
    response = _act(admin_client_in, "duplicate_campaigns", first, second)
    copies = Campaign.objects.filter(duplicated_from__isnull=False).order_by("pk")
    assert [(c.name, c.status, c.duplicated_from_id, c.created_by) for c in copies] == [
        ("Copy of First", "draft", first.pk, superuser),
        ("Copy of Second", "draft", second.pk, superuser),
    ]
    assert len([m for m in _messages(response) if "duplicated as draft" in m]) == 2


def test_bsg_fields_and_a_sent_campaigns_content_are_read_only(admin_client_in):
    sending = ready_campaign(status=Campaign.Status.SENDING, unit_price="0.0123")
    draft = Campaign.objects.create(name="Draft", text="Hi")
    model_admin = admin.site._registry[Campaign]
    request = admin_client_in.get("/").wsgi_request
    for name in ("status", "unit_price", "created_elsewhere", "stopped_by", "approved_by"):
        assert name in model_admin.get_readonly_fields(request, draft)
    assert "text" not in model_admin.get_readonly_fields(request, draft)
    # A campaign that left the draft state is view-only.
    url = reverse("admin:campaigns_campaign_change", args=[sending.pk])
    assert admin_client_in.get(url).status_code == 200
    assert admin_client_in.post(url, {"name": "Renamed", "text": "x"}).status_code == 403
    assert Campaign.objects.get(pk=sending.pk).name == "Spring sale"
    part_inline, event_inline = model_admin.inlines
    assert not part_inline(Campaign, admin.site).has_change_permission(request, sending)
    assert not event_inline(Campaign, admin.site).has_add_permission(request, sending)


def test_an_admin_edit_of_a_draft_is_saved_like_the_composers(admin_client_in, superuser):
    draft = Campaign.objects.create(name="Draft", text="Hi", sender="Shop")
    url = reverse("admin:campaigns_campaign_change", args=[draft.pk])
    form = admin_client_in.get(url).context["adminform"].form
    data = {k: v for k, v in form.initial.items() if v is not None and k != "lists"}
    data.update(
        {
            "text": "Hello",
            "rcs_cards": "[]",
            "parts-TOTAL_FORMS": 0,
            "parts-INITIAL_FORMS": 0,
            "events-TOTAL_FORMS": 0,
            "events-INITIAL_FORMS": 0,
        }
    )
    response = admin_client_in.post(url, data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    # Through campaigns.services.campaign_save: one entry, the composer's.
    entry = AuditEntry.objects.get()
    assert (entry.action, entry.actor) == ("campaign-update", superuser)
    assert entry.changes == {"text": ["Hi", "Hello"]}


@pytest.mark.parametrize("typed", ["+380 50 111 1111", "050 111", "380501", "(050) 111-11"])
def test_contact_search_reads_the_phone_as_typed(admin_client_in, typed):
    olena = Contact.objects.create(phone="380501111111", name="Olena")
    Contact.objects.create(phone="380672222222", name="Ivan")
    response = admin_client_in.get(reverse("admin:contacts_contact_changelist"), {"q": typed})
    assert list(response.context["cl"].result_list) == [olena]


def test_contact_search_by_name_still_works(admin_client_in):
    Contact.objects.create(phone="380501111111", name="Olena")
    response = admin_client_in.get(reverse("admin:contacts_contact_changelist"), {"q": "olen"})
    assert [c.name for c in response.context["cl"].result_list] == ["Olena"]


def test_do_not_contact_search_reads_the_phone_as_typed(admin_client_in):
    DoNotContact.objects.create(phone="380504444444")
    url = reverse("admin:contacts_donotcontact_changelist")
    response = admin_client_in.get(url, {"q": "+380 (50) 444-44-44"})
    assert [e.phone for e in response.context["cl"].result_list] == ["380504444444"]


def test_the_audit_log_is_read_only_in_admin(admin_client_in, superuser):
    entry = AuditEntry.objects.create(
        action="x",
        target_content_type=ContentType.objects.get_for_model(Campaign),
        target_object_id="1",
        target_repr="Campaign 1",
        actor=superuser,
        actor_name="root",
    )
    changelist = reverse("admin:audit_auditentry_changelist")
    response = admin_client_in.get(changelist, {"q": "Campaign 1"})
    assert response.status_code == 200 and list(response.context["cl"].result_list) == [entry]
    assert admin_client_in.get(changelist, {"action__exact": "x"}).status_code == 200
    change = reverse("admin:audit_auditentry_change", args=[entry.pk])
    assert admin_client_in.get(change).status_code == 200  # viewing is allowed
    assert admin_client_in.post(change, {"message": "rewritten"}).status_code == 403
    assert admin_client_in.get(reverse("admin:audit_auditentry_add")).status_code == 403
    delete = reverse("admin:audit_auditentry_delete", args=[entry.pk])
    assert admin_client_in.post(delete, {"post": "yes"}).status_code == 403
    assert AuditEntry.objects.get(pk=entry.pk).message == ""


def test_an_admin_add_with_lists_is_one_entry_naming_them(admin_client_in, superuser):
    spring = ContactList.objects.create(name="Spring")
    vip = ContactList.objects.create(name="VIP")
    response = admin_client_in.post(
        reverse("admin:contacts_contact_add"),
        {"phone": "380501111111", "name": "Olena", "fields": "{}", "lists": [vip.pk, spring.pk]},
    )
    assert response.status_code == 302, response.context["adminform"].form.errors
    entry = AuditEntry.objects.get()
    assert (entry.action, entry.actor) == ("admin-add", superuser)
    assert entry.changes["phone"] == [None, "380501111111"]
    assert entry.changes["lists"] == [None, ["Spring", "VIP"]]
    contact = Contact.objects.get(phone="380501111111")
    assert set(contact.lists.all()) == {spring, vip}


def test_the_contacts_admin_form_shows_and_changes_its_lists(admin_client_in, superuser):
    spring = ContactList.objects.create(name="Spring")
    vip = ContactList.objects.create(name="VIP")
    contact = Contact.objects.create(phone="380501111111", name="Olena")
    ListMembership.objects.create(contact=contact, contact_list=spring)
    change = reverse("admin:contacts_contact_change", args=[contact.pk])
    form = admin_client_in.get(change).context["adminform"].form
    assert [each.pk for each in form.initial["lists"]] == [spring.pk]

    response = admin_client_in.post(
        change, {"phone": "380501111111", "name": "Olena", "fields": "{}", "lists": [vip.pk]}
    )
    assert response.status_code == 302, response.context["adminform"].form.errors
    assert list(contact.lists.all()) == [vip]
    entry = AuditEntry.objects.get(action="admin-change")
    assert entry.changes == {"lists": [["Spring"], ["VIP"]]}
    assert dict(ListMemberCount.objects.values_list("contact_list__name", "members")) == {
        "Spring": 0,
        "VIP": 1,
    }


def _changelist_queries(client, url: str) -> int:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200
    return len(queries)


def _rows(count: int, start: int, user) -> None:
    from audit.services import audit_record

    for i in range(start, start + count):
        campaign = Campaign.objects.create(name=f"C{i}", text="Hi", sender="Shop", created_by=user)
        CampaignPart.objects.create(campaign=campaign, number=1, sent=3, delivered=2)
        contact = Contact.objects.create(phone=f"38050{1000000 + i}", name=f"N{i}")
        DoNotContact.objects.create(phone=f"38067{1000000 + i}", created_by=user)
        audit_record(action="campaign-update", target=campaign, actor=user)
        audit_record(action="contact-create", target=contact, actor=user)


@pytest.mark.parametrize(
    "model",
    ["campaigns_campaign", "contacts_contact", "contacts_donotcontact", "audit_auditentry"],
)
def test_admin_changelists_cost_the_same_queries_for_3_or_100_rows(
    admin_client_in, superuser, model
):
    url = reverse(f"admin:{model}_changelist")
    _rows(3, 0, superuser)
    few = _changelist_queries(admin_client_in, url)
    _rows(97, 3, superuser)
    assert _changelist_queries(admin_client_in, url) == few
