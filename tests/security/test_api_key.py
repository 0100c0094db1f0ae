"""The BSG API key is never logged, never rendered, and not even shown on a debug page.

A representative run against the sandbox (balance, fields and groups read from BSG, a campaign
composed, previewed and test-sent, its status polled, then BSG failing and refusing the key)
with every logger at DEBUG; the key must appear in no log record and no page body."""

import logging

import pytest
from django.core.cache import cache
from django.urls import reverse
from django.views.debug import SafeExceptionReporterFilter

from campaigns.models import Campaign, TestSend
from contacts.models import Contact, ContactField, ContactList, ListMembership
from sandbox.faults import Faults
from tests.audit.admin_pages import admin_data, admin_urls
from tests.conftest import SANDBOX_API_KEY

pytestmark = pytest.mark.django_db


def _sms(spring: ContactList) -> dict:
    return {
        "name": "Spring",
        "sms_mode": "individual",
        "text": "Hi {first_name}!",
        "sender": "Shop",
        "validity_hours": "72",
        "tariff_code": "0",
        "start": "now",
        "start_at": "",
        "start_time_zone": "Europe/Kyiv",
        "pasted_numbers": "",
        "lists": [spring.pk],
        "action": "save",
    }


def _visit(client, bodies: list[str], url: str, data=None, **headers) -> None:
    response = client.post(url, data, **headers) if data is not None else client.get(url)
    assert response.status_code < 500, url
    if response.status_code in (301, 302):
        response = client.get(response["Location"])
    bodies.append(response.content.decode())


def test_the_api_key_appears_in_no_log_and_no_page(
    client_in, bsg_settings, sandbox, caplog, team_test_phone
):
    caplog.set_level(logging.DEBUG)  # every logger, every level: the worst case
    ContactField.objects.create(key="first_name", label="First name", bsg_field_id=17)
    spring = ContactList.objects.create(name="Spring")
    olena = Contact.objects.create(phone="380501111111", fields={"first_name": "Olena"})
    ListMembership.objects.create(contact_list=spring, contact=olena)
    bodies: list[str] = []

    for url in (
        reverse("campaigns:home"),
        reverse("campaigns:bsg-account"),
        reverse("contacts:field-new"),
        reverse("contacts:list-link", args=[spring.pk]),
        reverse("campaigns:new", args=["sms"]),
    ):
        _visit(client_in, bodies, url)
    _visit(client_in, bodies, reverse("campaigns:new", args=["sms"]), _sms(spring))
    campaign = Campaign.objects.get()
    _visit(client_in, bodies, reverse("campaigns:preview"), _sms(spring), HTTP_HX_REQUEST="true")
    _visit(
        client_in,
        bodies,
        reverse("campaigns:test-send", args=[campaign.pk]),
        {"phone": "+380 50 999 9999", "contact_phone": "380501111111"},
        HTTP_HX_REQUEST="true",
    )
    test = TestSend.objects.get()
    assert test.bsg_campaign_id, test.error  # the flow really reached BSG
    _visit(client_in, bodies, reverse("campaigns:test-send-status", args=[test.pk]))
    _visit(client_in, bodies, reverse("campaigns:detail", args=[campaign.pk]))

    # BSG failing: errors are shown and logged, still without the key.
    sandbox.set_faults(Faults(error_5xx=1.0))
    cache.clear()
    _visit(client_in, bodies, reverse("campaigns:bsg-account"))
    _visit(client_in, bodies, reverse("contacts:field-new"))
    sandbox.set_faults(Faults())

    # BSG refusing the key: the message names the problem, not the key.
    bsg_settings.BSG_API_KEY = SANDBOX_API_KEY + "_revoked"
    cache.clear()
    _visit(client_in, bodies, reverse("campaigns:bsg-account"))
    _visit(client_in, bodies, reverse("contacts:field-new"))

    logged = [record.getMessage() for record in caplog.records]
    logged += [str(record.args) for record in caplog.records]
    assert len(bodies) >= 12 and logged
    for secret in (SANDBOX_API_KEY, SANDBOX_API_KEY + "_revoked"):
        assert not [text for text in bodies if secret in text]
        assert not [text for text in logged if secret in text]


def test_the_api_key_appears_on_no_admin_page(client, bsg_settings, sandbox, caplog):
    """Every admin changelist, change form and add form, with BSG data in every table."""
    from django.contrib.auth import get_user_model

    caplog.set_level(logging.DEBUG)
    root = get_user_model().objects.create_superuser("root", "root@example.com", "pw-for-root")
    admin_data(root)
    client.force_login(root)
    bodies: list[str] = []
    for url in admin_urls():
        response = client.get(url)
        assert response.status_code in (200, 403), url
        bodies.append(response.content.decode())
    assert len(bodies) > 40
    logged = [record.getMessage() for record in caplog.records]
    assert not [text for text in bodies if SANDBOX_API_KEY in text]
    assert not [text for text in logged if SANDBOX_API_KEY in text]


def test_a_debug_page_would_hide_the_key(settings):
    settings.BSG_API_KEY = SANDBOX_API_KEY
    safe = SafeExceptionReporterFilter().get_safe_settings()
    assert safe["BSG_API_KEY"] == SafeExceptionReporterFilter.cleansed_substitute
