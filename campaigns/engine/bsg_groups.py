"""What BSG's own contact book would send, checked against what was approved.

To BSG groups (SMS or RCS), BSG sends to the members its contact book holds and fills the
placeholders from the values it holds, not ours: a contact renamed in BSG's account, one still
in a BSG group after we took it off the list or put it on do-not-contact, or a push that never
updated a contact BSG already had, would all reach recipients unapproved. So before such a
campaign is handed to BSG, its groups are read back from BSG and each member's message rendered
from BSG's values is compared with the ledger the approver's digest vouched for.
"""

from __future__ import annotations

from bsg.errors import BsgError
from config.bsg import bsg_client
from contacts.models import ContactList, DoNotContact
from contacts.selectors import fields_by_reference

from .. import rendering
from ..models import Campaign, Recipient

# Members named in a difference, so the message stays readable.
EXAMPLES = 5


def bsg_group_ids(*, campaign: Campaign) -> list[int]:
    """The BSG contact-book groups of the campaign's lists (the checks refused unlinked ones):
    what a groups campaign is sent to, and what is read back before it is."""
    return list(
        ContactList.objects.filter(campaigns=campaign, bsg_group_id__isnull=False)
        .order_by("id")
        .values_list("bsg_group_id", flat=True)
    )


def bsg_groups_difference(*, campaign: Campaign) -> str:
    """'' when BSG's groups hold exactly the ledger's recipients, each getting the ledger's
    text; otherwise the difference in words. BSG unreadable is a difference too: unchecked is
    not approved."""
    group_ids = bsg_group_ids(campaign=campaign)
    compiled = None
    if campaign.is_sms:
        compiled = rendering.compile_text(
            campaign.text, fields=fields_by_reference(), mode=rendering.MODE_GROUPS
        )
    ours = dict(Recipient.objects.filter(campaign_id=campaign.pk).values_list("phone", "text"))
    extra: list[str] = []
    different: list[str] = []
    try:
        with bsg_client() as client:
            seen: set[str] = set()
            for member in client.iter_contacts(groups=group_ids):
                phone = str(member.phone or "")
                if not phone or phone in seen:
                    continue
                seen.add(phone)
                if phone not in ours:
                    extra.append(phone)
                    continue
                if compiled is not None and compiled.slots:
                    values = tuple(
                        str(member.fields.get(slot.bsg_field_id, "") or "")
                        for slot in compiled.slots
                    )
                    if compiled.render_values(values) != ours[phone]:
                        different.append(phone)
    except BsgError as error:
        return f"BSG's contact book could not be read to check the groups ({error})"
    missing = sorted(set(ours) - seen)
    said = []
    if extra:
        opted_out = DoNotContact.objects.filter(phone__in=extra).count()
        said.append(
            f"BSG's groups hold {len(extra)} member(s) not among the approved recipients"
            + (f" ({opted_out} on do-not-contact)" if opted_out else "")
            + ": "
            + _examples(extra)
        )
    if different:
        said.append(
            f"BSG holds other values for {len(different)} member(s), so their text would differ "
            "from the approved one: " + _examples(different)
        )
    if missing:
        said.append(f"{len(missing)} approved recipient(s) are not in BSG's groups")
    if not said:
        return ""
    return (
        "; ".join(said)
        + ". Push the lists to BSG or correct these contacts in BSG's contact book, then "
        "approve again"
    )


def _examples(phones: list[str]) -> str:
    shown = ", ".join(f"+{phone}" for phone in sorted(phones)[:EXAMPLES])
    more = len(phones) - EXAMPLES
    return shown + (f" and {more} more" if more > 0 else "")
