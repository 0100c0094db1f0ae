"""After a campaign: send again to the recipients who failed, and stop messaging those who
fail campaign after campaign."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from audit.services import audit_record
from contacts.models import DoNotContact

from .. import selectors
from ..models import FAILED_MESSAGE_STATUSES, Campaign, CampaignEvent, Recipient
from ..stored_text import (
    DELIVERY_FAILED_IN,
    FAILURES_TO_DO_NOT_CONTACT,
    RETRY_OF,
    RETRY_OF_AUDIT,
)
from .enqueue import campaign_enqueue_dispatch
from .events import event_and_audit_record, event_record, person_or_none

Status = Campaign.Status


def campaign_retry_failed(*, campaign_id: int, user: Any = None) -> Campaign:
    """A new draft that sends each undelivered, expired or failed recipient the text it was
    meant to get (through send-individual)."""
    original = Campaign.objects.get(pk=campaign_id)
    if not original.can_retry_failed:
        raise ValidationError(
            _(
                "Only an SMS campaign sent from here that has finished or stopped can retry its "
                "failed recipients."
            )
        )
    failed = Recipient.objects.filter(campaign_id=campaign_id, status__in=FAILED_MESSAGE_STATUSES)
    if not failed.exists():
        raise ValidationError(_("No recipient of this campaign is known to have failed."))
    if not original.is_sms:
        raise ValidationError(_("Retrying failed recipients is for SMS campaigns."))
    with transaction.atomic():
        retry = Campaign.objects.create(
            # A name, which its people may change: in the language of whoever asked.
            name=(_("Retry of %(name)s") % {"name": original.name})[:200],
            channel=original.channel,
            sms_mode=Campaign.SmsMode.INDIVIDUAL,
            text=original.text,
            sender=original.sender,
            validity_hours=original.validity_hours,
            tariff_code=original.tariff_code,
            retry_of=original,
            status=Status.READY,
            send_requested_at=timezone.now(),
            send_requested_by=person_or_none(user),
            created_by=person_or_none(user),
        )
        event_record(
            retry.pk,
            CampaignEvent.Kind.SEND_REQUESTED,
            RETRY_OF.stored(name=original.name),
            user=user,
        )
        audit_record(
            action="campaign-retry-failed",
            target=retry,
            message=RETRY_OF_AUDIT.stored(name=original.name, id=original.pk),
            actor=user,
        )
        campaign_enqueue_dispatch(campaign_id=retry.pk)
    return retry


def do_not_contact_add_repeated_failures(
    *, campaign_id: int, user: Any = None, min_campaigns: int | None = None
) -> int:
    """Put this campaign's repeatedly failing recipients on do-not-contact (source
    delivery_failures); returns how many were added."""
    if not Campaign.objects.get(pk=campaign_id).can_add_failures_to_do_not_contact:
        raise ValidationError(_("Wait until the campaign has stopped sending."))
    failing = selectors.repeated_failures(campaign_id=campaign_id, min_campaigns=min_campaigns)
    if not failing:
        raise ValidationError(
            _("No recipient of this campaign has failed in %(count)s or more campaigns.")
            % {"count": min_campaigns or settings.ENGINE_DNC_AFTER_FAILURES}
        )
    who = person_or_none(user)
    with transaction.atomic():
        created = DoNotContact.objects.bulk_create(
            [
                DoNotContact(
                    phone=phone,
                    source=DoNotContact.Source.DELIVERY_FAILURES,
                    reason=DELIVERY_FAILED_IN.stored(count=count, id=campaign_id),
                    created_by=who,
                )
                for phone, count in failing.items()
            ],
            ignore_conflicts=True,
        )
        # One audit entry for the batch, on the campaign, never one per number.
        event_and_audit_record(
            campaign_id,
            CampaignEvent.Kind.DO_NOT_CONTACT,
            FAILURES_TO_DO_NOT_CONTACT.stored(count=len(created)),
            action="do-not-contact-add-failures",
            user=user,
        )
    return len(created)
