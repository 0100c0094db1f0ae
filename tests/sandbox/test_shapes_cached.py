"""What E9 writes from its caches is what it would write without them: a message's country and
the dates, whatever the fraction of a second."""

from datetime import UTC, datetime
from decimal import Decimal

from sandbox import shapes
from sandbox.config import SandboxConfig
from sandbox.server import SandboxServer
from sandbox.store import NewMessage
from sandbox.vendor_rules import format_datetime


def test_each_messages_country_is_the_one_its_phone_has_read_after_read():
    server = SandboxServer(SandboxConfig(api_key="k", balance=Decimal(1000)), port=0)
    # Three regions share +44 (GB, JE, GG) and one number has no country at all.
    phones = [447400123456, 447797123456, 447781123456, 380661231231, 999123]
    server.state.store.reset()
    campaign = server.state.store.create_campaign(
        kind="sms",
        endpoint="/api/campaigns/sms/send",
        name=lambda created: "c",
        sender="Shop",
        text="Hi",
        validity=72,
        tariff_code=0,
        requested_start=None,
        messages=[NewMessage(p, None, None, None, 1) for p in phones],
        unit_price=Decimal("0.01"),
        reference_field=str,
        created=1_765_000_000.0,
    )
    expected = [shapes.country_of(phone) for phone in phones]
    assert expected[:4] == ["GB", "JE", "GG", "UA"] and expected[4] is None

    for _ in range(2):  # the first read looks each up, the second reads what was kept
        got = [shapes.message_country(campaign, i, phone) for i, phone in enumerate(phones)]
        assert got == expected
    server.shutdown()


def test_dates_are_written_as_without_the_cache_whatever_the_fraction():
    for zone in ("UTC", "Europe/Kyiv", "Asia/Kathmandu"):
        written = shapes.Shapes(SandboxConfig(api_key="k", time_zone=zone), lambda c, n: 0).when
        for moment in (
            1_765_000_000.0,
            1_765_000_000.25,
            1_765_000_000.9999994,  # rounds to .999999: the same second
            1_765_000_000.9999996,  # rounds up to the next second
            1_765_000_001.0,
        ):
            plain = format_datetime(datetime.fromtimestamp(moment, UTC), zone)
            assert written(moment) == plain
            assert written(moment) == plain  # and again, from the cache
        assert written(None) is None
