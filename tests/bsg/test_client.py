"""The BSG client's exact wire format, token handling and errors, against recorded vendor answers.

HTTP is mocked at the boundary only (`responses`): every test pins the URL, query, method,
headers and JSON the client sends, and answers with what BSG's pages and YAML print
(tests/fixtures/bsg/).
"""

import base64
import json
import logging
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit
from zoneinfo import ZoneInfo

import pytest
import requests
import responses
from responses import matchers
from urllib3.exceptions import (
    MaxRetryError,
    NameResolutionError,
    NewConnectionError,
    ProtocolError,
)

from bsg.client import CAMPAIGNS_WINDOW, BsgClient
from bsg.errors import (
    NON_FIELD_ERRORS,
    BsgBadResponse,
    BsgError,
    BsgNoApiKey,
    BsgNotAuthorised,
    BsgNotFound,
    BsgOutcomeUnknown,
    BsgRateLimited,
    BsgRejected,
    BsgUnavailable,
    field_parts,
    field_path,
    normalise_errors,
)
from bsg.payloads import (
    CallSuggestion,
    IndividualMessage,
    LinkSuggestion,
    RcsCard,
    Recipient,
    SmsFallback,
)
from bsg.schemas import (
    STOPPABLE_STATUSES,
    TERMINAL_STATUSES,
    Balance,
    Campaign,
    CampaignDetail,
    CampaignPage,
    Contact,
    ContactField,
    ContactPage,
    Group,
    GroupPage,
    MessagePage,
    PriceEstimate,
    data_list,
    data_object,
)
from bsg.tokens import InMemoryTokenStore, token_store_key

BASE = "https://bsg.test"
API_KEY = "live_Sup3rSecretKey0123456789"
FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "bsg"
FAR_FUTURE = 4_102_444_800  # 2100-01-01, so that these tokens never need a refresh


def make_jwt(*, exp: float, iat: float | None = None, marker: str = "a") -> str:
    """A real-looking HS256 JWT; the client reads `exp` and `iat` without verifying."""

    def part(value: dict[str, Any]) -> str:
        raw = json.dumps(value, separators=(",", ":")).encode()
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()

    payload: dict[str, Any] = {"exp": int(exp), "sub": marker}
    if iat is not None:
        payload["iat"] = int(iat)
    return f"{part({'alg': 'HS256', 'typ': 'JWT'})}.{part(payload)}.c2lnbmF0dXJl{marker}"


TOKEN = make_jwt(exp=FAR_FUTURE, iat=FAR_FUTURE - 30 * 86400, marker="first")
TOKEN2 = make_jwt(exp=FAR_FUTURE, iat=FAR_FUTURE - 30 * 86400, marker="second")


def fixture(name: str) -> Any:
    return json.loads((FIXTURES / f"{name}.json").read_text())


class RecordingStore(InMemoryTokenStore):
    """The default store, remembering every `set` so tests can see timeouts."""

    def __init__(self) -> None:
        super().__init__()
        self.sets: list[tuple[str, str, float]] = []

    def set(self, key: str, value: str, timeout: float) -> None:
        self.sets.append((key, value, timeout))
        super().set(key, value, timeout)


@pytest.fixture
def http() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


def make_client(**kwargs: Any) -> BsgClient:
    return BsgClient(BASE, API_KEY, **kwargs)


def add_login(http: responses.RequestsMock, token: str = TOKEN) -> None:
    http.add(
        responses.POST,
        f"{BASE}/api/auth/login",
        json={"bearer": token},
        match=[matchers.json_params_matcher({"api_key": API_KEY})],
    )


def sent_json(call: Any) -> Any:
    return json.loads(call.request.body)


def query_of(call: Any) -> list[tuple[str, str]]:
    return parse_qsl(urlsplit(call.request.url).query, keep_blank_values=True)


def path_of(call: Any) -> str:
    return urlsplit(call.request.url).path


def calls_to(http: responses.RequestsMock, path: str) -> list[Any]:
    return [call for call in http.calls if path_of(call) == path]


def assert_signed(call: Any, token: str = TOKEN) -> None:
    assert call.request.headers["Authorization"] == f"Bearer {token}"
    assert call.request.headers["Accept"] == "application/json"


CAMPAIGN_ANSWER = fixture("yaml_sms_send_200_single")


# --- the wire format of every method ---------------------------------------------------------


def test_it_logs_in_with_the_api_key_and_signs_calls_with_the_bearer(http):
    add_login(http)
    http.add(
        responses.GET, f"{BASE}/api/accounts/balance", json=fixture("yaml_account_balance_200")
    )

    make_client().balance()

    login, balance = http.calls
    assert login.request.method == "POST"
    assert login.request.url == f"{BASE}/api/auth/login"
    assert sent_json(login) == {"api_key": API_KEY}
    assert login.request.headers["Content-Type"] == "application/json"
    assert "Authorization" not in login.request.headers
    assert balance.request.method == "GET"
    assert balance.request.url == f"{BASE}/api/accounts/balance"
    assert balance.request.body is None
    assert_signed(balance)


def test_every_call_has_connect_and_read_timeouts(http):
    add_login(http)
    http.add(
        responses.GET, f"{BASE}/api/accounts/balance", json=fixture("yaml_account_balance_200")
    )

    make_client(connect_timeout=2.5, read_timeout=12.0).balance()

    assert [call.request.req_kwargs["timeout"] for call in http.calls] == [(2.5, 12.0)] * 2


def test_sms_send_sends_the_vendor_page_sample(http):
    add_login(http)
    http.add(
        responses.POST,
        f"{BASE}/api/campaigns/sms/send",
        json=fixture("page_all_methods_1_sms_send_response"),
    )

    campaign = make_client().sms_send(
        phones=[Recipient(number=12345678900, reference_id="string")],
        sender="string",
        tariff_code=0,
        text="string",
        validity=72,
        start_at=datetime(2025, 1, 25, 9, 0, tzinfo=UTC),
    )

    (call,) = calls_to(http, "/api/campaigns/sms/send")
    assert call.request.method == "POST"
    assert call.request.url == f"{BASE}/api/campaigns/sms/send"
    assert_signed(call)
    assert call.request.headers["Content-Type"] == "application/json"
    assert sent_json(call) == fixture("page_all_methods_1_sms_send_request")
    assert campaign.id == 1
    assert campaign.status == "creation"


def test_sms_send_sends_numbers_as_json_integers_and_only_the_fields_given(http):
    add_login(http)
    http.add(responses.POST, f"{BASE}/api/campaigns/sms/send", json=CAMPAIGN_ANSWER)

    make_client().sms_send(
        phones=[Recipient("380661231231", "ref1"), Recipient(380661231232)],
        text="Hello",
        sender="Vet klinika",
    )

    (call,) = calls_to(http, "/api/campaigns/sms/send")
    assert sent_json(call) == {
        "phones": [{"number": 380661231231, "reference_id": "ref1"}, {"number": 380661231232}],
        "sender": "Vet klinika",
        "text": "Hello",
    }


@pytest.mark.parametrize("number", ["+380661231231", "380 66 123", "٣٨٠٦٦١٢٣١٢٣١", ""])
def test_sms_send_refuses_numbers_that_are_not_plain_digits(http, number):
    with pytest.raises(ValueError, match="digits only"):
        make_client().sms_send(phones=[Recipient(number)], text="Hi", sender="Shop")
    assert len(http.calls) == 0


def test_sms_send_groups_sends_the_vendor_page_sample(http):
    add_login(http)
    http.add(
        responses.POST,
        f"{BASE}/api/campaigns/sms/send-groups",
        json=fixture("page_sms_send_groups_response"),
    )

    make_client().sms_send_groups(
        groups=[1],
        sender="string",
        text="string",
        tariff_code=0,
        validity=72,
        start_at=datetime(2025, 1, 25, 9, 0, tzinfo=UTC),
    )

    (call,) = calls_to(http, "/api/campaigns/sms/send-groups")
    assert_signed(call)
    assert sent_json(call) == fixture("page_sms_send_groups_request")
    assert sent_json(call) == fixture("page_all_methods_2_sms_send_groups_request")


def test_sms_send_individual_sends_start_at_never_start_code(http):
    add_login(http)
    http.add(
        responses.POST,
        f"{BASE}/api/campaigns/sms/send-individual",
        json=fixture("page_sms_send_individual_response"),
    )

    make_client().sms_send_individual(
        messages=[
            IndividualMessage(
                phone=12345678900,
                text="Hello! How are you?",
                sender="testsms",
                reference_id="Test98765",
            )
        ],
        tariff_code=0,
        validity=72,
        start_at=datetime(2025, 1, 25, 9, 0, tzinfo=UTC),
    )

    (call,) = calls_to(http, "/api/campaigns/sms/send-individual")
    assert_signed(call)
    body = sent_json(call)
    assert body == fixture("page_sms_send_individual_request")
    assert body == fixture("page_all_methods_3_sms_send_individual_request")
    assert "start_code" not in body


def test_a_callback_url_goes_out_as_given_and_one_bsg_would_refuse_never_leaves(http):
    add_login(http)
    http.add(
        responses.POST,
        f"{BASE}/api/campaigns/sms/send-individual",
        json=fixture("page_sms_send_individual_response"),
    )
    url = "https://campaigns.example.com/bsg/status/r2Rrgcy9TZR5jdUX0m386yLX/"
    message = IndividualMessage(phone=12345678900, text="Hi", sender="testsms", reference_id="T1")

    make_client().sms_send_individual(messages=[message], callback_url=url)

    (call,) = calls_to(http, "/api/campaigns/sms/send-individual")
    assert sent_json(call) == {
        "messages": [
            {"phone": 12345678900, "text": "Hi", "sender": "testsms", "reference_id": "T1"}
        ],
        "callback_url": url,
    }
    # YAML CallbackUrl: maxLength 100.
    with pytest.raises(ValueError, match="at most 100"):
        make_client().sms_send_individual(
            messages=[message], callback_url="https://example.com/" + "x" * 81
        )
    with pytest.raises(ValueError, match="http"):
        make_client().sms_send_individual(messages=[message], callback_url="ftp://example.com/")
    assert len(calls_to(http, "/api/campaigns/sms/send-individual")) == 1


def test_campaign_stop_patches_without_a_body(http):
    add_login(http)
    http.add(
        responses.PATCH,
        f"{BASE}/api/campaigns/53703420/stop",
        json=fixture("yaml_campaign_stop_200_single"),
    )

    campaign = make_client().campaign_stop(campaign_id=53703420)

    (call,) = calls_to(http, "/api/campaigns/53703420/stop")
    assert call.request.method == "PATCH"
    assert call.request.body is None
    assert_signed(call)
    assert campaign.status == "stopped"
    assert campaign.is_terminal
    assert not campaign.is_stoppable


def test_rcs_send_groups_sends_the_vendor_sample_with_suggestion_types_and_a_string_tariff(http):
    add_login(http)
    http.add(
        responses.POST,
        f"{BASE}/api/campaigns/rcs/send-groups",
        json=fixture("page_rcs_send_groups_response"),
    )

    campaign = make_client().rcs_send_groups(
        groups=[0],
        sender="Agent Name",
        cards=[
            RcsCard(
                text="Go to site",
                media_url="https://domain.com/",
                suggestions=[LinkSuggestion(text="Go to site", url="https://domain.com/")],
            ),
            RcsCard(
                text="string",
                media_url="string",
                suggestions=[LinkSuggestion(text="string", url="string")],
            ),
            RcsCard(
                text="string",
                media_url="string",
                suggestions=[CallSuggestion(text="string", phone="string")],
            ),
            RcsCard(
                title="string",
                text="string",
                media_url="string",
                suggestions=[LinkSuggestion(text="string", url="string")],
            ),
        ],
        sms_fallback=SmsFallback(
            text="Hello, world!", sender="string", validity=72, check_stop_list=True
        ),
        start_at=datetime(2025, 1, 25, 9, 0, tzinfo=UTC),
        tariff_code=0,
        validity=72,
        add_to_contact_book=True,
        check_stop_list=True,
    )

    (call,) = calls_to(http, "/api/campaigns/rcs/send-groups")
    assert_signed(call)
    expected = fixture("page_rcs_send_groups_request")
    # Our two documented departures from the page's sample (bsg-api.md, Disagreements): each
    # suggestion carries the YAML's required `type`, and tariff_code is a string here.
    for card in expected["options"]["cards"]:
        for suggestion in card["suggestions"]:
            suggestion["type"] = "call" if "phone" in suggestion else "link"
    expected["tariff_code"] = "0"
    assert sent_json(call) == expected
    assert campaign.message_type == "rcs"
    assert campaign.calculated_price == 123.4


def test_rcs_send_groups_sends_plain_text_options(http):
    add_login(http)
    http.add(
        responses.POST,
        f"{BASE}/api/campaigns/rcs/send-groups",
        json=fixture("yaml_rcs_send_groups_200_response_example"),
    )

    make_client().rcs_send_groups(groups=[1864275], sender="rcs_sender", text="Hello! ☺️")

    (call,) = calls_to(http, "/api/campaigns/rcs/send-groups")
    assert sent_json(call) == {
        "groups": [1864275],
        "sender": "rcs_sender",
        "options": {"text": "Hello! ☺️"},
    }


@pytest.mark.parametrize(
    "content", [{}, {"text": "Hi", "cards": [RcsCard(text="Hi")]}], ids=["neither", "both"]
)
def test_rcs_needs_either_cards_or_text(http, content):
    with pytest.raises(ValueError, match="either cards or text"):
        make_client().rcs_send_groups(groups=[1], sender="agent", **content)
    assert len(http.calls) == 0


def test_rcs_send_sends_numbers_as_strings_and_an_integer_tariff(http):
    add_login(http)
    http.add(
        responses.POST,
        f"{BASE}/api/campaigns/rcs/send",
        json=fixture("yaml_rcs_send_200_response_example"),
    )

    campaign = make_client().rcs_send(
        phones=[Recipient("380661231231", "f2d37bf77f6242daa83f23b0cc84b627")],
        sender="rcs_sender",
        cards=[
            RcsCard(
                title="The message",
                text="Hello! ☺️",
                media_url="https://domain.com/video.mp4",
                suggestions=[
                    LinkSuggestion(
                        text="Go to site", url="https://domain.com/", postback_data="site"
                    ),
                    CallSuggestion(text="Call us", phone="380991112233", postback_data="call"),
                ],
            )
        ],
        sms_fallback=SmsFallback(text="Hello!", sender="testsms"),
        tariff_code=9,
        check_stop_list=False,
    )

    (call,) = calls_to(http, "/api/campaigns/rcs/send")
    assert_signed(call)
    assert sent_json(call) == {
        "phones": [{"number": "380661231231", "reference_id": "f2d37bf77f6242daa83f23b0cc84b627"}],
        "sender": "rcs_sender",
        "options": {
            "cards": [
                {
                    "title": "The message",
                    "text": "Hello! ☺️",
                    "media": {"url": "https://domain.com/video.mp4"},
                    "suggestions": [
                        {
                            "type": "link",
                            "text": "Go to site",
                            "url": "https://domain.com/",
                            "postback_data": "site",
                        },
                        {
                            "type": "call",
                            "text": "Call us",
                            "phone": "380991112233",
                            "postback_data": "call",
                        },
                    ],
                }
            ]
        },
        "alternative_channel": {"sms": {"text": "Hello!", "sender": "testsms"}},
        "tariff_code": 9,
        "check_stop_list": False,
    }
    assert campaign.id == 53708808
    assert campaign.calculated_price == 0.0175696
    assert campaign.currency == "USD"
    assert campaign.fallback_statistics is None


def test_campaign_get_and_detail(http):
    add_login(http)
    http.add(
        responses.GET, f"{BASE}/api/campaigns/53651994", json=fixture("yaml_campaign_200_single")
    )
    http.add(
        responses.GET,
        f"{BASE}/api/campaigns/53651994/detail",
        json=fixture("yaml_campaign_details_200_details"),
    )
    client = make_client()

    campaign = client.campaign_get(campaign_id=53651994)
    detail = client.campaign_detail(campaign_id=53651994)

    get, detail_call = http.calls[1:]
    assert (get.request.method, get.request.url) == ("GET", f"{BASE}/api/campaigns/53651994")
    assert detail_call.request.url == f"{BASE}/api/campaigns/53651994/detail"
    assert_signed(get)
    assert_signed(detail_call)
    assert campaign.statistics.sent == 10
    assert campaign.statistics.delivered == 7
    assert detail.total_price == Decimal("0.16")


def test_campaign_ids_must_be_integers(http):
    with pytest.raises(TypeError):
        make_client().campaign_get(campaign_id="1/../../accounts")  # type: ignore[arg-type]
    assert len(http.calls) == 0


def test_campaigns_page_query(http):
    add_login(http)
    http.add(responses.GET, f"{BASE}/api/campaigns", json=fixture("page_campaigns_list_response"))

    page = make_client().campaigns_page(
        message_type="rcs",
        date_from=datetime(2025, 1, 1, tzinfo=UTC),
        date_to=datetime(2025, 3, 1, 12, 30, tzinfo=UTC),
        offset=30,
        limit=30,
        sort="date",
        way="desc",
        search_field="sender",
        search_value="Vet klinika",
    )

    (call,) = calls_to(http, "/api/campaigns")
    assert_signed(call)
    # Brackets percent-encoded and spaces as '+', as requests encodes any query.
    assert call.request.url == (
        f"{BASE}/api/campaigns?filter%5Btype%5D=rcs&filter%5Bfrom%5D=2025-01-01+00%3A00%3A00"
        "&filter%5Bto%5D=2025-03-01+12%3A30%3A00&page%5Boffset%5D=30&page%5Blimit%5D=30"
        "&sort=date&way=desc&search%5Bfield%5D=sender&search%5Bvalue%5D=Vet+klinika"
    )
    assert page.total == 1
    assert page.limit == 30
    assert page.offset == 0
    assert [campaign.id for campaign in page.items] == [1]


def test_campaigns_page_defaults(http):
    add_login(http)
    http.add(responses.GET, f"{BASE}/api/campaigns", json=fixture("page_campaigns_list_response"))

    make_client().campaigns_page()

    (call,) = calls_to(http, "/api/campaigns")
    assert query_of(call) == [
        ("filter[type]", "sms"),
        ("page[offset]", "0"),
        ("page[limit]", "50"),
        ("sort", "id"),
        ("way", "asc"),
    ]


def test_messages_page_query_sends_one_value_per_filter(http):
    add_login(http)
    http.add(responses.GET, f"{BASE}/api/messages", json=fixture("yaml_get_messages_200_single"))

    page = make_client().messages_page(
        campaign_id=58982653,
        reference_id="ref1",
        message_id=4419393338,
        date_from=datetime(2025, 3, 20, tzinfo=UTC),
        date_to=datetime(2025, 3, 31, tzinfo=UTC),
        limit=500,
    )

    (call,) = calls_to(http, "/api/messages")
    assert_signed(call)
    assert query_of(call) == [
        ("page[offset]", "0"),
        ("page[limit]", "500"),
        ("sort", "id"),
        ("way", "asc"),
        ("filter[id]", "4419393338"),
        ("filter[campaign_id]", "58982653"),
        ("filter[reference_id]", "ref1"),
        ("filter[from]", "2025-03-20 00:00:00"),
        ("filter[to]", "2025-03-31 00:00:00"),
    ]
    (message,) = page.items
    assert message.status == "delivered"
    assert page.total == 1


def test_price_estimate_for_phones_and_for_groups(http):
    add_login(http)
    http.add(responses.POST, f"{BASE}/api/campaigns/price", json=fixture("yaml_campaign_price_200"))
    http.add(
        responses.POST,
        f"{BASE}/api/campaigns/price",
        json={"data": fixture("yaml_campaign_price_200")},
    )
    client = make_client()

    by_phone = client.price_estimate(
        sender="Vet klinika", text="hello!", phones=["38267161234"], tariff_code=9
    )
    by_group = client.price_estimate(sender="Vet klinika", text="hello!", groups=[1864275])

    first, second = calls_to(http, "/api/campaigns/price")
    assert_signed(first)
    assert sent_json(first) == {
        "sender": "Vet klinika",
        "text": "hello!",
        "messages": [{"phone": 38267161234}],
        "tariff_code": 9,
    }
    assert sent_json(second) == {"sender": "Vet klinika", "text": "hello!", "groups": [1864275]}
    assert by_phone.price == Decimal("0.0527088")
    assert by_phone.currency == "USD"
    assert by_group == by_phone  # the answer wrapped in `data` reads the same


def test_price_estimate_needs_recipients(http):
    with pytest.raises(ValueError, match="groups or phones"):
        make_client().price_estimate(sender="Shop", text="Hi")


def test_groups_wire(http):
    add_login(http)
    http.add(responses.GET, f"{BASE}/api/groups", json=fixture("yaml_contact_lists_200_several"))
    http.add(
        responses.POST,
        f"{BASE}/api/groups",
        json=fixture("yaml_contact_list_create_201_required"),
        status=201,
    )
    http.add(
        responses.GET, f"{BASE}/api/groups/1864620", json=fixture("yaml_contact_list_200_required")
    )
    http.add(responses.DELETE, f"{BASE}/api/groups/1864620", status=204)
    http.add(responses.POST, f"{BASE}/api/groups/attach", json={})
    client = make_client()

    page = client.groups_page(offset=15, limit=15)
    created = client.group_create(name="List 1")
    fetched = client.group_get(group_id=1864620)
    deleted = client.group_delete(group_id=1864620)
    attached = client.groups_attach(contact_ids=[248452959, 248452739], group_ids=[1864623])

    _, page_call, create_call, get_call, delete_call, attach_call = http.calls
    assert query_of(page_call) == [("page[offset]", "15"), ("page[limit]", "15")]
    assert (create_call.request.method, sent_json(create_call)) == ("POST", {"name": "List 1"})
    assert get_call.request.method == "GET"
    assert (delete_call.request.method, delete_call.request.body) == ("DELETE", None)
    assert sent_json(attach_call) == {"contacts": [248452959, 248452739], "groups": [1864623]}
    for call in http.calls[1:]:
        assert_signed(call)
    assert page.total == 10
    assert [group.name for group in page.items] == ["Import XLS", "List / 09.01.2025 / 10:31:55"]
    assert created == fetched
    assert created.contacts_count == 0
    assert deleted is None
    assert attached is None


def test_contacts_wire_sends_groups_as_repeated_groups_brackets(http):
    add_login(http)
    http.add(responses.GET, f"{BASE}/api/contacts", json=fixture("yaml_contacts_200_several"))
    http.add(
        responses.POST,
        f"{BASE}/api/contacts",
        json=fixture("yaml_contact_create_201_several"),
        status=201,
    )
    http.add(
        responses.GET, f"{BASE}/api/contacts/248452739", json=fixture("yaml_contact_200_grouped")
    )
    http.add(responses.DELETE, f"{BASE}/api/contacts/248452739", status=204)
    client = make_client()

    page = client.contacts_page(groups=[1864618, 1864619], offset=0, limit=100)
    created = client.contact_create(
        phone="61401629754", groups=[1864618], fields={387714: "ALESHA POPOVICH"}
    )
    fetched = client.contact_get(contact_id=248452739)
    client.contact_delete(contact_id=248452739)

    _, page_call, create_call, get_call, delete_call = http.calls
    assert query_of(page_call) == [
        ("page[offset]", "0"),
        ("page[limit]", "100"),
        ("groups[]", "1864618"),
        ("groups[]", "1864619"),
    ]
    assert sent_json(create_call) == {
        "phone": 61401629754,
        "groups": [1864618],
        "fields": [{"id": 387714, "value": "ALESHA POPOVICH"}],
    }
    assert get_call.request.method == "GET"
    assert delete_call.request.method == "DELETE"
    assert page.total == 20
    assert page.items[0].fields == {388077: "Zufafa"}
    assert created.id == 248452959
    assert created.fields == {}
    assert fetched.groups[0].id == 1864618


def test_contact_create_sends_only_the_phone_when_nothing_else_is_given(http):
    add_login(http)
    http.add(
        responses.POST,
        f"{BASE}/api/contacts",
        json=fixture("yaml_contact_create_201_several"),
        status=201,
    )

    make_client().contact_create(phone=61401629754)

    (call,) = calls_to(http, "/api/contacts")
    assert sent_json(call) == {"phone": 61401629754}


def test_contact_fields_wire(http):
    add_login(http)
    http.add(responses.GET, f"{BASE}/api/contacts/fields", json=fixture("yaml_contact_fields_200"))
    http.add(
        responses.POST,
        f"{BASE}/api/contacts/fields",
        json=fixture("yaml_contact_field_create_201"),
        status=201,
    )
    http.add(responses.POST, f"{BASE}/api/contacts/fields/delete", status=204)
    client = make_client()

    fields = client.fields_list()
    created = client.field_create(name="country", type="text")
    client.fields_delete(field_ids=[387714])

    _, list_call, create_call, delete_call = http.calls
    assert list_call.request.method == "GET"
    assert sent_json(create_call) == {"name": "country", "type": "text"}
    assert sent_json(delete_call) == {"ids": [387714]}
    assert [field.id for field in fields] == [387714, 387714]
    assert created == ContactField(
        id=387714, name="country", type="text", description="The country name", is_visible=True
    )


def test_a_trailing_slash_on_the_base_url_is_ignored(http):
    add_login(http)
    http.add(
        responses.GET, f"{BASE}/api/accounts/balance", json=fixture("yaml_account_balance_200")
    )

    BsgClient(BASE + "/", API_KEY).balance()

    assert [call.request.url for call in http.calls] == [
        f"{BASE}/api/auth/login",
        f"{BASE}/api/accounts/balance",
    ]


@pytest.mark.parametrize("url", ["ftp://bsg.test", "bsg.test", "https://", "https://bsg.test?a=1"])
def test_it_refuses_a_base_url_that_is_not_http(url):
    with pytest.raises(ValueError, match="base URL"):
        BsgClient(url, API_KEY)


def test_it_refuses_an_unknown_time_zone():
    with pytest.raises(ValueError, match="time zone"):
        make_client(time_zone="Mars/Olympus")


# --- start_at and date filters: BSG's wall time ----------------------------------------------


@pytest.mark.parametrize(
    ("time_zone", "start_at", "expected"),
    [
        ("UTC", datetime(2025, 1, 25, 9, 0, tzinfo=UTC), "2025-01-25 09:00:00"),
        # Kyiv is UTC+2 in winter and UTC+3 in summer.
        ("Europe/Kyiv", datetime(2025, 1, 25, 7, 0, tzinfo=UTC), "2025-01-25 09:00:00"),
        ("Europe/Kyiv", datetime(2025, 7, 25, 6, 0, tzinfo=UTC), "2025-07-25 09:00:00"),
        (
            "UTC",
            datetime(2025, 1, 25, 4, 0, 59, 999_999, tzinfo=ZoneInfo("America/New_York")),
            "2025-01-25 09:00:59",
        ),
        (
            "Europe/Kyiv",
            datetime(2025, 1, 25, 18, 0, tzinfo=ZoneInfo("Asia/Tokyo")),
            "2025-01-25 11:00:00",
        ),
    ],
)
def test_start_at_is_sent_as_wall_time_in_the_bsg_time_zone(http, time_zone, start_at, expected):
    add_login(http)
    http.add(responses.POST, f"{BASE}/api/campaigns/sms/send-groups", json=CAMPAIGN_ANSWER)

    make_client(time_zone=time_zone).sms_send_groups(
        groups=[1], text="Hi", sender="Shop", start_at=start_at
    )

    (call,) = calls_to(http, "/api/campaigns/sms/send-groups")
    assert sent_json(call)["start_at"] == expected


def test_a_naive_start_at_is_refused_before_anything_is_sent(http):
    with pytest.raises(ValueError, match="aware"):
        make_client().sms_send(
            phones=[Recipient(380661231231)],
            text="Hi",
            sender="Shop",
            start_at=datetime(2025, 1, 25, 9, 0),
        )
    with pytest.raises(ValueError, match="aware"):
        make_client().campaigns_page(date_from=datetime(2025, 1, 1))
    assert len(http.calls) == 0


def test_answer_dates_are_aware_in_the_bsg_time_zone(http):
    add_login(http)
    http.add(
        responses.GET, f"{BASE}/api/campaigns/53651994", json=fixture("yaml_campaign_200_single")
    )

    campaign = make_client(time_zone="Europe/Kyiv").campaign_get(campaign_id=53651994)

    kyiv = ZoneInfo("Europe/Kyiv")
    assert campaign.start_at == datetime(2024, 4, 3, 12, 14, 49, tzinfo=kyiv)
    assert campaign.real_start_at == datetime(2024, 4, 3, 12, 15, 6, tzinfo=kyiv)
    assert campaign.finished_at == datetime(2024, 4, 3, 12, 15, 7, tzinfo=kyiv)
    assert campaign.start_at.utcoffset() == timedelta(hours=3)


# --- the token -------------------------------------------------------------------------------


def test_the_token_is_reused_not_fetched_per_call(http):
    add_login(http)
    http.add(
        responses.GET, f"{BASE}/api/accounts/balance", json=fixture("yaml_account_balance_200")
    )
    client = make_client()

    for _ in range(3):
        client.balance()

    assert len(calls_to(http, "/api/auth/login")) == 1
    assert len(calls_to(http, "/api/accounts/balance")) == 3


def test_clients_sharing_a_store_share_one_token(http):
    add_login(http)
    http.add(
        responses.GET, f"{BASE}/api/accounts/balance", json=fixture("yaml_account_balance_200")
    )
    store = InMemoryTokenStore()

    make_client(token_store=store).balance()
    make_client(token_store=store).balance()

    assert len(calls_to(http, "/api/auth/login")) == 1
    for call in calls_to(http, "/api/accounts/balance"):
        assert_signed(call)


def test_the_store_key_names_the_server_and_a_hash_of_the_key_never_the_key(http):
    add_login(http)
    http.add(
        responses.GET, f"{BASE}/api/accounts/balance", json=fixture("yaml_account_balance_200")
    )
    store = RecordingStore()

    make_client(token_store=store).balance()

    ((key, value, _timeout),) = store.sets
    assert key == token_store_key(BASE, API_KEY)
    assert API_KEY not in key
    assert value == TOKEN
    assert key != token_store_key("https://other.test", API_KEY)
    assert key != token_store_key(BASE, "live_another_key")
    assert len(key) < 100  # memcached and friends limit keys to 250 characters


def test_a_jwt_is_stored_until_its_exp(http):
    now = time.time()
    token = make_jwt(exp=now + 3600, iat=now)
    add_login(http, token)
    http.add(
        responses.GET, f"{BASE}/api/accounts/balance", json=fixture("yaml_account_balance_200")
    )
    store = RecordingStore()

    make_client(token_store=store).balance()

    ((_, _, timeout),) = store.sets
    assert 3500 < timeout <= 3600


def test_a_token_that_is_not_a_jwt_is_kept_for_an_hour(http):
    add_login(http, "opaque-token-value")
    http.add(
        responses.GET, f"{BASE}/api/accounts/balance", json=fixture("yaml_account_balance_200")
    )
    store = RecordingStore()
    client = make_client(token_store=store)

    client.balance()
    client.balance()

    assert [timeout for _, _, timeout in store.sets] == [3600.0]
    assert_signed(calls_to(http, "/api/accounts/balance")[1], "opaque-token-value")


def seed(store: InMemoryTokenStore, token: str) -> None:
    store.set(token_store_key(BASE, API_KEY), token, 3600)


def test_a_token_near_expiry_is_refreshed_before_the_call(http):
    now = time.time()
    old = make_jwt(exp=now + 60, iat=now - 3540, marker="old")  # 1 minute of an hour left
    store = RecordingStore()
    seed(store, old)
    http.add(
        responses.POST,
        f"{BASE}/api/auth/refresh",
        json={"bearer": TOKEN2},
        match=[matchers.header_matcher({"Authorization": f"Bearer {old}"})],
    )
    http.add(
        responses.GET, f"{BASE}/api/accounts/balance", json=fixture("yaml_account_balance_200")
    )

    make_client(token_store=store).balance()

    refresh, balance = http.calls
    assert refresh.request.method == "POST"
    assert refresh.request.body is None
    assert_signed(balance, TOKEN2)
    assert store.get(token_store_key(BASE, API_KEY)) == TOKEN2
    assert calls_to(http, "/api/auth/login") == []


@pytest.mark.parametrize(
    ("lifetime", "remaining", "refreshes"),
    [
        (3600, 600, False),  # 10 minutes left of an hour: margin is 5 minutes
        (3600, 240, True),
        (30 * 86400, 600, False),  # a 30-day token is refreshed 5 minutes before, not 3 days
        (30 * 86400, 240, True),
        (60, 30, False),  # a 60-second token: margin 6 seconds, not 5 minutes
        (60, 4, True),
    ],
)
def test_the_refresh_margin_is_a_tenth_of_the_lifetime_at_most_five_minutes(
    http, lifetime, remaining, refreshes
):
    now = time.time()
    token = make_jwt(exp=now + remaining, iat=now + remaining - lifetime, marker="old")
    store = InMemoryTokenStore()
    seed(store, token)
    http.add(responses.POST, f"{BASE}/api/auth/refresh", json={"bearer": TOKEN2})
    http.add(
        responses.GET, f"{BASE}/api/accounts/balance", json=fixture("yaml_account_balance_200")
    )

    make_client(token_store=store).balance()

    assert bool(calls_to(http, "/api/auth/refresh")) is refreshes
    assert_signed(calls_to(http, "/api/accounts/balance")[0], TOKEN2 if refreshes else token)


@pytest.mark.parametrize(
    "refusal",
    [
        {"status": 401, "json": {"message": "Unauthenticated."}},
        {"status": 500, "json": {"message": "Server Error"}},
        {"body": requests.exceptions.ReadTimeout("read timed out")},
    ],
    ids=["401", "500", "timeout"],
)
def test_a_failed_refresh_falls_back_to_login(http, refusal):
    now = time.time()
    store = InMemoryTokenStore()
    seed(store, make_jwt(exp=now + 60, iat=now - 3540, marker="old"))
    http.add(responses.POST, f"{BASE}/api/auth/refresh", **refusal)
    add_login(http, TOKEN2)
    http.add(
        responses.GET, f"{BASE}/api/accounts/balance", json=fixture("yaml_account_balance_200")
    )

    make_client(token_store=store).balance()

    assert [path_of(call) for call in http.calls] == [
        "/api/auth/refresh",
        "/api/auth/login",
        "/api/accounts/balance",
    ]
    assert_signed(http.calls[2], TOKEN2)


def test_an_expired_token_in_the_store_means_a_login_not_a_refresh(http):
    store = InMemoryTokenStore()
    seed(store, make_jwt(exp=time.time() - 10, iat=time.time() - 3610, marker="old"))
    add_login(http)
    http.add(
        responses.GET, f"{BASE}/api/accounts/balance", json=fixture("yaml_account_balance_200")
    )

    make_client(token_store=store).balance()

    assert [path_of(call) for call in http.calls] == ["/api/auth/login", "/api/accounts/balance"]


def test_a_401_logs_in_again_once_and_repeats_the_post_once(http):
    add_login(http, TOKEN)
    add_login(http, TOKEN2)
    http.add(
        responses.POST,
        f"{BASE}/api/campaigns/sms/send",
        json={"message": "Unauthenticated."},
        status=401,
    )
    http.add(responses.POST, f"{BASE}/api/campaigns/sms/send", json=CAMPAIGN_ANSWER)
    store = InMemoryTokenStore()

    campaign = make_client(token_store=store).sms_send(
        phones=[Recipient(380661231231, "ref1")], text="Hi", sender="Shop"
    )

    assert [path_of(call) for call in http.calls] == [
        "/api/auth/login",
        "/api/campaigns/sms/send",
        "/api/auth/login",
        "/api/campaigns/sms/send",
    ]
    first, second = calls_to(http, "/api/campaigns/sms/send")
    assert_signed(first, TOKEN)
    assert_signed(second, TOKEN2)
    assert sent_json(first) == sent_json(second)
    assert campaign.id == 53703353
    assert store.get(token_store_key(BASE, API_KEY)) == TOKEN2


def test_a_second_401_is_not_authorised_and_forgets_the_token(http):
    add_login(http, TOKEN)
    add_login(http, TOKEN2)
    http.add(responses.GET, f"{BASE}/api/accounts/balance", status=401)
    store = InMemoryTokenStore()

    with pytest.raises(BsgNotAuthorised) as raised:
        make_client(token_store=store).balance()

    assert len(calls_to(http, "/api/auth/login")) == 2
    assert len(calls_to(http, "/api/accounts/balance")) == 2
    assert raised.value.status == 401
    assert store.get(token_store_key(BASE, API_KEY)) is None


@pytest.mark.parametrize(
    ("status", "body"),
    [(401, {"message": "Invalid credentials"}), (422, {"message": "The given data was invalid."})],
)
def test_a_refused_login_is_not_authorised(http, status, body):
    http.add(responses.POST, f"{BASE}/api/auth/login", json=body, status=status)

    with pytest.raises(BsgNotAuthorised) as raised:
        make_client().sms_send(phones=[Recipient(380661231231)], text="Hi", sender="Shop")

    assert body["message"] in str(raised.value)
    assert calls_to(http, "/api/campaigns/sms/send") == []


def test_without_an_api_key_it_does_not_even_try(http):
    with pytest.raises(BsgNoApiKey, match="No BSG API key"):
        BsgClient(BASE, "").balance()
    assert len(http.calls) == 0


@pytest.mark.parametrize(
    "failure",
    [
        {"body": requests.exceptions.ReadTimeout("read timed out")},
        {"status": 429, "json": {"message": "Too many duplicate request detected"}},
        {"status": 500, "json": {"message": "Server Error"}},
        {"status": 200, "body": "<html>maintenance</html>"},
    ],
    ids=["read-timeout", "429", "500", "not-json"],
)
def test_a_login_failure_never_says_the_send_may_have_been_accepted(http, failure):
    http.add(responses.POST, f"{BASE}/api/auth/login", **failure)

    with pytest.raises(BsgError) as raised:
        make_client().sms_send(phones=[Recipient(380661231231)], text="Hi", sender="Shop")

    assert raised.value.may_have_been_accepted is False
    assert calls_to(http, "/api/campaigns/sms/send") == []


def test_a_login_answer_without_a_bearer_is_a_bad_response(http):
    http.add(responses.POST, f"{BASE}/api/auth/login", json={"token": "x"})

    with pytest.raises(BsgBadResponse, match="no bearer"):
        make_client().balance()


def test_the_in_memory_store_forgets_after_the_timeout():
    store = InMemoryTokenStore()
    store.set("k", "v", 0)
    store.set("kept", "v", 60)

    assert store.get("k") is None
    assert store.get("kept") == "v"
    store.delete("kept")
    assert store.get("kept") is None
    assert "v" not in repr(store)


# --- errors ----------------------------------------------------------------------------------


def send_sms(client: BsgClient) -> Campaign:
    return client.sms_send(phones=[Recipient(380661231231, "ref1")], text="Hi", sender="Shop")


@pytest.mark.parametrize(
    ("body", "errors", "field"),
    [
        (
            fixture("yaml_campaign_price_422_invalid_data"),
            {"messages0phone": ["This value is too long. It should have 15 characters or less."]},
            "messages0phone",
        ),
        (
            {"message": "The given data was invalid.", "errors": ["Sender is not allowed"]},
            {NON_FIELD_ERRORS: ["Sender is not allowed"]},
            None,
        ),
        (fixture("yaml_campaign_price_422_invalid_tariff"), {}, None),
        ({"message": "Tariff was not found"}, {}, None),
    ],
    ids=["field-dict", "list-of-strings", "empty-list", "missing"],
)
def test_a_422_is_rejected_with_bsg_message_and_fields(http, body, errors, field):
    add_login(http)
    http.add(responses.POST, f"{BASE}/api/campaigns/sms/send", json=body, status=422)

    with pytest.raises(BsgRejected) as raised:
        send_sms(make_client())

    error = raised.value
    assert type(error) is BsgRejected
    assert error.status == 422
    assert error.message == body["message"]
    assert error.errors == errors
    assert error.field == field
    assert error.fields == ((field,) if field else ())
    assert error.permanent is True
    assert error.may_have_been_accepted is False
    assert (error.method, error.path) == ("POST", "/api/campaigns/sms/send")


def test_a_rejection_keeps_flattened_field_names_and_offers_readable_paths(http):
    add_login(http)
    http.add(
        responses.POST,
        f"{BASE}/api/campaigns/sms/send-individual",
        status=422,
        json={
            "message": "The given data was invalid.",
            "errors": {"messages0phone": ["Too long."], "messages12sender": ["Invalid."]},
        },
    )

    with pytest.raises(BsgRejected) as raised:
        make_client().sms_send_individual(
            messages=[IndividualMessage(phone=380661231231, text="Hi", sender="Shop")]
        )

    assert raised.value.fields == ("messages0phone", "messages12sender")
    assert raised.value.field_paths == ("messages[0].phone", "messages[12].sender")


@pytest.mark.parametrize(
    ("method", "path", "name"),
    [
        ("POST", "/api/groups", "yaml_contact_list_create_422_duplicate_list_name"),
        ("POST", "/api/contacts", "yaml_contact_create_422_duplicate_phone"),
    ],
)
def test_contact_book_refusals_carry_bsg_message(http, method, path, name):
    add_login(http)
    http.add(method, f"{BASE}{path}", json=fixture(name), status=422)
    client = make_client()

    with pytest.raises(BsgRejected) as raised:
        if path == "/api/groups":
            client.group_create(name="List 1")
        else:
            client.contact_create(phone=61401629754)

    assert raised.value.message == fixture(name)["message"]
    assert raised.value.errors == {}
    assert raised.value.field is None


def test_stopping_a_done_campaign_is_rejected_with_bsg_message(http):
    add_login(http)
    http.add(
        responses.PATCH,
        f"{BASE}/api/campaigns/7/stop",
        json=fixture("yaml_campaign_stop_422_invalid_status"),
        status=422,
    )

    with pytest.raises(BsgRejected, match="Invalid campaign status"):
        make_client().campaign_stop(campaign_id=7)


def test_a_404_is_not_found(http):
    add_login(http)
    http.add(responses.GET, f"{BASE}/api/campaigns/99", json={"message": "Not Found"}, status=404)

    with pytest.raises(BsgNotFound) as raised:
        make_client().campaign_get(campaign_id=99)

    assert isinstance(raised.value, BsgRejected)
    assert raised.value.status == 404
    assert raised.value.message == "Not Found"


@pytest.mark.parametrize(
    ("header", "retry_after"),
    [
        ({"Retry-After": "7"}, 7.0),
        ({"Retry-After": "1.5"}, 1.5),
        ({}, None),
        ({"Retry-After": "soon"}, None),
    ],
)
def test_a_429_is_rate_limited_with_retry_after(http, header, retry_after):
    add_login(http)
    http.add(
        responses.POST,
        f"{BASE}/api/campaigns/sms/send",
        json=fixture("yaml_campaign_price_429_too_many_requests"),
        status=429,
        headers=header,
    )

    with pytest.raises(BsgRateLimited) as raised:
        send_sms(make_client())

    assert raised.value.retry_after == retry_after
    assert raised.value.message == "Too many duplicate request detected"
    assert raised.value.may_have_been_accepted is True
    assert raised.value.permanent is False


def test_retry_after_as_an_http_date(http):
    add_login(http)
    later = datetime.now(UTC) + timedelta(seconds=120)
    http.add(
        responses.POST,
        f"{BASE}/api/campaigns/sms/send",
        json={"message": "Too many duplicate request detected"},
        status=429,
        headers={"Retry-After": later.strftime("%a, %d %b %Y %H:%M:%S GMT")},
    )

    with pytest.raises(BsgRateLimited) as raised:
        send_sms(make_client())

    assert 60 < raised.value.retry_after <= 120


def refused_connection() -> requests.exceptions.ConnectionError:
    reason = NewConnectionError(None, "Failed to establish a new connection: [Errno 111] refused")
    return requests.exceptions.ConnectionError(MaxRetryError(None, "/", reason))


def unknown_host() -> requests.exceptions.ConnectionError:
    import socket

    reason = NameResolutionError("bsg.test", None, socket.gaierror(-2, "Name or service not known"))
    return requests.exceptions.ConnectionError(MaxRetryError(None, "/", reason))


def reset_after_send() -> requests.exceptions.ConnectionError:
    reset = ConnectionResetError(104, "Connection reset by peer")
    return requests.exceptions.ConnectionError(ProtocolError("Connection aborted.", reset))


POST_FAILURES = [
    ({"status": 500, "json": {"message": "Server Error"}}, BsgOutcomeUnknown),
    ({"status": 502, "body": "<html>Bad Gateway</html>"}, BsgOutcomeUnknown),
    ({"status": 504, "body": ""}, BsgOutcomeUnknown),
    ({"status": 503, "body": "down for maintenance"}, BsgUnavailable),
    ({"body": refused_connection()}, BsgUnavailable),
    ({"body": unknown_host()}, BsgUnavailable),
    ({"body": requests.exceptions.ConnectTimeout("connect timed out")}, BsgUnavailable),
    ({"body": requests.exceptions.ReadTimeout("read timed out")}, BsgOutcomeUnknown),
    ({"body": requests.exceptions.ChunkedEncodingError("broken chunk")}, BsgOutcomeUnknown),
    ({"body": reset_after_send()}, BsgOutcomeUnknown),
    ({"body": ConnectionResetError(104, "Connection reset by peer")}, BsgOutcomeUnknown),
    ({"status": 200, "body": "<html>OK</html>"}, BsgOutcomeUnknown),
    ({"status": 200, "body": ""}, BsgOutcomeUnknown),
    ({"status": 200, "json": {"message": "ok"}}, BsgOutcomeUnknown),
    ({"status": 200, "json": {"data": ["not", "an", "object"]}}, BsgOutcomeUnknown),
    ({"status": 200, "json": {"data": {"name": "no id"}}}, BsgOutcomeUnknown),
]
POST_FAILURE_IDS = [
    "500",
    "502",
    "504",
    "503",
    "refused",
    "dns",
    "connect-timeout",
    "read-timeout",
    "chunked",
    "reset-after-send",
    "raw-reset",
    "html-200",
    "empty-200",
    "no-data",
    "data-not-object",
    "no-id",
]


@pytest.mark.parametrize(("failure", "error_class"), POST_FAILURES, ids=POST_FAILURE_IDS)
def test_a_failed_send_raises_the_class_its_trigger_means_and_is_never_retried(
    http, failure, error_class
):
    add_login(http)
    http.add(responses.POST, f"{BASE}/api/campaigns/sms/send", **failure)

    with pytest.raises(BsgError) as raised:
        send_sms(make_client())

    assert type(raised.value) is error_class
    assert raised.value.may_have_been_accepted is (error_class is BsgOutcomeUnknown)
    assert raised.value.permanent is False
    assert len(calls_to(http, "/api/campaigns/sms/send")) == 1


@pytest.mark.parametrize(
    ("failure", "error_class"),
    [
        ({"status": 500, "json": {"message": "Server Error"}}, BsgUnavailable),
        ({"status": 504, "body": ""}, BsgUnavailable),
        ({"body": refused_connection()}, BsgUnavailable),
        ({"body": requests.exceptions.ReadTimeout("read timed out")}, BsgUnavailable),
        ({"body": reset_after_send()}, BsgUnavailable),
        ({"status": 200, "body": "<html>OK</html>"}, BsgBadResponse),
        ({"status": 200, "json": {"data": []}}, BsgBadResponse),
        ({"status": 200, "json": {"data": {"currency": "USD"}}}, BsgBadResponse),
    ],
    ids=["500", "504", "refused", "read-timeout", "reset", "html-200", "data-list", "no-balance"],
)
def test_a_failed_read_never_claims_something_was_accepted(http, failure, error_class):
    add_login(http)
    http.add(responses.GET, f"{BASE}/api/accounts/balance", **failure)

    with pytest.raises(BsgError) as raised:
        make_client().balance()

    assert type(raised.value) is error_class
    assert raised.value.may_have_been_accepted is False
    assert len(calls_to(http, "/api/accounts/balance")) == 1


def test_a_price_estimate_changes_nothing_so_it_fails_like_a_read(http):
    add_login(http)
    http.add(
        responses.POST,
        f"{BASE}/api/campaigns/price",
        body=requests.exceptions.ReadTimeout("read timed out"),
    )
    http.add(responses.POST, f"{BASE}/api/campaigns/price", json={"currency": "USD"})
    client = make_client()

    with pytest.raises(BsgUnavailable):
        client.price_estimate(sender="Shop", text="Hi", groups=[1])
    with pytest.raises(BsgBadResponse):
        client.price_estimate(sender="Shop", text="Hi", groups=[1])


def test_a_redirect_is_not_followed(http):
    add_login(http)
    http.add(
        responses.GET,
        f"{BASE}/api/accounts/balance",
        status=302,
        headers={"Location": "https://elsewhere.test/steal"},
    )

    with pytest.raises(BsgBadResponse, match="redirect"):
        make_client().balance()

    assert [urlsplit(call.request.url).netloc for call in http.calls] == ["bsg.test"] * 2


def test_the_error_flags_let_the_engine_decide_without_isinstance():
    flags = {
        cls.__name__: (cls.permanent, cls.may_have_been_accepted)
        for cls in (
            BsgRejected,
            BsgNotFound,
            BsgNotAuthorised,
            BsgRateLimited,
            BsgUnavailable,
            BsgOutcomeUnknown,
            BsgBadResponse,
        )
    }
    assert flags == {
        "BsgRejected": (True, False),
        "BsgNotFound": (True, False),
        "BsgNotAuthorised": (True, False),
        "BsgRateLimited": (False, True),
        "BsgUnavailable": (False, False),
        "BsgOutcomeUnknown": (False, True),
        "BsgBadResponse": (False, False),
    }


def test_normalise_errors_reads_every_shape():
    assert normalise_errors([]) == {}
    assert normalise_errors(None) == {}
    assert normalise_errors(["a", "b"]) == {NON_FIELD_ERRORS: ["a", "b"]}
    assert normalise_errors({"sender": ["bad"], "text": "too long", "x": None}) == {
        "sender": ["bad"],
        "text": ["too long"],
    }
    assert normalise_errors("plain") == {NON_FIELD_ERRORS: ["plain"]}


def test_field_paths_are_best_effort_unflattening():
    assert field_parts("messages0phone") == ("messages", 0, "phone")
    assert field_parts("phones10number") == ("phones", 10, "number")
    assert field_parts("groups1") == ("groups", 1)
    assert field_path("messages0phone") == "messages[0].phone"
    assert field_path("tariff_code") == "tariff_code"
    assert field_path("groups1") == "groups[1]"


# --- secrets stay secret ---------------------------------------------------------------------


def test_repr_of_the_client_shows_only_the_base_url():
    client = make_client()

    assert repr(client) == "BsgClient(base_url='https://bsg.test')"
    assert API_KEY not in repr(vars(client))
    assert API_KEY not in str(vars(client))


def test_errors_never_hold_the_key_or_token_even_when_bsg_echoes_them(http):
    http.add(
        responses.POST,
        f"{BASE}/api/auth/login",
        status=422,
        json={
            "message": f"Key {API_KEY} is invalid",
            "errors": {"api_key": [f"{API_KEY} unknown"]},
        },
    )
    add_login(http)
    http.add(
        responses.POST,
        f"{BASE}/api/campaigns/sms/send",
        status=422,
        json={"message": f"Token {TOKEN} rejected", "errors": [f"bearer {TOKEN}"]},
    )
    client = make_client()

    with pytest.raises(BsgNotAuthorised) as login_error:
        client.balance()
    with pytest.raises(BsgRejected) as send_error:
        send_sms(client)

    for error in (login_error.value, send_error.value):
        for text in (str(error), repr(error), repr(error.args), repr(vars(error))):
            assert API_KEY not in text
            assert TOKEN not in text
    assert "[redacted]" in send_error.value.message


@pytest.mark.parametrize(
    "failure",
    [
        {"body": requests.exceptions.ReadTimeout("read timed out")},
        {"body": refused_connection()},
        {"status": 500, "json": {"message": "Server Error"}},
        {"status": 429, "json": {"message": "Too many duplicate request detected"}},
    ],
    ids=["timeout", "refused", "500", "429"],
)
def test_transport_errors_never_hold_the_key_or_token(http, failure):
    add_login(http)
    http.add(responses.POST, f"{BASE}/api/campaigns/sms/send", **failure)

    with pytest.raises(BsgError) as raised:
        send_sms(make_client())

    for text in (str(raised.value), repr(raised.value), repr(vars(raised.value))):
        assert API_KEY not in text
        assert TOKEN not in text


def test_log_lines_carry_method_path_status_and_time_never_secrets(http, caplog):
    add_login(http)
    http.add(responses.POST, f"{BASE}/api/campaigns/sms/send", json=CAMPAIGN_ANSWER)
    http.add(
        responses.GET, f"{BASE}/api/accounts/balance", body=requests.exceptions.ReadTimeout("slow")
    )
    client = make_client()

    with caplog.at_level(logging.DEBUG, logger="bsg"):
        send_sms(client)
        with pytest.raises(BsgUnavailable):
            client.balance()

    records = [record for record in caplog.records if record.name == "bsg.client"]
    messages = [record.getMessage() for record in records]
    assert messages[0].startswith("POST /api/auth/login -> 200 in ")
    assert messages[1].startswith("POST /api/campaigns/sms/send -> 200 in ")
    assert messages[2].startswith("GET /api/accounts/balance failed after ")
    assert messages[2].endswith("ReadTimeout")
    for text in messages:
        assert API_KEY not in text
        assert TOKEN not in text
        assert "380661231231" not in text


# --- iterators -------------------------------------------------------------------------------


def campaign_item(identifier: int, created_at: str = "2025-02-01 10:00:00") -> dict[str, Any]:
    return {
        "id": identifier,
        "name": f"SMS api campaign / {created_at}",
        "sender": "Shop",
        "status": "done",
        "message_type": "sms",
        "start_at": created_at,
        "real_start_at": created_at,
        "finished_at": created_at,
        "created_at": created_at,
        "statistics": {"delivered": 1, "sent": 1},
    }


def serve_campaigns(http: responses.RequestsMock, campaigns: list[dict[str, Any]]) -> None:
    """Answer E5 from a list, filtered by created_at within [from, to] and paged, like BSG."""

    def answer(request: Any) -> tuple[int, dict[str, str], str]:
        query = dict(parse_qsl(urlsplit(request.url).query))
        chosen = [
            item
            for item in campaigns
            if query["filter[from]"] <= item["created_at"] <= query["filter[to]"]
        ]
        if query.get("way") == "desc":
            chosen.reverse()
        offset, limit = int(query["page[offset]"]), int(query["page[limit]"])
        body = {
            "data": chosen[offset : offset + limit],
            "meta": {"page": {"total": len(chosen), "limit": limit, "offset": offset}},
        }
        return 200, {}, json.dumps(body)

    http.add_callback(responses.GET, f"{BASE}/api/campaigns", callback=answer)


def test_iter_campaigns_walks_every_page(http):
    add_login(http)
    serve_campaigns(http, [campaign_item(i) for i in range(1, 6)])

    campaigns = list(
        make_client().iter_campaigns(
            date_from=datetime(2025, 1, 1, tzinfo=UTC),
            date_to=datetime(2025, 3, 1, tzinfo=UTC),
            page_size=2,
        )
    )

    assert [campaign.id for campaign in campaigns] == [1, 2, 3, 4, 5]
    pages = [dict(query_of(call)) for call in calls_to(http, "/api/campaigns")]
    assert [(page["page[offset]"], page["page[limit]"]) for page in pages] == [
        ("0", "2"),
        ("2", "2"),
        ("4", "2"),
    ]


def test_iter_campaigns_walks_consecutive_windows_and_yields_edge_campaigns_once(http):
    add_login(http)
    serve_campaigns(
        http,
        [
            campaign_item(1, "2025-01-15 08:00:00"),
            campaign_item(2, "2025-03-31 00:00:00"),  # exactly on the first window's edge
            campaign_item(3, "2025-05-01 12:00:00"),
            campaign_item(4, "2025-07-19 23:59:59"),
        ],
    )

    campaigns = list(
        make_client().iter_campaigns(
            date_from=datetime(2025, 1, 1, tzinfo=UTC),
            date_to=datetime(2025, 7, 20, tzinfo=UTC),
        )
    )

    assert [campaign.id for campaign in campaigns] == [1, 2, 3, 4]
    windows = [
        (query["filter[from]"], query["filter[to]"], query["page[limit]"])
        for query in (dict(query_of(call)) for call in calls_to(http, "/api/campaigns"))
    ]
    assert windows == [
        ("2025-01-01 00:00:00", "2025-03-31 00:00:00", "500"),
        ("2025-03-31 00:00:00", "2025-06-28 00:00:00", "500"),
        ("2025-06-28 00:00:00", "2025-07-20 00:00:00", "500"),
    ]
    assert timedelta(days=89) == CAMPAIGNS_WINDOW


def test_a_window_that_starts_with_an_edge_campaign_is_still_walked(http):
    add_login(http)
    serve_campaigns(
        http,
        [
            campaign_item(1, "2025-03-31 00:00:00"),  # on the edge: first in both windows
            campaign_item(2, "2025-04-02 00:00:00"),
            campaign_item(3, "2025-04-03 00:00:00"),
        ],
    )

    campaigns = make_client().iter_campaigns(
        date_from=datetime(2025, 1, 1, tzinfo=UTC),
        date_to=datetime(2025, 5, 1, tzinfo=UTC),
        page_size=1,
    )

    assert [campaign.id for campaign in campaigns] == [1, 2, 3]


def test_iter_campaigns_windows_are_wall_time_in_the_bsg_zone_across_dst(http):
    add_login(http)
    serve_campaigns(http, [])
    kyiv = ZoneInfo("Europe/Kyiv")

    list(
        make_client(time_zone="Europe/Kyiv").iter_campaigns(
            date_from=datetime(2025, 1, 1, tzinfo=kyiv),
            date_to=datetime(2025, 5, 1, tzinfo=kyiv),
        )
    )

    windows = [
        (query["filter[from]"], query["filter[to]"])
        for query in (dict(query_of(call)) for call in calls_to(http, "/api/campaigns"))
    ]
    assert windows == [
        ("2025-01-01 00:00:00", "2025-03-31 00:00:00"),
        ("2025-03-31 00:00:00", "2025-05-01 00:00:00"),
    ]


def test_iter_campaigns_newest_first_walks_windows_backwards(http):
    add_login(http)
    serve_campaigns(
        http, [campaign_item(1, "2025-01-15 08:00:00"), campaign_item(2, "2025-05-01 12:00:00")]
    )

    campaigns = list(
        make_client().iter_campaigns(
            date_from=datetime(2025, 1, 1, tzinfo=UTC),
            date_to=datetime(2025, 5, 2, tzinfo=UTC),
            way="desc",
        )
    )

    assert [campaign.id for campaign in campaigns] == [2, 1]
    froms = [dict(query_of(call))["filter[from]"] for call in calls_to(http, "/api/campaigns")]
    assert froms == ["2025-03-31 00:00:00", "2025-01-01 00:00:00"]


def test_iter_campaigns_refuses_a_reversed_span(http):
    with pytest.raises(ValueError, match="after"):
        list(
            make_client().iter_campaigns(
                date_from=datetime(2025, 2, 1, tzinfo=UTC), date_to=datetime(2025, 1, 1, tzinfo=UTC)
            )
        )


def test_a_walk_ends_when_a_page_brings_nothing_new(http):
    """A server that ignores the offset and gives no total cannot loop the walk forever."""
    add_login(http)
    page = {"data": [campaign_item(1), campaign_item(2)]}
    http.add(responses.GET, f"{BASE}/api/campaigns", json=page)

    campaigns = list(
        make_client().iter_campaigns(
            date_from=datetime(2025, 1, 1, tzinfo=UTC),
            date_to=datetime(2025, 3, 1, tzinfo=UTC),
            page_size=2,
        )
    )

    assert [campaign.id for campaign in campaigns] == [1, 2]
    assert len(calls_to(http, "/api/campaigns")) == 2


def message_item(identifier: int, reference_id: str) -> dict[str, Any]:
    return {"id": identifier, "campaign_id": 7, "reference_id": reference_id, "status": "sent"}


def test_iter_messages_asks_once_per_reference_and_walks_pages(http):
    add_login(http)

    def answer(request: Any) -> tuple[int, dict[str, str], str]:
        query = dict(parse_qsl(urlsplit(request.url).query))
        found = {
            "ref1": [message_item(1, "ref1"), message_item(2, "ref1")],
            "ref2": [message_item(3, "ref2")],
        }[query["filter[reference_id]"]]
        offset, limit = int(query["page[offset]"]), int(query["page[limit]"])
        meta = {"page": {"total": len(found), "limit": limit, "offset": offset}}
        return 200, {}, json.dumps({"data": found[offset : offset + limit], "meta": meta})

    http.add_callback(responses.GET, f"{BASE}/api/messages", callback=answer)

    messages = list(
        make_client().iter_messages(campaign_id=7, reference_ids=["ref1", "ref2"], page_size=1)
    )

    assert [(message.id, message.reference_id) for message in messages] == [
        (1, "ref1"),
        (2, "ref1"),
        (3, "ref2"),
    ]
    queries = [query_of(call) for call in calls_to(http, "/api/messages")]
    assert [dict(query)["filter[reference_id]"] for query in queries] == ["ref1", "ref1", "ref2"]
    assert all(dict(query)["filter[campaign_id]"] == "7" for query in queries)
    assert all(len([k for k, _ in query if k == "filter[reference_id]"]) == 1 for query in queries)


def test_iter_messages_by_ids_and_by_campaign(http):
    add_login(http)
    http.add(
        responses.GET,
        f"{BASE}/api/messages",
        json={"data": [message_item(5, "a")], "meta": {"page": {"total": 1}}},
    )
    client = make_client()

    by_ids = list(client.iter_messages(ids=[5, 6]))
    by_campaign = list(client.iter_messages(campaign_id=7))

    assert [message.id for message in by_ids] == [5]  # the same message found twice, yielded once
    assert [message.id for message in by_campaign] == [5]
    queries = [dict(query_of(call)) for call in calls_to(http, "/api/messages")]
    assert [query.get("filter[id]") for query in queries] == ["5", "6", None]
    assert queries[2]["filter[campaign_id]"] == "7"


def test_iter_messages_refuses_a_single_string_of_references():
    with pytest.raises(TypeError):
        list(make_client().iter_messages(reference_ids="ref1"))


def test_iter_groups_and_contacts_use_the_top_level_total(http):
    add_login(http)

    def pages(items: list[dict[str, Any]]):
        def answer(request: Any) -> tuple[int, dict[str, str], str]:
            query = dict(parse_qsl(urlsplit(request.url).query))
            offset, limit = int(query["page[offset]"]), int(query["page[limit]"])
            body = {"data": items[offset : offset + limit], "total": len(items)}
            return 200, {}, json.dumps(body)

        return answer

    groups = [{"id": i, "name": f"List {i}"} for i in range(1, 4)]
    contacts = [{"id": i, "phone": 380661231230 + i, "fields": []} for i in range(1, 4)]
    http.add_callback(responses.GET, f"{BASE}/api/groups", callback=pages(groups))
    http.add_callback(responses.GET, f"{BASE}/api/contacts", callback=pages(contacts))
    client = make_client()

    assert [group.id for group in client.iter_groups(page_size=2)] == [1, 2, 3]
    assert [contact.phone for contact in client.iter_contacts(groups=[9], page_size=2)] == [
        380661231231,
        380661231232,
        380661231233,
    ]
    assert len(calls_to(http, "/api/groups")) == 2
    contact_queries = [query_of(call) for call in calls_to(http, "/api/contacts")]
    assert all(("groups[]", "9") in query for query in contact_queries)


# --- tolerant parsing ------------------------------------------------------------------------


def test_an_unknown_status_and_unknown_fields_pass_through(http):
    add_login(http)
    answer = {"data": {**campaign_item(8), "status": "archived", "priority": "high"}}
    http.add(responses.GET, f"{BASE}/api/campaigns/8", json=answer)

    campaign = make_client().campaign_get(campaign_id=8)

    assert campaign.status == "archived"
    assert not campaign.is_terminal
    assert not campaign.is_stoppable
    assert campaign.raw["priority"] == "high"


def test_the_misspelt_mesage_type_of_the_vendor_tables_is_read():
    data = {**campaign_item(1), "mesage_type": "sms"}
    del data["message_type"]

    assert Campaign.from_api(data, "UTC").message_type == "sms"


def test_missing_optional_fields_are_none():
    campaign = Campaign.from_api({"id": 3}, "UTC")

    assert campaign.name is None
    assert campaign.status is None
    assert campaign.start_at is None
    assert campaign.calculated_price is None
    assert campaign.fallback_statistics is None
    assert campaign.statistics.sent == 0


def test_statuses():
    assert {"done", "stopped", "spam"} == TERMINAL_STATUSES
    assert {"creation", "scheduled", "sending", "paused", "moderation"} == STOPPABLE_STATUSES
    for status in STOPPABLE_STATUSES:
        assert Campaign.from_api({"id": 1, "status": status}, "UTC").is_stoppable


# --- every recorded answer parses ------------------------------------------------------------

CAMPAIGN_FIXTURES = [
    "page_all_methods_1_sms_send_response",
    "page_all_methods_2_sms_send_groups_response",
    "page_all_methods_3_sms_send_individual_response",
    "page_all_methods_4_campaign_stop_response",
    "page_sms_send_groups_response",
    "page_sms_send_individual_response",
    "page_rcs_send_groups_response",
    "yaml_sms_send_200_single",
    "yaml_campaign_stop_200_single",
    "yaml_campaign_200_single",
    "yaml_rcs_send_200_response_example",
    "yaml_rcs_send_groups_200_response_example",
]


@pytest.mark.parametrize("name", CAMPAIGN_FIXTURES)
def test_every_campaign_answer_parses(name):
    answer = fixture(name)

    campaign = Campaign.from_api(data_object(answer), "UTC")

    assert campaign.id == answer["data"]["id"]
    assert campaign.status == answer["data"]["status"]
    assert campaign.message_type in ("sms", "rcs")
    assert campaign.created_at is not None
    assert campaign.created_at.tzinfo is not None
    assert campaign.raw == answer["data"]


def test_the_rcs_page_sample_reads_statistic_as_the_fallback_statistics():
    campaign = Campaign.from_api(data_object(fixture("page_rcs_send_groups_response")), "UTC")

    assert campaign.fallback_statistics is not None
    assert campaign.fallback_statistics.sent == 0
    assert campaign.calculated_price == 123.4


def test_the_vendor_sample_dates_parse_in_utc():
    answer = fixture("page_all_methods_1_sms_send_response")

    campaign = Campaign.from_api(data_object(answer), "UTC")

    assert campaign.start_at == datetime(2021, 4, 27, 19, 44, 6, tzinfo=ZoneInfo("UTC"))


def test_the_campaign_list_sample_parses():
    page = CampaignPage.from_api(fixture("page_campaigns_list_response"), "UTC")

    assert (page.total, page.limit, page.offset) == (1, 30, 0)
    assert page.items[0].statistics.delivered == 0


def test_the_campaign_detail_sample_parses():
    detail = CampaignDetail.from_api(
        data_object(fixture("yaml_campaign_details_200_details")), "UTC"
    )

    assert detail.type == "sms"
    assert detail.started_at == datetime(2024, 4, 3, 12, 14, 49, tzinfo=ZoneInfo("UTC"))
    assert detail.actual_start_at == datetime(2024, 4, 3, 12, 15, 6, tzinfo=ZoneInfo("UTC"))
    assert detail.statistics["delivered"] == 7
    assert detail.statistics["undelivered"] == 3
    assert detail.statistics["not_rcs_user"] == 0
    assert detail.total_messages == 10
    assert detail.total_phones == 10
    assert detail.total_price == Decimal("0.16")
    assert detail.currency == "USD"
    assert detail.fallback_statistics is None  # the sample's `alternative_channels: []`
    assert detail.is_terminal


def test_the_messages_sample_parses():
    page = MessagePage.from_api(fixture("yaml_get_messages_200_single"), "UTC")

    (message,) = page.items
    assert message.id == 4419393338
    assert message.campaign_id == 58982653
    assert message.reference_id is None
    assert message.type == "sms"
    assert message.source == "web"
    assert message.phone == 380981171206
    assert message.price == Decimal("0.0100000")
    assert message.currency == "UAH"
    assert message.delivered_at == datetime(2025, 3, 20, 5, 11, 21, tzinfo=ZoneInfo("UTC"))
    assert message.parts == 1
    assert (page.total, page.limit, page.offset) == (1, 30, 0)


def test_the_price_and_balance_samples_parse():
    price = PriceEstimate.from_api(fixture("yaml_campaign_price_200"), "UTC")
    balance = Balance.from_api(data_object(fixture("yaml_account_balance_200")), "UTC")

    assert (price.price, price.currency) == (Decimal("0.0527088"), "USD")
    assert balance.balance == Decimal("-50.25")
    assert balance.credit == Decimal("125")
    assert balance.currency == "USD"


def test_the_contact_book_samples_parse():
    groups = GroupPage.from_api(fixture("yaml_contact_lists_200_several"), "UTC")
    created = Group.from_api(data_object(fixture("yaml_contact_list_create_201_required")), "UTC")
    got = Group.from_api(data_object(fixture("yaml_contact_list_200_required")), "UTC")
    contacts = ContactPage.from_api(fixture("yaml_contacts_200_several"), "UTC")
    grouped = Contact.from_api(data_object(fixture("yaml_contact_200_grouped")), "UTC")
    single = Contact.from_api(data_object(fixture("yaml_contact_200_single")), "UTC")
    new = Contact.from_api(data_object(fixture("yaml_contact_create_201_several")), "UTC")
    fields = [
        ContactField.from_api(item, "UTC") for item in data_list(fixture("yaml_contact_fields_200"))
    ]
    field = ContactField.from_api(data_object(fixture("yaml_contact_field_create_201")), "UTC")

    assert groups.total == 10
    assert groups.items[0].contacts_count == 10000
    assert created.description == "crm leads 2025 export"
    assert created.default is False
    assert got == created
    assert contacts.total == 20
    assert [contact.fields for contact in contacts.items] == [
        {388077: "Zufafa"},
        {388077: "Mezemka"},
    ]
    assert grouped.groups[0].name == "1111"
    assert grouped.hlr_status == "unknown"
    assert grouped.hlr_last_check is None
    assert single.fields == {}
    assert single.groups == ()
    assert new.phone == 61401629754
    assert fields[0].name == "country"
    assert field.is_visible is True


def test_contact_fields_in_every_shape_bsg_uses():
    for fields in (
        {"388077": "Zufafa"},
        [{"388077": "Zufafa"}],
        [{"id": 388077, "value": "Zufafa"}],
    ):
        assert Contact.from_api({"id": 1, "fields": fields}, "UTC").fields == {388077: "Zufafa"}


def test_the_login_sample_token_is_read():
    from bsg.tokens import jwt_claims

    claims = jwt_claims(fixture("yaml_login_200_token")["bearer"])

    assert claims is not None
    assert claims["exp"] - claims["iat"] == 30 * 86400  # bsg-api.md: the sample lives 30 days
    assert jwt_claims("not-a-jwt") is None
    assert jwt_claims("a.!!!.c") is None


def test_every_fixture_is_used_by_a_test():
    source = Path(__file__).read_text()
    unused = [path.stem for path in FIXTURES.glob("*.json") if f'"{path.stem}"' not in source]
    assert unused == []
