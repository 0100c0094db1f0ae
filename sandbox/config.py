"""How a sandbox is set up: the account it pretends to be and how it behaves."""

from dataclasses import dataclass, field
from decimal import Decimal
from zoneinfo import ZoneInfo

from sandbox.faults import Faults


@dataclass
class SandboxConfig:
    api_key: str  # the one key POST /api/auth/login accepts
    token_ttl: float = (
        3600.0  # seconds a bearer token lives (BSG does not say; its sample: 30 days)
    )
    speed: float = 1.0  # multiplies the pace of campaigns (~10 s from creation to done at 1)
    seed: int = 0  # message outcomes and fault draws are repeatable for a given seed
    # Zone in which start_at and filter dates are read and every date is written. BSG does not
    # say which it uses; settings.BSG_TIME_ZONE holds the app's assumption, start us with it.
    time_zone: str = "UTC"
    balance: Decimal = Decimal("1000.00")
    currency: str = "EUR"
    credit: Decimal = Decimal("0")  # postpay credit limit (E11 "credit"); balance may go below 0
    # Price of one SMS part, and of one RCS message (YAML samples: an SMS campaign of one
    # 1-part message "calculated_price: 0.015"; an RCS one "calculated_price: 0.0175696").
    sms_part_price: Decimal = Decimal("0.015")
    rcs_message_price: Decimal = Decimal("0.0175696")
    # Tariff codes connected to the account; another valid code (0-9) answers BSG's
    # 422 "Tariff was not found".
    tariff_codes: frozenset[int] = frozenset(range(10))
    # An identical body to the same path within this many seconds answers 429 "Too many
    # duplicate request detected" (BSG's guard against repeated requests; 0 turns it off).
    duplicate_window: float = 2.0
    faults: Faults = field(default_factory=Faults)
    # Status callbacks (sandbox.callbacks) to a send's callback_url: statuses per POST (1 sends
    # each as one object, the YAML's RcsStatusCallback; more send a JSON list of them), seconds
    # between two rounds, tries of one POST before it is given up, seconds a POST may take.
    callback_batch: int = 100
    callback_interval: float = 0.2
    callback_tries: int = 6
    callback_timeout: float = 5.0
    request_log_size: int = 10_000  # entries kept by GET /_sandbox/requests
    verbose: bool = False  # one line per request on stderr

    def __post_init__(self) -> None:
        if not self.api_key:
            raise ValueError("The sandbox needs an API key to accept.")
        if self.speed <= 0:
            raise ValueError("speed must be positive.")
        if self.token_ttl <= 0:
            raise ValueError("token_ttl must be positive.")
        if self.duplicate_window < 0:
            raise ValueError("duplicate_window must not be negative.")
        if self.callback_batch < 1 or self.callback_tries < 1:
            raise ValueError("callback_batch and callback_tries must be at least 1.")
        if self.callback_interval <= 0 or self.callback_timeout <= 0:
            raise ValueError("callback_interval and callback_timeout must be positive.")
        ZoneInfo(self.time_zone)  # fails early on a zone that does not exist
        self.balance = Decimal(self.balance)
        self.credit = Decimal(self.credit)
        self.sms_part_price = Decimal(self.sms_part_price)
        self.rcs_message_price = Decimal(self.rcs_message_price)
        self.tariff_codes = frozenset(self.tariff_codes)
