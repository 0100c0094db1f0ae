"""The audit log itself: append-only (ORM and SQL), who and from where, input checks, and the
entries partial's query count."""

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db import DatabaseError, connection, transaction
from django.http import HttpResponse
from django.template.loader import render_to_string
from django.test import RequestFactory

from audit.middleware import AuditContextMiddleware, current_audit_context
from audit.models import AuditEntry, AuditLogIsAppendOnly
from audit.selectors import audit_entries_for, audit_entries_of_type
from audit.services import audit_diff, audit_record
from contacts.models import ContactList, DoNotContact

pytestmark = pytest.mark.django_db

postgres_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="the trigger is PostgreSQL's"
)


@pytest.fixture
def spring(db):
    return ContactList.objects.create(name="Spring")


def _in_request(request, fn):
    """Run fn inside AuditContextMiddleware as a view would."""
    result = {}

    def view(req):
        result["value"] = fn()
        return HttpResponse()

    AuditContextMiddleware(view)(request)
    return result["value"]


# --- append-only --------------------------------------------------------------------------------


def test_it_refuses_to_update_or_delete_an_entry_through_the_orm(spring):
    entry = audit_record(action="list-create", target=spring)
    entry.message = "rewritten"
    with pytest.raises(AuditLogIsAppendOnly):
        entry.save()
    with pytest.raises(AuditLogIsAppendOnly):
        entry.delete()
    with pytest.raises(AuditLogIsAppendOnly):
        AuditEntry.objects.filter(pk=entry.pk).update(message="rewritten")
    with pytest.raises(AuditLogIsAppendOnly):
        AuditEntry.objects.all().delete()
    assert AuditEntry.objects.get(pk=entry.pk).message == ""


@postgres_only
@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE audit_auditentry SET message = 'rewritten'",
        "UPDATE audit_auditentry SET actor_id = NULL, message = 'sneaky'",
        "DELETE FROM audit_auditentry",
    ],
)
def test_the_database_refuses_raw_updates_and_deletes(spring, user, sql):
    audit_record(action="list-create", target=spring, actor=user)
    with (
        pytest.raises(DatabaseError, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(sql)
    entry = AuditEntry.objects.get()
    assert (entry.message, entry.actor_id) == ("", user.pk)


@postgres_only
@pytest.mark.parametrize(
    "sql",
    [
        "TRUNCATE audit_auditentry",
        "TRUNCATE audit_auditentry RESTART IDENTITY CASCADE",
        # Reaching the log through a table it references.
        "TRUNCATE django_content_type CASCADE",
    ],
)
def test_the_database_refuses_truncate_from_the_apps_connection(spring, user, sql):
    audit_record(action="list-create", target=spring, actor=user)
    with connection.cursor() as cursor:
        # The insert's deferred foreign-key checks would refuse the TRUNCATE for another reason.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    with (
        pytest.raises(DatabaseError, match="append-only: TRUNCATE refused"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(sql)
    assert AuditEntry.objects.count() == 1


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_the_test_suites_flush_gets_through_and_leaves_the_guard_in_place(spring, user):
    """Django's flush (the one between transactional tests) empties the log, and the app's
    connection is refused TRUNCATE again right after it: the lift lasted one transaction."""
    audit_record(action="list-create", target=spring, actor=user)
    call_command("flush", interactive=False, verbosity=0)
    assert not AuditEntry.objects.exists()
    with connection.cursor() as cursor:
        cursor.execute("SHOW session_replication_role")
        assert cursor.fetchone()[0] == "origin"
    with (
        pytest.raises(DatabaseError, match="append-only: TRUNCATE refused"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute("TRUNCATE audit_auditentry")


def test_deleting_a_user_keeps_their_entries_under_their_name(spring, user):
    audit_record(action="list-create", target=spring, actor=user)
    user.delete()  # ON DELETE SET NULL: the one write the trigger allows
    entry = AuditEntry.objects.get()
    assert entry.actor_id is None
    assert entry.actor_display == "marketer"


# --- who and from where ---------------------------------------------------------------------------


def test_actor_and_address_come_from_the_request(spring, user):
    request = RequestFactory().post("/", REMOTE_ADDR="203.0.113.7")
    request.user = user
    entry = _in_request(request, lambda: audit_record(action="list-archive", target=spring))
    assert (entry.actor, entry.actor_name, entry.remote_addr) == (user, "marketer", "203.0.113.7")
    assert current_audit_context() is None  # nothing leaks past the request


def test_an_explicit_actor_wins_but_the_address_is_still_the_requests(spring, user):
    other = get_user_model().objects.create_user("approver")
    request = RequestFactory().post("/", REMOTE_ADDR="203.0.113.7")
    request.user = user
    entry = _in_request(
        request, lambda: audit_record(action="list-archive", target=spring, actor=other)
    )
    assert (entry.actor, entry.remote_addr) == (other, "203.0.113.7")


def test_outside_a_request_the_actor_is_the_system(spring):
    entry = audit_record(action="list-push-start", target=spring)
    assert (entry.actor, entry.actor_name, entry.remote_addr) == (None, "", None)
    assert entry.actor_display == "system"


def test_an_anonymous_request_is_recorded_without_an_actor(spring):
    from django.contrib.auth.models import AnonymousUser

    request = RequestFactory().post("/", REMOTE_ADDR="198.51.100.1")
    request.user = AnonymousUser()
    entry = _in_request(
        request, lambda: audit_record(action="x", target=spring, actor=AnonymousUser())
    )
    assert (entry.actor, entry.remote_addr) == (None, "198.51.100.1")


def test_x_forwarded_for_is_ignored_without_trusted_proxies(spring, user, settings):
    settings.TRUSTED_PROXY_COUNT = 0
    request = RequestFactory().post("/", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="203.0.113.9")
    request.user = user
    entry = _in_request(request, lambda: audit_record(action="x", target=spring))
    assert entry.remote_addr == "10.0.0.2"


@pytest.mark.parametrize(
    ("proxies", "forwarded", "expected"),
    [
        # One proxy: the entry it appended, not what the client wrote before it.
        (1, "6.6.6.6, 203.0.113.9", "203.0.113.9"),
        (2, "6.6.6.6, 203.0.113.9, 10.0.0.1", "203.0.113.9"),
        # Fewer entries than proxies: the leftmost there is.
        (3, "203.0.113.9, 10.0.0.1", "203.0.113.9"),
        # Garbage in the header: no address rather than a made-up one.
        (1, "not-an-address", None),
        (1, "", "10.0.0.2"),
    ],
)
def test_x_forwarded_for_is_read_through_the_trusted_proxies(
    spring, user, settings, proxies, forwarded, expected
):
    settings.TRUSTED_PROXY_COUNT = proxies
    request = RequestFactory().post("/", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR=forwarded)
    request.user = user
    entry = _in_request(request, lambda: audit_record(action="x", target=spring))
    assert entry.remote_addr == expected


def test_a_logged_in_page_records_who_and_where(client, superuser):
    client.force_login(superuser)
    response = client.post(
        "/contacts/do-not-contact/",
        {"phone": "+380 50 123 4567", "reason": "asked"},
        REMOTE_ADDR="192.0.2.44",
    )
    assert response.status_code == 302
    entry = AuditEntry.objects.get()
    assert (entry.action, entry.actor, entry.remote_addr) == (
        "do-not-contact-add",
        superuser,
        "192.0.2.44",
    )
    assert entry.target_repr.startswith("+380501234567")


# --- input -------------------------------------------------------------------------------------


@pytest.mark.parametrize("action", ["", "List Create", "a" * 65, "list_create!"])
def test_it_refuses_an_action_that_is_not_a_short_slug(spring, action):
    with pytest.raises(ValueError, match="slug"):
        audit_record(action=action, target=spring)


def test_it_refuses_an_unsaved_target():
    with pytest.raises(ValueError, match="saved model instance"):
        audit_record(action="list-create", target=ContactList(name="Unsaved"))


def test_it_refuses_changes_that_are_not_old_new_pairs(spring):
    with pytest.raises(ValueError, match=r"\[old, new\].*'name'"):
        audit_record(action="list-update", target=spring, changes={"name": "Spring"})


def test_values_are_stored_as_json_friendly_text(spring):
    import datetime
    from decimal import Decimal

    when = datetime.datetime(2026, 1, 2, 3, 4, tzinfo=datetime.UTC)
    entry = audit_record(
        action="x",
        target=spring,
        changes={"start_at": [None, when], "price": [Decimal("1.50"), None], "list": [spring, 1]},
    )
    entry.refresh_from_db()
    assert entry.changes == {
        "start_at": [None, "2026-01-02T03:04:00+00:00"],
        "price": ["1.50", None],
        "list": ["Spring", 1],
    }


def test_audit_diff_keeps_only_what_changed():
    assert audit_diff({"a": 1, "b": "x", "c": None}, {"a": 1, "b": "y", "d": 2}) == {
        "b": ["x", "y"],
        "d": [None, 2],
    }


# --- reading and showing ------------------------------------------------------------------------


def test_entries_of_one_object_come_newest_first_and_stop_at_the_limit(spring):
    other = ContactList.objects.create(name="Other")
    for n in range(5):
        audit_record(action="list-update", target=spring, message=str(n))
    audit_record(action="list-update", target=other)
    entries = audit_entries_for(target=spring, limit=3)
    assert [e.message for e in entries] == ["4", "3", "2"]


def test_entries_of_a_type_include_the_extra_actions(spring):
    entry = DoNotContact.objects.create(phone="380501234567")
    audit_record(action="do-not-contact-add", target=entry)
    audit_record(action="do-not-contact-import", target=spring, message="import")
    audit_record(action="list-update", target=spring)
    found = audit_entries_of_type(model=DoNotContact, also_actions=["do-not-contact-import"])
    assert [e.action for e in found] == ["do-not-contact-import", "do-not-contact-add"]


def _render(entries, **extra):
    return render_to_string("audit/_entries.html", {"entries": entries, **extra})


def test_the_partial_shows_who_when_where_what(spring, user):
    audit_record(
        action="list-update", target=spring, actor=user, changes={"name": ["Sprng", "Spring"]}
    )
    audit_record(action="list-push-start", target=spring, message="Pushed.")
    html = _render(audit_entries_for(target=spring))
    assert "marketer" in html and "system" in html
    assert "list-update" in html and "Sprng" in html and "Spring" in html and "Pushed." in html


def test_the_partial_has_an_empty_state(spring):
    assert "Nothing recorded yet." in _render(audit_entries_for(target=spring))


def test_the_partial_costs_the_same_queries_for_1_or_40_entries(
    spring, user, django_assert_num_queries
):
    other = ContactList.objects.create(name="Other")
    audit_record(action="list-update", target=other, actor=user)
    audit_entries_for(target=other)  # warms the content type cache, as any earlier page would
    with django_assert_num_queries(1):
        _render(audit_entries_for(target=other))
    for n in range(40):
        audit_record(action="list-update", target=spring, actor=user, changes={"n": [n, n + 1]})
    with django_assert_num_queries(1):
        html = _render(audit_entries_for(target=spring))
    assert html.count("<tr>") == 41  # header + 40
