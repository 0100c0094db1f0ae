"""What an approver approves about the recipients: a digest of who gets what.

The send plan renders every recipient's text before approval; dispatch renders them again when
the campaign goes out, maybe days later. Between the two an author could change a contact's
name to "Bob. URGENT: pay at http://evil.example" and have it sent inside an approved message.
Both passes therefore feed the same digest, one line per recipient in the order they read the
audience: the phone and the personal values the text uses. Dispatch compares its digest with
the one the approver approved; any difference (a recipient added or removed, a value changed)
sends the campaign back for approval instead of sending it (campaigns.engine.dispatch).

Opt-outs after approval are not a difference: the plan read the audience without the numbers
on the do-not-contact list at `as_of`; dispatch reads it the same way and leaves the later
opt-outs out of the ledger only after they have been counted into the digest.

To BSG contact-book groups (SMS or RCS "groups" mode) BSG holds the recipients: it sends to
each linked group as its own contact book has it, and fills SMS placeholders from its own copy
of the field values. The ledger and this digest are then our copy of the linked lists (pushed
to BSG by contacts.services.contact_list_push_run), so the approval covers who is on those lists
here, with the values the text uses here, and a change here after approval sends the campaign
back as in the other modes. What BSG's contact book holds beyond our copy (a contact added or a
value changed in BSG's web account, a member removed here but still in the BSG group) is
checked by reading the groups back from BSG just before they are handed over
(campaigns.engine.bsg_groups): any difference sends the campaign back too.

SHA-256 over the whole sequence, each value length-prefixed, so no two different audiences
can be made to read alike by moving separators between values.

In slices, so that worker processes can resolve a big audience side by side (campaigns.engine
.dispatch): the audience is cut at every `slice_rows`-th recipient as audience_rows reads them
(counting those left out before the digest, since the dispatch cuts by audience row before it
knows who will be left out), each slice's lines are hashed on their own, and the digest is the
SHA-256 of the slices' hex digests in order, or the one slice's own digest when there is only
one. So an audience of one slice (and every approval recorded before slices, which has no
`slice_rows`) has exactly the digest it always had. Both sides cut with the `slice_rows` the
approval recorded; a recipient added or removed anywhere shifts the cuts after it, so the
slices read differently and the digest differs, as before.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .models import Campaign

# Lines hashed in one update: one call per batch instead of one per recipient.
BATCH = 10_000


class AudienceDigest:
    """Fed every audience row in order: `add` for a recipient the digest covers, `skip` for
    one left out before it (missing a value the campaign leaves out). Cut every `slice_rows`
    rows; None: one slice."""

    def __init__(self, *, slice_rows: int | None = None) -> None:
        self.slice_rows = slice_rows
        self._hash = hashlib.sha256()
        self._lines: list[str] = []
        self._rows = 0  # audience rows in the current slice
        self._slices: list[str] = []
        self.recipients = 0

    def add(self, phone: str, values: Sequence[str]) -> None:
        # _next_row, inlined: ten million calls of it cost a send plan ~1.5 s.
        if self._rows == self.slice_rows:
            self._cut()
        self._rows += 1
        self.recipients += 1
        line = f"{len(phone)}:{phone}"
        for value in values:
            line += f"|{len(value)}:{value}"
        self._lines.append(line)
        if len(self._lines) >= BATCH:
            self._flush()

    def skip(self) -> None:
        self._next_row()

    def hexdigest(self) -> str:
        self._flush()
        return audience_digest_combined([*self._slices, self._hash.hexdigest()])

    def _next_row(self) -> None:
        if self._rows == self.slice_rows:
            self._cut()
        self._rows += 1

    def _cut(self) -> None:
        self._flush()
        self._slices.append(self._hash.hexdigest())
        self._hash = hashlib.sha256()
        self._rows = 0

    def _flush(self) -> None:
        if self._lines:
            self._hash.update(("\n".join(self._lines) + "\n").encode("utf-8", "surrogatepass"))
            self._lines = []


def audience_digest_combined(slice_digests: Sequence[str]) -> str:
    """The audience's digest from its slices' digests, in audience order."""
    if len(slice_digests) == 1:
        return slice_digests[0]
    return hashlib.sha256("".join(slice_digests).encode("ascii")).hexdigest()


def audience_slice_rows(*, campaign: Campaign) -> int | None:
    """Audience rows in each slice of this campaign's dispatch (and of its approval's digest),
    or None: the whole audience in one slice, resolved by one worker process as before.

    One part's worth: each slice then makes one part, as one dispatch would. Whole instead:
    BSG's groups take the whole group in one campaign; a personalised RCS campaign's parts
    gather the recipients of each rendered message across the whole audience (cut into
    slices, each slice would send each message apart); a schedule's frequency cap is one read
    of the schedule's ledger, not one a slice; and a retry's audience is the ledger it retries.
    """
    from bsg import rules
    from contacts.selectors import fields_by_reference

    from .models import CampaignSchedule
    from .rcs_content import rcs_template

    if campaign.sends_to_bsg_groups or campaign.retry_of_id:
        return None
    if campaign.schedule_id and (
        CampaignSchedule.objects.filter(pk=campaign.schedule_id)
        .values_list("frequency_cap_days", flat=True)
        .first()
    ):
        return None
    if campaign.is_rcs:
        if rcs_template(campaign=campaign, fields=fields_by_reference()).slots:
            return None
        return rules.MAX_RCS_RECIPIENTS
    return rules.MAX_SMS_RECIPIENTS


@dataclass(frozen=True)
class ApprovedAudience:
    """The digest an approval covers (Campaign.approval_snapshot["audience"])."""

    digest: str
    recipients: int
    as_of: datetime
    # How its digest was cut (AudienceDigest); None for one slice, and for approvals recorded
    # before digests were cut, whose audience is therefore dispatched in one slice.
    slice_rows: int | None = None

    @classmethod
    def from_snapshot(cls, snapshot: dict) -> ApprovedAudience | None:
        audience = (snapshot or {}).get("audience") or {}
        if not audience.get("digest") or not audience.get("as_of"):
            return None
        return cls(
            digest=audience["digest"],
            recipients=int(audience.get("recipients") or 0),
            as_of=datetime.fromisoformat(audience["as_of"]),
            slice_rows=audience.get("slice_rows"),
        )
