"""Four views of a campaign's content must agree on which fields they cover.

The send plan's fingerprint (what sending would do), the audit diff (what an edit changed),
the approval snapshot (what a second person approves) and "Duplicate" (what a copy starts with)
each list fields of their own. A field added to Campaign and forgotten in one of them would let a
plan go stale unseen, an edit go unlogged, a change slip past the approver or a copy inherit
its original's history; so every field must be classified here, and each class is checked
against each view.
"""

from datetime import time

import pytest

from campaigns import selectors, services
from campaigns.models import CAMPAIGN_CONTENT_FIELDS, Campaign

# What the messages say and who gets them: changes what sending would do.
SENT_CONTENT = {
    "channel",
    "sms_mode",
    "text",
    "sender",
    "validity_hours",
    "tariff_code",
    "lists",
    "pasted_numbers",
    "rcs_mode",
    "rcs_agent",
    "rcs_cards",
    "rcs_check_stop_list",
    "fallback_enabled",
    "fallback_text",
    "fallback_sender",
    "fallback_validity_hours",
    "missing_values",
}
# When it goes: logged and approved, but the plan (audience, parts, price) stays the same.
TIMING = {
    "start_at",
    "start_time_zone",
    "bsg_schedules",
    "window_start",
    "window_end",
    "window_time_zone",
}
LABEL = {"name"}
# Kept by the app about the campaign, never edited as its content.
BOOKKEEPING = {
    "id",
    "status",
    "send_requested_at",
    "send_requested_by",
    "duplicated_from",
    "created_by",
    "created_at",
    "updated_at",
    "dispatched_at",
    "ledger_resolved_at",
    "dispatch_attempts",
    "dispatch_error",
    "dispatched_from",
    "dispatch_slices_left",
    "dispatch_next_seq",
    "stopped_at",
    "stopped_by",
    "retry_of",
    "failure_hold_overridden",
    "unit_price",
    "created_elsewhere",
    "schedule",
    "schedule_run_key",
    "approval_requested_at",
    "approval_requested_by",
    "approval_send_at",
    "approved_at",
    "approved_by",
    "approval_snapshot",
    "sent_back_reason",
    "content_authors",
    "audience_changed_at",
    "archived_at",
}
# The approval snapshot names timing by what the approver reads.
APPROVAL_KEY = {
    "start_at": "send_at",
    "start_time_zone": "send_at",
    "window_start": "window",
    "window_end": "window",
    "window_time_zone": "window",
}


def campaign_fields() -> set[str]:
    return {
        field.name
        for field in Campaign._meta.get_fields()
        if field.concrete or field.many_to_many
        if not (field.auto_created and not field.concrete)
    }


def test_every_campaign_field_is_classified_once() -> None:
    classes = [SENT_CONTENT, TIMING, LABEL, BOOKKEEPING]
    classified = set().union(*classes)
    assert sum(len(c) for c in classes) == len(classified), "a field is in two classes"
    unclassified = campaign_fields() - classified
    assert not unclassified, f"classify these new Campaign fields here: {sorted(unclassified)}"
    assert not classified - campaign_fields(), "fields classified here that Campaign lacks"


def test_a_duplicate_copies_content_timing_and_name_and_no_bookkeeping() -> None:
    assert set(CAMPAIGN_CONTENT_FIELDS) == SENT_CONTENT | TIMING | LABEL


@pytest.mark.django_db
def test_the_audit_diff_covers_content_timing_and_name() -> None:
    audited = set(services._campaign_audit_snapshot(_draft(), []))
    assert audited >= SENT_CONTENT | TIMING | LABEL
    assert not audited & BOOKKEEPING


def test_the_approval_snapshot_covers_content_timing_and_name() -> None:
    keys = set(selectors.campaign_approval_snapshot(campaign=Campaign()))
    wanted = {APPROVAL_KEY.get(name, name) for name in SENT_CONTENT | TIMING | LABEL}
    assert keys >= wanted
    assert keys <= set(selectors.APPROVAL_LABELS)


def _changed(name: str, value: object) -> object:
    if name == "lists":
        raise AssertionError("lists are given as list_ids")
    if isinstance(value, bool):
        return not value
    if isinstance(value, int):
        return value + 1
    if isinstance(value, list):
        return [*value, {"title": "another card"}]
    if value is None:
        return 7 if name.endswith("_hours") or name == "tariff_code" else "x"
    return f"{value}x"


def _draft() -> Campaign:
    return Campaign(
        name="Spring",
        channel="sms",
        sms_mode="individual",
        text="Hello",
        sender="Shop",
        pasted_numbers="380501112233",
        window_start=time(9),
        window_end=time(20),
    )


@pytest.mark.parametrize("name", sorted(SENT_CONTENT - {"lists"}))
def test_a_change_to_what_is_sent_makes_the_plan_stale(name: str) -> None:
    campaign = _draft()
    before = services.campaign_fingerprint(campaign=campaign, list_ids=[1])
    setattr(campaign, name, _changed(name, getattr(campaign, name)))
    assert services.campaign_fingerprint(campaign=campaign, list_ids=[1]) != before


def test_a_change_of_lists_makes_the_plan_stale() -> None:
    campaign = _draft()
    assert services.campaign_fingerprint(
        campaign=campaign, list_ids=[1]
    ) != services.campaign_fingerprint(campaign=campaign, list_ids=[1, 2])


@pytest.mark.parametrize("name", sorted(TIMING | LABEL))
def test_renaming_or_rescheduling_keeps_the_plan(name: str) -> None:
    campaign = _draft()
    before = services.campaign_fingerprint(campaign=campaign, list_ids=[1])
    value = getattr(campaign, name)
    setattr(campaign, name, time(10) if isinstance(value, time) else _changed(name, value))
    assert services.campaign_fingerprint(campaign=campaign, list_ids=[1]) == before
