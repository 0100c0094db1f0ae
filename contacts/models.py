"""Audiences: contact lists, custom fields, contacts, the do-not-contact list and imports.

Phones are stored normalized by `contacts.phones.normalize_phone` (digits only, country code
included), so one person is one row however their number was typed.
"""

from datetime import timedelta

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import gettext_noop

from .phones import phone_display

# A queued or running push whose worker has not reported for this long (it touches
# push_heartbeat_at after every batch) is taken as lost: shown failed, and may be resumed.
PUSH_STALE_AFTER = timedelta(minutes=5)
# Both import tasks (contacts.tasks) are killed at their hard time limit, 1,900 s. The import
# writes in one transaction and on SQLite cannot show progress before it commits, so only that
# limit proves a worker lost: an import analysing or running longer after it started is shown
# failed instead of "Importing…" forever.
IMPORT_GIVEN_UP_AFTER = timedelta(seconds=1_900 + 60)

FIELD_KEY_VALIDATOR = RegexValidator(
    r"^[a-z][a-z0-9_]{0,49}$",
    _("Use lowercase letters, digits and underscores, starting with a letter (e.g. first_name)."),
)
PHONE_VALIDATOR = RegexValidator(
    r"^[1-9]\d{8,14}$", _("A phone number is 9 to 15 digits, country code first.")
)


class ContactField(models.Model):
    """A custom contact attribute, e.g. first_name or order_no.

    `bsg_field_id` is the id of the same field in the BSG contact book: BSG fills `{17}` in a
    send-groups text from it, and our preview resolves `{17}` and `{first_name}` alike.
    """

    key = models.CharField(max_length=50, unique=True, validators=[FIELD_KEY_VALIDATOR])
    label = models.CharField(max_length=100)
    bsg_field_id = models.PositiveBigIntegerField(null=True, blank=True, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["key"]
        verbose_name = _("contact field")
        verbose_name_plural = _("contact fields")

    def __str__(self) -> str:
        return self.label or self.key


class ContactList(models.Model):
    """A local audience; linked to a BSG contact-book group when `bsg_group_id` is set."""

    class PushStatus(models.TextChoices):
        NEVER = "never", _("Not pushed")
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Pushing")
        DONE = "done", _("Pushed")
        FAILED = "failed", _("Failed")

    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    # Two lists cannot claim one BSG group: sending to either would reach the other's people.
    bsg_group_id = models.PositiveBigIntegerField(null=True, blank=True, unique=True)
    archived_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    # The last push of this list to BSG (contacts_push task). The page's progress bar reads
    # these; a failed or interrupted push resumes from ListMembership.pushed_to_bsg_at.
    push_status = models.CharField(
        max_length=10, choices=PushStatus.choices, default=PushStatus.NEVER
    )
    push_total = models.PositiveIntegerField(default=0)
    push_done = models.PositiveIntegerField(default=0)
    push_error = models.TextField(blank=True)
    push_started_at = models.DateTimeField(null=True, blank=True)
    # Touched after every batch: a RUNNING push whose heartbeat is old lost its worker.
    push_heartbeat_at = models.DateTimeField(null=True, blank=True)
    push_finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = [Lower("name")]
        verbose_name = _("contact list")
        verbose_name_plural = _("contact lists")
        constraints = [
            models.UniqueConstraint(Lower("name"), name="contact_list_name_unique_ci"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_archived(self) -> bool:
        return self.archived_at is not None

    @property
    def is_linked_to_bsg(self) -> bool:
        """Only linked lists can be sent to with BSG's group methods (SMS and RCS send-groups)."""
        return self.bsg_group_id is not None

    @property
    def push_is_stalled(self) -> bool:
        """Queued or running with no sign of life for PUSH_STALE_AFTER: its worker was lost
        (or its task never reached one). The page says so and offers to push again."""
        if self.push_status not in {self.PushStatus.QUEUED, self.PushStatus.RUNNING}:
            return False
        beat = self.push_heartbeat_at or self.push_started_at
        return beat is not None and timezone.now() - beat > PUSH_STALE_AFTER

    @property
    def push_in_progress(self) -> bool:
        return (
            self.push_status in {self.PushStatus.QUEUED, self.PushStatus.RUNNING}
            and not self.push_is_stalled
        )

    @property
    def was_ever_pushed(self) -> bool:
        return self.push_status != self.PushStatus.NEVER

    @property
    def push_succeeded(self) -> bool:
        """The last push ended with every member sent up."""
        return self.push_status == self.PushStatus.DONE

    @property
    def push_failed(self) -> bool:
        """The last push stopped part way; pushing again resumes where it stopped."""
        return self.push_status == self.PushStatus.FAILED

    @property
    def push_percent(self) -> int:
        if self.push_status == self.PushStatus.DONE:
            return 100
        if not self.push_total:
            return 0
        return min(99, int(self.push_done * 100 / self.push_total))


class Contact(models.Model):
    phone = models.CharField(max_length=15, unique=True, validators=[PHONE_VALIDATOR])
    name = models.CharField(max_length=200, blank=True)
    # Custom field values by ContactField.key, all strings: {"first_name": "Olena", "city": "Kyiv"}.
    fields = models.JSONField(default=dict, blank=True)
    # The contact's id in the BSG contact book, once the contact has been pushed there.
    bsg_contact_id = models.PositiveBigIntegerField(null=True, blank=True)
    # Written by a big import and not yet in the search indexes (on PostgreSQL the GIN indexes
    # of migration 0009 hold only rows where this is false). Maintaining them row by row was
    # most of a million-row import; the search catch-up task (contacts.search_index) adds the
    # imported rows afterwards in batches, and until then the search reads these few rows
    # through their own small index, so it finds them all along.
    search_pending = models.BooleanField(default=False, db_default=False, editable=False)
    lists = models.ManyToManyField(
        ContactList, through="ListMembership", related_name="contacts", blank=True
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-id"]
        verbose_name = _("contact")
        verbose_name_plural = _("contacts")
        # Exporting phone numbers in bulk is its own right, apart from reading them on a page.
        # The name is stored in English (auth_permission); the 403 page translates it.
        permissions = [
            (
                "export_contact",
                gettext_noop("Can export contacts, lists and do-not-contact as CSV"),
            )
        ]

    def __str__(self) -> str:
        return f"{self.name} (+{self.phone})" if self.name else f"+{self.phone}"

    @property
    def phone_display(self) -> str:
        return phone_display(self.phone)


class ListMembership(models.Model):
    # The pair is the primary key: a membership has no `id` of its own, so a big import writes
    # two B-trees a row, not three, and 8 bytes less of heap (10M memberships: BENCHMARKS.md,
    # migration 0012). No single-column index on either key: the primary key and the
    # (contact, contact_list) index below serve every lookup.
    # Django's admin cannot register a model with a composite key: admin shows memberships as
    # each contact's lists, and the contact's form edits them (contacts.admin).
    pk = models.CompositePrimaryKey("contact_list", "contact")
    # No foreign-key constraints either: PostgreSQL checks one per inserted row and locks the
    # contact's row for it, ~10 s at the commit of a million-row import. What they guarded is
    # kept otherwise (migration 0009): deleting contacts or lists deletes their memberships in
    # the same statement (statement-level triggers, any path), an import holds the contacts
    # table and its list against deletes while it writes, and memberships are only ever made
    # from contacts and lists read in the same transaction.
    contact_list = models.ForeignKey(
        ContactList,
        on_delete=models.CASCADE,
        related_name="+",
        db_index=False,
        db_constraint=False,
    )
    contact = models.ForeignKey(
        Contact,
        on_delete=models.CASCADE,
        related_name="memberships",
        db_index=False,
        db_constraint=False,
    )
    added_at = models.DateTimeField(auto_now_add=True)
    # Set once the contact is attached to the list's BSG group, so an interrupted push resumes.
    pushed_to_bsg_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("list membership")
        verbose_name_plural = _("list memberships")
        indexes = [models.Index(fields=["contact", "contact_list"], name="membership_contact")]

    def __str__(self) -> str:
        return f"{self.contact_id} in {self.contact_list_id}"


class ListMemberCount(models.Model):
    """How many members a list has, kept by the database as memberships come and go.

    Counting a list's memberships on each view took 3.2 s for a list of ten million
    (BENCHMARKS.md). Triggers (migration 0011) write this row in the same transaction as any
    insert or delete of memberships, whatever makes it (the ORM, the import's SQL, the cascades
    of migration 0009), so the figure is exact in every snapshot that sees the memberships.
    Triggers also make the row with its list and delete it with the list (and keep it through
    a TRUNCATE). Memberships never move to another list (no code updates `contact_list_id`),
    so updates need no trigger.
    `contacts.services.contact_list_members_recount` counts again, for repairs.
    """

    # No foreign-key constraint: a list deleted by any path (raw SQL too) takes its row with
    # it through a trigger, as it takes its memberships (migration 0009).
    contact_list = models.OneToOneField(
        ContactList,
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="member_total",
        db_constraint=False,
    )
    members = models.BigIntegerField(default=0)

    class Meta:
        verbose_name = _("list member count")
        verbose_name_plural = _("list member counts")

    def __str__(self) -> str:
        return f"{self.contact_list_id}: {self.members}"


class DoNotContact(models.Model):
    """One account-wide opt-out list; every send excludes these numbers."""

    class Source(models.TextChoices):
        MANUAL = "manual", _("Added by hand")
        IMPORT = "import", _("Imported")
        DELIVERY_FAILURES = "delivery_failures", _("Repeated delivery failures")
        BSG_STOP_LIST = "bsg_stop_list", _("BSG stop list")

    phone = models.CharField(max_length=15, unique=True, validators=[PHONE_VALIDATOR])
    reason = models.CharField(max_length=500, blank=True)
    source = models.CharField(max_length=32, choices=Source.choices, default=Source.MANUAL)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("do-not-contact entry")
        verbose_name_plural = _("do-not-contact list")

    def __str__(self) -> str:
        return f"+{self.phone} ({self.get_source_display()})"

    @property
    def phone_display(self) -> str:
        return phone_display(self.phone)


class ContactImport(models.Model):
    """One uploaded file on its way into a list (or into the do-not-contact list).

    The row is the source of truth for the import's progress: the page's progress bar reads it,
    and a cancelled or failed import says here what was kept.
    """

    class Status(models.TextChoices):
        READING = "reading", _("Reading the file")
        UPLOADED = "uploaded", _("Uploaded")
        ANALYSING = "analysing", _("Dry run in progress")
        READY = "ready", _("Dry run done")
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Importing")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")
        CANCELLED = "cancelled", _("Cancelled")

    class Target(models.TextChoices):
        CONTACTS = "contacts", _("Contacts")
        DO_NOT_CONTACT = "do_not_contact", _("Do-not-contact list")

    class OnExisting(models.TextChoices):
        SKIP = "skip", _("Skip numbers already known")
        UPDATE = "update", _("Update numbers already known")

    target = models.CharField(max_length=20, choices=Target.choices, default=Target.CONTACTS)
    contact_list = models.ForeignKey(
        ContactList, null=True, blank=True, on_delete=models.SET_NULL, related_name="imports"
    )
    # A list to create for this import: made only when the import is applied, in the same
    # transaction as its members, so a dry run, a cancel or a failure leaves no empty list.
    new_list_name = models.CharField(max_length=200, blank=True)
    on_existing = models.CharField(
        max_length=10, choices=OnExisting.choices, default=OnExisting.SKIP
    )
    # Empty for `manage.py import_contacts`, which reads the file where it lies.
    file = models.FileField(upload_to="imports/%Y/%m/", blank=True)
    original_name = models.CharField(max_length=255)
    file_size = models.PositiveBigIntegerField(default=0)
    # How the file was read: detected, then confirmed or changed by the user.
    file_kind = models.CharField(max_length=4, default="csv")  # "csv" or "xlsx"
    encoding = models.CharField(max_length=20, blank=True)
    delimiter = models.CharField(max_length=1, blank=True)
    headers = models.JSONField(default=list, blank=True)
    # The first rows, shown beside each column on the mapping page.
    sample_rows = models.JSONField(default=list, blank=True)
    # Column index (as a string, JSON keys are strings) -> "phone", "name", "reason",
    # "field:<key>", "new:<key>" (a field to create when the mapping is confirmed), or "".
    mapping = models.JSONField(default=dict, blank=True)
    # Opt-out imports: the reason recorded for rows whose file gives none.
    reason = models.CharField(max_length=500, blank=True)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.UPLOADED)
    # The dry run's figures and examples per outcome: {"new": {"count": n, "examples": [...]}, …}
    dry_run = models.JSONField(default=dict, blank=True)
    rows_total = models.PositiveBigIntegerField(null=True, blank=True)
    rows_processed = models.PositiveBigIntegerField(default=0)
    rows_created = models.PositiveBigIntegerField(default=0)
    rows_updated = models.PositiveBigIntegerField(default=0)
    rows_unchanged = models.PositiveBigIntegerField(default=0)
    rows_duplicate = models.PositiveBigIntegerField(default=0)
    rows_invalid = models.PositiveBigIntegerField(default=0)
    rows_added_to_list = models.PositiveBigIntegerField(default=0)
    rejected_file = models.FileField(upload_to="imports/rejected/%Y/%m/", blank=True)
    error = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # Touched when a task takes the import and after each chunk or step of its work: a
    # reading, analysing, queued or running import whose heartbeat is old lost its worker, and
    # the sweep (contact_imports_sweep) takes it again or fails it.
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    # Apply tasks that took this import since it was started; the sweep retries a lost one once.
    apply_attempts = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("contact import")
        verbose_name_plural = _("contact imports")

    def __str__(self) -> str:
        return f"{self.original_name} ({self.get_status_display()})"

    @property
    def progress_percent(self) -> int:
        if self.status == self.Status.DONE:
            return 100
        if not self.rows_total:
            return 0
        return min(99, int(self.rows_processed * 100 / self.rows_total))

    @property
    def is_stalled(self) -> bool:
        """Analysing or running for longer than its task may run: its worker was lost."""
        if self.status not in {self.Status.ANALYSING, self.Status.RUNNING}:
            return False
        started = self.started_at
        return started is not None and timezone.now() - started > IMPORT_GIVEN_UP_AFTER

    @property
    def is_working(self) -> bool:
        """A worker has it or will take it: the page polls."""
        working = {
            self.Status.READING,
            self.Status.ANALYSING,
            self.Status.QUEUED,
            self.Status.RUNNING,
        }
        return self.status in working and not self.is_stalled

    @property
    def is_finished(self) -> bool:
        finished = {self.Status.DONE, self.Status.FAILED, self.Status.CANCELLED}
        return self.status in finished or self.is_stalled

    @property
    def is_reading(self) -> bool:
        """A worker reads the file's header and first rows (contact_import_inspect)."""
        return self.status == self.Status.READING

    @property
    def was_read(self) -> bool:
        """The file's header is known: its columns can be mapped."""
        return bool(self.headers)

    @property
    def is_analysing(self) -> bool:
        """The dry run: rows are read and checked, nothing is written."""
        return self.status == self.Status.ANALYSING

    @property
    def is_queued(self) -> bool:
        return self.status == self.Status.QUEUED

    @property
    def awaits_confirmation(self) -> bool:
        """The dry run is done: its figures wait for a person to import or cancel."""
        return self.status == self.Status.READY

    @property
    def is_done(self) -> bool:
        return self.status == self.Status.DONE

    @property
    def is_cancelled(self) -> bool:
        return self.status == self.Status.CANCELLED

    @property
    def has_failed(self) -> bool:
        """Failed, or its worker was lost (is_stalled): either way nothing more will happen."""
        return self.status == self.Status.FAILED or self.is_stalled

    @property
    def is_into_do_not_contact(self) -> bool:
        return self.target == self.Target.DO_NOT_CONTACT

    @property
    def is_into_new_list(self) -> bool:
        """Its list is still to be created: the import has not been applied."""
        return bool(self.new_list_name) and self.contact_list_id is None
