"""Creates the demo superuser and the small demo data set; safe to run again."""

import secrets

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.core.management.base import BaseCommand

DEMO_USERNAME = "demo"
# Four-eyes approval (CAMPAIGNS_FOUR_EYES) needs a second person to approve the demo user's
# campaigns; this one is only a campaign approver (group made by campaigns migration 0004).
DEMO_APPROVER = "demo-approver"


class Command(BaseCommand):
    help = "Create (or reset) the demo superuser with a fresh password and load the demo data."

    def add_arguments(self, parser):
        parser.add_argument("--username", default=DEMO_USERNAME)

    def handle(self, *args, username: str, **options):
        user_model = get_user_model()
        user, created = user_model.objects.get_or_create(
            username=username, defaults={"is_staff": True, "is_superuser": True}
        )
        # A generated password every time: there is never a fixed demo password to leak, and a
        # second `make run` prints one that works instead of one that was never shown.
        password = secrets.token_urlsafe(12)
        user.set_password(password)
        user.is_staff = user.is_superuser = user.is_active = True
        user.save()
        verb = "Created" if created else "Reset"
        self.stdout.write(
            self.style.SUCCESS(f"{verb} demo superuser  user: {username}  password: {password}")
        )
        self._approver()
        call_command("demo_contacts_load", stdout=self.stdout)

    def _approver(self) -> None:
        group = Group.objects.filter(name="Campaign approvers").first()
        if group is None:
            self.stderr.write("No “Campaign approvers” group (run migrate): no demo approver.")
            return
        approver, created = get_user_model().objects.get_or_create(username=DEMO_APPROVER)
        password = secrets.token_urlsafe(12)
        approver.set_password(password)
        approver.is_active = True
        approver.save()
        approver.groups.add(group)
        verb = "Created" if created else "Reset"
        self.stdout.write(
            self.style.SUCCESS(
                f"{verb} demo approver   user: {DEMO_APPROVER}  password: {password}"
            )
        )
