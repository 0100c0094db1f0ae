"""Data for every admin screen, and the admin's every changelist, change form and add form."""

from collections.abc import Iterator

from django.contrib import admin
from django.urls import reverse
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from audit.services import audit_record
from campaigns.engine import dispatch, poll, submit
from campaigns.models import Campaign, CampaignPart, SavedSender, TestSend
from contacts.models import (
    Contact,
    ContactField,
    ContactImport,
    ContactList,
    DoNotContact,
    ListMembership,
)
from tests.engine.conftest import numbers, ready_campaign


def submitted_campaign(**overrides) -> Campaign:
    """A campaign the engine has sent to the sandbox (needs bsg_settings)."""
    campaign = ready_campaign(**overrides)
    for part_id in dispatch.campaign_dispatch(campaign_id=campaign.pk).part_ids:
        assert submit.part_submit(part_id=part_id).state == CampaignPart.State.SUBMITTED
    return Campaign.objects.get(pk=campaign.pk)


def admin_data(user) -> dict:
    """A row in every table the admin shows, BSG's figures included (needs bsg_settings)."""
    field = ContactField.objects.create(key="first_name", label="First name", bsg_field_id=17)
    spring = ContactList.objects.create(name="Spring", bsg_group_id=901)
    olena = Contact.objects.create(
        phone="380501111111", name="Olena", fields={"first_name": "Olena"}, bsg_contact_id=55
    )
    ListMembership.objects.create(contact_list=spring, contact=olena)
    opt_out = DoNotContact.objects.create(phone="380504444444", reason="asked", created_by=user)
    ContactImport.objects.create(original_name="people.csv", contact_list=spring, created_by=user)
    SavedSender.objects.create(name="Shop", sender="Shop")
    sending = submitted_campaign(pasted_numbers=numbers(3), created_by=user)
    poll.engine_poll()
    draft = Campaign.objects.create(name="Draft", text="Hi", sender="Shop", created_by=user)
    draft.lists.set([spring])
    TestSend.objects.create(campaign=draft, phone="380509999999", bsg_method="sms/send")
    every_minute = IntervalSchedule.objects.create(every=60, period=IntervalSchedule.SECONDS)
    PeriodicTask.objects.create(
        name="poll", task="campaigns.tasks.engine_poll", interval=every_minute
    )
    audit_record(action="list-create", target=spring, actor=user, changes={"name": [None, "S"]})
    return {
        "field": field,
        "list": spring,
        "contact": olena,
        "opt_out": opt_out,
        "sending": sending,
        "draft": draft,
    }


def admin_urls() -> Iterator[str]:
    """Every registered model's changelist, its first object's change form, and its add form."""
    for model in admin.site._registry:
        info = (model._meta.app_label, model._meta.model_name)
        yield reverse("admin:{}_{}_changelist".format(*info))
        first = model._default_manager.order_by("pk").first()
        if first is not None:
            yield reverse("admin:{}_{}_change".format(*info), args=[first.pk])
        yield reverse("admin:{}_{}_add".format(*info))
    yield reverse("admin:index")
