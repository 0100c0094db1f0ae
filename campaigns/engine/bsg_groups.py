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
from ..stored_text import (
    CLAUSE_SEPARATOR,
    GROUPS_DIFFERENCE,
    GROUPS_EXTRA,
    GROUPS_EXTRA_OPTED_OUT,
    GROUPS_MISSING,
    GROUPS_OTHER_VALUES,
    GROUPS_UNREADABLE,
    PHONES_AND_MORE,
)

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
        return GROUPS_UNREADABLE.stored(error=error)
    missing = sorted(set(ours) - seen)
    said = []
    if extra:
        opted_out = DoNotContact.objects.filter(phone__in=extra).count()
        if opted_out:
            said.append(
                GROUPS_EXTRA_OPTED_OUT.stored(
                    count=len(extra), opted_out=opted_out, examples=_examples(extra)
                )
            )
        else:
            said.append(GROUPS_EXTRA.stored(count=len(extra), examples=_examples(extra)))
    if different:
        said.append(GROUPS_OTHER_VALUES.stored(count=len(different), examples=_examples(different)))
    if missing:
        said.append(GROUPS_MISSING.stored(count=len(missing)))
    if not said:
        return ""
    return GROUPS_DIFFERENCE.stored(clauses=CLAUSE_SEPARATOR.join(said))


def _examples(phones: list[str]) -> str:
    shown = ", ".join(f"+{phone}" for phone in sorted(phones)[:EXAMPLES])
    more = len(phones) - EXAMPLES
    return PHONES_AND_MORE.stored(phones=shown, more=more) if more > 0 else shown
