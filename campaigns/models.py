"""Campaigns as the composer saves them, the senders people pick from, and the send plan.

A campaign is composed here and handed to the engine (issue 5) by `campaign_request_send`
(campaigns.services). The engine adds its own tables beside these (one row per BSG part, one
per recipient): nothing here holds recipients or BSG ids, so it never has to reshape them.
"""

from datetime import timedelta

from django.conf import settings
from django.db import models
from django.utils import timezone

DEFAULT_VALIDITY_HOURS = 72
DEFAULT_TARIFF = 0
# A send plan counts parts for the audience as it was when it ran; lists change, so after this
# long "Send" asks for a new one.
SEND_PLAN_FRESH_FOR = timedelta(minutes=30)


class Campaign(models.Model):
    class Channel(models.TextChoices):
        SMS = "sms", "SMS"
        RCS = "rcs", "RCS"

    class SmsMode(models.TextChoices):
        # The three BSG SMS methods; the composer picks one from what the user chooses.
        NUMBERS = "numbers", "To numbers (BSG sms/send)"
        INDIVIDUAL = "individual", "To contact lists, personalised here (BSG sms/send-individual)"
        GROUPS = "groups", "To BSG contact-book groups (BSG sms/send-groups)"

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        # Valid and "Send now" requested: the engine takes it from here.
        READY = "ready", "Ready to send"
        # Valid with a start time: sent when due (by us, or by BSG when bsg_schedules is set).
        SCHEDULED = "scheduled", "Scheduled"

    name = models.CharField(max_length=200)
    channel = models.CharField(max_length=3, choices=Channel.choices, default=Channel.SMS)
    sms_mode = models.CharField(
        max_length=10, choices=SmsMode.choices, default=SmsMode.INDIVIDUAL, blank=True
    )
    # The SMS text (SMS campaigns). Placeholders: {field_key}, {<bsg field id>}, {name}, {phone}.
    text = models.TextField(blank=True)
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

    # RCS (BSG rcs/send-groups).
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

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["status", "start_at"], name="campaign_status_start")]

    def __str__(self) -> str:
        return self.name or f"Campaign {self.pk}"

    @property
    def is_sms(self) -> bool:
        return self.channel == self.Channel.SMS

    @property
    def is_rcs(self) -> bool:
        return self.channel == self.Channel.RCS

    @property
    def is_editable(self) -> bool:
        """Only drafts are edited; a campaign asked to send is the engine's until it is back."""
        return self.status == self.Status.DRAFT

    @property
    def bsg_method(self) -> str:
        """The BSG endpoint this campaign goes out through, as the composer tells the user."""
        if self.is_rcs:
            return "rcs/send-groups"
        return {
            self.SmsMode.NUMBERS: "sms/send",
            self.SmsMode.INDIVIDUAL: "sms/send-individual",
            self.SmsMode.GROUPS: "sms/send-groups",
        }.get(self.sms_mode, "sms/send-individual")

    @property
    def uses_lists(self) -> bool:
        return self.is_rcs or self.sms_mode != self.SmsMode.NUMBERS


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


class SendPlan(models.Model):
    """What sending a campaign would do, computed for every recipient by a Celery task.

    `fingerprint` is a hash of everything in the campaign that changes the plan; a plan whose
    fingerprint no longer matches, or that is older than SEND_PLAN_FRESH_FOR, is stale.
    """

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting for a worker"
        RUNNING = "running", "Counting"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

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
    def is_finished(self) -> bool:
        return self.status in {self.Status.DONE, self.Status.FAILED}

    @property
    def progress_percent(self) -> int:
        if self.status == self.Status.DONE:
            return 100
        if not self.recipients_total:
            return 0
        return min(99, int(self.recipients_done * 100 / self.recipients_total))

    def is_fresh_for(self, fingerprint: str) -> bool:
        return (
            self.status == self.Status.DONE
            and self.fingerprint == fingerprint
            and self.finished_at is not None
            and timezone.now() - self.finished_at <= SEND_PLAN_FRESH_FOR
        )


class TestSend(models.Model):
    """One campaign sent to one phone now, to see it as a recipient would."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="test_sends")
    phone = models.CharField(max_length=15)
    # The contact whose fields filled the placeholders, if one was chosen.
    contact = models.ForeignKey(
        "contacts.Contact", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    text = models.TextField(blank=True)
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
    def is_final(self) -> bool:
        # BSG's terminal statuses (bsg-api.md); an error is final too.
        return bool(self.error) or self.bsg_status in {"done", "stopped", "spam"}
