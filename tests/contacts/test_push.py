"""Pushing a list to BSG, against the live sandbox."""

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse
from django.utils import timezone

from config.bsg import bsg_client
from contacts import services
from contacts.models import Contact, ContactList, DoNotContact, ListMembership
from contacts.tasks import contact_list_push_task

pytestmark = pytest.mark.django_db(transaction=True)


def _queued_list(name: str, count: int, **fields) -> ContactList:
    contact_list = services.contact_list_create(name=name)
    for i in range(count):
        services.contact_create(
            phone=f"38050{i:07d}",
            fields={k: f"{v}{i}" for k, v in fields.items()},
            list_ids=[contact_list.id],
        )
    ContactList.objects.filter(pk=contact_list.id).update(push_status=ContactList.PushStatus.QUEUED)
    return contact_list


def _group_members(sandbox, group_id: int) -> list[int]:
    return list(sandbox.state.store.groups[group_id].members)


def test_a_push_creates_the_group_and_contacts_with_their_bsg_field_values(bsg_settings, sandbox):
    with bsg_client() as client:
        city = client.field_create(name="City", type="text")
    services.contact_field_create(key="city", label="City", bsg_field_id=city.id)
    services.contact_field_create(key="note", label="Local only")
    contact_list = _queued_list("Kyiv customers", 450, city="Kyiv", note="n")
    DoNotContact.objects.create(phone="380500000007")
    progress: list[int] = []

    services.contact_list_push_run(list_id=contact_list.id, after_batch=progress.append)

    contact_list.refresh_from_db()
    assert contact_list.push_status == ContactList.PushStatus.DONE, contact_list.push_error
    assert contact_list.push_percent == 100
    assert progress == [200, 400, 449]  # batches of 200, the opted-out number left out
    group = sandbox.state.store.groups[contact_list.bsg_group_id]
    assert group.name == "Kyiv customers"
    assert len(group.members) == 449
    book = sandbox.state.store.contacts
    pushed = Contact.objects.get(phone="380500000003")
    assert book[pushed.bsg_contact_id].fields == {city.id: "Kyiv3"}
    assert not Contact.objects.get(phone="380500000007").bsg_contact_id
    attach_calls = sandbox.state.find_requests(path_prefix="/api/groups/attach")
    assert len(attach_calls) == 3


def test_a_second_push_creates_no_second_group_and_no_duplicate_contacts(bsg_settings, sandbox):
    contact_list = _queued_list("Newsletter", 30)
    services.contact_list_push_run(list_id=contact_list.id)
    group_id = ContactList.objects.get(pk=contact_list.id).bsg_group_id
    services.contact_create(phone="380509999999", list_ids=[contact_list.id])

    assert services.contact_list_push_start(list_id=contact_list.id)
    contact_list_push_task.run(contact_list.id)

    contact_list.refresh_from_db()
    assert contact_list.push_status == ContactList.PushStatus.DONE
    assert contact_list.bsg_group_id == group_id
    assert contact_list.push_total == 1  # only the new member went up
    assert len(sandbox.state.store.groups) == 1
    assert len(sandbox.state.store.contacts) == 31
    assert len(_group_members(sandbox, group_id)) == 31


def test_an_interrupted_push_resumes_where_it_stopped(bsg_settings, sandbox):
    contact_list = _queued_list("VIP", 50)

    def crash_after_first_batch(done: int) -> None:
        raise RuntimeError("worker lost")

    with pytest.raises(RuntimeError):
        services.contact_list_push_run(
            list_id=contact_list.id, batch_size=20, after_batch=crash_after_first_batch
        )
    contact_list.refresh_from_db()
    assert contact_list.push_status == ContactList.PushStatus.FAILED
    assert ListMembership.objects.filter(pushed_to_bsg_at__isnull=False).count() == 20

    assert services.contact_list_push_start(list_id=contact_list.id)
    services.contact_list_push_run(list_id=contact_list.id, batch_size=20)

    contact_list.refresh_from_db()
    assert contact_list.push_status == ContactList.PushStatus.DONE
    assert contact_list.push_total == 30
    assert len(sandbox.state.store.contacts) == 50
    assert len(_group_members(sandbox, contact_list.bsg_group_id)) == 50


def test_a_contact_already_in_the_bsg_book_is_found_not_duplicated(bsg_settings, sandbox):
    contact_list = _queued_list("Known", 3)
    # Added on BSG's side (or created by a push whose answer was lost).
    already = sandbox.state.store.create_contact(380500000001, {}, [], 0.0)

    services.contact_list_push_run(list_id=contact_list.id)

    assert Contact.objects.get(phone="380500000001").bsg_contact_id == already.id
    assert len(sandbox.state.store.contacts) == 3


def test_a_group_created_by_a_lost_answer_is_adopted(bsg_settings, sandbox):
    contact_list = _queued_list("Lost answer", 2)
    orphan = sandbox.state.store.create_group("Lost answer", None, False, 0.0)

    services.contact_list_push_run(list_id=contact_list.id)

    contact_list.refresh_from_db()
    assert contact_list.bsg_group_id == orphan.id
    assert len(sandbox.state.store.groups) == 1


def test_bsg_refusing_says_why_and_the_push_can_be_started_again(bsg_settings, sandbox):
    contact_list = _queued_list("Taken", 2)
    other = sandbox.state.store.create_group("Taken", None, False, 0.0)
    ContactList.objects.create(name="Other", bsg_group_id=other.id)

    services.contact_list_push_run(list_id=contact_list.id)

    contact_list.refresh_from_db()
    assert contact_list.push_status == ContactList.PushStatus.FAILED
    assert "Contact group is already exists" in contact_list.push_error
    assert services.contact_list_push_start(list_id=contact_list.id)


def test_only_one_push_of_a_list_runs_at_a_time(bsg_settings, sandbox):
    contact_list = _queued_list("Busy", 1)
    assert not services.contact_list_push_start(list_id=contact_list.id)  # already queued
    ContactList.objects.filter(pk=contact_list.id).update(push_status="running")
    services.contact_list_push_run(list_id=contact_list.id)  # not queued: does nothing
    assert sandbox.state.store.groups == {}


@pytest.mark.parametrize("status", [ContactList.PushStatus.QUEUED, ContactList.PushStatus.RUNNING])
def test_a_push_whose_worker_died_shows_failed_and_can_be_pushed_again(client, status):
    client.force_login(
        get_user_model().objects.create_user("pusher", password="a-long-pw-1", is_superuser=True)
    )
    contact_list = services.contact_list_create(name="Spring")
    ContactList.objects.filter(pk=contact_list.pk).update(
        push_status=status,
        push_done=300,
        push_total=450,
        push_heartbeat_at=timezone.now() - timedelta(minutes=20),
    )
    panel = client.get(reverse("contacts:list-push-status", args=[contact_list.pk]))
    body = panel.content.decode()
    assert "hx-trigger" not in body
    assert "stopped making progress after 300 of 450 contacts" in body
    assert "Push this list to BSG" in body
    assert services.contact_list_push_start(list_id=contact_list.pk)
    contact_list.refresh_from_db()
    assert contact_list.push_status == ContactList.PushStatus.QUEUED
    assert contact_list.push_in_progress
