import pytest
from django.contrib.auth import get_user_model

from campaigns.models import Campaign
from contacts.models import ContactField
from tests.campaigns.conftest import build_audience


@pytest.fixture
def engine_settings(bsg_settings):
    """Short timeouts so that unclear answers are settled within a test."""
    bsg_settings.BSG_CONNECT_TIMEOUT = 1.0
    bsg_settings.BSG_READ_TIMEOUT = 0.5
    # Longer than the read timeout plus the sandbox's slow_delay used below.
    bsg_settings.ENGINE_RECONCILE_GRACE = 1.5
    bsg_settings.ENGINE_BACKOFF_BASE = 0.0
    bsg_settings.ENGINE_BACKOFF_MAX = 0.01
    bsg_settings.ENGINE_SUBMIT_MAX_ATTEMPTS = 10
    bsg_settings.ENGINE_RECONCILE_MAX_TRIES = 10
    bsg_settings.ENGINE_STUCK_SUBMITTING = 5.0
    return bsg_settings


@pytest.fixture
def user(db):
    return get_user_model().objects.create_user(
        # Every page needs a permission (config/access.py): this one may do everything.
        "marketer",
        password="a-long-test-password",
        is_superuser=True,
    )


@pytest.fixture
def audience(db):
    ContactField.objects.create(key="first_name", label="First name", bsg_field_id=17)
    return build_audience(third_first_name="Petro")


def numbers(count: int, start: int = 0) -> str:
    return "\n".join(f"+38050{7000000 + start + i}" for i in range(count))


def ready_campaign(**overrides) -> Campaign:
    values = {
        "name": "Spring sale",
        "channel": Campaign.Channel.SMS,
        "sms_mode": Campaign.SmsMode.NUMBERS,
        "text": "20% off today",
        "sender": "Shop",
        "pasted_numbers": numbers(3),
        "status": Campaign.Status.READY,
    }
    lists = overrides.pop("lists", None)
    values.update(overrides)
    campaign = Campaign.objects.create(**values)
    if lists:
        campaign.lists.set(lists)
    return campaign
