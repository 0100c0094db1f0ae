"""The sandbox's own reading of BSG's limits, stated as numbers, and checked against two others.

``sandbox.vendor_rules`` and ``sandbox.sms_segments`` were written from the vendor pages without
looking at ``bsg.rules`` / ``bsg.smstext``. Where the two readings agree, each vouches for the
other; where they differ, one of them misread the vendor, and a test here says which value.
The GSM-7 table is checked a third way, against the `gsm0338` codec.
"""

from datetime import UTC, datetime

import gsm0338  # noqa: F401  (registers the "gsm03.38" codec)
import pytest
from hypothesis import given
from hypothesis import strategies as st

from bsg import rules, smstext
from sandbox import sms_segments, vendor_rules
from sandbox.sms_segments import length_and_parts, text_problem

# --- the numbers, as the vendor pages state them --------------------------------------------------


def test_the_limits_are_the_vendor_pages_numbers() -> None:
    assert vendor_rules.MAX_SMS_RECIPIENTS == 10_000  # "no more than 10 000 contacts"
    assert vendor_rules.MAX_RCS_RECIPIENTS == 5_000  # YAML SendRcsCampaign.phones maxItems
    assert (vendor_rules.MAX_ALPHANUMERIC_SENDER, vendor_rules.MAX_NUMERIC_SENDER) == (11, 15)
    assert vendor_rules.PHONE_DIGITS == (9, 15)  # "From 9 to 15 digits"
    assert vendor_rules.MAX_REFERENCE_ID == 32  # "up to 32 characters containing /a-zA-Z0-9/"
    assert vendor_rules.VALIDITY_HOURS == (1, 72)  # "Integer from 1 to 72"
    assert vendor_rules.TARIFF_CODES == (0, 9)  # "an integer from 0 to 9"
    assert (vendor_rules.MAX_GSM7_TEXT, vendor_rules.MAX_UCS2_TEXT) == (765, 335)
    assert vendor_rules.MAX_SCHEDULE_DAYS == 30  # "Maximum date for scheduling is 30 days"
    assert vendor_rules.MAX_RCS_AGENT == 40  # "From 1 to 40 characters"
    assert vendor_rules.MAX_WINDOW_MONTHS == 3  # "The maximum period ... is 3 months"


@pytest.mark.parametrize(
    ("text", "length", "parts"),
    [
        ("", 0, 0),
        ("a" * 160, 160, 1),
        ("a" * 161, 161, 2),
        ("a" * 306, 306, 2),
        ("a" * 307, 307, 3),
        ("a" * 765, 765, 5),
        ("{" * 80, 160, 1),  # an extension character is ESC + septet: two
        ("a" * 152 + "{" + "a" * 152, 306, 3),  # 2 x 153, but the pair cannot straddle parts
        ("ж" * 70, 70, 1),
        ("ж" * 71, 71, 2),
        ("ж" * 335, 335, 5),
        ("😀" * 35, 70, 1),  # a surrogate pair is two UTF-16 units
        ("ж" * 66 + "😀" + "ж" * 66, 134, 3),  # 2 x 67, but the pair cannot straddle parts
        ("a" * 100 + "\u2019", 101, 2),  # one typographic apostrophe makes it all UCS-2
    ],
)
def test_length_and_parts(text: str, length: int, parts: int) -> None:
    assert length_and_parts(text) == (length, parts)


@pytest.mark.parametrize(
    ("text", "accepted"),
    [
        ("a" * 765, True),
        ("a" * 766, False),
        ("ж" * 335, True),
        ("ж" * 336, False),
        (("{" * 76 + "a") * 5, True),  # 765 septets in five full parts
        ("{" * 382 + "a", False),  # 765 septets, but a pair never straddles: six parts
        ("   ", False),
    ],
)
def test_which_texts_bsg_takes(text: str, accepted: bool) -> None:
    assert (text_problem(text) is None) is accepted


def test_the_gsm7_table_agrees_with_the_gsm0338_codec() -> None:
    one, two = set(), set()
    for code in range(0x10000):
        character = chr(code)
        if 0xD800 <= code <= 0xDFFF or character == "\x1b":  # surrogates; ESC is no character
            continue
        try:
            septets = character.encode("gsm03.38")
        except UnicodeEncodeError:
            continue
        (one if len(septets) == 1 else two).add(character)

    assert one == sms_segments.ONE_SEPTET
    assert two == sms_segments.TWO_SEPTETS


@pytest.mark.parametrize(
    "written",
    ["2025-01-25T09:00:00Z", "2025-01-25 09:00:00.5", "2025-01-25", "2025-02-30 09:00:00", ""],
)
def test_dates_from_clients_are_read_in_the_vendors_one_form(written: str) -> None:
    assert vendor_rules.parse_datetime(written, "UTC") is None
    moment = vendor_rules.parse_datetime("2025-01-25 09:00:00", "Europe/Kyiv")
    assert moment is not None
    assert moment.astimezone(UTC) == datetime(2025, 1, 25, 7, 0, tzinfo=UTC)


# --- two independent readings agree: the app's bsg.rules / bsg.smstext and the sandbox's ---------


def test_the_app_and_the_sandbox_read_the_same_limits() -> None:
    pairs = {
        "SMS recipients": (rules.MAX_SMS_RECIPIENTS, vendor_rules.MAX_SMS_RECIPIENTS),
        "RCS recipients": (rules.MAX_RCS_RECIPIENTS, vendor_rules.MAX_RCS_RECIPIENTS),
        "lists per campaign": (rules.MAX_GROUPS_PER_CAMPAIGN, vendor_rules.MAX_GROUPS_PER_CAMPAIGN),
        "schedule days": (rules.MAX_SCHEDULE_DAYS, vendor_rules.MAX_SCHEDULE_DAYS),
        "callback url": (rules.MAX_CALLBACK_URL, vendor_rules.MAX_CALLBACK_URL),
        "RCS cards": (rules.MAX_RCS_CARDS, vendor_rules.MAX_RCS_CARDS),
        "RCS title": (rules.MAX_RCS_TITLE, vendor_rules.MAX_RCS_TITLE),
        "RCS card text": (rules.MAX_RCS_CARD_TEXT, vendor_rules.MAX_RCS_CARD_TEXT),
        "RCS plain text": (rules.MAX_RCS_PLAIN_TEXT, vendor_rules.MAX_RCS_PLAIN_TEXT),
        "RCS suggestions": (rules.MAX_RCS_SUGGESTIONS, vendor_rules.MAX_RCS_SUGGESTIONS),
        "suggestion text": (rules.MAX_SUGGESTION_TEXT, vendor_rules.MAX_SUGGESTION_TEXT),
        "postback data": (rules.MAX_POSTBACK_DATA, vendor_rules.MAX_POSTBACK_DATA),
        "url": (rules.MAX_URL, vendor_rules.MAX_URL),
        "validity seconds": (rules.VALIDITY_SECONDS, vendor_rules.VALIDITY_SECONDS),
        "list name": (rules.GROUP_NAME, vendor_rules.GROUP_NAME),
        "description": (rules.DESCRIPTION, vendor_rules.DESCRIPTION),
        "field name": (rules.FIELD_NAME, vendor_rules.FIELD_NAME),
        "field types": (rules.FIELD_TYPES, vendor_rules.FIELD_TYPES),
        "contact's lists": (rules.MAX_CONTACT_GROUPS, vendor_rules.MAX_CONTACT_GROUPS),
        "attach contacts": (rules.MAX_ATTACH_CONTACTS, vendor_rules.MAX_ATTACH_CONTACTS),
        "attach lists": (rules.MAX_ATTACH_GROUPS, vendor_rules.MAX_ATTACH_GROUPS),
        "window months": (rules.MAX_WINDOW_MONTHS, vendor_rules.MAX_WINDOW_MONTHS),
        "GSM-7 text": (smstext.MAX_GSM7_LENGTH, vendor_rules.MAX_GSM7_TEXT),
        "UCS-2 text": (smstext.MAX_UCS2_LENGTH, vendor_rules.MAX_UCS2_TEXT),
        "one-septet characters": (smstext.GSM7_BASIC, sms_segments.ONE_SEPTET),
        "two-septet characters": (smstext.GSM7_EXTENSION, sms_segments.TWO_SEPTETS),
    }

    assert {name: app for name, (app, ours) in pairs.items() if app != ours} == {}


_TEXT = st.text(
    st.sampled_from("aZ9 .,!\n{}[]~^|\\€@£ÇçЖжé\u00a0\u2019😀"), min_size=0, max_size=800
)


@given(text=_TEXT)
def test_the_app_and_the_sandbox_count_texts_alike(text: str) -> None:
    stats = smstext.analyse(text)

    assert length_and_parts(text) == (stats.length, stats.parts)
    assert (text_problem(text) is None) == (smstext.limit_error(text) is None)


@given(
    sender=st.text(st.sampled_from("aZ09 +-.&_!?#@`{}[]~^|\\ЖéÅ\t"), min_size=1, max_size=17),
    phone=st.one_of(st.integers(-1, 10**16), st.text("0123456789+ ", min_size=0, max_size=17)),
    reference=st.text(st.sampled_from("aZ09-_ Ж"), min_size=0, max_size=34),
    number=st.one_of(st.integers(-2, 75), st.booleans(), st.floats(0, 80), st.text("0123456789")),
)
def test_the_app_and_the_sandbox_accept_the_same_fields(
    sender: str, phone: object, reference: str, number: object
) -> None:
    assert (vendor_rules.sender_problem(sender) is None) == (rules.sender_error(sender) is None)
    assert (vendor_rules.phone_problem(phone) is None) == (rules.phone_error(phone) is None)
    assert (vendor_rules.reference_id_problem(reference) is None) == (
        rules.reference_id_error(reference) is None
    )
    assert (vendor_rules.validity_problem(number) is None) == (rules.validity_error(number) is None)
    assert (vendor_rules.tariff_problem(number) is None) == (rules.tariff_error(number) is None)
    assert (vendor_rules.rcs_agent_problem(sender) is None) == (
        rules.rcs_agent_error(sender) is None
    )
