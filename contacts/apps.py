from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ContactsConfig(AppConfig):
    name = "contacts"
    verbose_name = _("Contacts")

    def ready(self) -> None:
        # bsg/ imports no Django, so its sentences for people (bsg.rules, bsg.smstext: why BSG
        # would refuse a sender, a number, a text) follow the page's language only once the app
        # hands it Django's translation functions. contacts is the first of our apps to load.
        from django.utils import translation

        from bsg import i18n

        i18n.use_translations(gettext=translation.gettext, ngettext=translation.ngettext)
