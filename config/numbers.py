"""Money and counts as people write them, in the active language's format.

`{{ balance|money:currency }}` gives `951.40 EUR` (`951,40 EUR` in Ukrainian); `{{ n|intcomma }}`
(django.contrib.humanize) gives `1,708`. Both are builtins of every template (settings
TEMPLATES), so a page never formats money its own way.

Django's l10n formats the number, so no dependency is added: "amount, then the ISO code" reads
the same in every language we serve, which is all Babel's currency patterns would add here.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from django import template
from django.utils.formats import number_format

register = template.Library()

CENTS = Decimal("0.01")
# BSG prices one SMS in fractions of a cent ("0.0527088"): below one unit of money a price
# keeps up to four decimals, so 1 SMS at 0.012 EUR does not read as "0.01 EUR".
SUB_UNIT = Decimal("0.0001")


def money_text(amount: object, currency: str | None = "") -> str:
    """`amount` rounded as people read money, grouped, then its currency: `12,345.68 EUR`.

    Two decimals for one unit or more (a balance, a total); below one unit, four when two would
    hide part of it (`0.0120 EUR`, but `0.50 EUR`). "" for no amount; a value that is not a
    number is shown as it is, never an error on a page.
    """
    if amount is None or amount == "":
        return ""
    try:
        value = Decimal(str(amount))
    except InvalidOperation:
        return str(amount)
    if not value.is_finite():
        return str(amount)
    places = CENTS
    if abs(value) < 1 and value.quantize(CENTS, rounding=ROUND_HALF_UP) != value:
        places = SUB_UNIT
    rounded = value.quantize(places, rounding=ROUND_HALF_UP)
    decimals = -places.as_tuple().exponent
    text = number_format(rounded, decimal_pos=decimals, use_l10n=True, force_grouping=True)
    return f"{text} {currency}" if currency else text


def grouped(number: int) -> str:
    """A whole number with the active language's thousands separator, for sentences written in
    Python: `1,000` in English, `1 000` in Ukrainian (a comma there is the decimal mark)."""
    return number_format(number, force_grouping=True)


@register.filter
def money(amount: object, currency: str | None = "") -> str:
    """`{{ price.amount|money:price.currency }}`: see money_text."""
    return money_text(amount, currency)
