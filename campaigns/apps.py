from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CampaignsConfig(AppConfig):
    name = "campaigns"
    verbose_name = _("Campaigns")

    def ready(self) -> None:
        # Registers the system check of the callback URL BSG pushes statuses to.
        from .engine import delivery_reports  # noqa: F401
