"""The BSG sandbox over real HTTP: contract shapes, validation boundaries, lifecycle, faults.

Each test starts its own sandbox on a free loopback port. Most freeze the sandbox clock and step
it forward, so nothing here depends on how fast the machine is.
"""

import base64
import json
import threading
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import requests

from sandbox import lifecycle
from sandbox.__main__ import build_arg_parser, config_from_args, main
from sandbox.server import Faults, SandboxConfig, SandboxServer

API_KEY = "test_sandbox_key"


def bsg_time(moment: datetime, time_zone: str = "UTC") -> str:
    """A moment as the vendor pages ask clients to write it: "yyyy-mm-dd hh:mm:ss"."""
    return f"{moment.astimezone(ZoneInfo(time_zone)):%Y-%m-%d %H:%M:%S}"


# The campaign object's keys, in the order of BSG's samples (YAML GET /api/campaigns/{id}).
CAMPAIGN_KEYS = [
    "id",
    "name",
    "sender",
    "status",
    "message_type",
    "start_at",
    "real_start_at",
    "finished_at",
    "created_at",
    "statistics",
    "calculated_price",
    "currency",
    "alternative_channels",
]
# YAML GET /api/campaigns/{id}/detail sample.
DETAIL_KEYS = [
    "id",
    "name",
    "sender",
    "status",
    "type",
    "started_at",
    "actual_start_at",
    "finished_at",
    "created_at",
    "statistics",
    "total_messages",
    "total_phones",
    "total_price",
    "currency",
    "alternative_channels",
]
DETAIL_STATISTICS_KEYS = [
    "delivered",
    "sent",
    "scheduled",
    "moderation",
    "accepted",
    "sending",
    "expired",
    "failed",
    "undelivered",
    "unknown",
    "read",
    "not_viber_user",
    "not_rcs_user",
]
# YAML GET /api/messages sample.
MESSAGE_KEYS = [
    "id",
    "campaign_id",
    "reference_id",
    "type",
    "source",
    "text",
    "phone",
    "validity",
    "status",
    "amount",
    "sender",
    "created_at",
    "sent_at",
    "delivered_at",
    "country",
    "parts",
]
GROUP_KEYS = ["id", "name", "description", "default", "created_at", "items", "stop_list_count"]
CONTACT_KEYS = ["id", "phone", "fields", "groups", "hlr_status", "hlr_last_check", "created_at"]


class Bsg:
    """A logged-in HTTP session against one sandbox, with the sandbox's clock at hand."""

    def __init__(self, server: SandboxServer) -> None:
        self.server = server
        self.url = server.url
        self.session = requests.Session()
        self.bearer = self.login()
        self.session.headers["Authorization"] = f"Bearer {self.bearer}"

    def login(self) -> str:
        answer = requests.post(f"{self.url}/api/auth/login", json={"api_key": API_KEY}, timeout=5)
        assert answer.status_code == 200, answer.text
        return answer.json()["bearer"]

    def get(self, path: str, **params: object) -> requests.Response:
        return self.session.get(f"{self.url}{path}", params=params, timeout=10)

    def post(self, path: str, body: object, **kwargs: object) -> requests.Response:
        return self.session.post(f"{self.url}{path}", json=body, timeout=10, **kwargs)

    def put(self, path: str, body: object) -> requests.Response:
        return self.session.put(f"{self.url}{path}", json=body, timeout=10)

    def patch(self, path: str) -> requests.Response:
        return self.session.patch(f"{self.url}{path}", timeout=10)

    def delete(self, path: str) -> requests.Response:
        return self.session.delete(f"{self.url}{path}", timeout=10)

    def advance(self, seconds: float) -> None:
        self.server.state.clock.advance(seconds)

    def now(self) -> float:
        return self.server.state.clock.now()

    def send_sms(self, phones: int = 3, prefix: str = "r", **fields: object) -> dict:
        body = {"sender": "Shop", "text": f"Hello {prefix}", **fields}
        body.setdefault(
            "phones",
            [
                {"number": 380_661_000_000 + i, "reference_id": f"{prefix}{i}"}
                for i in range(phones)
            ],
        )
        answer = self.post("/api/campaigns/sms/send", body)
        assert answer.status_code == 200, answer.text
        return answer.json()["data"]


@pytest.fixture
def start_sandbox() -> Iterator[Callable[..., SandboxServer]]:
    servers: list[SandboxServer] = []

    def start(*, frozen: bool = True, **options: object) -> SandboxServer:
        # A token lifetime of a year: tests move the clock by days.
        settings = {
            "api_key": API_KEY,
            "speed": 1.0,
            "seed": 7,
            "token_ttl": 365 * 86_400.0,
            **options,
        }
        server = SandboxServer(SandboxConfig(**settings), port=0)  # type: ignore[arg-type]
        if frozen:
            server.state.clock.freeze()
        server.start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.shutdown()


@pytest.fixture
def bsg(start_sandbox: Callable[..., SandboxServer]) -> Bsg:
    return Bsg(start_sandbox())


def refused_fields(answer: requests.Response) -> dict[str, list[str]]:
    assert answer.status_code == 422, answer.text
    body = answer.json()
    assert body["message"] == "The given data was invalid."
    return body["errors"]


def jwt_payload(token: str) -> dict:
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


# --- authentication ------------------------------------------------------------------------------


def test_login_answers_an_unwrapped_jwt_with_iat_and_exp(
    start_sandbox: Callable[..., SandboxServer],
) -> None:
    server = start_sandbox(token_ttl=3600.0)

    answer = requests.post(f"{server.url}/api/auth/login", json={"api_key": API_KEY}, timeout=5)

    assert list(answer.json()) == ["bearer"]
    header = json.loads(base64.urlsafe_b64decode(answer.json()["bearer"].split(".")[0] + "=="))
    payload = jwt_payload(answer.json()["bearer"])
    assert header == {"typ": "JWT", "alg": "HS256"}
    assert payload["exp"] - payload["iat"] == 3600


def test_login_with_a_wrong_key_is_refused(bsg: Bsg) -> None:
    wrong = requests.post(f"{bsg.url}/api/auth/login", json={"api_key": "live_x"}, timeout=5)
    missing = requests.post(f"{bsg.url}/api/auth/login", json={}, timeout=5)

    assert wrong.status_code == 401
    assert wrong.json() == {"message": "Invalid credentials."}
    assert refused_fields(missing) == {"api_key": ["This value should not be blank."]}


@pytest.mark.parametrize(
    "authorization",
    [None, "Bearer", "Bearer not.a.jwt", "Token abc", "forged"],
)
def test_calls_without_a_valid_token_are_unauthenticated(
    bsg: Bsg, authorization: str | None
) -> None:
    headers = {} if authorization is None else {"Authorization": authorization}
    if authorization == "forged":
        head, payload, signature = bsg.bearer.split(".")
        claims = jwt_payload(bsg.bearer) | {"exp": 4_000_000_000}
        payload = base64.urlsafe_b64encode(json.dumps(claims).encode()).decode().rstrip("=")
        headers = {"Authorization": f"Bearer {head}.{payload}.{signature}"}

    answer = requests.get(f"{bsg.url}/api/accounts/balance", headers=headers, timeout=5)

    assert answer.status_code == 401
    assert answer.json() == {"message": "Unauthenticated."}


def test_the_vendor_pages_bearer_colon_form_is_accepted(bsg: Bsg) -> None:
    answer = requests.get(
        f"{bsg.url}/api/accounts/balance",
        headers={"Authorization": f"Bearer: {bsg.bearer}"},
        timeout=5,
    )

    assert answer.status_code == 200


def test_a_token_expires_after_its_ttl_and_refresh_needs_a_live_one(
    start_sandbox: Callable[..., SandboxServer],
) -> None:
    bsg = Bsg(start_sandbox(token_ttl=60.0))
    refreshed = bsg.post("/api/auth/refresh", None)
    assert refreshed.status_code == 200
    new_token = refreshed.json()["bearer"]
    assert new_token != bsg.bearer
    assert jwt_payload(new_token)["exp"] >= jwt_payload(bsg.bearer)["exp"]

    bsg.advance(61)

    assert bsg.get("/api/accounts/balance").json() == {"message": "Unauthenticated."}
    assert bsg.post("/api/auth/refresh", None).status_code == 401
    fresh = bsg.login()
    answer = requests.get(
        f"{bsg.url}/api/accounts/balance", headers={"Authorization": f"Bearer {fresh}"}, timeout=5
    )
    assert answer.status_code == 200


# --- SMS campaigns: answers ----------------------------------------------------------------------


def test_sms_send_answers_bsgs_campaign_object(bsg: Bsg) -> None:
    created = bsg.send_sms(phones=3)

    assert list(created) == CAMPAIGN_KEYS
    assert created["status"] == "creation"
    assert created["message_type"] == "sms"
    assert created["name"] == f"SMS api campaign / {created['created_at']}"
    assert created["start_at"] == created["created_at"]
    assert created["real_start_at"] is None
    assert created["finished_at"] is None
    assert created["statistics"] == {"delivered": 0, "sent": 0}
    assert created["calculated_price"] == pytest.approx(3 * 0.015)
    assert created["currency"] == "EUR"
    assert created["alternative_channels"] is None


def test_reading_a_campaign_shows_bsgs_price_fields_as_in_its_samples(bsg: Bsg) -> None:
    created = bsg.send_sms()

    read = bsg.get(f"/api/campaigns/{created['id']}").json()["data"]

    assert list(read) == CAMPAIGN_KEYS
    # YAML: "price defined only as the response to create campaign or calculate price requests".
    assert read["calculated_price"] == 0
    assert read["currency"] is None


def test_detail_has_its_own_field_names_and_a_full_breakdown(bsg: Bsg) -> None:
    created = bsg.send_sms(phones=4)
    bsg.advance(30)

    detail = bsg.get(f"/api/campaigns/{created['id']}/detail").json()["data"]

    assert list(detail) == DETAIL_KEYS
    assert list(detail["statistics"]) == DETAIL_STATISTICS_KEYS
    assert detail["status"] == "done"
    assert detail["type"] == "sms"
    assert detail["started_at"] == created["start_at"]
    assert detail["actual_start_at"] is not None
    assert sum(detail["statistics"].values()) == detail["total_messages"] == 4
    assert detail["total_phones"] == 4
    assert detail["total_price"] == "0.0600000"
    assert detail["currency"] == "EUR"
    assert detail["alternative_channels"] == []


def test_unknown_campaigns_are_not_found(bsg: Bsg) -> None:
    for answer in (
        bsg.get("/api/campaigns/1"),
        bsg.get("/api/campaigns/1/detail"),
        bsg.patch("/api/campaigns/1/stop"),
    ):
        assert answer.status_code == 404
        assert answer.json()["message"] == "Not Found"


def test_send_individual_keeps_each_messages_text_and_sender(bsg: Bsg) -> None:
    body = {
        "messages": [
            {"phone": 380661231231, "text": "Hello Jack", "sender": "Vet klinika",
             "reference_id": "jack1"},
            {"phone": 380661231232, "text": "Привет Анна", "sender": "Clinic2",
             "reference_id": "anna1"},
        ],
        "validity": 24,
    }  # fmt: skip

    created = bsg.post("/api/campaigns/sms/send-individual", body).json()["data"]
    messages = bsg.get("/api/messages", **{"filter[campaign_id]": created["id"]}).json()["data"]

    assert created["sender"] == "Vet klinika"
    assert [(m["text"], m["sender"], m["reference_id"]) for m in messages] == [
        ("Hello Jack", "Vet klinika", "jack1"),
        ("Привет Анна", "Clinic2", "anna1"),
    ]
    assert [m["validity"] for m in messages] == [24, 24]


def test_send_groups_personalises_each_text_and_sends_once_per_phone(bsg: Bsg) -> None:
    name_field = bsg.post("/api/contacts/fields", {"name": "name", "type": "text"}).json()["data"]
    city_field = bsg.post("/api/contacts/fields", {"name": "city", "type": "text"}).json()["data"]
    vip = bsg.post("/api/groups", {"name": "VIP"}).json()["data"]
    all_ = bsg.post("/api/groups", {"name": "Everyone"}).json()["data"]
    for phone, name in ((380661000001, "Ann"), (380661000002, None)):
        fields = [{"id": name_field["id"], "value": name}] if name else []
        created = bsg.post(
            "/api/contacts", {"phone": phone, "fields": fields, "groups": [vip["id"], all_["id"]]}
        )
        assert created.status_code == 201, created.text
    template = f"Hi {{{name_field['id']}}} from {{{city_field['id']}}} {{999}}"

    campaign = bsg.post(
        "/api/campaigns/sms/send-groups",
        {"groups": [vip["id"], all_["id"]], "sender": "Shop", "text": template},
    ).json()["data"]
    messages = bsg.get("/api/messages", **{"filter[campaign_id]": campaign["id"]}).json()["data"]

    price = bsg.post(
        "/api/campaigns/price",
        {"groups": [vip["id"], all_["id"]], "sender": "Shop", "text": template},
    )

    assert price.json()["price"] == pytest.approx(2 * 0.015)  # two phones, one part each
    # Field without a value -> ""; {999} names no field -> left as it is.
    assert [(m["phone"], m["text"]) for m in messages] == [
        (380661000001, "Hi Ann from  {999}"),
        (380661000002, "Hi  from  {999}"),
    ]


def test_send_groups_reaches_at_most_ten_thousand_contacts(bsg: Bsg) -> None:
    store = bsg.server.state.store
    group = store.create_group("Big list", None, False, bsg.now())
    for number in range(10_001):  # in-process: 10,001 POSTs would be slow
        store.create_contact(380_500_000_000 + number, {}, [group.id], bsg.now())

    answer = bsg.post(
        "/api/campaigns/sms/send-groups", {"groups": [group.id], "sender": "Shop", "text": "x"}
    )

    assert list(refused_fields(answer)) == ["groups"]


def test_send_groups_refuses_unknown_and_empty_lists(bsg: Bsg) -> None:
    empty = bsg.post("/api/groups", {"name": "Empty"}).json()["data"]

    unknown = bsg.post(
        "/api/campaigns/sms/send-groups", {"groups": [5], "sender": "Shop", "text": "x"}
    )
    nobody = bsg.post(
        "/api/campaigns/sms/send-groups", {"groups": [empty["id"]], "sender": "Shop", "text": "y"}
    )

    assert list(refused_fields(unknown)) == ["groups0"]
    assert list(refused_fields(nobody)) == ["groups"]


# --- validation boundaries -----------------------------------------------------------------------


def _sms(bsg: Bsg, tag: str, **fields: object) -> requests.Response:
    body = {
        "sender": "Shop",
        "text": f"Hello {tag}",
        "phones": [{"number": 380661231231, "reference_id": tag}],
        **fields,
    }
    return bsg.post("/api/campaigns/sms/send", body)


@pytest.mark.parametrize(
    ("field", "value", "accepted"),
    [
        ("sender", "A" * 11, True),
        ("sender", "A" * 12, False),
        ("sender", "1" * 15, True),
        ("sender", "1" * 16, False),
        ("text", "a" * 765, True),
        ("text", "a" * 766, False),
        ("text", "ж" * 335, True),
        ("text", "ж" * 336, False),
        ("validity", 0, False),
        ("validity", 1, True),
        ("validity", 72, True),
        ("validity", 73, False),
        ("tariff_code", 9, True),
        ("tariff_code", 10, False),
    ],
)
def test_sms_field_boundaries(bsg: Bsg, field: str, value: object, accepted: bool) -> None:
    answer = _sms(bsg, f"b{field[:3]}{len(str(value))}", **{field: value})

    if accepted:
        assert answer.status_code == 200, answer.text
    else:
        assert list(refused_fields(answer)) == [field]


def test_phone_and_reference_formats_are_checked_per_item(bsg: Bsg) -> None:
    answer = bsg.post(
        "/api/campaigns/sms/send",
        {
            "sender": "Shop",
            "text": "Hello",
            "phones": [
                {"number": 380661231231, "reference_id": "ok1"},
                {"number": 12345678, "reference_id": "ok2"},
                {"number": 380661231233, "reference_id": "not-alnum"},
                {"number": 380661231234, "reference_id": "x" * 33},
            ],
        },
    )

    assert list(refused_fields(answer)) == [
        "phones1number",
        "phones2reference_id",
        "phones3reference_id",
    ]


def test_a_tariff_not_connected_to_the_account_is_not_found(
    start_sandbox: Callable[..., SandboxServer],
) -> None:
    bsg = Bsg(start_sandbox(tariff_codes=frozenset({0})))

    answer = _sms(bsg, "tariff", tariff_code=9)

    assert answer.status_code == 422
    assert answer.json() == {"message": "Tariff was not found", "errors": []}


def test_ten_thousand_recipients_pass_and_one_more_is_refused(bsg: Bsg) -> None:
    def phones(count: int, prefix: str) -> list[dict]:
        return [
            {"number": 380_500_000_000 + i, "reference_id": f"{prefix}{i}"} for i in range(count)
        ]

    limit = 10_000  # "no more than 10 000 contacts for one campaign" (SMS pages)
    ok = bsg.post(
        "/api/campaigns/sms/send", {"sender": "S", "text": "a", "phones": phones(limit, "a")}
    )
    over = bsg.post(
        "/api/campaigns/sms/send", {"sender": "S", "text": "b", "phones": phones(limit + 1, "b")}
    )
    individual = bsg.post(
        "/api/campaigns/sms/send-individual",
        {
            "messages": [
                {"phone": p["number"], "text": "c", "sender": "S"} for p in phones(limit + 1, "c")
            ]
        },
    )

    assert ok.status_code == 200
    assert ok.json()["data"]["calculated_price"] == pytest.approx(limit * 0.015)
    assert list(refused_fields(over)) == ["phones"]
    assert list(refused_fields(individual)) == ["messages"]


def test_start_at_may_be_thirty_days_ahead_but_not_thirty_one(bsg: Bsg) -> None:
    now = bsg.server.state.clock.now_datetime()

    def at(delta: timedelta) -> str:
        return bsg_time(now + delta)

    soon = _sms(bsg, "s1", start_at=at(timedelta(days=29, hours=23)))
    late = _sms(bsg, "s2", start_at=at(timedelta(days=31)))
    garbage = _sms(bsg, "s3", start_at="next tuesday")

    assert soon.status_code == 200, soon.text
    assert soon.json()["data"]["start_at"] == at(timedelta(days=29, hours=23))
    assert list(refused_fields(late)) == ["start_at"]
    assert list(refused_fields(garbage)) == ["start_at"]


def test_rcs_may_be_scheduled_until_the_end_of_the_thirtieth_day(bsg: Bsg) -> None:
    today = bsg.server.state.clock.now_datetime().date()

    def rcs(day: timedelta, clock: str) -> requests.Response:
        body = {
            "phones": [{"number": "380661231231"}],
            "sender": "agent",
            "options": {"text": f"Hi {day.days} {clock}"},
            "start_at": f"{today + day:%Y-%m-%d} {clock}",
        }
        return bsg.post("/api/campaigns/rcs/send", body)

    # Vendor page rcs-send-groups.txt: "30 days (including the current date) - until 23:59:59
    # of the 30th day": today is day 1.
    assert rcs(timedelta(days=29), "23:59:59").status_code == 200
    assert list(refused_fields(rcs(timedelta(days=30), "00:00:00"))) == ["start_at"]


# The vendor pages document one form for every date a client sends: "yyyy-mm-dd hh:mm:ss". A test
# double that took ISO 8601's other spellings would let a client pass here that BSG may refuse.
# Each is a strftime pattern for a moment the sandbox would otherwise accept (tomorrow, UTC).
NOT_THE_VENDORS_FORM = [
    "%Y-%m-%dT%H:%M:%SZ",
    "%Y-%m-%dT%H:%M:%S",
    "%Y-%m-%d %H:%M:%SZ",
    "%Y-%m-%d %H:%M:%S+00:00",
    "%Y-%m-%d %H:%M:%S.000",
    "%Y-%m-%d %H:%M",
    "%Y-%m-%d",
    "%d.%m.%Y %H:%M:%S",
    " %Y-%m-%d %H:%M:%S",
]


@pytest.mark.parametrize("pattern", NOT_THE_VENDORS_FORM)
def test_start_at_is_taken_only_as_the_vendor_writes_it(bsg: Bsg, pattern: str) -> None:
    tomorrow = bsg.server.state.clock.now_datetime() + timedelta(days=1)
    written = f"{tomorrow:{pattern}}"
    sms = {"sender": "Shop", "text": "Hi", "phones": [{"number": 380661231231}]}
    individual = {"messages": [{"phone": 380661231231, "text": "Hi", "sender": "Shop"}]}
    rcs = {"sender": "agent", "options": {"text": "Hi"}, "phones": [{"number": "380661231231"}]}

    answers = [
        bsg.post("/api/campaigns/sms/send", sms | {"start_at": written}),
        bsg.post("/api/campaigns/sms/send-individual", individual | {"start_at": written}),
        bsg.post("/api/campaigns/rcs/send", rcs | {"start_at": written}),
    ]
    accepted = bsg.post("/api/campaigns/sms/send", sms | {"start_at": bsg_time(tomorrow)})

    for answer in answers:
        assert refused_fields(answer) == {
            "start_at": ["This value is not a valid datetime. Use YYYY-MM-DD hh:mm:ss."]
        }
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["data"]["start_at"] == bsg_time(tomorrow)


def test_start_at_must_name_a_real_day(bsg: Bsg) -> None:
    answer = _sms(
        bsg, "feb30", start_at=f"{bsg.server.state.clock.now_datetime():%Y}-02-30 09:00:00"
    )

    assert list(refused_fields(answer)) == ["start_at"]


@pytest.mark.parametrize("pattern", NOT_THE_VENDORS_FORM)
def test_query_dates_are_taken_only_as_the_vendor_writes_them(bsg: Bsg, pattern: str) -> None:
    written = f"{bsg.server.state.clock.now_datetime() - timedelta(days=1):{pattern}}"

    campaigns = bsg.get("/api/campaigns", **{"filter[from]": written})
    messages = bsg.get("/api/messages", **{"filter[to]": written})

    assert list(refused_fields(campaigns)) == ["filterfrom"]
    assert list(refused_fields(messages)) == ["filterto"]


def test_duplicate_reference_ids_are_refused_in_one_request_and_across_requests(bsg: Bsg) -> None:
    same_request = bsg.post(
        "/api/campaigns/sms/send",
        {
            "sender": "Shop",
            "text": "Hello",
            "phones": [
                {"number": 380661231231, "reference_id": "dup1"},
                {"number": 380661231232, "reference_id": "dup1"},
            ],
        },
    )
    bsg.send_sms(phones=2, prefix="taken")
    individual = bsg.post(
        "/api/campaigns/sms/send-individual",
        {
            "messages": [
                {"phone": 380661231231, "text": "a", "sender": "S", "reference_id": f"new{i}"}
                for i in range(3)
            ]
            + [{"phone": 380661231231, "text": "a", "sender": "S", "reference_id": "taken1"}]
        },
    )

    assert list(refused_fields(same_request)) == ["phones1reference_id"]
    assert list(refused_fields(individual)) == ["messages3reference_id"]
    assert len(bsg.server.state.campaigns) == 1


# --- the duplicate-request guard -----------------------------------------------------------------


def test_an_identical_body_within_the_window_gets_429_and_creates_nothing(bsg: Bsg) -> None:
    body = {"sender": "Shop", "text": "once", "phones": [{"number": 380661231231}]}

    first = bsg.post("/api/campaigns/sms/send", body)
    second = bsg.post("/api/campaigns/sms/send", body)
    other = bsg.post("/api/campaigns/sms/send", body | {"text": "twice"})
    bsg.advance(2.5)
    later = bsg.post("/api/campaigns/sms/send", body)

    assert first.status_code == 200
    assert second.status_code == 429
    assert second.json() == {"message": "Too many duplicate request detected"}
    assert other.status_code == 200
    assert later.status_code == 200
    assert len(bsg.server.state.campaigns) == 3


# --- lifecycle -----------------------------------------------------------------------------------


def test_a_campaign_goes_from_creation_through_sending_to_done(bsg: Bsg) -> None:
    created = bsg.send_sms(phones=1000)
    path = f"/api/campaigns/{created['id']}"

    bsg.advance(1.0)  # creation lasts 1 s at speed 1, then 1.5 s of dispatching 1,000
    early = bsg.get(path).json()["data"]
    bsg.advance(0.5)
    middle = bsg.get(path).json()["data"]
    bsg.advance(30.0)
    done = bsg.get(path).json()["data"]

    assert early["status"] == "sending"
    assert early["real_start_at"] is not None
    assert early["finished_at"] is None
    assert middle["status"] == "sending"
    assert 0 < early["statistics"]["sent"] < middle["statistics"]["sent"] < 1000
    assert middle["statistics"]["delivered"] <= middle["statistics"]["sent"]
    assert done["status"] == "done"
    assert done["finished_at"] is not None
    assert done["statistics"]["sent"] == 1000
    # ~95 % delivered, the rest undelivered/expired/failed/unknown.
    assert 900 <= done["statistics"]["delivered"] < 1000


def test_each_message_moves_through_its_own_statuses(bsg: Bsg) -> None:
    created = bsg.send_sms(phones=200, prefix="m")

    def statuses() -> list[str]:
        rows = bsg.get(
            "/api/messages", **{"filter[campaign_id]": created["id"], "page[limit]": 500}
        ).json()["data"]
        return [row["status"] for row in rows]

    before = statuses()
    bsg.advance(2.0)
    during = statuses()
    bsg.advance(30.0)
    after = statuses()

    assert set(before) == {"scheduled"}
    assert {"accepted", "sent"} & set(during)
    assert set(after) <= {"delivered", "undelivered", "expired", "failed", "unknown"}
    assert after.count("delivered") > 170
    by_delivery = bsg.get(
        "/api/messages",
        **{"filter[campaign_id]": created["id"], "sort": "delivered", "page[limit]": 500},
    ).json()["data"]
    delivered_at = [m["delivered_at"] for m in by_delivery]
    settled = [moment for moment in delivered_at if moment is not None]
    assert settled == sorted(settled)
    assert delivered_at[len(settled) :] == [None] * (len(delivered_at) - len(settled))
    delivered = bsg.get("/api/messages", **{"filter[reference_id]": "m0"}).json()["data"][0]
    if delivered["status"] == "delivered":
        assert delivered["sent_at"] <= delivered["delivered_at"]


def test_outcomes_are_the_same_for_the_same_seed(
    start_sandbox: Callable[..., SandboxServer],
) -> None:
    runs = []
    for _ in range(2):
        bsg = Bsg(start_sandbox(seed=42))
        created = bsg.send_sms(phones=300)
        bsg.advance(60)
        rows = bsg.get(
            "/api/messages", **{"filter[campaign_id]": created["id"], "page[limit]": 500}
        ).json()["data"]
        runs.append([row["status"] for row in rows])

    assert runs[0] == runs[1]


def test_counts_always_agree_with_the_per_message_statuses() -> None:
    timeline = lifecycle.Timeline.plan(
        campaign_id=1, kind=lifecycle.RCS, seed=3, size=400, created=1000.0, start_at=None,
        speed=2.0, fallback=True,
    )  # fmt: skip
    tally = lifecycle.Tally(timeline)
    for moment in (999.0, 1000.6, 1001.0, 1002.3, 1003.9, 1010.0):
        states = [lifecycle.message_state(timeline, i, moment) for i in range(400)]
        counts = tally.counts(moment)
        for status, count in counts.items():
            assert count == sum(s.status == status for s in states), (moment, status)
        fallback = tally.fallback_counts(moment)
        for status, count in fallback.items():
            assert count == sum(s.fallback_status == status for s in states), (moment, status)


def test_a_scheduled_campaign_waits_and_can_be_stopped(bsg: Bsg) -> None:
    start = bsg_time(bsg.server.state.clock.now_datetime() + timedelta(days=1))
    balance_before = bsg.get("/api/accounts/balance").json()["data"]["balance"]
    created = bsg.send_sms(phones=5, start_at=start)
    bsg.advance(60)

    waiting = bsg.get(f"/api/campaigns/{created['id']}").json()["data"]
    stopped = bsg.patch(f"/api/campaigns/{created['id']}/stop")
    again = bsg.patch(f"/api/campaigns/{created['id']}/stop")
    bsg.advance(2 * 86_400)
    messages = bsg.get("/api/messages", **{"filter[campaign_id]": created["id"]}).json()["data"]
    balance_after = bsg.get("/api/accounts/balance").json()["data"]["balance"]

    assert waiting["status"] == "scheduled"
    assert waiting["start_at"] == start
    assert stopped.status_code == 200
    assert list(stopped.json()["data"]) == CAMPAIGN_KEYS
    assert stopped.json()["data"]["status"] == "stopped"
    assert stopped.json()["data"]["real_start_at"] is None
    assert again.status_code == 422
    assert again.json() == {"message": "Invalid campaign status", "errors": []}
    assert {m["status"] for m in messages} == {"cancelled"}
    assert balance_after == balance_before  # nothing was sent: everything refunded


def test_stopping_during_sending_cancels_only_what_was_not_dispatched(bsg: Bsg) -> None:
    created = bsg.send_sms(phones=1000)
    bsg.advance(1.5)  # 1 s of creation, then a third of the 1.5 s dispatch window

    stopped = bsg.patch(f"/api/campaigns/{created['id']}/stop").json()["data"]
    bsg.advance(60)
    detail = bsg.get(f"/api/campaigns/{created['id']}/detail").json()["data"]

    assert stopped["status"] == "stopped"
    assert 0 < stopped["statistics"]["sent"] < 1000
    assert detail["status"] == "stopped"
    outcomes = sum(detail["statistics"][k] for k in ("delivered", "undelivered", "expired",
                                                     "failed", "unknown"))  # fmt: skip
    assert outcomes == stopped["statistics"]["sent"]


def test_a_done_campaign_cannot_be_stopped(bsg: Bsg) -> None:
    created = bsg.send_sms()
    bsg.advance(60)

    answer = bsg.patch(f"/api/campaigns/{created['id']}/stop")

    assert answer.status_code == 422
    assert answer.json() == {"message": "Invalid campaign status", "errors": []}


# --- lists and messages --------------------------------------------------------------------------


def test_campaign_list_filters_pages_sorts_and_searches(bsg: Bsg) -> None:
    old = bsg.send_sms(prefix="old", sender="Ancient")
    bsg.advance(100 * 86_400)  # older than the default 3-month window
    for index, sender in enumerate(("Beta", "alpha", "Gamma")):
        bsg.send_sms(prefix=f"n{index}", sender=sender)
    bsg.post(
        "/api/campaigns/rcs/send",
        {"phones": [{"number": "380661231231"}], "sender": "agent", "options": {"text": "Hi"}},
    )

    listed = bsg.get("/api/campaigns").json()
    by_sender = bsg.get("/api/campaigns", sort="sender", way="desc").json()["data"]
    paged = bsg.get("/api/campaigns", **{"page[limit]": 30, "page[offset]": 2}).json()
    found = bsg.get("/api/campaigns", **{"search[field]": "sender", "search[value]": "AMM"})
    rcs = bsg.get("/api/campaigns", **{"filter[type]": "rcs"}).json()["data"]

    assert [c["sender"] for c in listed["data"]] == ["Beta", "alpha", "Gamma"]
    assert listed["meta"] == {"page": {"total": 3, "limit": 50, "offset": 0}}
    assert old["id"] not in [c["id"] for c in listed["data"]]
    assert [c["sender"] for c in by_sender] == ["Gamma", "Beta", "alpha"]
    assert [c["sender"] for c in paged["data"]] == ["Gamma"]
    assert paged["meta"]["page"] == {"total": 3, "limit": 30, "offset": 2}
    assert [c["sender"] for c in found.json()["data"]] == ["Gamma"]
    assert [c["message_type"] for c in rcs] == ["rcs"]


def test_campaign_list_refuses_bad_windows_and_page_sizes(bsg: Bsg) -> None:
    now = bsg.server.state.clock.now_datetime()

    def at(delta: timedelta) -> str:
        return bsg_time(now + delta)

    too_long = bsg.get("/api/campaigns", **{"filter[from]": at(-timedelta(days=120))})
    too_far = bsg.get("/api/campaigns", **{"filter[to]": at(timedelta(days=31))})
    near = bsg.get("/api/campaigns", **{"filter[to]": at(timedelta(days=29))})
    small = bsg.get("/api/campaigns", **{"page[limit]": 29})
    large = bsg.get("/api/campaigns", **{"page[limit]": 501})
    bad_sort = bsg.get("/api/campaigns", sort="price")

    assert list(refused_fields(too_long)) == ["filterfrom"]
    assert list(refused_fields(too_far)) == ["filterto"]
    assert near.status_code == 200
    assert list(refused_fields(small)) == ["pagelimit"]
    assert list(refused_fields(large)) == ["pagelimit"]
    assert list(refused_fields(bad_sort)) == ["sort"]


def test_messages_are_found_by_campaign_reference_and_id_and_paged(bsg: Bsg) -> None:
    first = bsg.send_sms(phones=20, prefix="a")
    bsg.send_sms(phones=5, prefix="b")

    page = bsg.get(
        "/api/messages",
        **{"filter[campaign_id]": first["id"], "page[limit]": 15, "page[offset]": 15},
    ).json()
    by_reference = bsg.get("/api/messages", **{"filter[reference_id]": "b3"}).json()["data"]
    by_id = bsg.get("/api/messages", **{"filter[id]": by_reference[0]["id"]}).json()["data"]
    everything = bsg.get("/api/messages", **{"page[limit]": 100}).json()["meta"]
    by_phone = bsg.get("/api/messages", sort="phone", way="desc").json()["data"]
    small = bsg.get("/api/messages", **{"page[limit]": 14})

    assert [m["reference_id"] for m in page["data"]] == [f"a{i}" for i in range(15, 20)]
    assert page["meta"] == {"page": {"limit": 15, "offset": 15, "total": 20}}
    assert list(by_reference[0]) == MESSAGE_KEYS
    assert by_reference[0]["phone"] == 380_661_000_003
    assert by_reference[0]["country"] == "UA"
    assert by_reference[0]["amount"] == {"value": "0.0150000", "currency": "EUR"}
    assert by_id == by_reference
    assert everything["page"]["total"] == 25
    assert by_phone[0]["phone"] == 380_661_000_019
    assert list(refused_fields(small)) == ["pagelimit"]


# --- price and balance ---------------------------------------------------------------------------


def test_price_is_parts_times_recipients_times_the_part_price(bsg: Bsg) -> None:
    latin = bsg.post(
        "/api/campaigns/price",
        {"sender": "Shop", "text": "hello!", "messages": [{"phone": 38267161234}] * 3},
    )
    cyrillic = bsg.post(
        "/api/campaigns/price",
        {"sender": "Shop", "text": "ж" * 71, "messages": [{"phone": 38267161234}]},
    )
    bad_phone = bsg.post(
        "/api/campaigns/price",
        {"sender": "Shop", "text": "x", "messages": [{"phone": 1234567890123456}]},
    )

    assert latin.json() == {"price": pytest.approx(0.045), "currency": "EUR"}
    assert cyrillic.json()["price"] == pytest.approx(2 * 0.015)
    assert list(refused_fields(bad_phone)) == ["messages0phone"]


def test_creating_a_campaign_charges_its_price_and_refuses_without_funds(
    start_sandbox: Callable[..., SandboxServer],
) -> None:
    bsg = Bsg(start_sandbox(balance=Decimal("0.05"), currency="USD"))

    before = bsg.get("/api/accounts/balance").json()
    bsg.send_sms(phones=3)
    after = bsg.get("/api/accounts/balance").json()
    refused = _sms(bsg, "broke")

    assert before == {"data": {"balance": 0.05, "currency": "USD", "credit": 0.0}}
    assert after["data"]["balance"] == pytest.approx(0.005)
    assert refused.status_code == 422
    assert refused.json()["message"] == "Insufficient funds"
    assert len(bsg.server.state.campaigns) == 1


# --- contact book --------------------------------------------------------------------------------


@pytest.mark.parametrize(("length", "accepted"), [(2, False), (3, True), (50, True), (51, False)])
def test_group_names_are_three_to_fifty_characters(bsg: Bsg, length: int, accepted: bool) -> None:
    answer = bsg.post("/api/groups", {"name": "g" * length})

    if accepted:
        assert answer.status_code == 201
        assert list(answer.json()["data"]) == GROUP_KEYS
    else:
        assert list(refused_fields(answer)) == ["name"]


def test_groups_are_unique_listed_with_a_total_and_deletable(bsg: Bsg) -> None:
    first = bsg.post("/api/groups", {"name": "Clients"}).json()["data"]
    duplicate = bsg.put(f"/api/groups/{first['id']}", {"name": "Clients"})  # same group: fine
    bsg.advance(3)  # past the duplicate-request window: the name check answers, not the 429
    second = bsg.post("/api/groups", {"name": "Clients"})
    listed = bsg.get("/api/groups").json()
    removed = bsg.delete(f"/api/groups/{first['id']}")

    assert duplicate.status_code == 200
    assert second.status_code == 422
    assert second.json() == {"message": "Contact group is already exists", "errors": []}
    assert listed["total"] == 1
    assert [g["name"] for g in listed["data"]] == ["Clients"]
    assert removed.status_code == 204
    assert bsg.get(f"/api/groups/{first['id']}").json()["message"] == "Contact group is not found"


def test_contacts_key_fields_by_id_and_join_lists(bsg: Bsg) -> None:
    field = bsg.post("/api/contacts/fields", {"name": "name", "type": "text"})
    field_id = field.json()["data"]["id"]
    group = bsg.post("/api/groups", {"name": "Clients"}).json()["data"]

    bare = bsg.post("/api/contacts", {"phone": 61401629754})
    rich = bsg.post(
        "/api/contacts",
        {"phone": 380965901726, "fields": [{"id": field_id, "value": "Zufafa"}],
         "groups": [group["id"]]},
    )  # fmt: skip
    bsg.advance(3)  # past the duplicate-request window
    again = bsg.post("/api/contacts", {"phone": 61401629754})
    unknown_field = bsg.post("/api/contacts", {"phone": 380965901727, "fields": [{"id": 1}]})
    listed = bsg.get("/api/contacts", **{"groups[]": group["id"]}).json()

    assert field.status_code == 201
    assert list(field.json()["data"]) == ["id", "name", "type", "description", "is_visible"]
    assert bare.status_code == 201
    assert list(bare.json()["data"]) == CONTACT_KEYS
    assert bare.json()["data"]["fields"] == []  # as in BSG's sample for a contact with none
    assert rich.json()["data"]["fields"] == {str(field_id): "Zufafa"}
    assert rich.json()["data"]["groups"][0]["items"] == 1
    assert again.json() == {
        "message": "Phone number is already exist in contact book",
        "errors": [],
    }
    assert list(refused_fields(unknown_field)) == ["fields0id"]
    assert listed["total"] == 1
    assert listed["data"][0]["phone"] == 380965901726


def test_contacts_and_fields_can_be_changed_and_removed(bsg: Bsg) -> None:
    field = bsg.post("/api/contacts/fields", {"name": "city", "type": "text"}).json()["data"]
    group = bsg.post("/api/groups", {"name": "Clients"}).json()["data"]
    contact = bsg.post("/api/contacts", {"phone": 61401629754}).json()["data"]

    updated = bsg.put(
        f"/api/contacts/{contact['id']}",
        {"phone": 61401629755, "fields": [{"id": field["id"], "value": "Kyiv"}],
         "groups": [group["id"]]},
    )  # fmt: skip
    renamed = bsg.session.patch(
        f"{bsg.url}/api/contacts/fields/{field['id']}", json={"name": "town"}, timeout=5
    )
    fields_removed = bsg.post("/api/contacts/fields/delete", {"ids": [field["id"]]})
    after_fields = bsg.get(f"/api/contacts/{contact['id']}").json()["data"]
    removed = bsg.delete(f"/api/contacts/{contact['id']}")
    gone = bsg.get(f"/api/contacts/{contact['id']}")

    assert updated.status_code == 200
    assert updated.json()["data"]["phone"] == 61401629755
    assert updated.json()["data"]["fields"] == {str(field["id"]): "Kyiv"}
    assert [g["id"] for g in updated.json()["data"]["groups"]] == [group["id"]]
    assert renamed.json()["data"]["name"] == "town"
    assert fields_removed.status_code == 204
    assert after_fields["fields"] == []
    assert removed.status_code == 204
    assert gone.json() == {"message": "Invalid contact id", "errors": []}
    assert bsg.get(f"/api/groups/{group['id']}").json()["data"]["items"] == 0


def test_attach_takes_at_most_two_hundred_contacts_and_a_hundred_lists(bsg: Bsg) -> None:
    group = bsg.post("/api/groups", {"name": "Clients"}).json()["data"]
    contact = bsg.post("/api/contacts", {"phone": 61401629754}).json()["data"]

    attached = bsg.post(
        "/api/groups/attach", {"contacts": [contact["id"]], "groups": [group["id"]]}
    )
    too_many = bsg.post(
        "/api/groups/attach", {"contacts": list(range(1, 202)), "groups": [group["id"]]}
    )
    unknown = bsg.post("/api/groups/attach", {"contacts": [1], "groups": [group["id"]]})

    assert attached.status_code == 200
    assert bsg.get(f"/api/groups/{group['id']}").json()["data"]["items"] == 1
    assert list(refused_fields(too_many)) == ["contacts"]
    assert refused_fields(unknown) == {"contacts0": ["Invalid contact id"]}


# --- RCS -----------------------------------------------------------------------------------------


def _rcs_card(**overrides: object) -> dict:
    return {
        "title": "The message",
        "text": "Hello! ☺️",
        "media": {"url": "https://domain.com/video.mp4"},
        "suggestions": [
            {"text": "Go to site", "url": "https://domain.com/"},
            {"type": "call", "text": "Call us", "phone": "380991112233"},
        ],
        **overrides,
    }


def test_rcs_send_groups_answers_with_price_and_fallback_statistics(bsg: Bsg) -> None:
    group = bsg.post("/api/groups", {"name": "Clients"}).json()["data"]
    for phone in range(380661000001, 380661000041):
        bsg.post("/api/contacts", {"phone": phone, "groups": [group["id"]]})

    answer = bsg.post(
        "/api/campaigns/rcs/send-groups",
        {
            "groups": [group["id"]],
            "sender": "Agent Name",
            "options": {"cards": [_rcs_card(), _rcs_card(title="Second")]},
            "alternative_channel": {"sms": {"text": "Hello!", "sender": "testsms",
                                            "validity": 72}},
            "tariff_code": "0",
            "add_to_contact_book": True,
        },
    )  # fmt: skip
    created = answer.json()["data"]
    bsg.advance(60)
    detail = bsg.get(f"/api/campaigns/{created['id']}/detail").json()["data"]
    messages = bsg.get("/api/messages", **{"filter[campaign_id]": created["id"]}).json()["data"]

    assert answer.status_code == 200, answer.text
    assert list(created) == CAMPAIGN_KEYS
    assert created["message_type"] == "rcs"
    assert created["name"].startswith("RCS api campaign / ")
    assert created["calculated_price"] == pytest.approx(40 * 0.0175696)
    assert created["alternative_channels"] == {"sms": {"statistics": {"delivered": 0, "sent": 0}}}
    assert list(detail["alternative_channels"]["sms"]["statistics"]) == DETAIL_STATISTICS_KEYS
    assert messages[0]["rcs_options"]["cards"][1]["title"] == "Second"
    assert all(m["type"] == "rcs" for m in messages)


def test_rcs_send_groups_reaches_at_most_five_thousand_contacts(bsg: Bsg) -> None:
    # YAML "Campaign RCS": "The maximum allowed number of contacts in one campaign is 5000".
    store = bsg.server.state.store
    group = store.create_group("Big RCS list", None, False, bsg.now())
    for number in range(5_000):  # in-process: 5,001 POSTs would be slow
        store.create_contact(380_500_000_000 + number, {}, [group.id], bsg.now())
    body = {"groups": [group.id], "sender": "Agent", "options": {"text": "Hi"}}

    at_the_limit = bsg.post("/api/campaigns/rcs/send-groups", body)
    store.create_contact(380_509_999_999, {}, [group.id], bsg.now())
    bsg.advance(3)  # past the duplicate-request window
    over = bsg.post("/api/campaigns/rcs/send-groups", body)

    assert at_the_limit.status_code == 200, at_the_limit.text
    assert list(refused_fields(over)) == ["groups"]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"groups": []}, "groups"),
        ({"groups": [5]}, "groups0"),
        ({"groups": ["1"]}, "groups0"),
        ({"sender": "a" * 41}, "sender"),
        ({"options": {}}, "options"),
        ({"validity": 73}, "validity"),
        ({"tariff_code": "ten"}, "tariff_code"),
        ({"check_stop_list": "yes"}, "check_stop_list"),
        (
            {"alternative_channel": {"sms": {"text": "Hi", "sender": "Shop",
                                             "check_stop_list": "yes"}}},
            "alternative_channelsmscheck_stop_list",
        ),
    ],
)  # fmt: skip
def test_rcs_send_groups_refuses_what_its_contract_refuses(
    bsg: Bsg, change: dict, field: str
) -> None:
    group = bsg.post("/api/groups", {"name": "Clients"}).json()["data"]
    bsg.post("/api/contacts", {"phone": 380661000001, "groups": [group["id"]]})
    body = {"groups": [group["id"]], "sender": "Agent", "options": {"text": "Hi"}, **change}

    answer = bsg.post("/api/campaigns/rcs/send-groups", body)

    assert field in refused_fields(answer)


def test_rcs_send_groups_takes_a_null_alternative_channel(bsg: Bsg) -> None:
    # YAML SendRcsCampaignGroupsAlternativeChannel: nullable.
    group = bsg.post("/api/groups", {"name": "Clients"}).json()["data"]
    bsg.post("/api/contacts", {"phone": 380661000001, "groups": [group["id"]]})

    answer = bsg.post(
        "/api/campaigns/rcs/send-groups",
        {"groups": [group["id"]], "sender": "Agent", "options": {"text": "Hi"},
         "alternative_channel": None, "tariff_code": 0},
    )  # fmt: skip

    assert answer.status_code == 200, answer.text
    assert answer.json()["data"]["alternative_channels"] is None


def test_rcs_send_adds_recipients_to_the_contact_book(bsg: Bsg) -> None:
    answer = bsg.post(
        "/api/campaigns/rcs/send",
        {
            "phones": [{"number": "380661231231", "reference_id": "rcs1"}],
            "sender": "rcs_sender",
            "options": {"text": "Hello! ☺️"},
        },
    )

    assert answer.status_code == 200, answer.text
    assert bsg.get("/api/contacts").json()["total"] == 1
    message = bsg.get("/api/messages", **{"filter[reference_id]": "rcs1"}).json()["data"][0]
    assert message["text"] == "Hello! ☺️"
    assert message["alternative_channels"] is None


@pytest.mark.parametrize(
    ("options", "field"),
    [
        ({"cards": [_rcs_card()] * 10}, None),
        ({"cards": [_rcs_card()] * 11}, "optionscards"),
        ({"cards": [_rcs_card(title="t" * 200)]}, None),
        ({"cards": [_rcs_card(title="t" * 201)]}, "optionscards0title"),
        ({"cards": [_rcs_card(text="t" * 1000)]}, None),
        ({"cards": [_rcs_card(text="t" * 1001)]}, "optionscards0text"),
        ({"cards": [_rcs_card(suggestions=[{"text": "s" * 25, "url": "https://a.b"}] * 4)]}, None),
        ({"cards": [_rcs_card(suggestions=[{"text": "s", "url": "https://a.b"}] * 5)]},
         "optionscards0suggestions"),
        ({"cards": [_rcs_card(suggestions=[{"text": "s" * 26, "url": "https://a.b"}])]},
         "optionscards0suggestions0text"),
        ({"cards": [_rcs_card(suggestions=[{"type": "link", "text": "Go"}])]},
         "optionscards0suggestions0url"),
        ({"cards": [_rcs_card(suggestions=[{"type": "call", "text": "Go", "phone": "12"}])]},
         "optionscards0suggestions0phone"),
        ({"cards": [{"title": "only a title"}]}, "optionscards0"),
        ({"text": "t" * 160}, None),
        ({"text": "t" * 161}, "optionstext"),
        ({}, "options"),
    ],
)  # fmt: skip
def test_rcs_option_limits(bsg: Bsg, options: dict, field: str | None) -> None:
    body = {"phones": [{"number": "380661231231"}], "sender": "agent", "options": options}

    answer = bsg.post("/api/campaigns/rcs/send", body)

    if field is None:
        assert answer.status_code == 200, answer.text
    else:
        assert list(refused_fields(answer)) == [field]


def test_rcs_recipients_are_unique_and_at_most_five_thousand(bsg: Bsg) -> None:
    def body(numbers: list[int], text: str) -> dict:
        return {
            "phones": [{"number": str(n)} for n in numbers],
            "sender": "agent",
            "options": {"text": text},
            "add_to_contact_book": False,
        }

    limit = 5_000  # YAML SendRcsCampaign.phones: maxItems 5000
    ok = bsg.post(
        "/api/campaigns/rcs/send", body(list(range(380_500_000_000, 380_500_000_000 + limit)), "a")
    )
    over = bsg.post(
        "/api/campaigns/rcs/send", body(list(range(380_500_000_000, 380_500_000_001 + limit)), "b")
    )
    twice = bsg.post("/api/campaigns/rcs/send", body([380661231231, 380661231231], "c"))
    fallback = bsg.post(
        "/api/campaigns/rcs/send",
        body([380661231231], "d")
        | {"alternative_channel": {"sms": {"text": "x", "sender": "A" * 12}}},
    )

    assert ok.status_code == 200
    assert list(refused_fields(over)) == ["phones"]
    assert list(refused_fields(twice)) == ["phones1number"]
    assert list(refused_fields(fallback)) == ["alternative_channelsmssender"]


# --- faults --------------------------------------------------------------------------------------


def _campaign_body(tag: str) -> dict:
    phones = [{"number": 380661231231, "reference_id": tag}]
    return {"sender": "Shop", "text": f"fault {tag}", "phones": phones}


def test_an_injected_5xx_is_answered_before_anything_is_created(bsg: Bsg) -> None:
    bsg.server.set_faults(Faults(error_5xx=1.0))

    answer = bsg.post("/api/campaigns/sms/send", _campaign_body("f5xx"))
    login = requests.post(f"{bsg.url}/api/auth/login", json={"api_key": API_KEY}, timeout=5)

    assert answer.status_code in (500, 502, 503, 504)
    assert login.status_code == 200  # auth is never faulted
    assert bsg.server.state.campaigns == []
    logged = bsg.server.state.find_requests(path_prefix="/api/campaigns")
    assert [(r["fault"], r["processed_status"]) for r in logged] == [("5xx", None)]


def test_an_injected_429_carries_retry_after(bsg: Bsg) -> None:
    bsg.server.set_faults(Faults(error_429=1.0, retry_after=7))

    answer = bsg.post("/api/campaigns/sms/send", _campaign_body("f429"))

    assert answer.status_code == 429
    assert answer.headers["Retry-After"] == "7"
    assert answer.json() == {"message": "Too many duplicate request detected"}
    assert bsg.server.state.campaigns == []


def test_a_slow_answer_arrives_late_but_complete(bsg: Bsg) -> None:
    bsg.server.set_faults(Faults(slow=1.0, slow_delay=0.2))

    answer = bsg.post("/api/campaigns/sms/send", _campaign_body("slow"))

    assert answer.status_code == 200
    assert answer.elapsed >= timedelta(seconds=0.2)


def test_a_hung_request_creates_the_campaign_but_never_answers(bsg: Bsg) -> None:
    bsg.server.set_faults(Faults(hang=1.0, hang_timeout=30.0))

    with pytest.raises(requests.exceptions.ReadTimeout):
        bsg.session.post(
            f"{bsg.url}/api/campaigns/sms/send", json=_campaign_body("hang"), timeout=(2, 0.3)
        )

    assert [c["reference_ids"] for c in bsg.server.state.campaigns] == [["hang"]]
    bsg.server.set_faults(Faults())
    found = bsg.get("/api/messages", **{"filter[reference_id]": "hang"}).json()["data"]
    assert len(found) == 1
    logged = bsg.server.state.find_requests(path_prefix="/api/campaigns")
    assert [(r["fault"], r["status"], r["processed_status"]) for r in logged] == [
        ("hang", None, 200)
    ]


def test_a_hung_connection_is_closed_when_the_server_gives_up(bsg: Bsg) -> None:
    bsg.server.set_faults(Faults(hang=1.0, hang_timeout=0.2))

    with pytest.raises(requests.exceptions.ConnectionError):
        requests.post(
            f"{bsg.url}/api/campaigns/sms/send",
            json=_campaign_body("gaveup"),
            headers={"Authorization": f"Bearer {bsg.bearer}"},
            timeout=5,
        )

    assert len(bsg.server.state.campaigns) == 1


def test_a_dropped_request_closes_the_connection_and_creates_nothing(bsg: Bsg) -> None:
    bsg.server.set_faults(Faults(drop=1.0))

    with pytest.raises(requests.exceptions.ConnectionError):
        bsg.post("/api/campaigns/sms/send", _campaign_body("drop"))

    assert bsg.server.state.campaigns == []


def test_faults_follow_the_path_prefix_and_repeat_for_a_seed(
    start_sandbox: Callable[..., SandboxServer],
) -> None:
    runs = []
    for _ in range(2):
        bsg = Bsg(start_sandbox(faults=Faults(error_5xx=0.5, path_prefix="/api/accounts")))
        runs.append([bsg.get("/api/accounts/balance").status_code for _ in range(20)])
        assert bsg.get("/api/groups").status_code == 200

    assert runs[0] == runs[1]
    assert 200 in runs[0]
    assert set(runs[0]) - {200}


def test_faults_are_read_and_replaced_over_http(bsg: Bsg) -> None:
    put = requests.put(
        f"{bsg.url}/_sandbox/faults", json={"drop": 0.25, "path_prefix": "/api/messages"}, timeout=5
    )
    invalid = requests.put(f"{bsg.url}/_sandbox/faults", json={"hang": 2}, timeout=5)
    too_much = requests.put(
        f"{bsg.url}/_sandbox/faults", json={"hang": 0.6, "drop": 0.6}, timeout=5
    )
    current = requests.get(f"{bsg.url}/_sandbox/faults", timeout=5).json()["data"]

    assert put.status_code == 200
    assert current == Faults(drop=0.25, path_prefix="/api/messages").to_dict()
    assert list(refused_fields(invalid)) == ["hang"]
    assert list(refused_fields(too_much)) == ["faults"]
    assert bsg.server.state.faults == Faults(drop=0.25, path_prefix="/api/messages")


# --- inspection ----------------------------------------------------------------------------------


def test_the_request_log_masks_the_api_key_and_records_answers(bsg: Bsg) -> None:
    bsg.get("/api/campaigns", **{"filter[type]": "rcs"})
    bsg.send_sms(phones=150, prefix="log")

    logged = requests.get(f"{bsg.url}/_sandbox/requests", timeout=5).json()["data"]

    assert logged[0]["path"] == "/api/auth/login"
    assert logged[0]["json"] == {"api_key": "***"}
    assert API_KEY not in json.dumps(logged)
    assert logged[1]["query"] == {"filter[type]": "rcs"}
    assert (logged[1]["method"], logged[1]["status"], logged[1]["fault"]) == ("GET", 200, None)
    assert logged[2]["json_truncated"] is True
    assert len(logged[2]["json"]["phones"]) == 100
    assert logged[2]["status"] == 200


def test_inspection_lists_campaigns_and_reset_starts_afresh(bsg: Bsg) -> None:
    created = bsg.send_sms(phones=2, prefix="insp")
    bsg.server.set_faults(Faults(error_5xx=0.1))

    campaigns = requests.get(f"{bsg.url}/_sandbox/campaigns", timeout=5).json()["data"]
    reset = requests.post(f"{bsg.url}/_sandbox/reset", timeout=5)

    assert campaigns[0]["id"] == created["id"]
    assert campaigns[0]["message_count"] == 2
    assert campaigns[0]["reference_ids"] == ["insp0", "insp1"]
    assert campaigns[0]["endpoint"] == "/api/campaigns/sms/send"
    assert reset.status_code == 200
    assert bsg.server.state.campaigns == []
    assert bsg.server.state.requests == []
    assert bsg.server.state.faults == Faults()
    assert bsg.get("/api/accounts/balance").json()["data"]["balance"] == 1000.0  # token survives


def test_message_totals_count_phones_and_reference_ids_apart(bsg: Bsg) -> None:
    bsg.send_sms(phones=3, prefix="a")
    # The same three phones again under new reference ids: three messages more, no new phone.
    bsg.send_sms(phones=3, prefix="b")

    totals = requests.get(f"{bsg.url}/_sandbox/messages", timeout=5).json()["data"]

    assert totals == {"campaigns": 2, "messages": 6, "phones": 3, "reference_ids": 6}


def test_the_clock_can_be_read_frozen_and_advanced_over_http(
    start_sandbox: Callable[..., SandboxServer],
) -> None:
    bsg = Bsg(start_sandbox(frozen=False))
    created = bsg.send_sms(phones=1)

    frozen = requests.post(f"{bsg.url}/_sandbox/time", json={"freeze": True}, timeout=5).json()
    moved = requests.post(f"{bsg.url}/_sandbox/time", json={"advance": 3600}, timeout=5).json()
    backwards = requests.post(f"{bsg.url}/_sandbox/time", json={"advance": -1}, timeout=5)

    assert frozen["data"]["frozen"] is True
    assert moved["data"]["timestamp"] == pytest.approx(frozen["data"]["timestamp"] + 3600)
    assert list(refused_fields(backwards)) == ["advance"]
    assert bsg.get(f"/api/campaigns/{created['id']}").json()["data"]["status"] == "done"


def test_dates_are_written_and_read_in_the_configured_time_zone(
    start_sandbox: Callable[..., SandboxServer],
) -> None:
    bsg = Bsg(start_sandbox(time_zone="Asia/Tokyo"))
    now = bsg.server.state.clock.now_datetime()
    start = now + timedelta(days=2)

    created = bsg.send_sms(start_at=bsg_time(start, "Asia/Tokyo"))

    assert created["created_at"] == bsg_time(now, "Asia/Tokyo")
    assert bsg.server.state.store.campaign(created["id"]).requested_start == pytest.approx(
        int(start.timestamp()), abs=1
    )


def test_unknown_paths_and_methods_answer_in_bsgs_shape(bsg: Bsg) -> None:
    assert bsg.get("/api/nothing").json() == {"message": "Not Found"}
    assert bsg.delete("/api/campaigns").status_code == 405
    invalid = bsg.session.post(
        f"{bsg.url}/api/campaigns/sms/send", data="{not json", timeout=5,
        headers={"Content-Type": "application/json"},
    )  # fmt: skip
    assert invalid.status_code == 422


def test_requests_from_many_threads_get_unique_campaigns(bsg: Bsg) -> None:
    answers: list[int] = []

    def send(tag: int) -> None:
        answer = requests.post(
            f"{bsg.url}/api/campaigns/sms/send",
            json=_campaign_body(f"t{tag}"),
            headers={"Authorization": f"Bearer {bsg.bearer}"},
            timeout=10,
        )
        answers.append(answer.status_code)

    threads = [threading.Thread(target=send, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert answers == [200] * 8
    assert len({c["id"] for c in bsg.server.state.campaigns}) == 8


def test_the_server_prints_one_line_per_request_only_when_verbose(
    start_sandbox: Callable[..., SandboxServer], capfd: pytest.CaptureFixture[str]
) -> None:
    quiet = Bsg(start_sandbox())
    quiet.get("/api/accounts/balance")
    assert capfd.readouterr().err == ""

    loud = Bsg(start_sandbox(verbose=True))
    loud.get("/api/accounts/balance")
    printed = capfd.readouterr().err

    assert "GET /api/accounts/balance -> 200" in printed
    assert API_KEY not in printed


# --- command line --------------------------------------------------------------------------------


def test_the_command_line_builds_the_config() -> None:
    args = build_arg_parser().parse_args(
        ["--port", "8025", "--api-key", "k", "--speed", "5", "--seed", "3", "--token-ttl", "60",
         "--time-zone", "Europe/Kyiv", "--fault-5xx", "0.1", "--fault-hang", "0.2",
         "--fault-path-prefix", "/api/campaigns"]
    )  # fmt: skip

    config = config_from_args(args)

    assert (config.speed, config.seed, config.token_ttl, config.time_zone) == (
        5.0, 3, 60.0, "Europe/Kyiv",
    )  # fmt: skip
    assert config.faults == Faults(error_5xx=0.1, hang=0.2, path_prefix="/api/campaigns")
    with pytest.raises(SystemExit):
        main(["--port", "0"])  # no API key
