"""BSG's request limits as the sandbox reads them from the vendor's own pages, written out here.

The sandbox is a test double of BSG, so it must not borrow the app's reading of the contract
(``bsg.rules``, ``bsg.smstext``): a wrong number there would then pass on both sides of every
test. Each number below is copied from the vendor pages in /work/shared/bsg-docs/ or BSG's
OpenAPI description (one-api-openapi.yaml, "the YAML"), and the comment beside it names where.

Each ``*_problem`` function takes a value as decoded JSON gives it and returns None when BSG
would accept it, else the message the sandbox answers for that field. Messages follow the
validator wording BSG's YAML shows ("This value is too long. It should have 15 characters or
less.", POST /api/campaigns/price, 422 sample).
"""

import re
import string
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

# --- recipients per campaign -------------------------------------------------------------------
# sms-campaigns-all-methods.txt, sms-send-groups.txt: "It is possible to specify no more than
# 10 000 contacts for one campaign."; sms-send-individual.txt: "Up to 10 000 numbers".
MAX_SMS_RECIPIENTS = 10_000
# YAML SendRcsCampaign.phones: maxItems 5000; the YAML's "Campaign RCS" rules, for send-groups
# too: "The maximum allowed number of contacts in one campaign is 5000".
MAX_RCS_RECIPIENTS = 5_000
# YAML GroupsTrait.groups / SendRcsCampaignGroups.groups: minItems 1, maxItems 1000.
MAX_GROUPS_PER_CAMPAIGN = 1_000

# --- SMS fields (sms-campaigns-all-methods.txt, sms-send-groups.txt, sms-send-individual.txt) ---
# "1 to 11 characters for the Sender alphanumeric name (consists of Latin letters, symbols,
# numbers, spaces); 1 to 15 characters for the Sender numeric name". (The YAML says 3 to 11 and
# 3 to 15; the pages are the vendor's word for people, and the sandbox follows them.)
MAX_ALPHANUMERIC_SENDER = 11
MAX_NUMERIC_SENDER = 15
# "symbols" is not spelled out. The sandbox reads it as the ASCII punctuation that is one GSM 03.38
# septet: an alphanumeric sender travels as at most 11 GSM-7 septets (3GPP TS 23.040 §9.1.2.5),
# where ^ { } \ [ ~ ] | take two septets each and ` has no code at all.
SENDER_SYMBOLS = "!\"#$%&'()*+,-./:;<=>?@_"
SENDER_CHARACTERS = frozenset(string.ascii_letters + string.digits + " " + SENDER_SYMBOLS)
# "From 9 to 15 digits (phone number is specified without +)"; YAML PhoneNumber: an integer from
# 100000000 to 999999999999999, so it cannot start with 0.
PHONE_DIGITS = (9, 15)
# The same rule for a phone sent as a JSON integer, as a range: 100000000..999999999999999.
PHONE_RANGE = (10 ** (PHONE_DIGITS[0] - 1), 10 ** PHONE_DIGITS[1] - 1)
# "String up to 32 characters containing /a-zA-Z0-9/".
MAX_REFERENCE_ID = 32
# "Integer from 1 to 72. By default 72 hours." (rcs-send-groups.txt: "from 1 to 72" too).
VALIDITY_HOURS = (1, 72)
DEFAULT_VALIDITY_HOURS = 72
# "The parameter format is an integer from 0 to 9. The default is 0."
TARIFF_CODES = (0, 9)
DEFAULT_TARIFF_CODE = 0
# "Maximum number of characters for a message text: 335 characters Cyrillic, 765 characters
# Latin" (sms-send-groups.txt; sms-send-individual.txt says the same). sms_segments.py counts.
MAX_GSM7_TEXT = 765
MAX_UCS2_TEXT = 335
# "Maximum date for scheduling is 30 days." (SMS pages); rcs-send-groups.txt: "30 days
# (including the current date) - until 23:59:59 of the 30th day"; campaigns-list.txt, filter[to]:
# "the valid value is 30 days ahead of the current date".
MAX_SCHEDULE_DAYS = 30
# YAML SmsSendRequest.callback_url / CallbackUrl: maxLength 100.
MAX_CALLBACK_URL = 100

# --- RCS fields ----------------------------------------------------------------------------------
# rcs-send-groups.txt: "The name of the agent ... From 1 to 40 characters." (YAML RcsSender 1..40)
MAX_RCS_AGENT = 40
# YAML Cards.cards: minItems 1, maxItems 10. Card.title maxLength 200; Card.text 1..1000;
# Card.suggestions maxItems 4; SuggestionButtonText 25; PostbackData 25; Media.url and
# SuggestionLink.url maxLength 1000; Text.text (options.text) 1..160; ValiditySeconds 30..86400.
MAX_RCS_CARDS = 10
MAX_RCS_TITLE = 200
MAX_RCS_CARD_TEXT = 1_000
MAX_RCS_PLAIN_TEXT = 160
MAX_RCS_SUGGESTIONS = 4
MAX_SUGGESTION_TEXT = 25
MAX_POSTBACK_DATA = 25
MAX_URL = 1_000
VALIDITY_SECONDS = (30, 86_400)

# --- contact book (YAML) -------------------------------------------------------------------------
# ContactGroupName 3..50; ContactGroupDescription and ContactFieldDescription 1..255;
# ContactFieldName 1..30; ContactFieldType text|date|number; StoreContact.groups maxItems 100;
# ContactListAttachRequest contacts 1..200 and groups 1..100;
# PostContactsFieldsDeleteRequest.ids 1..30.
GROUP_NAME = (3, 50)
DESCRIPTION = (1, 255)
FIELD_NAME = (1, 30)
FIELD_TYPES = ("text", "date", "number")
MAX_CONTACT_GROUPS = 100
MAX_ATTACH_CONTACTS = 200
MAX_ATTACH_GROUPS = 100
MAX_FIELDS_DELETED = 30

# --- queries -------------------------------------------------------------------------------------
# campaigns-list.txt: "The maximum period for which you can sample the campaigns is 3 months."
MAX_WINDOW_MONTHS = 3
# YAML GET /api/campaigns: page[limit] 30..500, default 50; search[value] maxLength 255.
CAMPAIGNS_PAGE = (30, 500, 50)
MAX_SEARCH_VALUE = 255
# YAML GET /api/messages and GET /api/groups: page[limit] 15..500, default 50;
# GET /api/contacts: 15..500, default 20.
MESSAGES_PAGE = (15, 500, 50)
GROUPS_PAGE = (15, 500, 50)
CONTACTS_PAGE = (15, 500, 20)

# Every date a client sends: "Date and time ... in ISO 8601 format: yyyy-mm-dd hh:mm:ss" (SMS
# pages), 'Value format: "{yyyy-mm-dd hh:mm:ss}"' (rcs-send-groups.txt), "Format ISO 8601:
# yyyy-mm-dd hh:mm:ss" (campaigns-list.txt), "format - Y-m-d H:i:s" (YAML GET /api/messages). Only
# that form is accepted: a test double must refuse what the vendor does not promise to take.
DATETIME_FORMAT = "%Y-%m-%d %H:%M:%S"
_DATETIME = re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}")
NOT_DATETIME = "This value is not a valid datetime. Use YYYY-MM-DD hh:mm:ss."

NOT_VALID = "This value is not valid."
BLANK = "This value should not be blank."
CHOICE = "The value you selected is not a valid choice."


def type_message(kind: str) -> str:
    return f"This value should be of type {kind}."


def too_long(limit: int) -> str:
    return f"This value is too long. It should have {limit} characters or less."


def too_short(limit: int) -> str:
    return f"This value is too short. It should have {limit} character{'s' * (limit != 1)} or more."


def between(low: int, high: int) -> str:
    return f"This value should be between {low} and {high}."


def count_max(limit: int) -> str:
    return f"This collection should contain {limit} elements or less."


def count_min(limit: int) -> str:
    return f"This collection should contain {limit} element{'s' * (limit != 1)} or more."


def is_int(value: object) -> bool:
    """A JSON integer: Python's bool is an int, but JSON's true is not BSG's 1."""
    return isinstance(value, int) and not isinstance(value, bool)


def sender_problem(sender: str) -> str | None:
    """An SMS sender: 1-15 ASCII digits, or 1-11 Latin letters, digits, spaces and symbols."""
    if not sender.strip(" "):
        return BLANK
    if sender.isascii() and sender.isdigit():
        return too_long(MAX_NUMERIC_SENDER) if len(sender) > MAX_NUMERIC_SENDER else None
    if not SENDER_CHARACTERS.issuperset(sender):
        return NOT_VALID
    if len(sender) > MAX_ALPHANUMERIC_SENDER:
        return too_long(MAX_ALPHANUMERIC_SENDER)
    return None


def rcs_agent_problem(name: str) -> str | None:
    """An RCS agent name (an RCS campaign's ``sender``): 1-40 characters."""
    if not name.strip():
        return BLANK
    return too_long(MAX_RCS_AGENT) if len(name) > MAX_RCS_AGENT else None


def phone_problem(number: object) -> str | None:
    """A recipient: 9-15 digits without "+", as a JSON integer or (RCS's Phone) a digit string."""
    if not (is_int(number) or isinstance(number, str)):
        return type_message("integer")
    digits = str(number)
    if not (digits.isascii() and digits.isdigit()) or digits.startswith("0"):
        return NOT_VALID
    low, high = PHONE_DIGITS
    if len(digits) < low:
        return too_short(low)
    if len(digits) > high:
        return too_long(high)
    return None


def reference_id_problem(reference: object) -> str | None:
    """A ``reference_id``: 1-32 characters of a-z, A-Z, 0-9."""
    if not isinstance(reference, str):
        return type_message("string")
    if not reference:
        return too_short(1)
    if len(reference) > MAX_REFERENCE_ID:
        return too_long(MAX_REFERENCE_ID)
    # isalnum() of an ASCII string is exactly [a-zA-Z0-9]+ (a C loop, no regex per message).
    return None if reference.isascii() and reference.isalnum() else NOT_VALID


def validity_problem(hours: object) -> str | None:
    """``validity``: an integer number of hours from 1 to 72."""
    if not is_int(hours):
        return type_message("integer")
    low, high = VALIDITY_HOURS
    return None if low <= hours <= high else between(low, high)  # type: ignore[operator]


def tariff_problem(code: object) -> str | None:
    """``tariff_code``: an integer from 0 to 9 (whether it is connected is the account's)."""
    if not is_int(code):
        return type_message("integer")
    low, high = TARIFF_CODES
    return None if low <= code <= high else between(low, high)  # type: ignore[operator]


def parse_datetime(value: str, time_zone: str) -> datetime | None:
    """A client's ``yyyy-mm-dd hh:mm:ss`` as an aware datetime in ``time_zone``, else None.

    Strict: no "T", no fraction, no "Z" or offset, no bare date. (The app's client reads BSG's
    answers tolerantly; this side checks what clients send, and BSG documents one form.)
    """
    if not _DATETIME.fullmatch(value):
        return None
    try:
        wall = datetime.strptime(value, DATETIME_FORMAT)
    except ValueError:  # 2025-02-30 and the like
        return None
    return wall.replace(tzinfo=ZoneInfo(time_zone))


def format_datetime(moment: datetime, time_zone: str) -> str:
    """An aware datetime as BSG writes its dates: ``yyyy-mm-dd hh:mm:ss`` in ``time_zone``."""
    return moment.astimezone(ZoneInfo(time_zone)).strftime(DATETIME_FORMAT)


def sms_start_problem(start_at: datetime, now: datetime) -> str | None:
    """SMS: "Maximum date for scheduling is 30 days", read as at most 30 x 24 hours after now. A
    past moment is not refused (the pages do not say; the campaign starts at once)."""
    if start_at <= now.astimezone(UTC) + timedelta(days=MAX_SCHEDULE_DAYS):
        return None
    return f"The start may be at most {MAX_SCHEDULE_DAYS} days ahead."


def rcs_start_problem(start_at: datetime, now: datetime, time_zone: str) -> str | None:
    """RCS: "30 days (including the current date) - until 23:59:59 of the 30th day": today in
    the sandbox's time zone is day 1, so anything before midnight after today + 29 days passes."""
    zone = ZoneInfo(time_zone)
    last_day = now.astimezone(zone).date() + timedelta(days=MAX_SCHEDULE_DAYS - 1)
    if start_at < datetime.combine(last_day + timedelta(days=1), time(0), tzinfo=zone):
        return None
    return f"The start may be at most {last_day:%Y-%m-%d} 23:59:59, the 30th day counting today."


def utf16_length(text: str) -> int:
    """RCS text length as BSG counts it: UTF-16 units (YAML Card.text: "Simple emojis take 2")."""
    return len(text.encode("utf-16-le")) // 2
