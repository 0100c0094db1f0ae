"""Phone numbers on pages as contacts pages show them: `{{ digits|phone }}` gives
`+380 50 111 1111` for the stored `380501111111` (contacts.phones.phone_display).

A builtin of every template (settings TEMPLATES), like money and intcomma, so no page writes
`+{{ phone }}` and shows a number the way no one reads it."""

from django import template

from contacts.phones import phone_display

register = template.Library()


@register.filter
def phone(digits: object) -> str:
    """Stored digits (country code first) as a person reads them; "" for no number."""
    if digits is None or digits == "":
        return ""
    return phone_display(str(digits))
