import pytest

from campaigns import rendering
from contacts.models import ContactField
from contacts.selectors import fields_by_reference

pytestmark = pytest.mark.django_db


def test_keys_and_bsg_ids_render_the_same_field(fields):
    compiled = rendering.compile_text(
        "Hi {first_name} / {17}, order {order_no} for {name} at {phone}",
        fields=fields_by_reference(),
        mode=rendering.MODE_INDIVIDUAL,
    )
    assert compiled.errors == ()
    rendered = compiled.render(
        phone="380501111111", name="Olena K", fields={"first_name": "Olena", "order_no": ""}
    )
    assert rendered.text == "Hi Olena / Olena, order  for Olena K at +380501111111"
    assert rendered.empty_fields == ("order_no",)


def test_an_unknown_placeholder_is_an_error_with_a_hint(fields):
    compiled = rendering.compile_text(
        "Hi {First_name}", fields=fields_by_reference(), mode=rendering.MODE_INDIVIDUAL
    )
    assert "{First_name} names no contact field. Did you mean {first_name}?" in compiled.errors[0]


def test_groups_mode_sends_bsg_ids_and_refuses_unlinked_fields(fields):
    ok = rendering.compile_text(
        "Hi {first_name}", fields=fields_by_reference(), mode=rendering.MODE_GROUPS
    )
    assert ok.for_bsg_groups() == "Hi {17}"
    bad = rendering.compile_text(
        "Order {order_no} {name}", fields=fields_by_reference(), mode=rendering.MODE_GROUPS
    )
    assert len(bad.errors) == 2
    assert "not linked to a BSG contact field" in bad.errors[0]


def test_literal_mode_refuses_field_placeholders_but_keeps_other_braces(fields):
    compiled = rendering.compile_text(
        "Use {code} today {first_name}", fields=fields_by_reference(), mode=rendering.MODE_LITERAL
    )
    assert len(compiled.errors) == 1
    assert "goes to everyone alike" in compiled.errors[0]
    assert compiled.render_values(()) == "Use {code} today {first_name}"


def test_the_gsm7_fix_turns_typography_into_gsm7_and_counts_the_saving():
    text = "It\u2019s \u201cgreat\u201d \u2013 50\u00a0% off\u2026" + "x" * 50
    report = rendering.gsm7_report(text)
    assert report.fixed_text == 'It\'s "great" - 50 % off...' + "x" * 50
    assert report.encoding_after == "GSM-7"
    assert (report.parts_before, report.parts_after) == (2, 1)
    assert report.unfixable == ()


def test_cyrillic_has_no_fix():
    report = rendering.gsm7_report("Привіт\u2019")
    assert report.fixable == ("\u2019",)
    assert "П" in report.unfixable


def test_the_shape_cache_counts_like_analyse_for_every_kind_of_value():
    """One count stands for every value of its shape; values that could count differently
    (extension characters, typographic apostrophes, Cyrillic, astral emoji) are kept whole."""
    from bsg import smstext

    template = "Hi {a}, the [{b}] store: 20% off. Reply STOP"
    compiled = rendering.compile_text(
        template, fields={"a": _Field("a"), "b": _Field("b")}, mode=rendering.MODE_INDIVIDUAL
    )
    cache = rendering.ShapeCache(lambda values: smstext.analyse(compiled.render_values(values)))
    values = [
        ("Olena", "Kyiv"),
        ("Ivana", "Lviv"),  # the same shape as the first: lengths 5 and 4
        ("O\u2019Brien", "Kyiv"),
        ("O'Brien", "Kyiv"),
        ("Олена", "Kyiv"),
        ("A{b}c", "Lviv"),  # braces are two septets each in GSM-7
        ("Zoë", "Dnipro"),
        ("🎉", "Kyiv"),
        ("A" * 120, "Kharkiv"),
        ("B" * 120, "Odesa12"),
        ("", ""),
    ]
    for pair in values * 2:
        assert cache.get(pair) == smstext.analyse(compiled.render_values(pair)), pair
    assert rendering.value_shape("Olena") == rendering.value_shape("Ivana") == 5
    assert rendering.value_shape("A{b}c") == "A{b}c"
    assert len(cache) < len(values)


def test_the_shape_cache_forgets_rather_than_grows_without_end():
    cache = rendering.ShapeCache(lambda values: len(values[0]), max_size=3)
    for value in ("Олена", "Іван", "Петро", "Ольга", "Марія"):
        assert cache.get((value,)) == len(value)
    assert len(cache) <= 3


class _Field:
    """A ContactField as compile_text reads it."""

    def __init__(self, key: str) -> None:
        self.key = key
        self.label = key.upper()
        self.bsg_field_id = None


def test_a_fallback_fills_only_a_missing_value_and_is_reported_apart():
    fields = {
        "city": ContactField(key="city", label="City"),
        "order_no": ContactField(key="order_no", label="Order"),
    }
    compiled = rendering.compile_text(
        "In {city|your city}, order {order_no}", fields=fields, mode=rendering.MODE_INDIVIDUAL
    )
    assert compiled.errors == ()
    assert compiled.unfilled_labels == ("order_no",)
    full = compiled.personalise(phone="1", name="", fields={"city": "Kyiv", "order_no": 7})
    assert full == (("Kyiv", "7"), (), ())
    bare = compiled.personalise(phone="1", name="", fields={})
    assert bare.values == ("your city", "")
    assert bare.missing == ("city", "order_no") and bare.unfilled == ("order_no",)
    rendered = compiled.render(phone="1", fields={})
    assert rendered.text == "In your city, order "
    assert rendered.fallback_fields == ("city",) and rendered.empty_fields == ("order_no",)


def test_the_worst_case_takes_the_ucs2_value_when_it_costs_more_parts():
    fields = {"city": ContactField(key="city", label="City")}
    compiled = rendering.compile_text(
        "Sale in {city}! " + "x" * 50, fields=fields, mode=rendering.MODE_INDIVIDUAL
    )
    worst = rendering.worst_case(compiled, {"city": ["Kyiv-Sviatoshynskyi", "Київ", ""]})
    assert worst.stats.encoding == "UCS-2" and worst.stats.parts == 1
    assert worst.ucs2_values[0][:2] == ("City", "Київ")
    # A longer text: the Cyrillic value tips it into two parts, the longer Latin one does not.
    compiled = rendering.compile_text(
        "Sale in {city}! " + "x" * 60, fields=fields, mode=rendering.MODE_INDIVIDUAL
    )
    worst = rendering.worst_case(compiled, {"city": ["Kyiv-Sviatoshynskyi", "Київ"]})
    assert (worst.stats.encoding, worst.stats.parts) == ("UCS-2", 2)
