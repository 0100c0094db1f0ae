"""An RCS part's SMS fallback counts are kept beside its RCS counts, apart from them."""

from types import SimpleNamespace

from campaigns.engine.poll import breakdown_with_fallback


def test_fallback_counts_are_kept_under_their_own_prefix():
    detail = SimpleNamespace(
        statistics={"delivered": 4, "not_rcs_user": 3},
        fallback_statistics={"delivered": 2, "sent": 1},
    )
    assert breakdown_with_fallback(detail) == {
        "delivered": 4,
        "not_rcs_user": 3,
        "fallback_sms_delivered": 2,
        "fallback_sms_sent": 1,
    }


def test_an_sms_part_has_no_fallback_counts():
    detail = SimpleNamespace(statistics={"delivered": 4}, fallback_statistics=None)
    assert breakdown_with_fallback(detail) == {"delivered": 4}
