"""Campaigns as the composer saves them, the senders people pick from, and the send plan.

A campaign is composed here and handed to the engine (issue 5) by `campaign_request_send`
(campaigns.services). The engine adds its own tables beside these (one row per BSG part, one
per recipient): nothing here holds recipients or BSG ids, so it never has to reshape them.

Why this module is long: Django finds an app's models in one module, and each rule a page reads
(can this campaign be stopped, edited, sent for approval) lives as a property next to its model,
as STYLE.md asks. A models package would re-export every class to keep `campaigns.models` the
one import; the classes are short apart from Campaign, whose length is its rules.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.formats import number_format
from django.utils.functional import cached_property
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from bsg import smstext
from bsg.schemas import TERMINAL_STATUSES

from .bsg_words import (
    campaign_status_words,
    encoding_hint,
    encoding_words,
    message_status_words,
    special_characters_note,
)
from .rendering import placeholder_said, placeholders_lacking
from .stored_text import batch_named, shown

DEFAULT_VALIDITY_HOURS = 72
DEFAULT_TARIFF = 0
# A send plan counts parts for the audience as it was when it ran; lists change, so after this
# long "Send" asks for a new one.
SEND_PLAN_FRESH_FOR = timedelta(minutes=30)
# campaigns.tasks.send_plan_compute is killed at its hard time limit (300 s). A plan still
# RUNNING longer after it started lost its worker (killed, or its failure could not be written:
# "database is locked" on SQLite), and a PENDING one that no worker took for as long is as good
# as lost: the page then shows it failed and offers to count again, instead of polling forever.
SEND_PLAN_GIVEN_UP_AFTER = timedelta(minutes=6)


def _grouped(count: int) -> str:
    """A count grouped as the reader's language groups it (1,234 in English)."""
    return number_format(count, force_grouping=True)


# What a person composes, by Campaign field name: what is sent and to whom, when, and its name.
# "Duplicate" copies exactly these; every other field is the app's record of one campaign's life
# (status, who asked or approved, when it went out, who stopped it, its price, its schedule run)
# and a copy must start without it. tests/campaigns/test_content_fields.py classifies every field,
# so a new one cannot be added without choosing its side.
# What is sent and to whom (lists apart): a send plan is fresh only while these and the lists are
# as it saw them (campaigns.services.campaign_fingerprint).
CAMPAIGN_SENT_FIELDS = (
    "channel",
    "sms_mode",
    "text",
    "sender",
    "validity_hours",
    "tariff_code",
    "pasted_numbers",
    "rcs_mode",
    "rcs_agent",
    "rcs_cards",
    "rcs_check_stop_list",
    "fallback_enabled",
    "fallback_text",
    "fallback_sender",
    "fallback_validity_hours",
    "missing_values",
)
# When it goes: logged and approved, but the plan (audience, parts, price) stays the same.
CAMPAIGN_TIMING_FIELDS = (
    "start_at",
    "start_time_zone",
    "bsg_schedules",
    "window_start",
    "window_end",
    "window_time_zone",
)
CAMPAIGN_CONTENT_FIELDS = ("name", *CAMPAIGN_SENT_FIELDS, "lists", *CAMPAIGN_TIMING_FIELDS)


class Campaign(models.Model):
    class Channel(models.TextChoices):
        SMS = "sms", "SMS"
        RCS = "rcs", "RCS"

    class SmsMode(models.TextChoices):
        # The three BSG SMS methods; the composer picks one from what the user chooses.
        NUMBERS = "numbers", "To numbers (BSG sms/send)"
        INDIVIDUAL = "individual", "To contact lists, personalised here (BSG sms/send-individual)"
        GROUPS = "groups", "To BSG contact-book groups (BSG sms/send-groups)"

    # What the composer and the campaign's pages call each SMS mode. The choices' own labels
    # name BSG's method for the admin, where the vendor's names belong; a marketer reads these.
    SMS_MODE_WORDS = {
        SmsMode.NUMBERS: _("To numbers you paste"),
        SmsMode.INDIVIDUAL: _("To contact lists, personalised here"),
        SmsMode.GROUPS: _("To BSG contact-book groups"),
    }

    class RcsMode(models.TextChoices):
        # BSG's two RCS methods: rcs/send to the lists' numbers from here (split at 5,000,
        # do-not-contact left out, each message found by reference id), or rcs/send-groups to
        # the lists' linked contact-book groups, which BSG sends to as it holds them.
        LISTS = "lists", _("To contact lists, personalised here")
        GROUPS = "groups", _("To BSG contact-book groups")

    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        # Four-eyes (CAMPAIGNS_FOUR_EYES): its author asked; someone else approves or sends it
        # back. The engine never looks at this status, so nothing here can go out by itself.
        AWAITING_APPROVAL = "awaiting_approval", _("Waiting for approval")
        # Valid and "Send now" requested: the engine takes it from here.
        READY = "ready", _("Ready to send")
        # Valid with a start time: sent when due (by us, or by BSG when bsg_schedules is set).
        SCHEDULED = "scheduled", _("Scheduled")
        # The engine's (issue 5): recipients resolved into the ledger, parts going to BSG.
        SENDING = "sending", _("Sending")
        # Every part settled: done, stopped or refused at BSG.
        FINISHED = "finished", _("Finished")
        STOPPED = "stopped", _("Stopped")
        # Stopped before anything was submitted: BSG never heard of it.
        CANCELLED = "cancelled", _("Cancelled")

    # Waiting to send, or for approval: the engine has not taken it, so "Back to draft" (or
    # "Withdraw the request") may still undo it.
    BACK_TO_DRAFT_FROM = frozenset({Status.READY, Status.SCHEDULED, Status.AWAITING_APPROVAL})
    # Nothing has gone to the engine yet (Campaign.is_before_sending).
    BEFORE_SENDING = frozenset({Status.DRAFT, *BACK_TO_DRAFT_FROM})
    # Asked to go out and not yet ended: an approver, the clock or the engine moves it on
    # without anyone on its page doing anything (Campaign.is_in_progress).
    IN_PROGRESS = frozenset(
        {Status.AWAITING_APPROVAL, Status.READY, Status.SCHEDULED, Status.SENDING}
    )

    class MissingValues(models.TextChoices):
        # What a personalised text does for a recipient with no value for a placeholder that
        # has no fallback of its own (`{city|your city}` always uses its fallback).
        FALLBACK = "fallback", _("Send it with the fallback (empty where a placeholder has none)")
        SKIP = "skip", _("Leave them out")
        BLOCK = "block", _("Do not send while anyone is missing a value")

    name = models.CharField(max_length=200)
    channel = models.CharField(max_length=3, choices=Channel.choices, default=Channel.SMS)
    sms_mode = models.CharField(
        max_length=10, choices=SmsMode.choices, default=SmsMode.INDIVIDUAL, blank=True
    )
    # The SMS text (SMS campaigns). Placeholders: {field_key}, {<bsg field id>}, {name}, {phone}.
    text = models.TextField(blank=True)
    # Recipients missing a value for a placeholder without a fallback (see MissingValues).
    missing_values = models.CharField(
        max_length=8, choices=MissingValues.choices, default=MissingValues.FALLBACK
    )
    # Alphanumeric 1-11 or numeric 1-15 (bsg.rules.sender_error); the RCS agent is rcs_agent.
    sender = models.CharField(max_length=40, blank=True)
    validity_hours = models.PositiveSmallIntegerField(default=DEFAULT_VALIDITY_HOURS)
    tariff_code = models.PositiveSmallIntegerField(default=DEFAULT_TARIFF)
    # Null = "now". Stored aware (UTC in the database); shown in the user's zone.
    start_at = models.DateTimeField(null=True, blank=True)
    # Hand the start time to BSG as `start_at` (at most 30 days ahead, in BSG_TIME_ZONE) instead
    # of holding it here and dispatching when due.
    bsg_schedules = models.BooleanField(default=False)
    # The zone the user entered start_at in (IANA name), to show it back the same way.
    start_time_zone = models.CharField(max_length=64, blank=True)
    lists = models.ManyToManyField("contacts.ContactList", related_name="campaigns", blank=True)
    # What the user pasted for "To numbers", kept exactly as typed so an error loses nothing.
    # One entry per line (or separated by commas/semicolons); "number = reference" sets the
    # optional BSG reference_id of that number.
    pasted_numbers = models.TextField(blank=True)

    # RCS: to the lists' phones (rcs/send, split at 5,000) or to their BSG groups
    # (rcs/send-groups). Blank on SMS campaigns, and on RCS ones saved before the choice
    # existed, which went to the lists' phones: blank reads as LISTS (Campaign.sends_to_bsg_groups).
    rcs_mode = models.CharField(max_length=10, choices=RcsMode.choices, blank=True)
    rcs_agent = models.CharField(max_length=100, blank=True)
    # [{"title", "text", "media_url", "suggestions": [{"text", "url"} | {"text", "phone"}]}]
    rcs_cards = models.JSONField(default=list, blank=True)
    rcs_check_stop_list = models.BooleanField(default=True)
    fallback_enabled = models.BooleanField(default=False)
    fallback_text = models.TextField(blank=True)
    fallback_sender = models.CharField(max_length=40, blank=True)
    fallback_validity_hours = models.PositiveSmallIntegerField(default=DEFAULT_VALIDITY_HOURS)

    status = models.CharField(max_length=20, choices=Status.choices, default=Status.DRAFT)
    send_requested_at = models.DateTimeField(null=True, blank=True)
    send_requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    duplicated_from = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="duplicates"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    # The engine's: when the ledger was resolved, and who stopped the campaign and when.
    dispatched_at = models.DateTimeField(null=True, blank=True)
    # The whole ledger is written: only then are its parts submitted (the engine's dispatch).
    ledger_resolved_at = models.DateTimeField(null=True, blank=True)
    # Tries at resolving the ledger (a lost worker's is taken again), and why the last failed (in
    # English, as every text the engine stores: dispatch_error_shown, campaigns.stored_text).
    dispatch_attempts = models.PositiveSmallIntegerField(default=0)
    dispatch_error = models.TextField(blank=True)
    # The dispatch in slices (DispatchSlice): the status it was taken from (for its audit
    # entry, written by whichever worker finishes it), the slices not yet written (the one
    # whose write brings this to 0 finishes the dispatch), and the next seq for a recipient
    # beyond its slice's room (one who joined the audience after it was cut).
    dispatched_from = models.CharField(max_length=20, blank=True)
    dispatch_slices_left = models.PositiveIntegerField(default=0)
    dispatch_next_seq = models.PositiveIntegerField(default=0)
    stopped_at = models.DateTimeField(null=True, blank=True)
    stopped_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # "Retry failed only": the campaign whose undelivered recipients this one sends to again.
    retry_of = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="retries"
    )
    # Guard rails (issue 5). An optional sending window: parts are only submitted between these
    # local times in window_time_zone (end before start means the window crosses midnight).
    window_start = models.TimeField(null=True, blank=True)
    window_end = models.TimeField(null=True, blank=True)
    window_time_zone = models.CharField(max_length=64, blank=True)
    # Set when a person resumes a campaign held for its failure rate: they have seen the rate
    # and want it sent anyway, so the same rate does not hold it again.
    failure_hold_overridden = models.BooleanField(default=False)
    # What one SMS part (one RCS message) cost in this campaign's first submitted part, from
    # BSG's calculated_price: the balance guard's estimate for the next part.
    unit_price = models.DecimalField(max_digits=14, decimal_places=6, null=True, blank=True)
    # A campaign found on the BSG account that was not created here: shown, polled, read-only.
    created_elsewhere = models.BooleanField(default=False)
    # A fresh copy made by a recurring schedule; run_key makes one copy per scheduled run even
    # when two beats fire for the same minute.
    schedule = models.ForeignKey(
        "CampaignSchedule",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="runs",
    )
    schedule_run_key = models.CharField(max_length=80, null=True, blank=True, unique=True)
    # Four-eyes approval (campaigns.approval.campaign_approval_*). The author's intent is kept
    # while the campaign waits: send as soon as approved (approval_send_at None) or at that time.
    approval_requested_at = models.DateTimeField(null=True, blank=True)
    approval_requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    approval_send_at = models.DateTimeField(null=True, blank=True)
    # The last approval; cleared by any edit after it (the snapshot stays, so the next approver
    # sees what changed since the content someone last approved).
    approved_at = models.DateTimeField(null=True, blank=True)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    approval_snapshot = models.JSONField(default=dict, blank=True)
    # Why the last request was sent back, for the author to read: an approver's words, kept as
    # they wrote them (in their language), or the engine's, stored in English and said in the
    # reader's language (sent_back_reason_shown, campaigns.stored_text).
    sent_back_reason = models.TextField(blank=True)
    # Everyone who wrote or changed what goes out since the last approval (its creator always
    # counts too): none of them may approve it (campaigns.approval).
    content_authors = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="+")
    # When dispatch found the recipients or their values changed after approval and sent it
    # back (campaigns.engine.dispatch): send plans made before this are out of date.
    audience_changed_at = models.DateTimeField(null=True, blank=True)
    # Put away by a person (campaigns.archive): the campaigns page and the recurring picker
    # leave it out until it is restored. Only a draft or an ended campaign is archived.
    archived_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["status", "start_at"], name="campaign_status_start"),
            # The campaigns page: newest first, keyset-paged on (created_at, id), alone or with
            # one filter (100,000 campaigns at 200 pages a second, BENCHMARKS.md).
            models.Index(fields=["-created_at", "-id"], name="campaign_created"),
            models.Index(fields=["status", "-created_at", "-id"], name="campaign_status_created"),
            models.Index(fields=["sender", "-created_at", "-id"], name="campaign_sender_created"),
            models.Index(fields=["channel", "-created_at", "-id"], name="campaign_channel_created"),
            # The home page's totals for the last 30 days; most campaigns never dispatched
            # (drafts) stay out of the index.
            models.Index(
                fields=["dispatched_at"],
                name="campaign_dispatched",
                condition=models.Q(dispatched_at__isnull=False),
            ),
            # Every page's inbox count asks for the drafts sent back (campaigns.inbox): a
            # handful, while drafts are a seventh of a million campaigns, which the status index
            # made it read on every page (BENCHMARKS.md "Web under load", issue 16).
            models.Index(
                fields=["status"],
                name="campaign_sent_back",
                condition=~models.Q(sent_back_reason=""),
            ),
        ]
        # Beside the model's view/add/change/delete: who may let a campaign go out, and who may
        # stop one (config/access.py maps every URL to one of these).
        permissions = [
            ("approve_campaign", "Can approve and send campaigns"),
            ("stop_campaign", "Can stop campaigns"),
        ]

    def __str__(self) -> str:
        return self.name or f"Campaign {self.pk}"

    @property
    def is_sms(self) -> bool:
        return self.channel == self.Channel.SMS

    @property
    def is_rcs(self) -> bool:
        return self.channel == self.Channel.RCS

    @property
    def is_stoppable(self) -> bool:
        """Waiting to send or sending, and ours: campaigns.engine.stop.campaign_stop accepts it."""
        return not self.created_elsewhere and self.status in {
            self.Status.READY,
            self.Status.SCHEDULED,
            self.Status.SENDING,
        }

    @property
    def is_sending(self) -> bool:
        """The engine's: parts are going to BSG. Only now can held parts be resumed
        (campaigns.engine.resume.campaign_resume) and does a stop ask BSG instead of cancelling
        here."""
        return self.status == self.Status.SENDING

    @property
    def stop_asks_bsg(self) -> bool:
        """Stopping it asks BSG to stop its parts; otherwise it is cancelled here and BSG never
        hears of it (campaigns.engine.stop.campaign_stop)."""
        return self.status == self.Status.SENDING

    @property
    def is_cancelled(self) -> bool:
        """Stopped before anything was submitted."""
        return self.status == self.Status.CANCELLED

    @property
    def is_awaiting_approval(self) -> bool:
        return self.status == self.Status.AWAITING_APPROVAL

    @property
    def can_request_approval(self) -> bool:
        """Only a draft is sent for approval (campaigns.approval.campaign_approval_request)."""
        return self.status == self.Status.DRAFT

    @property
    def has_approval_history(self) -> bool:
        """Sent back by an approver, or approved once: its author is told on the draft."""
        return bool(self.sent_back_reason or self.approval_snapshot)

    @property
    def can_go_back_to_draft(self) -> bool:
        """Waiting to send or for approval, not yet the engine's: campaigns.services
        .campaign_unschedule moves it back from exactly these statuses."""
        return self.status in self.BACK_TO_DRAFT_FROM

    @property
    def can_retry_failed(self) -> bool:
        """ "Retry failed only" makes a new SMS draft for the recipients who did not get it: only
        once the campaign has ended (a sending one may still deliver them), and only for ours."""
        return (
            self.is_sms
            and not self.created_elsewhere
            and self.status in {self.Status.FINISHED, self.Status.STOPPED}
        )

    @property
    def can_add_failures_to_do_not_contact(self) -> bool:
        """Its repeatedly failing recipients may go on do-not-contact once their statuses stop
        changing by the minute (not while sending), and only for ours."""
        return not self.created_elsewhere and self.status != self.Status.SENDING

    @property
    def is_live(self) -> bool:
        """Its figures can still change by themselves: live panels poll only while this holds
        (not once its dispatch failed: nothing moves until a person stops it)."""
        return self.status in {self.Status.READY, self.Status.SENDING} and not self.dispatch_error

    @property
    def is_in_progress(self) -> bool:
        """It may change while someone looks at it, without them doing anything: waiting for an
        approver or its start time, or the engine's. Pages keep following it (every few seconds
        while is_live, more slowly while it waits); a draft or an ended campaign changes only
        by the hand of the person looking, so nothing polls for it."""
        return self.status in self.IN_PROGRESS

    @property
    def is_before_sending(self) -> bool:
        """A draft, or waiting for approval or its start: nothing has gone to the engine, so
        its sending figures would all read 0 beside the plan's count."""
        return self.status in self.BEFORE_SENDING

    @property
    def is_resolving_recipients(self) -> bool:
        """Taken by the engine, its ledger still being written: no part goes to BSG yet."""
        return (
            self.status == self.Status.SENDING
            and self.ledger_resolved_at is None
            and not self.dispatch_error
        )

    # What may be put away: a draft nobody asked to send, or a campaign that has ended. Never
    # one waiting for approval, scheduled, ready or sending: hiding it would hide live work.
    ARCHIVABLE_FROM = frozenset({Status.DRAFT, Status.FINISHED, Status.STOPPED, Status.CANCELLED})

    @property
    def is_archived(self) -> bool:
        return self.archived_at is not None

    @property
    def can_archive(self) -> bool:
        """campaigns.archive.campaign_archive moves exactly these."""
        return (
            not self.is_archived
            and not self.created_elsewhere
            and self.status in self.ARCHIVABLE_FROM
        )

    @property
    def can_delete(self) -> bool:
        """Only a draft is deleted: anything asked to send has a history (approval, ledger,
        BSG's ids and prices) that must stay. A schedule's campaign is refused by the service
        (CampaignSchedule.template is PROTECT)."""
        return self.status == self.Status.DRAFT and not self.created_elsewhere

    @property
    def is_editable(self) -> bool:
        """Only drafts are edited; a campaign asked to send is the engine's until it is back."""
        return self.status == self.Status.DRAFT

    @property
    def is_read_only(self) -> bool:
        """Created elsewhere on the BSG account: we show and poll it, and touch nothing."""
        return self.created_elsewhere

    @property
    def dispatch_error_shown(self) -> str:
        """Why its recipients could not be resolved, in the reader's language."""
        return shown(self.dispatch_error)

    @property
    def sent_back_reason_shown(self) -> str:
        """Why it was sent back: an approver's words as they wrote them, or the engine's in the
        reader's language (campaigns.stored_text)."""
        return shown(self.sent_back_reason)

    @property
    def has_window(self) -> bool:
        return self.window_start is not None and self.window_end is not None

    @property
    def send_to_display(self) -> str:
        """Who receives it and how, in the composer's words (bsg_method names BSG's method)."""
        if self.is_rcs:
            labels = dict(self.RcsMode.choices)
            return labels.get(self.rcs_mode, labels[self.RcsMode.LISTS])
        return self.SMS_MODE_WORDS.get(self.sms_mode, self.SMS_MODE_WORDS[self.SmsMode.INDIVIDUAL])

    @property
    def bsg_method(self) -> str:
        """The BSG endpoint this campaign goes out through, as the composer tells the user."""
        if self.is_rcs:
            return "rcs/send-groups" if self.sends_to_bsg_groups else "rcs/send"
        return {
            self.SmsMode.NUMBERS: "sms/send",
            self.SmsMode.INDIVIDUAL: "sms/send-individual",
            self.SmsMode.GROUPS: "sms/send-groups",
        }.get(self.sms_mode, "sms/send-individual")

    @property
    def leaves_out_recipients_missing_values(self) -> bool:
        """Recipients missing a value for a placeholder without a fallback get no message: the
        author chose to skip them, or to block sending (then a send plan that finds any refuses
        approval, and whoever goes missing after it is never sent a text with a hole).
        Only where we personalise each text: BSG fills contact-book groups itself, whole."""
        return (
            self.is_sms
            and self.sms_mode == self.SmsMode.INDIVIDUAL
            and self.missing_values in (self.MissingValues.SKIP, self.MissingValues.BLOCK)
        )

    @property
    def uses_lists(self) -> bool:
        return self.is_rcs or self.sms_mode != self.SmsMode.NUMBERS

    def content_copy(self) -> Campaign:
        """A new, unsaved campaign with this one's content (CAMPAIGN_CONTENT_FIELDS; lists are
        set once it is saved) and none of its history."""
        return Campaign(**{n: getattr(self, n) for n in CAMPAIGN_CONTENT_FIELDS if n != "lists"})

    @property
    def sends_to_bsg_groups(self) -> bool:
        """Goes out through one of BSG's group methods (sms/send-groups, rcs/send-groups): BSG
        sends to whole contact-book groups, in one campaign that cannot be split."""
        if self.retry_of_id:
            return False  # a retry names the failed recipients one by one
        if self.is_rcs:
            return self.rcs_mode == self.RcsMode.GROUPS
        return self.sms_mode == self.SmsMode.GROUPS

    @property
    def sends_with_reference_ids(self) -> bool:
        """Each recipient goes to BSG with our reference id (every method but the group ones,
        which name groups, not people): reconcile and poll find messages by it."""
        return not self.sends_to_bsg_groups

    def is_due(self, *, now: datetime) -> bool:
        """Ready now, or scheduled and due here, or scheduled at BSG (handed over at once)."""
        if self.status == self.Status.READY:
            return True
        if self.status != self.Status.SCHEDULED:
            return False
        return self.bsg_schedules or self.start_at is None or self.start_at <= now


class SavedSender(models.Model):
    """A sender name people pick instead of typing it; one may be the default."""

    name = models.CharField(max_length=100, help_text="What people see in the picker.")
    sender = models.CharField(max_length=15)
    is_default = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-is_default", "name"]
        constraints = [
            models.UniqueConstraint(fields=["sender"], name="saved_sender_unique"),
            # One default at most: the composer preselects it.
            models.UniqueConstraint(
                fields=["is_default"],
                condition=models.Q(is_default=True),
                name="saved_sender_one_default",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.sender})" if self.name != self.sender else self.sender


class MessageTemplate(models.Model):
    """A saved text people start campaigns from: an SMS text, or RCS cards with an optional SMS
    fallback, placeholders included ({first_name}, {city|your city}). Only the words are kept:
    who gets it, the sender and when are chosen in the campaign (campaigns.message_templates)."""

    name = models.CharField(max_length=200, unique=True)
    channel = models.CharField(
        max_length=3, choices=Campaign.Channel.choices, default=Campaign.Channel.SMS
    )
    # SMS templates: the text, as the composer's `text`.
    text = models.TextField(blank=True)
    # RCS templates: the cards, in Campaign.rcs_cards' shape, and the SMS fallback's text.
    rcs_cards = models.JSONField(default=list, blank=True)
    fallback_text = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name

    @property
    def is_rcs(self) -> bool:
        return self.channel == Campaign.Channel.RCS


class SendPlan(models.Model):
    """What sending a campaign would do, computed for every recipient by a Celery task.

    `fingerprint` is a hash of everything in the campaign that changes the plan; a plan whose
    fingerprint no longer matches, or that is older than SEND_PLAN_FRESH_FOR, is stale.
    """

    class Status(models.TextChoices):
        PENDING = "pending", _("Waiting for a worker")
        RUNNING = "running", _("Counting")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="send_plans")
    fingerprint = models.CharField(max_length=64)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    recipients_total = models.PositiveBigIntegerField(null=True, blank=True)
    recipients_done = models.PositiveBigIntegerField(default=0)
    # The figures (see campaigns.sendplan.SendPlanResult.as_json).
    result = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        get_latest_by = "created_at"

    def __str__(self) -> str:
        return f"Send plan {self.pk} of campaign {self.campaign_id} ({self.status})"

    @property
    def is_stalled(self) -> bool:
        """Pending or running for longer than any worker could still be on it."""
        if self.status == self.Status.RUNNING:
            since = self.started_at
        elif self.status == self.Status.PENDING:
            since = self.created_at
        else:
            return False
        return since is not None and timezone.now() - since > SEND_PLAN_GIVEN_UP_AFTER

    @property
    def is_finished(self) -> bool:
        """Nothing more will happen to it: the page stops polling."""
        return self.status in {self.Status.DONE, self.Status.FAILED} or self.is_stalled

    @property
    def has_failed(self) -> bool:
        return self.status == self.Status.FAILED or self.is_stalled

    @property
    def failure_text(self) -> str:
        if not self.is_stalled:
            return shown(self.error)
        if self.status == self.Status.PENDING:
            return gettext(
                "No worker took this count in time: is the Celery worker running? "
                "Compute the plan again once it is."
            )
        return ngettext(
            "The count stopped at %(count)s recipients and never finished: its worker was lost "
            "or could not record the outcome. Compute the plan again.",
            "The count stopped at %(count)s recipients and never finished: its worker was lost "
            "or could not record the outcome. Compute the plan again.",
            self.recipients_done,
        ) % {"count": self.recipients_done}

    @property
    def progress_percent(self) -> int:
        if self.status == self.Status.DONE:
            return 100
        if not self.recipients_total:
            return 0
        return min(99, int(self.recipients_done * 100 / self.recipients_total))

    @property
    def missing_values_notes(self) -> list[tuple[str, str]]:
        """(kind, sentence) about recipients missing a value, as the plan found them: "error"
        when it blocks sending, "warning" when they are left out or get a hole, "note" for a
        fallback used."""
        missing = (self.result or {}).get("missing_values") or {}
        notes: list[tuple[str, str]] = []
        unfilled, audience = missing.get("unfilled", 0), missing.get("audience", 0)
        names = self.placeholder_names
        which = placeholders_lacking(
            {
                label: _grouped(count)
                for label, count in (missing.get("unfilled_by_field") or {}).items()
            },
            names,
        )
        said = {"audience": _grouped(audience), "which": which}
        if missing.get("blocked"):
            text = ngettext(
                "Sending is blocked: %(count)s of %(audience)s recipients have no value for "
                "%(which)s. Give the placeholder a fallback, choose to leave them out, or fill "
                "in their details.",
                "Sending is blocked: %(count)s of %(audience)s recipients have no value for "
                "%(which)s. Give the placeholder a fallback, choose to leave them out, or fill "
                "in their details.",
                audience,
            )
            notes.append(("error", text % {**said, "count": _grouped(unfilled)}))
        elif missing.get("left_out"):
            text = ngettext(
                "%(count)s of %(audience)s recipients are left out: no value for %(which)s.",
                "%(count)s of %(audience)s recipients are left out: no value for %(which)s.",
                audience,
            )
            notes.append(("warning", text % {**said, "count": _grouped(missing["left_out"])}))
        elif unfilled:
            text = ngettext(
                "%(count)s of %(audience)s recipients get nothing where the text says "
                "%(which)s: give the placeholder a fallback.",
                "%(count)s of %(audience)s recipients get nothing where the text says "
                "%(which)s: give the placeholder a fallback.",
                audience,
            )
            notes.append(("warning", text % {**said, "count": _grouped(unfilled)}))
        for label, used in (missing.get("fallbacks") or {}).items():
            text = ngettext(
                "%(count)s recipient has no %(placeholder)s: they get “%(fallback)s”.",
                "%(count)s recipients have no %(placeholder)s: they get “%(fallback)s”.",
                used["recipients"],
            )
            said = {
                "count": _grouped(used["recipients"]),
                "placeholder": placeholder_said(label, names[label]),
                "fallback": used["fallback"],
            }
            notes.append(("note", text % said))
        return notes

    # BSG's price and balance errors as the plan stored them (campaigns.stored_text).
    RESULT_TEXTS = ("price_error", "fallback_price_error", "balance_error")

    @property
    def result_shown(self) -> dict:
        """The figures, with the plan's notes in the reader's language, each example's field by
        its name ("City", not `city`) and each encoding in words ("special characters", not
        UCS-2: bsg_words)."""
        result = dict(self.result or {})
        for name in self.RESULT_TEXTS:
            if result.get(name):
                result[name] = shown(result[name])
        result["histogram"] = [
            {
                **row,
                "encoding_words": encoding_words(row.get("encoding", "")),
                "encoding_hint": encoding_hint(row.get("encoding", "")),
            }
            for row in result.get("histogram") or ()
        ]
        if result.get("longest"):
            longest = result["longest"]
            encoding = longest.get("encoding", "")
            result["longest"] = {**longest, "encoding_words": encoding_words(encoding)}
        special = any(row.get("encoding") == smstext.UCS2 for row in result["histogram"])
        result["special_characters_note"] = special_characters_note() if special else ""
        names = self.placeholder_names
        for examples in self.RESULT_EXAMPLES:
            result[examples] = [
                {**example, "field": names[example["field"]]} if example.get("field") else example
                for example in result.get(examples) or ()
            ]
        return result

    # Per-recipient examples whose "field" is a placeholder's label (rendering.Slot.label).
    RESULT_EXAMPLES = ("ucs2_examples", "over_limit_examples")

    @cached_property
    def placeholder_names(self) -> dict[str, str]:
        """Each placeholder the figures name, by its label as they keep it (a field's key, or
        "name" and "phone"): its name as the reader reads it now (the field's label, or its key
        when the field is gone: plans stored before the field was renamed or deleted say it
        too)."""
        from .selectors import placeholder_names  # the selectors read these models

        result = self.result or {}
        missing = result.get("missing_values") or {}
        labels = [
            example["field"]
            for examples in self.RESULT_EXAMPLES
            for example in result.get(examples) or ()
            if example.get("field")
        ]
        labels += [*(missing.get("unfilled_by_field") or {}), *(missing.get("fallbacks") or {})]
        return placeholder_names(labels=dict.fromkeys(labels)) if labels else {}

    def is_fresh_for(self, fingerprint: str) -> bool:
        return (
            self.status == self.Status.DONE
            and self.fingerprint == fingerprint
            and self.finished_at is not None
            and timezone.now() - self.finished_at <= SEND_PLAN_FRESH_FOR
        )


# BSG holds a campaign in these, sending nothing (bsg-api.md, Campaign statuses): a test message
# in one may not have left BSG yet, and its row says where it waits.
HELD_AT_BSG_STATUSES = frozenset({"moderation", "scheduled", "paused"})


class TestSend(models.Model):
    """One campaign sent to one phone now, to see it as a recipient would."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="test_sends")
    phone = models.CharField(max_length=15)
    # The contact whose fields filled the placeholders: the one chosen, or else one of the
    # audience's (campaigns.selectors.test_send_contact).
    contact = models.ForeignKey(
        "contacts.Contact", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    text = models.TextField(blank=True)
    # Whose data filled the placeholders, in a sentence for the page (the contact chosen, the
    # audience's contact picked for it, or none because the audience is empty); "" if the text
    # has none.
    rendered_as = models.TextField(blank=True)
    bsg_method = models.CharField(max_length=40)
    bsg_campaign_id = models.PositiveBigIntegerField(null=True, blank=True)
    bsg_status = models.CharField(max_length=40, blank=True)
    delivered = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    checked_at = models.DateTimeField(null=True, blank=True)

    # Not a test case, whatever pytest thinks of the name.
    __test__ = False

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"Test send of campaign {self.campaign_id} to +{self.phone}"

    @property
    def error_shown(self) -> str:
        return shown(self.error)

    @property
    def rendered_as_shown(self) -> str:
        return shown(self.rendered_as)

    @property
    def bsg_status_words(self) -> str:
        """BSG's status of the test campaign in the reader's words ("Finished", not "done")."""
        return campaign_status_words(self.bsg_status)

    @property
    def is_final(self) -> bool:
        # An error is final too.
        return bool(self.error) or self.bsg_status in TERMINAL_STATUSES

    @property
    def outcome_words(self) -> str:
        """What became of the test message, as its sender asks it: did it reach the phone?
        BSG's status is of its campaign ("Finished"), which a message can end undelivered."""
        if self.delivered:
            return gettext("Delivered")
        said = {"status": self.bsg_status_words}
        if self.is_final:
            # Stopped or blocked as spam: why it ended undelivered is worth saying.
            if self.bsg_status in TERMINAL_STATUSES and self.bsg_status != "done":
                return gettext("Not delivered (%(status)s)") % said
            return gettext("Not delivered")
        if self.bsg_status in HELD_AT_BSG_STATUSES:
            return gettext("%(status)s at BSG") % said
        return gettext("Sent, waiting for the delivery report")


# --- the engine (issue 5): parts, the per-recipient ledger, snapshots, events ------------------


class EngineInstallation(models.Model):
    """One row: the random salt that makes this installation's reference ids its own.

    Two installations sending through one BSG account would otherwise both call their first
    recipient "c1r0", and BSG refuses a reference id it has seen before (bsg-api.md).
    """

    salt = models.CharField(max_length=8, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"Installation {self.salt}"


class DispatchSlice(models.Model):
    """One slice of a campaign's audience as its dispatch cut it: the recipients whose audience
    key is in [first_key, end_key), resolved into the ledger by whichever worker process claims
    it (campaigns.engine.dispatch). Its seq are first_seq + its place in the slice, so they are
    the ones one dispatch of the whole audience would give."""

    class State(models.TextChoices):
        PENDING = "pending"
        WRITING = "writing"
        WRITTEN = "written"

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="slices")
    number = models.PositiveIntegerField()  # 0-based, in audience order
    first_key = models.BigIntegerField(null=True, blank=True)  # None: from the start
    end_key = models.BigIntegerField(null=True, blank=True)  # None: to the end
    first_seq = models.PositiveIntegerField(default=0)
    # Audience rows it holds at most (the cut's); None: the whole audience in one slice.
    rows = models.PositiveIntegerField(null=True, blank=True)
    state = models.CharField(max_length=10, choices=State.choices, default=State.PENDING)
    # Each claim counts one more; a worker writes only while the slice is still its claim's
    # (a fencing token: one that lost it to the sweep cannot commit a row after).
    attempt = models.PositiveSmallIntegerField(default=0)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    # Once written: its digest (campaigns.audience_digest), the recipients the digest covers,
    # its ledger rows, and those its schedule's frequency cap left out.
    digest = models.CharField(max_length=64, blank=True)
    digested = models.PositiveIntegerField(default=0)
    written = models.PositiveIntegerField(default=0)
    skipped = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["campaign_id", "number"]
        constraints = [
            models.UniqueConstraint(fields=["campaign", "number"], name="slice_unique_number")
        ]

    def __str__(self) -> str:
        return f"Slice {self.number} of campaign {self.campaign_id} ({self.state})"


class CampaignPart(models.Model):
    """One BSG campaign: a campaign of more than 10,000 SMS (5,000 RCS) recipients has several.

    `state` says what we know, not what we hope: a part whose request got no answer is
    `unconfirmed` until BSG's own records say whether it exists.
    """

    class State(models.TextChoices):
        PENDING = "pending", _("Waiting to be submitted")
        SUBMITTING = "submitting", _("Being submitted")
        SUBMITTED = "submitted", _("Submitted to BSG")
        REJECTED = "rejected", _("Rejected")
        UNCONFIRMED = "unconfirmed", _("Unconfirmed: checking BSG")
        HELD = "held", _("Held")
        NEEDS_ATTENTION = "needs_attention", _("Needs attention")
        CANCELLED = "cancelled", _("Cancelled before submitting")

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="parts")
    number = models.PositiveIntegerField()
    # The dispatch slice that made it (its ledger rows are that slice's); None before slices.
    dispatch_slice = models.ForeignKey(
        DispatchSlice, null=True, blank=True, on_delete=models.CASCADE, related_name="parts"
    )
    state = models.CharField(max_length=20, choices=State.choices, default=State.PENDING)
    recipients = models.PositiveIntegerField(default=0)
    # Its recipients' SMS parts, summed by the dispatch as it writes them: what BSG charges
    # an SMS campaign by, which the balance guard reads before each submit (summing the
    # part's ledger rows there cost each submit a read of 10,000 rows). None for a part
    # written before it was kept, or without ledger rows (BSG's groups).
    sms_parts = models.PositiveIntegerField(null=True, blank=True)
    bsg_campaign_id = models.PositiveBigIntegerField(null=True, blank=True, unique=True)
    bsg_status = models.CharField(max_length=30, blank=True)
    sent = models.PositiveIntegerField(default=0)
    delivered = models.PositiveIntegerField(default=0)
    # E8's per-status counts (expired, failed, undelivered, ...), kept as BSG names them.
    breakdown = models.JSONField(default=dict, blank=True)
    price = models.DecimalField(max_digits=14, decimal_places=4, null=True, blank=True)
    currency = models.CharField(max_length=8, blank=True)
    # What this part sends when it is not the campaign's content as typed: a personalised RCS
    # campaign's {"cards", "fallback_text"} rendered for its recipients, who all get the same
    # (BSG's rcs/send takes one message for all its phones: campaigns.rcs_content). Rendered
    # at dispatch, with the values the approval digest checked; empty for every other part.
    content = models.JSONField(default=dict, blank=True)
    # BSG's refusal (its words), or what is known about a part that needs attention (in English:
    # error_shown says it in the reader's language, campaigns.stored_text).
    error = models.TextField(blank=True)
    # BSG's answer to our stop request, as it said it.
    stop_answer = models.TextField(blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    # Set once any attempt ended without an answer: a later refusal of its reference ids as
    # duplicates then means "the earlier attempt got through", not "rejected".
    outcome_was_unknown = models.BooleanField(default=False)
    reconcile_tries = models.PositiveSmallIntegerField(default=0)
    # Polls whose read of the ended part's breakdown (E8 detail) failed: bounded, so a detail
    # BSG never gives cannot keep the campaign "sending" (ENGINE_DETAIL_MAX_TRIES).
    detail_tries = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    submitted_at = models.DateTimeField(null=True, blank=True)
    last_polled_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # Per-recipient statuses (E9) are read at growing intervals until validity has passed.
    messages_polled_at = models.DateTimeField(null=True, blank=True)
    next_messages_poll_at = models.DateTimeField(null=True, blank=True)
    # Sent with our callback URL: BSG pushes its recipients' statuses, so they are read (E9)
    # only when the pushes seem lost and once after validity (campaigns.engine.poll).
    reports_pushed = models.BooleanField(default=False)
    # When a pushed status of one of its recipients was last applied to the ledger.
    last_report_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["campaign_id", "number"]
        constraints = [
            models.UniqueConstraint(fields=["campaign", "number"], name="part_unique_number")
        ]
        indexes = [
            models.Index(fields=["state", "next_attempt_at"], name="part_state_next"),
            # The home page's totals and the list's rows sum these over a set of campaigns:
            # read from the index alone, a lookup a campaign, where PostgreSQL otherwise read
            # every part ever made (1.25M at a million campaigns, 0.6 s on every home page;
            # BENCHMARKS.md "Web under load", issue 16).
            models.Index(
                fields=["campaign"],
                include=["recipients", "sent", "delivered"],
                name="part_campaign_figures",
            ),
        ]

    def __str__(self) -> str:
        return f"Part {self.number} of campaign {self.campaign_id} ({self.state})"

    @property
    def is_bsg_terminal(self) -> bool:
        return self.bsg_status in TERMINAL_STATUSES

    @property
    def bsg_status_words(self) -> str:
        """BSG's status of this part in the reader's words ("Finished", not "done")."""
        return campaign_status_words(self.bsg_status)

    @property
    def is_stoppable(self) -> bool:
        """Submitted and not finished at BSG: BSG is asked, and its refusal shown plainly.

        bsg-api.md lists creation, scheduled, sending, paused (and the YAML's moderation) as
        stoppable; a status we do not know yet is asked too rather than silently skipped."""
        return self.state == self.State.SUBMITTED and not self.is_bsg_terminal

    @property
    def note(self) -> str:
        """The parts table's note: BSG's answer to our stop, else why it is not submitted, or
        for a submitted part what is missing from its figures (submitting clears the error of
        earlier attempts, engine.submit.part_link; the poll may then note that BSG gave no
        breakdown by status)."""
        return shown(self.stop_answer or self.error)

    @property
    def error_shown(self) -> str:
        """Why it is not submitted (or what its figures lack), in the reader's language."""
        return shown(self.error)

    @property
    def error_names_the_batch(self) -> bool:
        """Its error already names this batch ("Batch 2: BSG refused it…", "Held: batch 2 would
        cost…"), so a line that shows the error does not name the batch before it again."""
        return bool(self.error) and batch_named(self.error) == self.number

    @property
    def error_names_the_state(self) -> bool:
        """Its error already says it is held: every hold's sentence begins "Held: …"
        (stored_text.HELD_*), so a line that shows the error needs no "Held" badge before it."""
        return self.state == self.State.HELD and bool(self.error)

    @property
    def is_settled(self) -> bool:
        """Nothing more will happen to this part by itself."""
        if self.state == self.State.SUBMITTED:
            return self.is_bsg_terminal
        return self.state in {self.State.REJECTED, self.State.CANCELLED}


# Recipient statuses (E9 message statuses, lower-cased) that count as failed ("retry failed
# only" sends to these again) and as delivered.
FAILED_MESSAGE_STATUSES = frozenset({"undelivered", "expired", "failed", "rejected", "unknown"})
DELIVERED_MESSAGE_STATUSES = frozenset({"delivered", "read"})


class Recipient(models.Model):
    """The per-recipient ledger: one row per campaign and recipient, resolved at send time."""

    # No index of their own: (campaign, seq) and (part, seq) below lead with them. No
    # foreign-key constraints either: PostgreSQL checked both for every ledger row, locking the
    # campaign's and the part's row each time, ~18 s a million rows at the dispatch's commits
    # (BENCHMARKS.md, "Ten million contacts"). The rows are only ever written by the dispatch,
    # for the campaign it holds and the parts it made, and deleting campaigns or parts deletes
    # their rows in the same statement however they are deleted (triggers, migration 0015).
    campaign = models.ForeignKey(
        Campaign,
        on_delete=models.CASCADE,
        related_name="recipients",
        db_index=False,
        db_constraint=False,
    )
    part = models.ForeignKey(
        CampaignPart,
        on_delete=models.CASCADE,
        related_name="ledger",
        db_index=False,
        db_constraint=False,
    )
    # Position in the campaign (0-based); with the campaign id and the installation's salt it
    # makes the reference id.
    seq = models.PositiveIntegerField()
    phone = models.CharField(max_length=15)
    contact_id = models.BigIntegerField(null=True, blank=True)
    text = models.TextField(blank=True)
    sms_parts = models.PositiveSmallIntegerField(default=0)
    # Unique through a constraint, not unique=True: that would add a varchar_pattern_ops index
    # for LIKE that nothing uses, one more index to write per recipient.
    reference_id = models.CharField(max_length=32)
    bsg_message_id = models.PositiveBigIntegerField(null=True, blank=True)
    status = models.CharField(max_length=30, blank=True)
    status_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["campaign_id", "seq"]
        constraints = [
            models.UniqueConstraint(fields=["campaign", "seq"], name="recipient_unique_seq"),
            models.UniqueConstraint(fields=["reference_id"], name="recipient_reference_unique"),
        ]
        indexes = [
            models.Index(fields=["part", "seq"], name="recipient_part_seq"),
            # The recipients tab filtered by status, keyset-paged by seq.
            models.Index(fields=["campaign", "status", "seq"], name="recipient_status_seq"),
        ]

    def __str__(self) -> str:
        return f"+{self.phone} in campaign {self.campaign_id}"

    @property
    def status_words(self) -> str:
        """BSG's report on the message in the reader's words ("Delivered", not "delivered")."""
        return message_status_words(self.status)


class DeliveryReport(models.Model):
    """A delivery status BSG pushed to our callback URL, kept as it came until a worker applies
    it to the ledger (campaigns.engine.delivery_reports): the request that brought it only
    stores it, so BSG's call is answered at once however busy the database is.

    `key` names the message (`r:<reference id>`, else `m:<BSG message id>`); with the status it
    is unique, so a report BSG sends twice is stored once.
    """

    key = models.CharField(max_length=40)
    status = models.CharField(max_length=30)
    reference_id = models.CharField(max_length=32, blank=True)
    bsg_message_id = models.PositiveBigIntegerField(null=True, blank=True)
    phone = models.CharField(max_length=15, blank=True)
    # The status object as BSG sent it (bounded: the endpoint refuses bodies over its cap).
    payload = models.JSONField(default=dict)
    received_at = models.DateTimeField()
    applied_at = models.DateTimeField(null=True, blank=True)
    # Whether a ledger row was found for it (a report of a message sent elsewhere is not).
    matched = models.BooleanField(default=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["key", "status"], name="delivery_report_unique")
        ]
        indexes = [
            # The worker's queue: what is not applied yet, oldest first.
            models.Index(
                fields=["id"],
                name="delivery_report_pending",
                condition=models.Q(applied_at__isnull=True),
            ),
            models.Index(fields=["received_at"], name="delivery_report_received"),
        ]

    def __str__(self) -> str:
        return f"{self.key} {self.status}"


class CampaignSnapshot(models.Model):
    """A part's figures at one moment, appended only when they change (delivery over time)."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="snapshots")
    part = models.ForeignKey(
        CampaignPart, on_delete=models.CASCADE, related_name="snapshots", null=True, blank=True
    )
    taken_at = models.DateTimeField(default=timezone.now)
    bsg_status = models.CharField(max_length=30, blank=True)
    sent = models.PositiveIntegerField(default=0)
    delivered = models.PositiveIntegerField(default=0)
    breakdown = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["campaign_id", "taken_at", "id"]
        # The detail page's chart reads one campaign's snapshots in time order.
        indexes = [
            models.Index(fields=["campaign", "taken_at", "id"], name="snapshot_campaign_taken")
        ]

    def __str__(self) -> str:
        return f"{self.bsg_status} {self.sent}/{self.delivered} at {self.taken_at:%H:%M:%S}"


class CampaignEvent(models.Model):
    """What happened to a campaign, in words a person reads on the dashboard."""

    class Kind(models.TextChoices):
        CREATED = "created", _("Created")
        SEND_REQUESTED = "send_requested", _("Send requested")
        APPROVAL_REQUESTED = "approval_requested", _("Approval requested")
        APPROVED = "approved", _("Approved")
        SENT_BACK = "sent_back", _("Sent back")
        APPROVAL_VOID = "approval_void", _("Approval void")
        DISPATCHED = "dispatched", _("Recipients resolved")
        SUBMITTED = "submitted", _("Submitted")
        REJECTED = "rejected", _("Rejected")
        UNCONFIRMED = "unconfirmed", _("Unconfirmed")
        RECONCILED = "reconciled", _("Reconciled")
        RETRY = "retry", _("Retry")
        STATUS_CHANGED = "status_changed", _("Status changed")
        NEEDS_ATTENTION = "needs_attention", _("Needs attention")
        HELD = "held", _("Held")
        RESUMED = "resumed", _("Resumed")
        DO_NOT_CONTACT = "do_not_contact", _("Added to do-not-contact")
        STOPPED = "stopped", _("Stopped")
        CANCELLED = "cancelled", _("Cancelled")
        FINISHED = "finished", _("Finished")

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="events")
    part = models.ForeignKey(
        CampaignPart, on_delete=models.SET_NULL, related_name="events", null=True, blank=True
    )
    kind = models.CharField(max_length=20, choices=Kind.choices)
    message = models.TextField(blank=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["campaign_id", "created_at", "id"]
        # The detail page's event log: one campaign's latest events.
        indexes = [
            models.Index(fields=["campaign", "-created_at", "-id"], name="event_campaign_created")
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.message}"

    @property
    def message_shown(self) -> str:
        """The line in the reader's language (it is stored in English: campaigns.stored_text)."""
        return shown(self.message)


class CampaignSchedule(models.Model):
    """A recurring campaign: each run sends a copy of `template`'s content as approved.

    The timing lives in a django-celery-beat PeriodicTask + CrontabSchedule; the task carries
    only this row's id and is enabled only while the schedule is approved and not paused
    (campaigns.engine.schedules). An approver other than its authors approves it like a
    campaign: `approved_content` freezes the template's content then, every run sends exactly
    that, and an edit of the template's content afterwards voids the approval.
    """

    name = models.CharField(max_length=200)
    template = models.ForeignKey(Campaign, on_delete=models.PROTECT, related_name="schedules")
    periodic_task = models.OneToOneField(
        "django_celery_beat.PeriodicTask",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="campaign_schedule",
    )
    # Skip recipients this schedule messaged in the last N days (None: no cap).
    frequency_cap_days = models.PositiveSmallIntegerField(null=True, blank=True)
    last_run_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    paused = models.BooleanField(default=False)
    approved_at = models.DateTimeField(null=True, blank=True)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # The template's content as approved (campaigns.engine.schedules.schedule_content): what
    # each run sends, whatever the template says later.
    approved_content = models.JSONField(default=dict, blank=True)
    # Why it waits for approval again ("" when it never had one), in English
    # (campaigns.stored_text): approval_void_reason_shown says it in the reader's language.
    approval_void_reason = models.TextField(blank=True)

    class Meta:
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name

    @property
    def approval_void_reason_shown(self) -> str:
        return shown(self.approval_void_reason)

    @property
    def is_paused(self) -> bool:
        return self.paused

    @property
    def is_approved(self) -> bool:
        return self.approved_at is not None

    @property
    def fires(self) -> bool:
        """Beat fires it: approved, not paused, and its beat task still there."""
        return self.is_approved and not self.paused and self.periodic_task_id is not None


class TestPhone(models.Model):
    """A phone test sends may go to: an admin keeps this short list (Django admin), so a
    draft nobody approved reaches only the team's own phones."""

    phone = models.CharField(max_length=15, unique=True)
    # Whose phone it is, for the picker ("Olena's phone").
    label = models.CharField(max_length=100)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    __test__ = False

    class Meta:
        ordering = ["label", "phone"]
        # Pages send people to "Admin → Test phones": the admin names it in their language.
        verbose_name = _("test phone")
        verbose_name_plural = _("test phones")

    def __str__(self) -> str:
        return f"{self.label} (+{self.phone})"
