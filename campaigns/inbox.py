"""Each person's inbox: the work that waits for them (reads only).

- Waiting for my approval: campaigns and recurring schedules waiting for an approver, that this
  user may approve: an approver who is not among their authors (four-eyes, the same rules as
  campaigns.approval.campaign_is_own and campaigns.engine.schedules.schedule_is_own).
- Sent back to me: drafts an approver sent back, with the reason, to whoever wrote, changed or
  asked for it.
- Needs attention: parts held by a guard rail or unclear after reconciling, and campaigns whose
  recipients could not be resolved, for those who may resume parts.

A section a person may not act on is empty for them and costs no query. The navigation's count
(inbox_counts) is one query whatever the number of rows, every page; the home page's lists
(inbox_of) a fixed few more.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connection
from django.db.models import Exists, IntegerField, OuterRef, Q, QuerySet, Subquery
from django.utils.functional import cached_property

from .models import Campaign, CampaignPart, CampaignSchedule

APPROVE_PERMISSION = "campaigns.approve_campaign"
# Whoever may edit a draft takes back what was sent back to them.
EDIT_PERMISSION = "campaigns.change_campaign"
# Resuming held parts lets more messages go out (config/access.py's campaigns:part-resume).
RESUME_PERMISSION = "campaigns.change_campaignpart"
INBOX_LIST_SIZE = 10
ATTENTION_STATES = (CampaignPart.State.NEEDS_ATTENTION, CampaignPart.State.HELD)

_Authors = Campaign.content_authors.through


@dataclass(frozen=True)
class InboxCounts:
    """How many things wait for one person, by section."""

    awaiting: int = 0
    sent_back: int = 0
    attention: int = 0

    @property
    def total(self) -> int:
        return self.awaiting + self.sent_back + self.attention


@dataclass(frozen=True)
class Inbox:
    """The first INBOX_LIST_SIZE of each section, oldest request first for approvals."""

    awaiting_campaigns: list[Campaign] = field(default_factory=list)
    awaiting_schedules: list[CampaignSchedule] = field(default_factory=list)
    sent_back: list[Campaign] = field(default_factory=list)
    attention_parts: list[CampaignPart] = field(default_factory=list)
    # Sending, but their recipients could not be resolved (Campaign.dispatch_error).
    attention_campaigns: list[Campaign] = field(default_factory=list)

    @property
    def is_empty(self) -> bool:
        return not (
            self.awaiting_campaigns
            or self.awaiting_schedules
            or self.sent_back
            or self.attention_parts
            or self.attention_campaigns
        )


def inbox_of(*, user: Any, counts: InboxCounts, limit: int = INBOX_LIST_SIZE) -> Inbox:
    """What waits for this user, each section at most `limit` long: one query a section that
    `counts` (inbox_counts, which the page reads anyway for its navigation) says is not empty,
    so at most five, and none for an empty inbox."""
    if not getattr(user, "is_authenticated", False):
        return Inbox()
    found: dict[str, list] = {}
    if counts.awaiting and user.has_perm(APPROVE_PERMISSION):
        found["awaiting_campaigns"] = list(
            _campaigns_awaiting(user)
            .select_related("approval_requested_by", "created_by")
            .order_by("approval_requested_at", "id")[:limit]
        )
        found["awaiting_schedules"] = list(
            _schedules_awaiting(user)
            .select_related("template", "created_by")
            .order_by("created_at", "id")[:limit]
        )
    if counts.sent_back and user.has_perm(EDIT_PERMISSION):
        found["sent_back"] = list(
            _campaigns_sent_back(user)
            .select_related("created_by")
            .order_by("-updated_at", "-id")[:limit]
        )
    if counts.attention and user.has_perm(RESUME_PERMISSION):
        found["attention_parts"] = list(
            _parts_needing_attention()
            .select_related("campaign")
            .order_by("-campaign_id", "number")[:limit]
        )
        found["attention_campaigns"] = list(
            _campaigns_not_dispatched().order_by("-created_at", "-id")[:limit]
        )
    return Inbox(**found)


def inbox_counts(*, user: Any) -> InboxCounts:
    """How many things wait for this user, in one query (none when they may act on nothing):
    the navigation shows it on every page."""
    if not getattr(user, "is_authenticated", False):
        return InboxCounts()
    statement = _counts_statement(
        user.pk,
        may_approve=user.has_perm(APPROVE_PERMISSION),
        may_edit=user.has_perm(EDIT_PERMISSION),
        may_resume=user.has_perm(RESUME_PERMISSION),
        four_eyes=settings.CAMPAIGNS_FOUR_EYES,
    )
    if statement is None:
        return InboxCounts()
    sql, params = statement
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        found = cursor.fetchone()
        # column[0], not .name: SQLite's driver (trying the app) gives plain tuples.
        names = [column[0] for column in cursor.description]
        row = dict(zip(names, found, strict=True)) if found else {}
    return InboxCounts(
        awaiting=row.get("campaigns_awaiting", 0) + row.get("schedules_awaiting", 0),
        sent_back=row.get("sent_back", 0),
        # A campaign needing attention for both reasons counts twice; it is rare, and the
        # count says "look", not "exactly this many".
        attention=row.get("attention_campaigns", 0) + row.get("not_dispatched", 0),
    )


# One compiled statement per person and what they may do, in each web process: about as many as
# there are people at the dashboard.
_STATEMENTS_KEPT = 4096


@lru_cache(maxsize=_STATEMENTS_KEPT)
def _counts_statement(
    user_id: int, *, may_approve: bool, may_edit: bool, may_resume: bool, four_eyes: bool
) -> tuple[str, tuple] | None:
    """The inbox count's SQL and parameters, or None when there is nothing to count.

    Kept, because compiling it is most of what it costs: its five correlated subqueries took
    the ORM ~2 ms of CPU on every page, for a 0.15 ms round trip (bench/web_load.py's floor).
    The statement depends only on the arguments, which are the key: the user's id, which
    sections their permissions open, and four-eyes (read by the sections' filters); the rows
    it counts are read anew by every execution."""
    user = get_user_model()(pk=user_id)
    counts: dict[str, _Count] = {}
    if may_approve:
        counts["campaigns_awaiting"] = _count(_campaigns_awaiting(user).values("pk"))
        counts["schedules_awaiting"] = _count(_schedules_awaiting(user).values("pk"))
    if may_edit:
        counts["sent_back"] = _count(_campaigns_sent_back(user).values("pk"))
    if may_resume:
        counts["attention_campaigns"] = _count(
            _parts_needing_attention().values("campaign_id").distinct()
        )
        counts["not_dispatched"] = _count(_campaigns_not_dispatched().values("pk"))
    if not counts:
        return None
    # Anchored on the user's own row (always there, found by its primary key): the counts are
    # its scalar subqueries, so the whole inbox is one round trip.
    query = get_user_model().objects.filter(pk=user_id).values(**counts).order_by()[:1]
    return query.query.sql_with_params()


class LazyInboxCounts:
    """inbox_counts, read only if a template asks and then once a request (the navigation and
    the home page share it)."""

    def __init__(self, user: Any) -> None:
        self._user = user

    @cached_property
    def _counts(self) -> InboxCounts:
        return inbox_counts(user=self._user)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        return getattr(self._counts, name)


class _Count(Subquery):
    """The number of rows of a queryset, as a scalar subquery."""

    template = "(SELECT count(*) FROM (%(subquery)s) counted)"
    output_field = IntegerField()


def _count(query: QuerySet) -> _Count:
    # Without the models' default ordering: nothing to sort, and a DISTINCT stays on the
    # columns asked for (a part's ordering would make it distinct by part, not by campaign).
    return _Count(query.order_by())


def _is_author(user: Any, campaign_ref: str) -> Q:
    """The campaign at `campaign_ref` has this user among its content authors."""
    return Q(Exists(_Authors.objects.filter(campaign_id=OuterRef(campaign_ref), user_id=user.pk)))


def _campaigns_awaiting(user: Any) -> QuerySet[Campaign]:
    """Waiting for approval, and not this user's to approve under four-eyes
    (campaigns.approval.campaign_authors: creator, who asked, who changed it)."""
    query = Campaign.objects.filter(status=Campaign.Status.AWAITING_APPROVAL)
    if settings.CAMPAIGNS_FOUR_EYES:
        query = (
            query.exclude(created_by=user)
            .exclude(approval_requested_by=user)
            .exclude(_is_author(user, "pk"))
        )
    return query


def _schedules_awaiting(user: Any) -> QuerySet[CampaignSchedule]:
    """Recurring campaigns waiting for approval that this user may approve
    (campaigns.engine.schedules.schedule_authors); one whose beat task was deleted cannot be
    approved, only set up again."""
    query = CampaignSchedule.objects.filter(approved_at__isnull=True, periodic_task__isnull=False)
    if settings.CAMPAIGNS_FOUR_EYES:
        query = (
            query.exclude(created_by=user)
            .exclude(template__created_by=user)
            .exclude(_is_author(user, "template_id"))
        )
    return query


def _campaigns_sent_back(user: Any) -> QuerySet[Campaign]:
    """Drafts an approver sent back, to whoever created, changed or asked for them."""
    return (
        Campaign.objects.filter(status=Campaign.Status.DRAFT)
        .exclude(sent_back_reason="")
        .filter(Q(created_by=user) | Q(approval_requested_by=user) | _is_author(user, "pk"))
    )


def _parts_needing_attention() -> QuerySet[CampaignPart]:
    return CampaignPart.objects.filter(state__in=ATTENTION_STATES)


def _campaigns_not_dispatched() -> QuerySet[Campaign]:
    return Campaign.objects.filter(status=Campaign.Status.SENDING).exclude(dispatch_error="")
