"""Money and counts as people write them: `951.40 EUR`, a one-SMS price `0.0120 EUR`, `12,345`
recipients; one filter (config/numbers.py) on every page that shows money."""

from decimal import Decimal
from pathlib import Path

import pytest
from django.urls import reverse
from django.utils import translation

from campaigns.models import Campaign
from config.numbers import money_text
from tests.dashboard.conftest import part, sending

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"


@pytest.mark.parametrize(
    ("amount", "currency", "shown"),
    [
        ("951.3974304", "EUR", "951.40 EUR"),
        (Decimal("12345.678"), "EUR", "12,345.68 EUR"),
        ("0.012", "EUR", "0.0120 EUR"),  # one SMS: the fraction of a cent matters
        ("0.0527088", "USD", "0.0527 USD"),
        ("0.5", "EUR", "0.50 EUR"),
        ("0.0000", "EUR", "0.00 EUR"),
        (0, "EUR", "0.00 EUR"),
        ("-3.2", "EUR", "-3.20 EUR"),
        ("1000", "", "1,000.00"),
        (None, "EUR", ""),
        ("not a number", "EUR", "not a number"),
    ],
)
def test_money_is_rounded_grouped_and_names_its_currency(amount, currency, shown):
    assert money_text(amount, currency) == shown


def test_money_follows_the_language_of_the_page():
    with translation.override("uk"):
        assert money_text("12345.678", "EUR") == "12\xa0345,68 EUR"


@pytest.mark.django_db
def test_the_balance_in_the_header_reads_like_money(signed_in, bsg_settings, sandbox):
    sandbox.state.store.balance = Decimal("951.3974304")
    panel = signed_in.get(reverse("campaigns:bsg-account")).content.decode()
    assert "951.40 EUR" in panel
    assert "951.397" not in panel


@pytest.mark.django_db
def test_the_detail_page_shows_prices_with_their_currency_and_counts_grouped(signed_in):
    made = sending(recipients=12_000, sent=11_500, delivered=11_000)
    part(made, number=2, recipients=345, sent=1, price=Decimal("0.0120"), currency="EUR")
    Campaign.objects.filter(pk=made.pk).update(status=Campaign.Status.FINISHED)
    body = signed_in.get(reverse("campaigns:detail", args=[made.pk])).content.decode()
    assert 'id="figure-recipients">12,345<' in body
    assert 'id="figure-sent">11,501 ' in body
    assert "<td>0.0120 EUR</td>" in body  # the part's own price
    assert '<dd id="figure-price">0.0120 EUR' in body


@pytest.mark.django_db
def test_the_campaigns_page_groups_the_recipient_counts(signed_in):
    sending(recipients=1_708, sent=1_708)
    body = signed_in.get(reverse("campaigns:list")).content.decode()
    assert '<td class="num" data-label="Recipients">1,708</td>' in body


def test_no_template_prints_an_amount_and_a_currency_side_by_side():
    """Every amount goes through `money`: `{{ x.price }} {{ x.currency }}` is the old way."""
    offenders = []
    for path in TEMPLATES.rglob("*.html"):
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if "currency }}" in line and "|money:" not in line:
                offenders.append(f"{path.relative_to(TEMPLATES)}:{number}")
    assert offenders == []
