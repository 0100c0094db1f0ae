"""An email to each person on every hand-off of approval: asked for approval (to the approvers
who may approve it), approved or sent back (to its author and whoever asked), and a campaign
the engine sent back because its recipients changed (to the approvers).

Why a Celery task and not the request: a mail server may take seconds to answer, or none at
all; the person who pressed Approve must not wait for it, and an action must never fail because
of it. The email is rendered here, in the transaction of the hand-off (so it says what happened
then, whatever happens next), and queued after that transaction commits, one task a recipient:
a worker sends it through Django's mail settings, tries again later while the server is down
or busy (4xx), and logs what it gives up on. A broker that is down loses the email, logged:
the inbox on the home page is the record of what waits for whom, the email only a nudge.
"""

from __future__ import annotations

import logging
import random
import smtplib
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import QuerySet
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from accounts.selectors import account_choices_of

from .engine.enqueue import task_send
from .models import Campaign, CampaignSchedule
from .stored_text import moment_shown, shown

logger = logging.getLogger(__name__)

APPROVE_PERMISSION = "campaigns.approve_campaign"
# The backend that knows groups and permissions (the other one, django-axes, only throttles).
PERMISSION_BACKEND = "config.access.CachedPermissionBackend"
# A mail server that is down or busy is tried again this many times, waiting twice as long each
# time from MAIL_RETRY_BASE seconds (with jitter), at most MAIL_RETRY_MAX.
MAIL_MAX_RETRIES = 5
MAIL_RETRY_BASE = 30.0
MAIL_RETRY_MAX = 900.0


@dataclass(frozen=True)
class Handoff:
    subject: str
    lead: str
    reason: str
    link: str


def approvers_who_may_approve(*, authors: Iterable[int]) -> QuerySet:
    """Active people who may approve (superusers too), leaving out `authors` under four-eyes
    (campaigns.approval.campaign_authors, campaigns.engine.schedules.schedule_authors)."""
    people = get_user_model().objects.with_perm(APPROVE_PERMISSION, backend=PERMISSION_BACKEND)
    if settings.CAMPAIGNS_FOUR_EYES:
        people = people.exclude(pk__in=[pk for pk in authors if pk is not None])
    return people


def people(*, ids: Iterable[int | None]) -> QuerySet:
    return get_user_model().objects.filter(pk__in={pk for pk in ids if pk is not None})


def handoff_mail(*, to: QuerySet, say: Callable[[], Handoff], actor: Any = None) -> int:
    """Queue the hand-off `say()` writes to each of `to` with an email address (never to
    `actor`, who knows), in each one's language and time zone (accounts.AccountSettings; the
    site's for those who never chose), to be sent by a worker once the current transaction
    commits. Returns how many were queued."""
    from . import tasks

    recipients = to.exclude(email="").filter(is_active=True).select_related("account_settings")
    if getattr(actor, "pk", None) is not None:
        recipients = recipients.exclude(pk=actor.pk)
    addresses_by_reading: dict[tuple[str, str], set[str]] = defaultdict(set)
    for person in recipients:
        chosen = account_choices_of(user=person)
        language = chosen.language or settings.LANGUAGE_CODE
        zone = chosen.time_zone or settings.TIME_ZONE
        addresses_by_reading[language, zone].add(person.email)
    queued = 0
    for (language, zone), addresses in sorted(addresses_by_reading.items()):
        with translation.override(language), timezone.override(zone):
            handoff = say()
            body = render_to_string(
                "campaigns/mail/handoff.txt",
                {"lead": handoff.lead, "reason": handoff.reason, "link": handoff.link},
            )
        for address in sorted(addresses):
            # Bound now: each callback sends its own address.
            transaction.on_commit(
                lambda address=address, subject=handoff.subject, body=body: task_send(
                    tasks.handoff_mail_send, address, subject, body
                ),
                robust=True,
            )
        queued += len(addresses)
    return queued


def mail_send(*, to: str, subject: str, body: str, attempt: int = 0) -> float | None:
    """Send one hand-off email. None when it went, or failed for good (logged); else the
    seconds to wait before trying again (the server is down, slow or busy)."""
    try:
        send_mail(subject, body, None, [to])
    except smtplib.SMTPServerDisconnected as error:
        return _try_later(to, subject, attempt, error)
    except smtplib.SMTPResponseException as error:
        # 4xx: "try again later" (greylisting, a full queue); 5xx: refused for good.
        if 400 <= error.smtp_code < 500:
            return _try_later(to, subject, attempt, error)
        logger.error("hand-off email to %s refused: %s (%r)", to, error, subject)
    except (ConnectionError, TimeoutError) as error:
        return _try_later(to, subject, attempt, error)
    except (smtplib.SMTPException, OSError, ValueError) as error:
        logger.error("hand-off email to %s not sent: %s (%r)", to, error, subject)
    return None


def _try_later(to: str, subject: str, attempt: int, error: Exception) -> float | None:
    if attempt >= MAIL_MAX_RETRIES:
        logger.error(
            "hand-off email to %s not sent after %s tries: %s (%r)", to, attempt + 1, error, subject
        )
        return None
    wait = min(MAIL_RETRY_MAX, MAIL_RETRY_BASE * 2**attempt)
    logger.warning("hand-off email to %s not sent yet (%s); again in %.0f s", to, error, wait)
    return wait * random.uniform(0.8, 1.2)


def link_to(view_name: str, *args: Any) -> str:
    return settings.SITE_URL.rstrip("/") + reverse(view_name, args=args)


# --- what each hand-off says ------------------------------------------------------------------
# In the language and time zone handoff_mail makes active: each recipient's own. A reason the
# engine stored in English (campaigns.stored_text) is said in that language too; a person's
# reason stays in the words they wrote.


def approval_requested(*, campaign: Campaign, actor: Any, when: datetime | None) -> Handoff:
    said = {"who": _who(actor), "campaign": campaign, "when": moment_shown(when) if when else None}
    if when:
        lead = _(
            "%(who)s asks you to approve the campaign “%(campaign)s”, to send at %(when)s. Its "
            "author may not approve it; you may."
        )
    else:
        lead = _(
            "%(who)s asks you to approve the campaign “%(campaign)s”, to send as soon as "
            "approved. Its author may not approve it; you may."
        )
    return Handoff(
        subject=_("Waiting for your approval: %(campaign)s") % said,
        lead=lead % said,
        reason="",
        link=link_to("campaigns:detail", campaign.pk),
    )


def approved(*, campaign: Campaign, actor: Any, when: datetime | None) -> Handoff:
    said = {"who": _who(actor), "campaign": campaign, "when": moment_shown(when) if when else None}
    if when:
        lead = _("%(who)s approved the campaign “%(campaign)s”: it is scheduled for %(when)s.")
    else:
        lead = _("%(who)s approved the campaign “%(campaign)s”: it is sending now.")
    return Handoff(
        subject=_("Approved: %(campaign)s") % said,
        lead=lead % said,
        reason="",
        link=link_to("campaigns:detail", campaign.pk),
    )


def sent_back(*, campaign: Campaign, actor: Any, reason: str) -> Handoff:
    said = {"who": _who(actor), "campaign": campaign}
    return Handoff(
        subject=_("Sent back to you: %(campaign)s") % said,
        lead=_(
            "%(who)s sent the campaign “%(campaign)s” back to you as a draft. Change it and ask "
            "for approval again."
        )
        % said,
        reason=reason,
        link=link_to("campaigns:edit", campaign.pk),
    )


def audience_changed(*, campaign: Campaign, reason: str) -> Handoff:
    said = {"campaign": campaign}
    return Handoff(
        subject=_("Waiting for your approval again: %(campaign)s") % said,
        lead=_(
            "Nothing of the campaign “%(campaign)s” was sent: its recipients or the values its "
            "texts use changed after it was approved, so it waits for approval again."
        )
        % said,
        reason=shown(reason),
        link=link_to("campaigns:detail", campaign.pk),
    )


def schedule_approval_requested(*, schedule: CampaignSchedule, actor: Any) -> Handoff:
    said = {"who": _who(actor), "schedule": schedule, "campaign": schedule.template}
    return Handoff(
        subject=_("Recurring campaign waiting for your approval: %(schedule)s") % said,
        lead=_(
            "%(who)s set up the recurring campaign “%(schedule)s”, which sends “%(campaign)s” on "
            "a schedule. Nothing goes out until someone other than its authors approves it."
        )
        % said,
        reason="",
        link=link_to("campaigns:schedules"),
    )


def schedule_approval_void(*, schedule: CampaignSchedule, reason: str) -> Handoff:
    said = {"schedule": schedule}
    return Handoff(
        subject=_("Recurring campaign waiting for your approval again: %(schedule)s") % said,
        lead=_(
            "The recurring campaign “%(schedule)s” stopped running: the campaign it sends changed "
            "after it was approved."
        )
        % said,
        reason=shown(reason),
        link=link_to("campaigns:schedules"),
    )


def schedule_approved(*, schedule: CampaignSchedule, actor: Any) -> Handoff:
    said = {"who": _who(actor), "schedule": schedule, "campaign": schedule.template}
    return Handoff(
        subject=_("Recurring campaign approved: %(schedule)s") % said,
        lead=_(
            "%(who)s approved the recurring campaign “%(schedule)s”: each run sends "
            "“%(campaign)s” as it reads now."
        )
        % said,
        reason="",
        link=link_to("campaigns:schedules"),
    )


def _who(actor: Any) -> str:
    if actor is None:
        return _("Someone")
    return actor.get_full_name() or actor.get_username()
