import pytest
from django.urls import reverse
from tests.browser.test_e2e import *  # noqa
from tests.browser.test_e2e import PHONE, audience, draft, person, services

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

def test_scratch(bsg, browser, sign_in, live_server):
    author = person("olha", "Campaign authors")
    spring = audience()
    waiting = draft(author, spring, "Spring sale")
    services.campaign_approval_request(campaign_id=waiting.pk, user=author, when=None)
    ctx = browser.new_context(viewport=PHONE, is_mobile=True, bypass_csp=True)
    phone = ctx.new_page()
    sign_in(phone, "olha")
    for path in (reverse("campaigns:detail", args=[waiting.pk]), reverse("contacts:contact-index"), reverse("contacts:list-detail", args=[spring.pk])):
        phone.goto(live_server.url + path)
        phone.wait_for_load_state("networkidle")
        before = phone.evaluate("document.documentElement.scrollWidth")
        phone.add_style_tag(content="@media (max-width: 40rem) { .table { display: block; overflow-x: auto; } }")
        after = phone.evaluate("document.documentElement.scrollWidth")
        print("SCRATCH", path, before, after)
    ctx.close()
