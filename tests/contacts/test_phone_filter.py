"""`{{ digits|phone }}`: a stored number on any page reads as the contacts pages show it."""

from django.template import Context, Template

from contacts.phones import phone_display


def render(template: str, **context) -> str:
    return Template(template).render(Context(context))


def test_the_filter_groups_a_stored_number_as_contacts_pages_do():
    # A builtin (settings TEMPLATES): no {% load %} needed.
    assert render("{{ p|phone }}", p="380501111111") == "+380 50 111 1111"
    assert render("{{ p|phone }}", p="380501111111") == phone_display("380501111111")
    assert render("{{ p|phone }}", p="447911123456") == "+44 7911 123456"


def test_a_number_no_country_knows_keeps_its_digits_behind_a_plus():
    assert render("{{ p|phone }}", p="999123") == "+999123"


def test_no_number_shows_nothing():
    assert render("[{{ p|phone }}]", p="") == "[]"
    assert render("[{{ p|phone }}]", p=None) == "[]"
    assert render("[{{ missing|phone }}]") == "[]"
