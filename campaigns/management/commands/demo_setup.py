"""Creates the demo superuser and the small demo data set; safe to run again."""

import secrets

from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand

DEMO_USERNAME = "demo"


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
        call_command("demo_contacts_load", stdout=self.stdout)
