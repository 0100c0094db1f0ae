"""bsg.rules: every request-field boundary BSG documents, and the BSG date format."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bsg.rules import (
    BSG_DATETIME_FORMAT,
    MAX_RCS_RECIPIENTS,
    MAX_SCHEDULE_DAYS,
    MAX_SMS_RECIPIENTS,
    format_bsg_datetime,
    parse_bsg_datetime,
    phone_error,
    rcs_agent_error,
    rcs_start_at_error,
    reference_id_error,
    sender_error,
    sender_warning,
    start_at_error,
    tariff_error,
    validity_error,
)

KYIV = ZoneInfo("Europe/Kyiv")


def test_the_documented_constants():
    assert (MAX_SMS_RECIPIENTS, MAX_RCS_RECIPIENTS, MAX_SCHEDULE_DAYS) == (10_000, 5_000, 30)
    assert BSG_DATETIME_FORMAT == "%Y-%m-%d %H:%M:%S"


# --- sender -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "sender", ["A", "testsms", "ABCDEFGHIJK", "Vet klinika", "Shop-24/7!", "a.b_c@d", "+44123"]
)
def test_valid_alphanumeric_senders(sender):
    assert sender_error(sender) is None


def test_an_alphanumeric_sender_of_12_characters_is_refused():
    assert sender_error("ABCDEFGHIJKL") == (
        "Sender 'ABCDEFGHIJKL' is 12 characters; an alphanumeric sender is at most 11."
    )


@pytest.mark.parametrize("sender", ["1", "123456789012345", "00000"])
def test_valid_numeric_senders(sender):
    assert sender_error(sender) is None


def test_a_numeric_sender_of_16_digits_is_refused():
    assert sender_error("1234567890123456") == (
        "Sender '1234567890123456' is 16 digits; a numeric sender is at most 15."
    )


def test_a_12_to_15_digit_sender_is_numeric_but_with_a_plus_it_is_alphanumeric():
    assert sender_error("441234567890") is None
    message = sender_error("+441234567890")
    assert message is not None
    assert "is 13 characters; an alphanumeric sender is at most 11" in message
    assert "without '+'" in message


def test_a_sender_in_another_alphabet_is_refused_without_listing_its_letters():
    assert sender_error("Привет") == (
        "The sender must use Latin letters and digits only; “Привет” is in another alphabet."
    )
    # A stray letter in a Latin sender is named, in quotes and without its code point ("U+0416"
    # means nothing to a marketer): that is what to fix.
    message = sender_error("ShopЖ")
    assert message.startswith("Sender 'ShopЖ' contains “Ж”; ")
    assert "U+" not in message


@pytest.mark.parametrize(
    ("sender", "named"),
    [
        ("Shop \U0001f600", "“\U0001f600”"),
        ("Café", "“é”"),
        ("Shop{1}", "“{”"),
        ("a`b", "“`”"),
        ("a\tb", "an invisible character"),
        ("Shop\u00a0A", "no-break space"),
        ("Shop\u2019s", "“\u2019” curly apostrophe"),
        ("\uff11\uff12\uff13", "“\uff11”, “\uff12”, “\uff13”"),  # fullwidth digits
    ],
)
def test_senders_outside_latin_letters_digits_spaces_and_symbols_are_refused(sender, named):
    message = sender_error(sender)
    assert message is not None
    assert message.startswith(f"Sender '{sender}' contains ")
    assert named in message
    assert "U+" not in message
    assert "only Latin letters, digits, spaces and these symbols" in message


@pytest.mark.parametrize(
    ("sender", "message"),
    [
        ("", "The sender is empty; it needs 1 to 11 characters, or 1 to 15 digits."),
        ("   ", "The sender is only spaces; it needs at least one letter, digit or symbol."),
        (12345, "The sender must be text, not 12345."),
        (None, "The sender must be text, not None."),
    ],
)
def test_empty_blank_and_non_text_senders(sender, message):
    assert sender_error(sender) == message


def test_senders_under_three_characters_are_valid_but_warned():
    assert sender_warning("AB") == (
        "Sender 'AB' is 2 characters; BSG's API description asks for at least 3, so BSG may "
        "refuse it."
    )
    assert sender_warning("1") is not None
    assert sender_warning("ABC") is None
    assert sender_warning("ABCDEFGHIJKL") is None  # refused, not warned
    assert sender_warning("") is None


# --- RCS agent ----------------------------------------------------------------------------


def test_rcs_agent_name_of_1_to_40_characters():
    assert rcs_agent_error("A") is None
    assert rcs_agent_error("A" * 40) is None
    assert rcs_agent_error("Агент Кафе \U0001f600") is None  # no character rule is documented
    assert rcs_agent_error("A" * 41) == (
        f"RCS agent name '{'A' * 41}' is 41 characters; an RCS agent name is at most 40."
    )
    assert rcs_agent_error("") == "The RCS agent name is empty."
    assert rcs_agent_error("  ") == "The RCS agent name is empty."
    assert rcs_agent_error(7) == "The RCS agent name must be text, not 7."


# --- validity, tariff ---------------------------------------------------------------------


@pytest.mark.parametrize("hours", [1, 24, 72])
def test_validity_of_1_to_72_hours(hours):
    assert validity_error(hours) is None


@pytest.mark.parametrize("hours", [0, 73, -1])
def test_validity_outside_1_to_72(hours):
    assert validity_error(hours) == f"Validity {hours} hours is outside BSG's 1 to 72 hours."


@pytest.mark.parametrize("hours", ["12", 12.0, True, None])
def test_validity_must_be_an_integer(hours):
    assert validity_error(hours) == (
        f"Validity must be a whole number of hours from 1 to 72, not {hours!r}."
    )


@pytest.mark.parametrize("code", [0, 9])
def test_tariff_of_0_to_9(code):
    assert tariff_error(code) is None


@pytest.mark.parametrize("code", [-1, 10])
def test_tariff_outside_0_to_9(code):
    assert tariff_error(code) == f"Tariff code {code} is outside BSG's 0 to 9."


@pytest.mark.parametrize("code", ["9", 1.0, False])
def test_tariff_must_be_an_integer(code):
    assert (
        tariff_error(code) == f"The tariff code must be a whole number from 0 to 9, not {code!r}."
    )


# --- phone --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "number", [123456789, "123456789", 380501234567, "380501234567", 999999999999999]
)
def test_phones_of_9_to_15_digits(number):
    assert phone_error(number) is None


@pytest.mark.parametrize(
    ("number", "digits"),
    [(12345678, 8), ("12345678", 8), (1234567890123456, 16), ("1234567890123456", 16)],
)
def test_phones_of_8_or_16_digits_are_refused(number, digits):
    assert phone_error(number) == (
        f"Phone number '{number}' is {digits} digits; BSG needs 9 to 15."
    )


def test_a_phone_with_a_plus_is_refused():
    assert phone_error("+380501234567") == (
        "Phone number '+380501234567' must be digits only, without '+'."
    )


@pytest.mark.parametrize(
    "number", ["380 50 123 4567", "380-501234567", -380501234567, "٣٨٠٥٠١٢٣٤٥٦٧"]
)
def test_a_phone_with_other_signs_or_non_ascii_digits_is_refused(number):
    assert phone_error(number) == (
        f"Phone number '{number}' must be digits only, without spaces or other signs."
    )


def test_a_phone_with_a_leading_zero_cannot_be_sent_as_an_integer():
    message = phone_error("0501234567")
    assert message is not None
    assert "starts with 0" in message


@pytest.mark.parametrize("number", [True, None, 380501234567.0, ["380501234567"]])
def test_a_phone_must_be_an_int_or_a_string(number):
    assert phone_error(number) == f"The phone number must be digits, not {number!r}."


# --- reference id -------------------------------------------------------------------------


@pytest.mark.parametrize("ref", ["a", "Test98765", "f2d37bf77f6242daa83f23b0cc84b627"])
def test_reference_ids_of_1_to_32_letters_and_digits(ref):
    assert reference_id_error(ref) is None


def test_a_reference_id_of_33_characters_is_refused():
    ref = "f2d37bf77f6242daa83f23b0cc84b6271"
    assert reference_id_error(ref) == (
        f"Reference id '{ref}' is 33 characters; BSG accepts at most 32."
    )


@pytest.mark.parametrize(
    ("ref", "named"),
    [("order-1", "“-”"), ("order_1", "“_”"), ("zakaz\u0416", "“Ж”")],
)
def test_a_reference_id_with_other_characters_is_refused(ref, named):
    assert reference_id_error(ref) == (
        f"Reference id '{ref}' contains {named}; BSG accepts only Latin letters and digits "
        "(a-z, A-Z, 0-9)."
    )


def test_an_empty_or_non_text_reference_id_is_refused():
    assert reference_id_error("") == (
        "The reference id is empty; give 1 to 32 Latin letters and digits, or none."
    )
    assert reference_id_error(12345) == "The reference id must be text, not 12345."


# --- scheduling ---------------------------------------------------------------------------

NOW = datetime(2025, 1, 25, 9, 0, 0, tzinfo=UTC)


def test_an_sms_may_be_scheduled_exactly_30_days_ahead():
    assert start_at_error(NOW + timedelta(days=30), NOW) is None


def test_an_sms_may_not_be_scheduled_30_days_and_1_second_ahead():
    assert start_at_error(NOW + timedelta(days=30, seconds=1), NOW) == (
        "Start time 2025-02-24 09:00:01 UTC is more than 30 days ahead; BSG schedules SMS "
        "campaigns at most until 2025-02-24 09:00:00 UTC."
    )


def test_an_sms_start_in_the_past_is_treated_as_now():
    assert start_at_error(NOW - timedelta(days=1), NOW) is None


def test_the_sms_window_is_absolute_time_across_a_daylight_saving_change():
    now = datetime(2025, 3, 20, 12, 0, 0, tzinfo=KYIV)  # EET; 30 March moves to EEST
    latest = (now.astimezone(UTC) + timedelta(days=30)).astimezone(KYIV)
    assert latest.hour == 13  # 30 x 24 h later reads 13:00 on the summer clock
    assert start_at_error(latest, now) is None
    assert start_at_error(latest + timedelta(seconds=1), now) is not None


def test_rcs_may_be_scheduled_until_23_59_59_of_the_30th_day_counting_today():
    # Today (25 January) is day 1, so day 30 is 23 February.
    assert rcs_start_at_error(datetime(2025, 2, 23, 23, 59, 59, tzinfo=UTC), NOW, "UTC") is None


def test_rcs_may_not_be_scheduled_at_midnight_after_the_30th_day():
    assert rcs_start_at_error(datetime(2025, 2, 24, 0, 0, 0, tzinfo=UTC), NOW, "UTC") == (
        "Start time 2025-02-24 00:00:00 (UTC) is too late; BSG schedules RCS campaigns at most "
        "until 2025-02-23 23:59:59, the end of the 30th day counting today."
    )


def test_the_rcs_30th_day_is_counted_in_bsgs_time_zone():
    # 23:30 UTC on 24 January is already 25 January in Kyiv: day 1 is the 25th there.
    now = datetime(2025, 1, 24, 23, 30, 0, tzinfo=UTC)
    last_second_in_kyiv = datetime(2025, 2, 23, 23, 59, 59, tzinfo=KYIV)
    assert rcs_start_at_error(last_second_in_kyiv, now, "Europe/Kyiv") is None
    assert rcs_start_at_error(last_second_in_kyiv + timedelta(seconds=1), now, "Europe/Kyiv")
    # In UTC the same moment is still 24 January: the last day is 22 February.
    assert rcs_start_at_error(datetime(2025, 2, 22, 23, 59, 59, tzinfo=UTC), now, "UTC") is None
    assert rcs_start_at_error(datetime(2025, 2, 23, 0, 0, 0, tzinfo=UTC), now, "UTC")


def test_an_rcs_start_in_the_past_is_treated_as_now():
    assert rcs_start_at_error(NOW - timedelta(hours=1), NOW, "UTC") is None


def test_scheduling_refuses_naive_datetimes():
    with pytest.raises(ValueError, match="timezone-aware"):
        start_at_error(datetime(2025, 2, 1, 9, 0, 0), NOW)
    with pytest.raises(ValueError, match="timezone-aware"):
        rcs_start_at_error(NOW, datetime(2025, 1, 25, 9, 0, 0), "UTC")


# --- the BSG date format ------------------------------------------------------------------


def test_format_writes_the_moment_in_bsgs_time_zone():
    moment = datetime(2025, 1, 25, 9, 0, 0, 123456, tzinfo=UTC)
    assert format_bsg_datetime(moment, "UTC") == "2025-01-25 09:00:00"
    assert format_bsg_datetime(moment, "Europe/Kyiv") == "2025-01-25 11:00:00"
    assert format_bsg_datetime(datetime(2025, 7, 1, 9, 0, tzinfo=UTC), "Europe/Kyiv") == (
        "2025-07-01 12:00:00"
    )


def test_format_refuses_a_naive_datetime():
    with pytest.raises(ValueError, match="timezone-aware"):
        format_bsg_datetime(datetime(2025, 1, 25, 9, 0, 0), "UTC")


@pytest.mark.parametrize("time_zone", ["UTC", "Europe/Kyiv", "America/New_York", "Asia/Kolkata"])
def test_format_and_parse_round_trip(time_zone):
    moment = datetime(2025, 10, 26, 0, 30, 0, tzinfo=UTC)  # the night Kyiv leaves summer time
    for step in range(8):
        current = moment + timedelta(minutes=30 * step)
        text = format_bsg_datetime(current, time_zone)
        parsed = parse_bsg_datetime(text, time_zone)
        assert parsed is not None
        assert parsed.tzinfo == ZoneInfo(time_zone)
        assert format_bsg_datetime(parsed, time_zone) == text


def test_parse_reads_wall_time_in_bsgs_time_zone():
    parsed = parse_bsg_datetime("2025-01-25 09:00:00", "Europe/Kyiv")
    assert parsed == datetime(2025, 1, 25, 7, 0, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("value", "expected_utc"),
    [
        ("2025-04-14T10:43:13", datetime(2025, 4, 14, 10, 43, 13, tzinfo=UTC)),
        ("2000-01-23T04:56:07.000+00:00", datetime(2000, 1, 23, 4, 56, 7, tzinfo=UTC)),
        ("2025-04-14 13:43:13+03:00", datetime(2025, 4, 14, 10, 43, 13, tzinfo=UTC)),
        ("2025-04-14T10:43:13Z", datetime(2025, 4, 14, 10, 43, 13, tzinfo=UTC)),
        ("  2025-04-14 10:43:13 ", datetime(2025, 4, 14, 10, 43, 13, tzinfo=UTC)),
        ("2025-04-14", datetime(2025, 4, 14, tzinfo=UTC)),
    ],
)
def test_parse_is_tolerant_of_the_forms_bsg_answers_with(value, expected_utc):
    parsed = parse_bsg_datetime(value, "UTC")
    assert parsed == expected_utc
    assert parsed is not None
    assert parsed.tzinfo == ZoneInfo("UTC")


@pytest.mark.parametrize(
    "value",
    [
        "",
        "   ",
        "garbage",
        "2025-02-30 00:00:00",
        "0000-00-00 00:00:00",
        "25/01/2025 09:00",
        None,
        1737795600,
    ],
)
def test_parse_of_garbage_is_none(value):
    assert parse_bsg_datetime(value, "UTC") is None
