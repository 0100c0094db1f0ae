"""accounts/migrations/0003_account_settings: each person's language and time zone, once two
rows, become one, and go back to two when migrated backwards."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

BEFORE = [("accounts", "0002_user_time_zone")]
AFTER = [("accounts", "0003_account_settings")]

pytestmark = pytest.mark.django_db(transaction=True)


def migrate(to):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()  # what the previous run left
    executor.migrate(to)
    return executor.loader.project_state(to).apps


@pytest.fixture
def people():
    make = get_user_model().objects.create_user
    return {name: make(name, password="a-long-test-password") for name in ("lang", "zone", "both")}


@pytest.fixture
def back_at_the_end():
    yield
    migrate(AFTER)


def test_both_choices_move_into_one_row_and_back(people, back_at_the_end):
    old = migrate(BEFORE)
    LanguageChoice = old.get_model("accounts", "LanguageChoice")
    TimeZoneChoice = old.get_model("accounts", "TimeZoneChoice")
    early = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
    late = datetime(2026, 12, 5, 18, 30, tzinfo=UTC)
    LanguageChoice.objects.create(user_id=people["lang"].pk, language="uk")
    LanguageChoice.objects.create(user_id=people["both"].pk, language="en")
    TimeZoneChoice.objects.create(user_id=people["zone"].pk, time_zone="Europe/Kyiv")
    TimeZoneChoice.objects.create(user_id=people["both"].pk, time_zone="Asia/Tbilisi")
    LanguageChoice.objects.filter(user_id=people["both"].pk).update(changed_at=early)
    TimeZoneChoice.objects.filter(user_id=people["both"].pk).update(changed_at=late)

    new = migrate(AFTER)
    AccountSettings = new.get_model("accounts", "AccountSettings")
    rows = {row.user_id: (row.language, row.time_zone) for row in AccountSettings.objects.all()}
    assert rows == {
        people["lang"].pk: ("uk", ""),
        people["zone"].pk: ("", "Europe/Kyiv"),
        people["both"].pk: ("en", "Asia/Tbilisi"),
    }
    # When they last chose, not when the migration ran.
    assert AccountSettings.objects.get(user_id=people["both"].pk).changed_at == late

    old = migrate(BEFORE)
    languages = old.get_model("accounts", "LanguageChoice").objects
    zones = old.get_model("accounts", "TimeZoneChoice").objects
    assert dict(languages.values_list("user_id", "language")) == {
        people["lang"].pk: "uk",
        people["both"].pk: "en",
    }
    assert dict(zones.values_list("user_id", "time_zone")) == {
        people["zone"].pk: "Europe/Kyiv",
        people["both"].pk: "Asia/Tbilisi",
    }
