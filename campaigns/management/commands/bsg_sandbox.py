"""`python manage.py bsg_sandbox --port 8025 --api-key KEY`: the BSG sandbox in the foreground."""

import argparse

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from sandbox.__main__ import DESCRIPTION, add_sandbox_arguments, config_from_args, describe
from sandbox.faults import FaultsError
from sandbox.server import SandboxServer


class Command(BaseCommand):
    help = DESCRIPTION

    def add_arguments(self, parser):
        add_sandbox_arguments(parser)
        # The key the sandbox accepts at login is the one the app logs in with, unless told.
        parser.set_defaults(api_key=settings.BSG_API_KEY, time_zone=settings.BSG_TIME_ZONE)

    def handle(self, *args, **options):
        namespace = argparse.Namespace(**options)
        if not namespace.api_key:
            raise CommandError("Give --api-key or set BSG_API_KEY: the sandbox needs a key.")
        try:
            config = config_from_args(namespace)
        except (FaultsError, ValueError) as problem:
            raise CommandError(str(problem)) from None
        server = SandboxServer(config, host=options["host"], port=options["port"])
        self.stdout.write(describe(server))
        self.stdout.flush()
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            pass
        finally:
            server.shutdown()
