"""Four-eyes approval (issue 6): asking for approval, approving and sending back.

draft --campaign_approval_request--> awaiting_approval --campaign_approve--> ready | scheduled
                                        |--campaign_reject (sent back, with a reason)--> draft
                                        |--campaign_unschedule (withdrawn by its author)--> draft
Without four-eyes (CAMPAIGNS_FOUR_EYES off) an approver's Send goes straight out
(campaign_submit), and counts as their approval for the next diff. An edit after approval voids
it (campaigns.services.campaign_save).
"""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from audit.services import audit_record

from . import handoffs, selectors
from .checks import Problems
from .engine.events import event_record, person_or_none
from .models import Campaign, CampaignEvent
from .services import (
    User,
    campaign_plan_is_fresh,
    campaign_request_send,
    campaign_send_problems,
    send_plan_request,
)
from .stored_text import (
    APPROVAL_REQUESTED_AT,
    APPROVAL_REQUESTED_NOW,
    APPROVED_AT,
    APPROVED_NOW,
    ASKED_FOR_APPROVAL_AT,
    ASKED_FOR_APPROVAL_NOW,
    FIRST_APPROVED_AT,
    FIRST_APPROVED_NOW,
    SENT_BACK,
    moment_stored,
)

APPROVE_PERMISSION = "campaigns.approve_campaign"
OWN_CAMPAIGN = gettext_lazy("You wrote or changed this campaign; someone else must approve it.")


def campaign_submit(*, campaign_id: int, user: User, when: datetime | None) -> Campaign:
    """What the composer's Send now / Schedule does: ask for approval, or, without four-eyes,
    send at once when the user may approve."""
    if not settings.CAMPAIGNS_FOUR_EYES and _may_approve(user):
        with transaction.atomic():
            campaign = campaign_request_send(campaign_id=campaign_id, user=user, when=when)
            _approval_record(campaign=campaign, user=user, send_at=when)
        return Campaign.objects.get(pk=campaign_id)
    return campaign_approval_request(campaign_id=campaign_id, user=user, when=when)


def campaign_approval_request(*, campaign_id: int, user: User, when: datetime | None) -> Campaign:
    """Ask for a draft to be approved, keeping the author's intent: send as soon as approved
    (`when` None) or at `when`. The campaign is checked as for sending, so approvers only see
    campaigns that could go out as they are."""

    campaign = Campaign.objects.get(pk=campaign_id)
    if not campaign.can_request_approval:
        raise ValidationError(
            _("Only a draft can be sent for approval; this one is %(status)s.")
            % {"status": campaign.get_status_display().lower()}
        )
    now = timezone.now()
    problems = campaign_approval_problems(campaign=campaign, when=when, now=now)
    if problems:
        raise problems.refusal()
    actor = person_or_none(user)
    with transaction.atomic():
        changed = Campaign.objects.filter(
            pk=campaign.pk, status=Campaign.Status.DRAFT, updated_at=campaign.updated_at
        ).update(
            status=Campaign.Status.AWAITING_APPROVAL,
            approval_requested_at=now,
            approval_requested_by=actor,
            approval_send_at=when,
            sent_back_reason="",
            updated_at=now,
        )
        if changed != 1:
            raise ValidationError(
                _("The campaign changed while it was being checked; look at it again and resend.")
            )
        campaign.refresh_from_db()
        if when:
            event_text = APPROVAL_REQUESTED_AT.stored(when=moment_stored(when))
            audit_text = ASKED_FOR_APPROVAL_AT.stored(when=moment_stored(when))
        else:
            event_text = APPROVAL_REQUESTED_NOW.stored()
            audit_text = ASKED_FOR_APPROVAL_NOW.stored()
        event_record(campaign.pk, CampaignEvent.Kind.APPROVAL_REQUESTED, event_text, user=actor)
        audit_record(
            action="campaign-approval-request",
            target=campaign,
            changes={
                "status": [Campaign.Status.DRAFT, Campaign.Status.AWAITING_APPROVAL],
                "approval_send_at": [None, when],
            },
            message=audit_text,
            actor=actor,
        )
        handoffs.handoff_mail(
            to=handoffs.approvers_who_may_approve(authors=campaign_authors(campaign=campaign)),
            say=lambda: handoffs.approval_requested(campaign=campaign, actor=actor, when=when),
            actor=actor,
        )
    return campaign


def campaign_approval_problems(
    *, campaign: Campaign, when: datetime | None, now: datetime | None = None
) -> Problems:
    """What stops this draft from being sent for approval, to go out at `when` (None: as soon
    as approved): the checks for sending, with a fresh send plan. campaign_approval_request
    refuses with exactly these; the detail page lists them before anyone asks, so nobody learns
    them only from the refusal."""
    return campaign_send_problems(
        campaign=campaign, when=when, now=now or timezone.now(), require_fresh_plan=True
    )


def campaign_approve(*, campaign_id: int, user: User, seen: str | None = None) -> Campaign:
    """Approve a campaign waiting for approval and let it go out as its author asked.

    `seen` is the fingerprint of what the approver was shown (selectors.
    campaign_approval_fingerprint); if the campaign changed since, nothing is approved. A send
    plan gone stale while the campaign waited is computed again first, as sending requires."""
    campaign = Campaign.objects.get(pk=campaign_id)
    _approval_refusal(campaign=campaign, user=user)
    fresh, _plan = campaign_plan_is_fresh(campaign=campaign)
    if not fresh:
        send_plan_request(campaign_id=campaign.pk, user=user)
        fresh, _plan = campaign_plan_is_fresh(campaign=campaign)
        if not fresh:
            raise ValidationError(
                _(
                    "The send plan was out of date and is being computed again for this "
                    "audience; approve once it is done."
                )
            )
    with transaction.atomic():
        campaign = Campaign.objects.select_for_update().get(pk=campaign_id)
        _approval_refusal(campaign=campaign, user=user)
        snapshot = selectors.campaign_approval_snapshot(campaign=campaign)
        if seen is not None and seen != selectors.campaign_approval_fingerprint(snapshot=snapshot):
            raise ValidationError(
                _(
                    "The campaign changed while you were looking at it; read the changes again "
                    "before approving."
                )
            )
        when = campaign.approval_send_at
        campaign_request_send(
            campaign_id=campaign.pk,
            user=user,
            when=when,
            from_status=Campaign.Status.AWAITING_APPROVAL,
        )
        _approval_record(campaign=campaign, user=user, send_at=when, snapshot=snapshot)
        handoffs.handoff_mail(
            to=handoffs.people(ids=[campaign.created_by_id, campaign.approval_requested_by_id]),
            say=lambda: handoffs.approved(
                campaign=campaign,
                actor=person_or_none(user),
                when=when,
            ),
            actor=person_or_none(user),
        )
    return Campaign.objects.get(pk=campaign_id)


def campaign_reject(*, campaign_id: int, user: User, reason: str) -> Campaign:
    """Send a campaign waiting for approval back to its author as a draft, saying why."""

    reason = (reason or "").strip()
    if not reason:
        raise ValidationError(
            _("Say why you are sending it back, so its author knows what to change.")
        )
    actor = person_or_none(user)
    with transaction.atomic():
        changed = Campaign.objects.filter(
            pk=campaign_id, status=Campaign.Status.AWAITING_APPROVAL
        ).update(
            status=Campaign.Status.DRAFT,
            # Who asked is kept: it is sent back to them too (their inbox, campaigns.inbox).
            approval_requested_at=None,
            sent_back_reason=reason,
            updated_at=timezone.now(),
        )
        if changed != 1:
            raise ValidationError(_("This campaign is not waiting for approval any more."))
        campaign = Campaign.objects.get(pk=campaign_id)
        event_record(
            campaign.pk, CampaignEvent.Kind.SENT_BACK, SENT_BACK.stored(reason=reason), user=actor
        )
        audit_record(
            action="campaign-reject",
            target=campaign,
            changes={"status": [Campaign.Status.AWAITING_APPROVAL, Campaign.Status.DRAFT]},
            message=reason,
            actor=actor,
        )
        handoffs.handoff_mail(
            to=handoffs.people(ids=campaign_authors(campaign=campaign)),
            say=lambda: handoffs.sent_back(campaign=campaign, actor=actor, reason=reason),
            actor=actor,
        )
    return campaign


def _approval_refusal(*, campaign: Campaign, user: User) -> None:
    """ValidationError saying why this user may not approve this campaign now, if they may not."""
    if not campaign.is_awaiting_approval:
        raise ValidationError(
            _("This campaign is not waiting for approval; it is %(status)s.")
            % {"status": campaign.get_status_display().lower()}
        )
    if not _may_approve(user):
        raise ValidationError(_("You may not approve campaigns; ask a campaign approver."))
    if campaign_is_own(campaign=campaign, user=user):
        raise ValidationError(OWN_CAMPAIGN)


def campaign_is_own(*, campaign: Campaign, user: User) -> bool:
    """Whether four-eyes keeps this user from approving this campaign."""
    return bool(
        settings.CAMPAIGNS_FOUR_EYES
        and user is not None
        and user.pk in campaign_authors(campaign=campaign)
    )


def campaign_authors(*, campaign: Campaign) -> set[int]:
    """Who may not approve this campaign: its creator, whoever asked for approval, and everyone
    who changed what goes out since its last approval (a duplicate's too: the content is)."""
    ids = {campaign.created_by_id, campaign.approval_requested_by_id}
    ids.update(campaign.content_authors.values_list("id", flat=True))
    return {pk for pk in ids if pk is not None}


def _approval_record(
    *, campaign: Campaign, user: User, send_at: datetime | None, snapshot: dict | None = None
) -> None:
    """Remember what was approved (for the next approver's diff), in the event log and audit."""

    if snapshot is None:
        campaign.approval_send_at = send_at
        snapshot = selectors.campaign_approval_snapshot(campaign=campaign)
    before = campaign.approval_snapshot or {}
    actor = person_or_none(user)
    # Four-eyes off lets an author approve their own campaign; should four-eyes be turned on
    # before it goes out, dispatch sends it back for approval instead (engine.dispatch).
    snapshot = {
        **snapshot,
        "approved_by_an_author": actor is not None
        and actor.pk in campaign_authors(campaign=campaign),
    }
    Campaign.objects.filter(pk=campaign.pk).update(
        approved_at=timezone.now(),
        approved_by=actor,
        approval_snapshot=snapshot,
        approval_send_at=send_at,
        sent_back_reason="",
    )
    # Authorship counts from one approval to the next (the creator always counts).
    campaign.content_authors.clear()
    when = {"when": moment_stored(send_at)} if send_at else {}
    approved = APPROVED_AT if send_at else APPROVED_NOW
    event_record(campaign.pk, CampaignEvent.Kind.APPROVED, approved.stored(**when), user=actor)
    changes = {
        change.key: [change.before, change.after]
        for change in selectors.campaign_approval_changes(before=before, after=snapshot)
    }
    if "send_at" in changes:
        # The moments themselves, as the log keeps start_at: the history says them in each
        # reader's time zone (campaigns.history), not in the approver's.
        changes["send_at"] = [before.get("send_at"), snapshot.get("send_at")]
    audit_record(
        action="campaign-approve",
        target=campaign,
        changes=changes if before else None,
        message=(
            approved if before else FIRST_APPROVED_AT if send_at else FIRST_APPROVED_NOW
        ).stored(**when),
        actor=actor,
    )


def _may_approve(user: User) -> bool:
    return user is not None and user.is_authenticated and user.has_perm(APPROVE_PERMISSION)
