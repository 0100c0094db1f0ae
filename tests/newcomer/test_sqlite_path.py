"""The path a newcomer takes after `make run`, on the embedded SQLite `make run` uses.

Every other test runs on PostgreSQL, where the import engine and the ledger take their fast
paths (COPY, UNLOGGED staging, jsonb, a second connection for progress). Their SQLite halves are
what `make run` meets first, so `make test` runs this module a second time on SQLite
(`pytest -m sqlite` with a SQLite DATABASE_URL): import a CSV, plan, send, dispatch, submit,
poll to the end, stop, update contacts from a file and delete a field, through the pages and
the Celery tasks' own functions, against the sandbox.

Tasks are called in this process with the ids the pages queued: the queueing itself is
checked (one callback after commit), the worker's side is the task function.

Each test also checks, from the SQL it saw, that the SQLite half of each vendor branch ran
(SQLITE_ONLY_SQL) and that no PostgreSQL-only statement was attempted (POSTGRES_ONLY_SQL).
"""

import time

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from campaigns import tasks
from campaigns.models import Campaign, CampaignPart, DispatchSlice, Recipient
from contacts import tasks as contact_tasks
from contacts.models import Contact, ContactField, ContactImport, DoNotContact, ListMembership

pytestmark = [
    pytest.mark.sqlite,
    pytest.mark.django_db,
    pytest.mark.skipif(
        connection.vendor != "sqlite",
        reason="the SQLite path: `make test` runs it again with a SQLite DATABASE_URL",
    ),
]

# Enough to cross every batch on the way: the import's shaping batch (10,000 rows), the
# ledger's SQLite batch (5,000, campaigns' LEDGER_BATCH) and BSG's 10,000 recipients per part.
AUDIENCE = 12_000
CITIES = ("Kyiv", "Lviv", "Odesa")
# Each SQLite half of a `connection.vendor` branch, by a fragment of the SQL only it sends.
SQLITE_ONLY_SQL = {
    "import staging table, fields as JSON text (contacts.importing.engine._fields_expression)": (
        "json_patch('{}', json_object("
    ),
    "import staging by executemany (_write_chunk)": "times: INSERT INTO contacts_import_stage_",
    "import update mode merges fields (_merged_fields)": "json_patch(c.fields, s.fields)",
    "import update mode compares fields (_contact_changes)": "json_extract(c.fields, '$.city')",
    "opt-out import stages no fields (_fields_expression)": "THEN '{}' END",
    "field delete (contacts.services.contact_field_delete)": "json_remove(fields,",
    "ledger rows by bulk_create (campaigns' _LedgerWriter)": 'INSERT INTO "campaigns_recipient"',
    "contacts page counts (contacts.selectors.contacts_total_estimate)": (
        'SELECT COUNT(*) AS "__count" FROM "contacts_contact"'
    ),
}
# What only the PostgreSQL halves send; none of it may reach SQLite.
POSTGRES_ONLY_SQL = (
    "COPY ",
    "UNLOGGED",
    "JSONB",
    "SET LOCAL",
    "ANALYZE",
    "LOCK TABLE",
    "WITH new AS",
    "pg_class",
    "row_to_json",
)


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def client(client, django_user_model):
    # Every page needs a permission (config/access.py): this one may do everything.
    marketer = django_user_model.objects.create_user(
        "newcomer", password="x" * 20, is_superuser=True
    )
    client.force_login(marketer)
    return client


@pytest.fixture
def sql():
    """Every statement this test sends on the default connection."""
    with CaptureQueriesContext(connection) as captured:
        yield captured


def phone(i: int) -> str:
    return f"38050{7_000_000 + i}"


def contacts_csv(count: int, *, city_of=lambda i: CITIES[i % len(CITIES)]) -> str:
    lines = ["phone,name,city"]
    lines += [f"{phone(i)},Person {i},{city_of(i)}" for i in range(count)]
    return "\n".join(lines) + "\n"


def run_import(client, django_capture_on_commit_callbacks, content: str, **upload) -> ContactImport:
    """Upload, map, dry run, start, apply: the import pages, and the three tasks they queue."""
    upload.setdefault("target", "contacts")
    upload.setdefault("on_existing", "skip")
    upload["file"] = SimpleUploadedFile("people.csv", content.encode())
    with django_capture_on_commit_callbacks() as queued:
        response = client.post(reverse("contacts:import-upload"), upload)
    assert response.status_code == 302, response.content.decode()[:2000]
    assert len(queued) == 1  # reading the file, for a worker
    contact_import = ContactImport.objects.order_by("-pk").first()
    contact_tasks.contact_import_inspect_task(contact_import.pk)
    contact_import.refresh_from_db()
    mapping = {
        f"column_{i}": target
        for i, target in enumerate(_mapping_for(contact_import.headers, upload["target"]))
    }
    with django_capture_on_commit_callbacks() as queued:
        response = client.post(
            reverse("contacts:import-mapping", args=[contact_import.pk]), mapping
        )
    assert response.status_code == 302, response.content.decode()[:2000]
    assert len(queued) == 1  # the dry run, for a worker
    contact_tasks.contact_import_analyse_task(contact_import.pk)
    contact_import.refresh_from_db()
    assert contact_import.status == ContactImport.Status.READY, contact_import.error
    detail = client.get(reverse("contacts:import-detail", args=[contact_import.pk]))
    assert f"Dry run of {contact_import.rows_total:,} rows" in detail.content.decode()

    with django_capture_on_commit_callbacks() as queued:
        client.post(reverse("contacts:import-start", args=[contact_import.pk]))
    assert len(queued) == 1  # the import itself
    contact_tasks.contact_import_apply_task(contact_import.pk)
    contact_import.refresh_from_db()
    assert contact_import.status == ContactImport.Status.DONE, contact_import.error
    return contact_import


def _mapping_for(headers: list[str], target: str) -> list[str]:
    known = set(ContactField.objects.values_list("key", flat=True))
    choices = {"phone": "phone", "name": "name", "reason": "reason"}
    return [
        choices.get(header)
        or (f"field:{header}" if header in known else "")
        or ("" if target == "do_not_contact" else f"new:{header}")
        for header in headers
    ]


def sms_form(**fields) -> dict:
    """The SMS composer's fields, as the page posts them."""
    return {
        "name": "Spring in the city",
        "sms_mode": "individual",
        "text": "Hi from {city}! 20% off today",
        "sender": "Shop",
        "validity_hours": "72",
        "tariff_code": "0",
        "start": "now",
        "start_at": "",
        "start_time_zone": "Europe/Kyiv",
        "pasted_numbers": "",
        **fields,
    }


def send_planned(client, campaign: Campaign, form: dict) -> Campaign:
    """The composer's Send, once the plan is done."""
    plan = campaign.send_plans.order_by("-pk").first()
    assert plan is not None and plan.status == plan.Status.DONE
    response = client.post(
        reverse("campaigns:edit", args=[campaign.pk]), {**form, "action": "send"}
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    campaign.refresh_from_db()
    assert campaign.status == Campaign.Status.READY
    return campaign


def dispatch(campaign: Campaign, django_capture_on_commit_callbacks) -> list[int]:
    """The dispatch task, then the part ids it queues for submitting once it commits. Above
    one part's worth it also queues a task for each further slice of the audience; with no
    other worker here it writes them all itself, and those tasks find nothing left to do."""
    with django_capture_on_commit_callbacks() as queued:
        tasks.campaign_dispatch(campaign.pk)
    slices = DispatchSlice.objects.filter(campaign=campaign)
    assert len(queued) == (2 if slices.count() > 1 else 1)
    assert set(slices.values_list("state", flat=True)) == {DispatchSlice.State.WRITTEN}
    return list(
        CampaignPart.objects.filter(campaign=campaign)
        .order_by("number")
        .values_list("pk", flat=True)
    )


def poll_until_finished(campaign: Campaign, *, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while Campaign.objects.get(pk=campaign.pk).status == Campaign.Status.SENDING:
        assert time.monotonic() < deadline, "the campaign never finished"
        tasks.engine_poll()
        time.sleep(0.1)


def assert_sqlite_halves_ran(sql: CaptureQueriesContext, *branches: str) -> None:
    statements = [query["sql"] for query in sql.captured_queries]
    assert len(statements) < connection.queries_limit, "the query log overflowed: test less"
    for branch in branches:
        fragment = SQLITE_ONLY_SQL[branch]
        assert any(fragment in s for s in statements), f"not run on SQLite: {branch}"
    for fragment in POSTGRES_ONLY_SQL:
        found = next((s for s in statements if fragment in s), None)
        assert found is None, f"PostgreSQL-only SQL sent to SQLite: {found[:300]}"


def test_the_database_is_the_one_make_run_configures(db):
    """config/settings.py's SQLite options, on the file the test database lives in."""
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA journal_mode")
        assert cursor.fetchone()[0] == "wal"  # readers never wait for the writer
        cursor.execute("PRAGMA busy_timeout")
        assert cursor.fetchone()[0] == 20_000  # writers wait for each other, not fail at once
    assert connection.settings_dict["OPTIONS"]["transaction_mode"] == "IMMEDIATE"


def test_import_plan_send_poll_to_the_end_then_stop_a_copy(
    client, bsg_settings, sandbox, django_capture_on_commit_callbacks, monkeypatch, sql
):
    # Commit the staging in chunks, as a big file does, without a 50,000-row file.
    monkeypatch.setattr("contacts.importing.engine.STAGE_CHUNK", 5_000)
    bsg_settings.CAMPAIGNS_FOUR_EYES = False  # the superuser's Send goes straight out
    bsg_settings.CAMPAIGN_PARTS_CACHE_SECONDS = 30  # the panel cache asks for its version

    # 1. Contacts from a file, with two repeated numbers and one that is no number.
    content = contacts_csv(AUDIENCE) + f"{phone(0)},Again,Kyiv\n{phone(1)},Again,Lviv\n12345,X,Y\n"
    imported = run_import(
        client, django_capture_on_commit_callbacks, content, new_list_name="Newcomers"
    )
    assert (imported.rows_created, imported.rows_duplicate, imported.rows_invalid) == (
        AUDIENCE,
        2,
        1,
    )
    newcomers = imported.contact_list
    assert ListMembership.objects.filter(contact_list=newcomers).count() == AUDIENCE
    assert Contact.objects.get(phone=phone(4)).fields == {"city": "Lviv"}
    page = client.get(reverse("contacts:contact-index")).content.decode()
    # Few contacts are counted, not estimated (contacts_total_estimate).
    assert f'id="contacts-total">{AUDIENCE:,} contacts.' in page

    # 2. Three of them opt out, from a file of numbers only.
    opt_outs = "phone\n" + "".join(f"{phone(i)}\n" for i in (3, 4, 5))
    run_import(
        client, django_capture_on_commit_callbacks, opt_outs, target="do_not_contact", reason="STOP"
    )
    assert DoNotContact.objects.count() == 3

    # 3. Plan and send to the list; dispatch, submit and poll until BSG has finished.
    form = sms_form(lists=[newcomers.pk])
    # Small audiences are planned in the request (SEND_PLAN_INLINE_MAX).
    response = client.post(reverse("campaigns:new", args=["sms"]), {**form, "action": "plan"})
    assert response.status_code == 302
    campaign = send_planned(client, Campaign.objects.get(), form)
    part_ids = dispatch(campaign, django_capture_on_commit_callbacks)
    recipients = AUDIENCE - 3
    assert Recipient.objects.filter(campaign=campaign).count() == recipients
    assert [p.recipients for p in CampaignPart.objects.filter(campaign=campaign)] == [
        10_000,
        recipients - 10_000,
    ]
    assert (
        Recipient.objects.get(campaign=campaign, phone=phone(7)).text
        == "Hi from Lviv! 20% off today"
    )
    for part_id in part_ids:
        tasks.part_submit(part_id)
    assert len(sandbox.state.campaigns) == 2
    poll_until_finished(campaign, seconds=30)
    parts = CampaignPart.objects.filter(campaign=campaign)
    assert {(p.state, p.bsg_status) for p in parts} == {(CampaignPart.State.SUBMITTED, "done")}
    assert not Recipient.objects.filter(campaign=campaign, status="").exists()
    detail = client.get(reverse("campaigns:detail", args=[campaign.pk]))
    assert detail.status_code == 200
    panel = client.get(
        reverse("campaigns:parts", args=[campaign.pk]), headers={"HX-Request": "true"}
    )
    assert panel.status_code == 200

    # 4. A copy goes out while BSG holds its first part in creation: Stop stops that part at
    # BSG and cancels the second, never submitted.
    client.post(reverse("campaigns:duplicate", args=[campaign.pk]))
    copy = Campaign.objects.get(duplicated_from=campaign)
    client.post(reverse("campaigns:plan", args=[copy.pk]))
    copy = send_planned(client, copy, sms_form(name=copy.name, lists=[newcomers.pk]))
    sandbox.state.clock.freeze()
    first, second = dispatch(copy, django_capture_on_commit_callbacks)
    tasks.part_submit(first)
    response = client.post(reverse("campaigns:stop", args=[copy.pk]))
    assert response.status_code == 302
    copy.refresh_from_db()
    assert copy.status == Campaign.Status.STOPPED
    states = dict(CampaignPart.objects.filter(campaign=copy).values_list("pk", "state"))
    assert states == {first: CampaignPart.State.SUBMITTED, second: CampaignPart.State.CANCELLED}
    stops = [r for r in sandbox.state.requests if r["path"].endswith("/stop")]
    assert len(stops) == 1
    assert CampaignPart.objects.get(pk=first).stop_answer

    assert_sqlite_halves_ran(
        sql,
        "import staging table, fields as JSON text (contacts.importing.engine._fields_expression)",
        "import staging by executemany (_write_chunk)",
        "opt-out import stages no fields (_fields_expression)",
        "ledger rows by bulk_create (campaigns' _LedgerWriter)",
        "contacts page counts (contacts.selectors.contacts_total_estimate)",
    )


def test_update_contacts_from_a_file_then_delete_a_field(
    client, django_capture_on_commit_callbacks, sql
):
    with_shop = "phone,name,city,shop\n" + "".join(
        f"{phone(i)},Person {i},{CITIES[i % 3]},Shop {i % 2}\n" for i in range(300)
    )
    first = run_import(client, django_capture_on_commit_callbacks, with_shop, new_list_name="Fair")
    assert first.rows_created == 300
    # The same people again without their shop, a third of them moved: "update" takes the new
    # city and keeps the shop (empty or missing cells never erase anything).
    moved = contacts_csv(300, city_of=lambda i: "Dnipro" if i % 3 == 0 else CITIES[i % 3])
    again = run_import(
        client,
        django_capture_on_commit_callbacks,
        moved,
        contact_list=first.contact_list.pk,
        on_existing="update",
    )
    assert (again.rows_created, again.rows_updated, again.rows_unchanged) == (0, 100, 200)
    assert Contact.objects.get(phone=phone(3)).fields == {"city": "Dnipro", "shop": "Shop 1"}
    assert Contact.objects.get(phone=phone(4)).fields == {"city": "Lviv", "shop": "Shop 0"}

    city = ContactField.objects.get(key="city")
    response = client.post(reverse("contacts:field-delete", args=[city.pk]))
    assert response.status_code == 302
    assert not Contact.objects.filter(fields__has_key="city").exists()
    assert Contact.objects.filter(fields__has_key="shop").count() == 300

    assert_sqlite_halves_ran(
        sql,
        "import update mode merges fields (_merged_fields)",
        "import update mode compares fields (_contact_changes)",
        "field delete (contacts.services.contact_field_delete)",
    )
