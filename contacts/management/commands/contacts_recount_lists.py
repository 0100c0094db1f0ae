"""`contacts_recount_lists [--list ID]`: counts each list's members again and corrects the
count the database keeps (contacts.models.ListMemberCount) where it differs.

The triggers of migration 0011 keep the counts exact; this is the repair for a count changed
around them. At ten million members a list takes a few seconds.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand

from contacts.services import contact_list_members_recount


class Command(BaseCommand):
    help = "Count each list's members again and correct the kept counts."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--list", type=int, dest="list_id", help="only this list's id")

    def handle(self, *args, list_id: int | None = None, **options) -> None:
        corrected = contact_list_members_recount(list_id=list_id)
        for each, (kept, counted) in corrected.items():
            self.stdout.write(f"list {each}: kept {kept}, counted {counted}: corrected")
        self.stdout.write(f"{len(corrected)} count(s) corrected.")
