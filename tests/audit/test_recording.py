"""One audit entry per action, with the right changes, from every service that changes
campaigns, lists, fields, contacts and do-not-contact."""

import time
from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from audit.models import AuditEntry
from campaigns import services, stored_text
from campaigns.engine import dispatch, followup, poll, resume, stop
from campaigns.models import Campaign, CampaignPart, Recipient
from contacts import services as contacts
from contacts.models import Contact, ContactField, ContactList, DoNotContact
from tests.audit.admin_pages import submitted_campaign
from tests.contacts.test_import_engine import run_import, write
from tests.engine.conftest import numbers, ready_campaign

pytestmark = pytest.mark.django_db


def only_entry(**filters) -> AuditEntry:
    entries = list(AuditEntry.objects.filter(**filters))
    assert len(entries) == 1, [(e.action, e.target_repr) for e in entries]
    return entries[0]


def entries_of(obj) -> list[tuple[str, dict]]:
    return [
        (e.action, e.changes)
        for e in AuditEntry.objects.filter(target_object_id=str(obj.pk)).order_by("id")
        if e.target_content_type.model_class() is type(obj)
    ]


@pytest.fixture
def spring(db):
    return ContactList.objects.create(name="Spring")


# --- campaigns ---------------------------------------------------------------------------------


def draft(**overrides) -> Campaign:
    values = {
        "name": "Spring sale",
        "channel": Campaign.Channel.SMS,
        "sms_mode": Campaign.SmsMode.NUMBERS,
        "text": "20% off today",
        "sender": "Shop",
    }
    values.update(overrides)
    return Campaign(**values)


def test_saving_a_new_draft_records_what_it_was_created_with(user, spring):
    campaign = services.campaign_save(campaign=draft(), list_ids=[spring.pk], user=user)
    entry = only_entry(action="campaign-create")
    assert entry.actor == user and entry.target_object_id == str(campaign.pk)
    assert entry.changes["name"] == [None, "Spring sale"]
    assert entry.changes["lists"] == [None, ["Spring"]]
    assert "fallback_text" not in entry.changes  # empty fields are left out


def test_editing_a_draft_records_only_the_fields_that_changed(user, spring):
    campaign = services.campaign_save(campaign=draft(), list_ids=[], user=user)
    vip = ContactList.objects.create(name="VIP")
    campaign = Campaign.objects.get(pk=campaign.pk)
    campaign.text = "30% off today"
    campaign.start_at = timezone.now().replace(microsecond=0) + timedelta(days=1)
    campaign.pasted_numbers = numbers(3)
    services.campaign_save(campaign=campaign, list_ids=[spring.pk, vip.pk], user=user)
    entry = only_entry(action="campaign-update")
    assert entry.changes == {
        "text": ["20% off today", "30% off today"],
        "start_at": [None, campaign.start_at.isoformat()],
        "lists": [[], ["Spring", "VIP"]],
        "pasted_numbers": ["", "3 numbers"],
    }
    # Saving it again unchanged is no change.
    services.campaign_save(
        campaign=Campaign.objects.get(pk=campaign.pk), list_ids=[spring.pk, vip.pk], user=user
    )
    assert AuditEntry.objects.filter(action="campaign-update").count() == 1


def test_duplicating_records_one_entry_on_the_copy(user):
    original = services.campaign_save(campaign=draft(), list_ids=[], user=user)
    copy = services.campaign_duplicate(campaign_id=original.pk, user=user)
    entry = only_entry(action="campaign-duplicate")
    assert entry.target_object_id == str(copy.pk)
    assert f"#{original.pk}" in entry.message


def test_asking_to_send_and_unscheduling_record_the_status_moves(user):
    campaign = services.campaign_save(
        campaign=draft(pasted_numbers=numbers(2)), list_ids=[], user=user
    )
    when = timezone.now().replace(microsecond=0) + timedelta(days=2)
    services.campaign_request_send(
        campaign_id=campaign.pk, user=user, when=when, require_fresh_plan=False
    )
    entry = only_entry(action="campaign-request-send")
    assert entry.changes == {"status": ["draft", "scheduled"], "start_at": [None, when.isoformat()]}
    services.campaign_unschedule(campaign_id=campaign.pk)
    assert only_entry(action="campaign-unschedule").changes == {"status": ["scheduled", "draft"]}


def test_a_refused_send_records_nothing(user):
    campaign = services.campaign_save(campaign=draft(text=""), list_ids=[], user=user)
    with pytest.raises(ValidationError):
        services.campaign_request_send(
            campaign_id=campaign.pk, user=user, when=None, require_fresh_plan=False
        )
    assert not AuditEntry.objects.filter(action="campaign-request-send").exists()


def test_a_test_send_is_recorded(user, bsg_settings, team_test_phone):
    campaign = services.campaign_save(campaign=draft(), list_ids=[], user=user)
    services.campaign_test_send(
        campaign_id=campaign.pk, phone="+380 50 999 9999", contact_id=None, user=user
    )
    entry = only_entry(action="campaign-test-send")
    # Stored as BSG knows the number, so the log can be searched by it; said formatted.
    assert entry.actor == user and "Test send to +380509999999: " in entry.message
    assert stored_text.shown(entry.message).startswith("Test send to +380 50 999 9999: ")


def test_stopping_a_campaign_before_it_went_is_recorded(user):
    campaign = ready_campaign()
    stop.campaign_stop(campaign_id=campaign.pk, user=user)
    entry = only_entry(action="campaign-stop")
    assert entry.actor == user
    assert entry.changes == {"status": ["ready", "cancelled"]}


def test_a_refused_stop_records_nothing(user):
    campaign = ready_campaign(status=Campaign.Status.FINISHED)
    with pytest.raises(ValidationError):
        stop.campaign_stop(campaign_id=campaign.pk, user=user)
    assert not AuditEntry.objects.exists()


def _sending_with_held_part() -> tuple[Campaign, CampaignPart]:
    campaign = ready_campaign(status=Campaign.Status.SENDING)
    part = CampaignPart.objects.create(
        campaign=campaign, number=1, state=CampaignPart.State.HELD, recipients=3
    )
    return campaign, part


def test_resuming_a_part_is_recorded(user):
    campaign, part = _sending_with_held_part()
    assert resume.part_resume(part_id=part.pk, user=user)
    entry = only_entry(action="part-resume")
    assert entry.target_object_id == str(campaign.pk)
    assert campaign.events.get(kind="retry").message == "Batch 1 resumed."
    assert entry.changes == {"part 1": ["held", "resumed"]}


def test_resuming_a_held_campaign_is_recorded(user):
    campaign, _part = _sending_with_held_part()
    assert resume.campaign_resume(campaign_id=campaign.pk, user=user) == 1
    entry = only_entry(action="campaign-resume")
    assert entry.actor == user and entry.target_object_id == str(campaign.pk)
    assert campaign.events.get(kind="resumed").message == "Resumed: 1 held batch will be sent."
    assert entry.message == "1 held batch will be sent; the failure-rate hold is overridden."


def test_retrying_failed_recipients_is_recorded_on_the_new_campaign(user):
    campaign = ready_campaign(status=Campaign.Status.FINISHED)
    part = CampaignPart.objects.create(campaign=campaign, number=1, recipients=1)
    Recipient.objects.create(
        campaign=campaign,
        part=part,
        seq=1,
        phone="380507000000",
        reference_id="r1",
        text="20% off today",
        status="undelivered",
    )
    retry = followup.campaign_retry_failed(campaign_id=campaign.pk, user=user)
    entry = only_entry(action="campaign-retry-failed")
    assert entry.target_object_id == str(retry.pk) and f"#{campaign.pk}" in entry.message


# --- lists -------------------------------------------------------------------------------------


def test_every_list_action_records_one_entry(spring):
    created = contacts.contact_list_create(name="Autumn", description="Q4")
    contacts.contact_list_update(list_id=created.pk, name="Autumn 2026", description="Q4")
    contacts.contact_list_update(list_id=created.pk, name="Autumn 2026", description="Q4")
    contacts.contact_list_archive(list_id=created.pk)
    contacts.contact_list_archive(list_id=created.pk)  # already archived: no change
    contacts.contact_list_unarchive(list_id=created.pk)
    contacts.contact_list_link_group(list_id=created.pk, group_id=4242)
    contacts.contact_list_unlink_group(list_id=created.pk)
    # The push task is queued on commit, which a test transaction never reaches.
    assert contacts.contact_list_push_start(list_id=created.pk)
    person = contacts.contact_create(phone="380501111111")
    contacts.contacts_add_to_list(contact_ids=[person.pk], list_id=created.pk)
    contacts.contacts_add_to_list(contact_ids=[person.pk], list_id=created.pk)  # nothing new
    list_id = created.pk
    ContactList.objects.filter(pk=list_id).update(push_status=ContactList.PushStatus.DONE)
    contacts.contact_list_delete(list_id=list_id)
    assert entries_of(ContactList(pk=list_id)) == [
        ("list-create", {"name": [None, "Autumn"], "description": [None, "Q4"]}),
        ("list-update", {"name": ["Autumn", "Autumn 2026"]}),
        ("list-archive", {}),
        ("list-unarchive", {}),
        ("list-link", {"bsg_group_id": [None, 4242]}),
        ("list-unlink", {"bsg_group_id": [4242, None]}),
        ("list-push-start", {}),
        ("list-add-contacts", {}),
        ("list-delete", {}),
    ]
    assert "1 membership" in AuditEntry.objects.get(action="list-delete").message
    assert AuditEntry.objects.get(action="list-delete").target_repr == "Autumn 2026"


# --- fields and contacts ------------------------------------------------------------------------


def test_field_actions_are_recorded():
    field = contacts.contact_field_create(key="city", label="City")
    contacts.contact_field_update(field_id=field.pk, label="Town", bsg_field_id=77)
    contacts.contact_field_delete(field_id=field.pk)
    assert entries_of(ContactField(pk=field.pk)) == [
        ("field-create", {"key": [None, "city"], "label": [None, "City"]}),
        ("field-update", {"label": ["City", "Town"], "bsg_field_id": [None, 77]}),
        ("field-delete", {}),
    ]


def test_contact_actions_are_recorded_once_each(spring):
    person = contacts.contact_create(
        phone="380501111111", name="Olena", fields={"city": "Kyiv"}, list_ids=[spring.pk]
    )
    contacts.contact_update(
        contact_id=person.pk,
        phone="380501111111",
        name="Olena K",
        fields={"city": "Kyiv"},
        list_ids=[],
    )
    contacts.contact_delete(contact_id=person.pk)
    assert entries_of(Contact(pk=person.pk)) == [
        (
            "contact-create",
            {
                "phone": [None, "380501111111"],
                "name": [None, "Olena"],
                "fields": [None, {"city": "Kyiv"}],
                "lists": [None, ["Spring"]],
            },
        ),
        ("contact-update", {"name": ["Olena", "Olena K"], "lists": [["Spring"], []]}),
        ("contact-delete", {}),
    ]


def test_do_not_contact_add_and_remove_are_recorded():
    entry, created = contacts.do_not_contact_add(phone="380501234567", reason="asked")
    assert created
    contacts.do_not_contact_add(phone="380501234567")  # already there: no entry
    contacts.do_not_contact_remove(entry_id=entry.pk)
    assert entries_of(DoNotContact(pk=entry.pk)) == [
        ("do-not-contact-add", {}),
        ("do-not-contact-remove", {}),
    ]


# --- imports -----------------------------------------------------------------------------------


@pytest.fixture
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.CONTACTS_DEFAULT_REGION = "UA"


def test_an_import_is_one_entry_on_its_list_whatever_its_size(_media, tmp_path, user):
    rows = "\n".join(f"+38050{7000000 + i},Name {i}" for i in range(300))
    path = write(tmp_path, "people.csv", "phone,name\n" + rows + "\n")
    contact_import = run_import(path, created_by_id=user.pk)
    assert contact_import.status == "done", contact_import.error
    entry = only_entry()  # no contact-create per row
    assert entry.action == "import-applied"
    assert entry.target_repr == "Customers" and entry.actor == user
    assert "300 created" in entry.message and "300 added to the list" in entry.message


def test_an_opt_out_import_is_one_do_not_contact_entry(_media, tmp_path):
    path = write(tmp_path, "optouts.csv", "phone\n+380501111111\n+380502222222\n")
    run_import(path, target="do_not_contact", list_id=None)
    entry = only_entry()
    assert entry.action == "do-not-contact-import" and "2 created" in entry.message


# --- the engine's own moves, as the system ------------------------------------------------------


def test_dispatch_and_finish_are_recorded_as_the_system(bsg_settings):
    campaign = submitted_campaign(pasted_numbers=numbers(2))
    dispatch = only_entry(action="campaign-dispatch")
    assert dispatch.actor_display == "system"
    assert dispatch.changes == {"status": ["ready", "sending"]}
    assert "2 recipients in 1 batch." in dispatch.message
    deadline = time.monotonic() + 15
    while Campaign.objects.get(pk=campaign.pk).status == Campaign.Status.SENDING:
        assert time.monotonic() < deadline, "the campaign never finished"
        poll.engine_poll()
        time.sleep(0.1)
    finish = only_entry(action="campaign-finish")
    assert finish.changes == {"status": ["sending", "finished"]}
    assert finish.actor is None


def test_a_dispatch_with_nobody_to_send_to_records_the_finish_it_went_to():
    DoNotContact.objects.create(phone="380507000000")
    campaign = ready_campaign(pasted_numbers=numbers(1))
    dispatch.campaign_dispatch(campaign_id=campaign.pk)
    assert only_entry(action="campaign-dispatch").changes == {"status": ["ready", "finished"]}
