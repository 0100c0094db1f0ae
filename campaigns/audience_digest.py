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
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

# Lines hashed in one update: one call per batch instead of one per recipient.
BATCH = 10_000


class AudienceDigest:
    """Fed one recipient at a time, in audience order."""

    def __init__(self) -> None:
        self._hash = hashlib.sha256()
        self._lines: list[str] = []
        self.recipients = 0

    def add(self, phone: str, values: Sequence[str]) -> None:
        self.recipients += 1
        line = f"{len(phone)}:{phone}"
        for value in values:
            line += f"|{len(value)}:{value}"
        self._lines.append(line)
        if len(self._lines) >= BATCH:
            self._flush()

    def hexdigest(self) -> str:
        self._flush()
        return self._hash.hexdigest()

    def _flush(self) -> None:
        if self._lines:
            self._hash.update(("\n".join(self._lines) + "\n").encode("utf-8", "surrogatepass"))
            self._lines = []


@dataclass(frozen=True)
class ApprovedAudience:
    """The digest an approval covers (Campaign.approval_snapshot["audience"])."""

    digest: str
    recipients: int
    as_of: datetime

    @classmethod
    def from_snapshot(cls, snapshot: dict) -> ApprovedAudience | None:
        audience = (snapshot or {}).get("audience") or {}
        if not audience.get("digest") or not audience.get("as_of"):
            return None
        return cls(
            digest=audience["digest"],
            recipients=int(audience.get("recipients") or 0),
            as_of=datetime.fromisoformat(audience["as_of"]),
        )
