"""Writes for the contacts app: lists, fields, contacts, do-not-contact, and pushing lists to BSG.

Every function here is one state change inside a transaction; views, tasks and commands call them
and never write models themselves. Reads live in contacts/selectors.py.

Why this module is a little over 600 lines: one section per contacts noun (lists, the push of a
list to BSG, fields, contacts, do-not-contact), each a handful of writes; the push is the
candidate to become its own module if it grows.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING

from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import Q
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from audit.services import audit_diff, audit_record
from bsg import rules
from bsg.client import BsgClient
from bsg.errors import BsgError, BsgRejected
from config.bsg import bsg_client

from .models import (
    PUSH_STALE_AFTER,
    Contact,
    ContactField,
    ContactList,
    DoNotContact,
    ListMemberCount,
    ListMembership,
)
from .selectors import audience_contacts

if TYPE_CHECKING:
    from django.contrib.auth.base_user import AbstractBaseUser

logger = logging.getLogger(__name__)

# BSG's contact-book limits (bsg-api.md E12/E13), defined once in bsg.rules.
BSG_ATTACH_BATCH = rules.MAX_ATTACH_CONTACTS
BSG_GROUP_NAME_MIN, BSG_GROUP_NAME_MAX = rules.GROUP_NAME
BSG_FIELD_NAME_MAX = rules.FIELD_NAME[1]
BSG_FIELD_TYPES = rules.FIELD_TYPES


# --- lists ---------------------------------------------------------------------------------


def _name_taken(name: str, *, exclude_id: int | None = None) -> bool:
    others = ContactList.objects.filter(name__iexact=name.strip())
    if exclude_id is not None:
        others = others.exclude(pk=exclude_id)
    return others.exists()


def _list_name_taken(name: str) -> str:
    return _("A list named “%(name)s” already exists.") % {"name": name}


def contact_list_name_check(name: str) -> None:
    """Raises ValidationError when a new list could not take this name (another list has it):
    for an import that creates its list only when it is applied."""
    if _name_taken(name):
        raise ValidationError({"name": _list_name_taken(name.strip())})


def contact_list_create(
    *, name: str, description: str = "", actor: AbstractBaseUser | None = None
) -> ContactList:
    """`actor`: who the audit names when no request does (an import applied by a worker)."""
    name = name.strip()
    contact_list_name_check(name)
    try:
        with transaction.atomic():
            contact_list = ContactList.objects.create(name=name, description=description.strip())
            audit_record(
                action="list-create",
                target=contact_list,
                changes=audit_diff({}, {"name": name, "description": description.strip() or None}),
                actor=actor,
            )
            return contact_list
    except IntegrityError as exc:  # a concurrent create won the race for the name
        raise ValidationError({"name": _list_name_taken(name)}) from exc


def contact_list_update(*, list_id: int, name: str, description: str = "") -> ContactList:
    name = name.strip()
    if _name_taken(name, exclude_id=list_id):
        raise ValidationError({"name": _list_name_taken(name)})
    with transaction.atomic():
        contact_list = ContactList.objects.select_for_update().get(pk=list_id)
        before = {"name": contact_list.name, "description": contact_list.description}
        contact_list.name = name
        contact_list.description = description.strip()
        contact_list.save(update_fields=["name", "description", "updated_at"])
        changes = audit_diff(before, {"name": name, "description": contact_list.description})
        if changes:
            audit_record(action="list-update", target=contact_list, changes=changes)
    return contact_list


def contact_list_archive(*, list_id: int) -> None:
    """Hides the list from pickers; its members and BSG link stay as they are."""
    with transaction.atomic():
        archived = ContactList.objects.filter(pk=list_id, archived_at__isnull=True).update(
            archived_at=timezone.now(), updated_at=timezone.now()
        )
        if archived:
            audit_record(action="list-archive", target=ContactList.objects.get(pk=list_id))


def contact_list_unarchive(*, list_id: int) -> None:
    with transaction.atomic():
        unarchived = ContactList.objects.filter(pk=list_id, archived_at__isnull=False).update(
            archived_at=None, updated_at=timezone.now()
        )
        if unarchived:
            audit_record(action="list-unarchive", target=ContactList.objects.get(pk=list_id))


def contact_list_delete(*, list_id: int) -> int:
    """Deletes the list and its memberships (not the contacts); returns how many memberships went.

    The linked BSG group, if any, is left alone: it may hold contacts added on BSG's side.
    """
    with transaction.atomic():
        contact_list = ContactList.objects.select_for_update().get(pk=list_id)
        if contact_list.push_in_progress:
            raise ValidationError(_("This list is being pushed to BSG; wait for the push to end."))
        removed, _by_model = ListMembership.objects.filter(contact_list_id=list_id).delete()
        # Written before the delete, while the list still has its id.
        audit_record(
            action="list-delete",
            target=contact_list,
            message=ngettext(
                "Deleted with its %(count)s membership; the contacts stay.",
                "Deleted with its %(count)s memberships; the contacts stay.",
                removed,
            )
            % {"count": removed},
        )
        contact_list.delete()
    return removed


def contact_list_members_recount(*, list_id: int | None = None) -> dict[int, tuple[int, int]]:
    """Counts the memberships of one list (or of every list) again and corrects the kept
    count (ListMemberCount); returns {list id: (kept, counted)} for each count it corrected.

    The triggers keep the counts exact; this is for a repair (a count written by hand, rows
    restored around the triggers). A list at a time, each in its own short transaction.
    """
    list_ids = (
        [list_id]
        if list_id is not None
        else list(ContactList.objects.order_by("pk").values_list("pk", flat=True))
    )
    corrected = {}
    for each in list_ids:
        with transaction.atomic():
            # The count's row first: whoever adds or removes this list's members writes that
            # row before committing, so once it is ours the count below (a new snapshot in
            # READ COMMITTED) sees every committed change and no other can commit meanwhile.
            kept = ListMemberCount.objects.select_for_update().filter(contact_list_id=each).first()
            if kept is None:
                if not ContactList.objects.filter(pk=each).exists():
                    continue  # deleted meanwhile
                # The pages read a missing row as no members.
                kept = ListMemberCount.objects.create(contact_list_id=each, members=0)
            counted = ListMembership.objects.filter(contact_list_id=each).count()
            if kept.members != counted:
                corrected[each] = (kept.members, counted)
                kept.members = counted
                kept.save(update_fields=["members"])
    return corrected


def contact_list_link_group(*, list_id: int, group_id: int) -> ContactList:
    """Links the list to an existing BSG group; two lists can never claim one group."""
    claimed_by = ContactList.objects.filter(bsg_group_id=group_id).exclude(pk=list_id).first()
    if claimed_by is not None:
        raise ValidationError(
            {
                "group_id": _("BSG list %(group)s is already linked to “%(list)s”.")
                % {"group": group_id, "list": claimed_by.name}
            }
        )
    try:
        with transaction.atomic():
            contact_list = ContactList.objects.select_for_update().get(pk=list_id)
            if contact_list.push_in_progress:
                raise ValidationError(_("This list is being pushed to BSG; wait for it to end."))
            if contact_list.bsg_group_id != group_id:
                # Attachments to the old group say nothing about the new one.
                ListMembership.objects.filter(contact_list_id=list_id).update(pushed_to_bsg_at=None)
                contact_list.push_status = ContactList.PushStatus.NEVER
                contact_list.push_done = contact_list.push_total = 0
                contact_list.push_error = ""
            old_group_id = contact_list.bsg_group_id
            contact_list.bsg_group_id = group_id
            contact_list.save()
            audit_record(
                action="list-link",
                target=contact_list,
                changes=audit_diff({"bsg_group_id": old_group_id}, {"bsg_group_id": group_id}),
            )
    except IntegrityError as exc:
        raise ValidationError(
            {
                "group_id": _("BSG list %(group)s is already linked to another list.")
                % {"group": group_id}
            }
        ) from exc
    return contact_list


def contact_list_unlink_group(*, list_id: int) -> None:
    """Forgets the BSG group (which stays on BSG); a later push creates a new one."""
    with transaction.atomic():
        contact_list = ContactList.objects.select_for_update().get(pk=list_id)
        if contact_list.push_in_progress:
            raise ValidationError(_("This list is being pushed to BSG; wait for it to end."))
        ListMembership.objects.filter(contact_list_id=list_id).update(pushed_to_bsg_at=None)
        old_group_id = contact_list.bsg_group_id
        contact_list.bsg_group_id = None
        contact_list.push_status = ContactList.PushStatus.NEVER
        contact_list.push_done = contact_list.push_total = 0
        contact_list.push_error = ""
        contact_list.save()
        audit_record(
            action="list-unlink",
            target=contact_list,
            changes=audit_diff({"bsg_group_id": old_group_id}, {"bsg_group_id": None}),
        )


# --- pushing a list to BSG -----------------------------------------------------------------


def contact_list_push_start(*, list_id: int) -> bool:
    """Queues a push of the list to BSG; False if one is already queued or running.

    A queued or running push whose heartbeat is older than PUSH_STALE_AFTER lost its worker (or
    its task never reached one) and may be started again: the push resumes where it stopped.
    """
    from .tasks import contact_list_push_task  # the task module imports this one

    stale = timezone.now() - PUSH_STALE_AFTER
    with transaction.atomic():
        claimed = (
            ContactList.objects.filter(pk=list_id)
            .filter(
                ~Q(push_status__in=[ContactList.PushStatus.QUEUED, ContactList.PushStatus.RUNNING])
                | Q(
                    push_status__in=[ContactList.PushStatus.QUEUED, ContactList.PushStatus.RUNNING],
                    push_heartbeat_at__lt=stale,
                )
            )
            .update(
                push_status=ContactList.PushStatus.QUEUED,
                push_error="",
                push_done=0,
                push_total=0,
                push_started_at=None,
                push_finished_at=None,
                push_heartbeat_at=timezone.now(),
            )
        )
        if claimed != 1:
            return False
        audit_record(action="list-push-start", target=ContactList.objects.get(pk=list_id))
        language = translation.get_language()
        transaction.on_commit(lambda: contact_list_push_task.delay(list_id, language))
    return True


def _bsg_group_name(name: str) -> str:
    name = name.strip()[:BSG_GROUP_NAME_MAX]
    return name if len(name) >= BSG_GROUP_NAME_MIN else f"{name} list"[:BSG_GROUP_NAME_MAX]


def _ensure_group(client: BsgClient, contact_list: ContactList) -> int:
    """The list's BSG group id, creating the group first if the list has none."""
    if contact_list.bsg_group_id is not None:
        return contact_list.bsg_group_id
    name = _bsg_group_name(contact_list.name)
    try:
        group_id = client.group_create(name=name).id
    except BsgRejected:
        # BSG refuses a second group of the same name. If our earlier attempt created it and
        # then lost the answer, adopt it instead of failing forever, unless another list has it.
        existing = next((g for g in client.iter_groups() if g.name == name), None)
        if existing is None or ContactList.objects.filter(bsg_group_id=existing.id).exists():
            raise
        group_id = existing.id
    # Saved at once, before any contact goes up: a retry must never create a second group.
    ContactList.objects.filter(pk=contact_list.pk).update(bsg_group_id=group_id)
    return group_id


def _bsg_field_ids() -> dict[str, int]:
    return dict(
        ContactField.objects.filter(bsg_field_id__isnull=False).values_list("key", "bsg_field_id")
    )


class _BookIndex:
    """Phone -> BSG contact id for the whole BSG contact book, read once and only if needed.

    Needed when BSG says a phone "is already exist in contact book" (added on BSG's side, or our
    earlier create succeeded and its answer was lost): BSG's 422 does not say the contact's id.
    """

    def __init__(self, client: BsgClient) -> None:
        self._client = client
        self._ids: dict[str, int] | None = None

    def get(self, phone: str) -> int | None:
        if self._ids is None:
            self._ids = {
                str(contact.phone): contact.id
                for contact in self._client.iter_contacts()
                if contact.phone is not None
            }
        return self._ids.get(phone)


def _bsg_contact_id(
    client: BsgClient, contact: Contact, field_ids: Mapping[str, int], book: _BookIndex
) -> int:
    if contact.bsg_contact_id is not None:
        return contact.bsg_contact_id
    values = {
        field_ids[key]: str(value)
        for key, value in (contact.fields or {}).items()
        if key in field_ids and str(value) != ""
    }
    try:
        bsg_id = client.contact_create(phone=contact.phone, fields=values).id
    except BsgRejected as exc:
        bsg_id = book.get(contact.phone)
        if bsg_id is None:
            raise BsgRejected(f"+{contact.phone}: {exc}") from exc
    # Saved per contact: an interrupted push never creates the same contact twice.
    Contact.objects.filter(pk=contact.pk).update(bsg_contact_id=bsg_id)
    return bsg_id


def contact_list_push_run(
    *,
    list_id: int,
    batch_size: int = BSG_ATTACH_BATCH,
    after_batch: Callable[[int], None] | None = None,
) -> None:
    """Pushes a QUEUED list to BSG: group, contacts with their field values, attachments.

    Safe to run twice and resumable: the group id, each contact's BSG id and each attached
    membership are saved as soon as BSG confirms them, and a run skips what is already done.
    Opted-out numbers are not pushed, so BSG's group sends cannot reach them.
    """
    claimed = ContactList.objects.filter(
        pk=list_id, push_status=ContactList.PushStatus.QUEUED
    ).update(
        push_status=ContactList.PushStatus.RUNNING,
        push_started_at=timezone.now(),
        push_heartbeat_at=timezone.now(),
    )
    if claimed != 1:
        return  # not queued (already running, done, or deleted): another run owns it
    contact_list = ContactList.objects.get(pk=list_id)
    try:
        with bsg_client() as client:
            group_id = _ensure_group(client, contact_list)
            pending = (
                audience_contacts(list_ids=[list_id])
                .filter(
                    memberships__contact_list_id=list_id,
                    memberships__pushed_to_bsg_at__isnull=True,
                )
                .order_by("pk")
            )
            total = pending.count()
            ContactList.objects.filter(pk=list_id).update(push_total=total, push_done=0)
            field_ids = _bsg_field_ids()
            book = _BookIndex(client)
            done = 0
            last_pk = 0
            while True:
                batch = list(pending.filter(pk__gt=last_pk)[:batch_size])
                if not batch:
                    break
                last_pk = batch[-1].pk
                bsg_ids = [_bsg_contact_id(client, contact, field_ids, book) for contact in batch]
                client.groups_attach(contact_ids=bsg_ids, group_ids=[group_id])
                ListMembership.objects.filter(
                    contact_list_id=list_id, contact_id__in=[c.pk for c in batch]
                ).update(pushed_to_bsg_at=timezone.now())
                done += len(batch)
                ContactList.objects.filter(pk=list_id).update(
                    push_done=done, push_heartbeat_at=timezone.now()
                )
                if after_batch is not None:
                    after_batch(done)
    except BsgError as exc:
        logger.warning("Push of list %s to BSG failed: %s", list_id, exc)
        ContactList.objects.filter(pk=list_id).update(
            push_status=ContactList.PushStatus.FAILED,
            push_error=_("BSG: %(error)s") % {"error": exc},
            push_finished_at=timezone.now(),
        )
        return
    except Exception as exc:
        ContactList.objects.filter(pk=list_id).update(
            push_status=ContactList.PushStatus.FAILED,
            push_error=_("Unexpected error: %(error)s") % {"error": exc},
            push_finished_at=timezone.now(),
        )
        raise
    ContactList.objects.filter(pk=list_id).update(
        push_status=ContactList.PushStatus.DONE, push_finished_at=timezone.now()
    )


# --- fields --------------------------------------------------------------------------------


def _field_key_taken(key: str) -> str:
    return _("A field with the key “%(key)s” already exists.") % {"key": key}


def contact_field_create(*, key: str, label: str, bsg_field_id: int | None = None) -> ContactField:
    if ContactField.objects.filter(key=key).exists():
        raise ValidationError({"key": _field_key_taken(key)})
    _check_bsg_field_free(bsg_field_id, exclude_id=None)
    contact_field = ContactField(key=key, label=label.strip() or key, bsg_field_id=bsg_field_id)
    contact_field.full_clean()
    with transaction.atomic():
        contact_field.save()
        audit_record(
            action="field-create",
            target=contact_field,
            changes=audit_diff(
                {},
                {"key": key, "label": contact_field.label, "bsg_field_id": bsg_field_id},
            ),
        )
    return contact_field


def _check_bsg_field_free(bsg_field_id: int | None, *, exclude_id: int | None) -> None:
    if bsg_field_id is None:
        return
    other = ContactField.objects.filter(bsg_field_id=bsg_field_id).exclude(pk=exclude_id).first()
    if other is not None:
        raise ValidationError(
            {
                "bsg_field_id": _("BSG field %(field)s is already linked to “%(key)s”.")
                % {"field": bsg_field_id, "key": other.key}
            }
        )


def contact_field_update(*, field_id: int, label: str, bsg_field_id: int | None) -> ContactField:
    """Changes the label and the BSG link. The key stays: a million contacts' values use it."""
    _check_bsg_field_free(bsg_field_id, exclude_id=field_id)
    with transaction.atomic():
        contact_field = ContactField.objects.select_for_update().get(pk=field_id)
        before = {"label": contact_field.label, "bsg_field_id": contact_field.bsg_field_id}
        contact_field.label = label.strip() or contact_field.key
        contact_field.bsg_field_id = bsg_field_id
        contact_field.save(update_fields=["label", "bsg_field_id"])
        changes = audit_diff(
            before, {"label": contact_field.label, "bsg_field_id": contact_field.bsg_field_id}
        )
        if changes:
            audit_record(action="field-update", target=contact_field, changes=changes)
    return contact_field


def contact_field_create_in_bsg(*, key: str, label: str, bsg_type: str = "text") -> ContactField:
    """Creates the field in the BSG account (E13) and here, linked by BSG's field id."""
    if ContactField.objects.filter(key=key).exists():
        raise ValidationError({"key": _field_key_taken(key)})
    if bsg_type not in BSG_FIELD_TYPES:
        raise ValidationError(
            {
                "bsg_type": _("BSG field types are %(types)s.")
                % {"types": ", ".join(BSG_FIELD_TYPES)}
            }
        )
    name = (label.strip() or key)[:BSG_FIELD_NAME_MAX]
    with bsg_client() as client:
        bsg_field = client.field_create(name=name, type=bsg_type)
    return contact_field_create(key=key, label=label, bsg_field_id=bsg_field.id)


def contact_field_delete(*, field_id: int) -> None:
    """Deletes the field and removes its values from every contact.

    Otherwise a new field with the same key would silently bring the old values back.
    """
    with transaction.atomic():
        contact_field = ContactField.objects.select_for_update().get(pk=field_id)
        key = contact_field.key
        audit_record(
            action="field-delete",
            target=contact_field,
            message=_("Field “%(key)s” deleted, and its values removed from every contact.")
            % {"key": key},
        )
        contact_field.delete()
        table = Contact._meta.db_table
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                cursor.execute(
                    f"UPDATE {table} SET fields = fields - %s WHERE fields ? %s",  # noqa: S608
                    [key, key],
                )
            else:
                # Keys are [a-z0-9_] (FIELD_KEY_VALIDATOR), safe inside a JSON path.
                path = f'$."{key}"'
                cursor.execute(
                    f"UPDATE {table} SET fields = json_remove(fields, %s) "  # noqa: S608
                    "WHERE json_extract(fields, %s) IS NOT NULL",
                    [path, path],
                )


# --- contacts ------------------------------------------------------------------------------


def _clean_field_values(values: Mapping[str, object]) -> dict[str, str]:
    """Field values as stored: strings, without the empty ones."""
    return {key: str(value).strip() for key, value in values.items() if str(value).strip() != ""}


def _phone_taken_error(phone: str) -> ValidationError:
    return ValidationError({"phone": _("+%(phone)s is already a contact.") % {"phone": phone}})


def contact_create(
    *,
    phone: str,
    name: str = "",
    fields: Mapping[str, object] | None = None,
    list_ids: Iterable[int] = (),
) -> Contact:
    """A new contact; `phone` must already be normalized (contacts.phones.normalize_phone)."""
    if Contact.objects.filter(phone=phone).exists():
        raise _phone_taken_error(phone)
    try:
        with transaction.atomic():
            contact = Contact.objects.create(
                phone=phone, name=name.strip(), fields=_clean_field_values(fields or {})
            )
            ListMembership.objects.bulk_create(
                [ListMembership(contact=contact, contact_list_id=i) for i in set(list_ids)]
            )
            audit_record(
                action="contact-create",
                target=contact,
                changes=audit_diff(
                    {},
                    {
                        "phone": phone,
                        "name": contact.name or None,
                        "fields": contact.fields or None,
                        "lists": _list_names(set(list_ids)) or None,
                    },
                ),
            )
    except IntegrityError as exc:
        raise _phone_taken_error(phone) from exc
    return contact


def _list_names(list_ids: Iterable[int]) -> list[str]:
    """Lists as the audit log shows them: by name, sorted (ids mean nothing to a reader)."""
    ids = list(list_ids)
    if not ids:
        return []
    return sorted(ContactList.objects.filter(pk__in=ids).values_list("name", flat=True))


def contact_update(
    *,
    contact_id: int,
    phone: str,
    name: str = "",
    fields: Mapping[str, object] | None = None,
    list_ids: Iterable[int] = (),
) -> Contact:
    """Saves the contact and sets its memberships to exactly `list_ids`."""
    if Contact.objects.filter(phone=phone).exclude(pk=contact_id).exists():
        raise _phone_taken_error(phone)
    wanted = set(list_ids)
    try:
        with transaction.atomic():
            contact = Contact.objects.select_for_update().get(pk=contact_id)
            before = {"phone": contact.phone, "name": contact.name, "fields": contact.fields}
            phone_changed = contact.phone != phone
            contact.phone = phone
            contact.name = name.strip()
            contact.fields = _clean_field_values(fields or {})
            if phone_changed:
                # The BSG contact carries the old number; the next push creates the new one.
                contact.bsg_contact_id = None
                ListMembership.objects.filter(contact=contact).update(pushed_to_bsg_at=None)
            contact.save()
            current = contact_lists_set(contact=contact, list_ids=wanted)
            changes = audit_diff(
                before, {"phone": contact.phone, "name": contact.name, "fields": contact.fields}
            )
            if current != wanted:
                changes["lists"] = [_list_names(current), _list_names(wanted)]
            if changes:
                audit_record(action="contact-update", target=contact, changes=changes)
    except IntegrityError as exc:
        raise _phone_taken_error(phone) from exc
    return contact


def contact_lists_set(*, contact: Contact, list_ids: Iterable[int]) -> set[int]:
    """Makes the contact a member of exactly `list_ids`; returns the lists it was in before.

    Audits nothing: its callers (contact_update, the contact's admin form) each record the
    change with the rest of theirs."""
    wanted = set(list_ids)
    current = set(
        ListMembership.objects.filter(contact=contact).values_list("contact_list_id", flat=True)
    )
    ListMembership.objects.filter(contact=contact, contact_list_id__in=current - wanted).delete()
    ListMembership.objects.bulk_create(
        [ListMembership(contact=contact, contact_list_id=i) for i in wanted - current]
    )
    return current


def contact_delete(*, contact_id: int) -> None:
    with transaction.atomic():
        contact = Contact.objects.filter(pk=contact_id).first()
        if contact is None:
            return
        audit_record(action="contact-delete", target=contact)
        contact.delete()


def contacts_add_to_list(*, contact_ids: Sequence[int], list_id: int) -> int:
    """Adds contacts to a list, skipping those already in it; returns how many were added."""
    with transaction.atomic():
        existing = set(
            ListMembership.objects.filter(
                contact_list_id=list_id, contact_id__in=contact_ids
            ).values_list("contact_id", flat=True)
        )
        new = [
            ListMembership(contact_list_id=list_id, contact_id=i)
            for i in dict.fromkeys(contact_ids)
            if i not in existing
        ]
        ListMembership.objects.bulk_create(new, ignore_conflicts=True)
        if new:
            audit_record(
                action="list-add-contacts",
                target=ContactList.objects.get(pk=list_id),
                message=ngettext("%(count)s contact added.", "%(count)s contacts added.", len(new))
                % {"count": len(new)},
            )
    return len(new)


# --- do-not-contact ------------------------------------------------------------------------


def do_not_contact_add(
    *,
    phone: str,
    reason: str = "",
    source: str = DoNotContact.Source.MANUAL,
    created_by_id: int | None = None,
) -> tuple[DoNotContact, bool]:
    """Opts a normalized phone out of every send; (entry, False) if it was already opted out."""
    with transaction.atomic():
        entry, created = DoNotContact.objects.get_or_create(
            phone=phone,
            defaults={"reason": reason.strip(), "source": source, "created_by_id": created_by_id},
        )
        if created:
            audit_record(action="do-not-contact-add", target=entry, message=entry.reason)
    return entry, created


def do_not_contact_remove(*, entry_id: int) -> None:
    with transaction.atomic():
        entry = DoNotContact.objects.filter(pk=entry_id).first()
        if entry is None:
            return
        audit_record(action="do-not-contact-remove", target=entry, message=entry.reason)
        entry.delete()
