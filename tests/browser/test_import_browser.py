"""A person imports a CSV in Chromium: upload, map columns, dry run, import, rejected rows.

The tasks run in a real Celery worker (a thread of this process, on the test Redis broker), so
the page's progress panel polls exactly as it does in production (`celery_worker` in
conftest.py).
"""

import pytest
from django.contrib.auth import get_user_model
from playwright.sync_api import Page, expect

from contacts.models import Contact, ContactImport, ContactList

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CSV = (
    "Mobile,Full name,City\n"
    "+380 50 123 4567,Olena,Kyiv\n"
    "380671234567,Taras,Lviv\n"
    "380671234567,Taras again,Lviv\n"
    "12345,Too short,Odesa\n"
)


def test_a_marketer_imports_a_csv_and_downloads_the_rejected_rows(
    page: Page, live_server, celery_worker, tmp_path
):
    get_user_model().objects.create_user(
        # Every page needs a permission (config/access.py): this one may do everything.
        "marketer",
        password="a-long-test-password",
        is_superuser=True,
    )
    ContactList.objects.create(name="Spring customers")
    upload = tmp_path / "spring.csv"
    upload.write_text(CSV, encoding="utf-8")

    page.goto(live_server.url + "/contacts/imports/new/")
    page.get_by_label("User name").fill("marketer")
    page.get_by_label("Password").fill("a-long-test-password")
    page.get_by_role("button", name="Log in").click()

    page.get_by_label("CSV or XLSX file").set_input_files(str(upload))
    page.get_by_label("Contact list", exact=True).select_option(label="Spring customers")
    page.get_by_role("button", name="Upload and map columns").click()

    # The mapping page guessed the phone column; the user maps the rest by hand.
    expect(page.get_by_label("Mobile")).to_have_value("phone")
    page.get_by_label("Full name").select_option("name")
    page.get_by_label("City").select_option(label="New field: city")
    page.get_by_role("button", name="Dry run").click()

    dry_run = page.locator("#dry-run")
    expect(dry_run).to_be_visible(timeout=20_000)  # the panel polled until the worker finished
    expect(dry_run.get_by_role("row", name="New")).to_contain_text("2")
    expect(dry_run.get_by_role("row", name="Duplicate within the file")).to_contain_text("row 4")
    expect(dry_run.get_by_role("row", name="Invalid")).to_contain_text("too short")
    assert Contact.objects.count() == 0

    page.get_by_role("button", name="Import", exact=True).click()
    expect(page.locator("#import-progress")).to_have_attribute("value", "100", timeout=20_000)
    expect(page.locator("#import-percent")).to_have_text("100%")
    report = page.locator("#import-report")
    expect(report).to_contain_text("Created")
    assert ContactImport.objects.get().rows_created == 2
    assert sorted(Contact.objects.values_list("name", flat=True)) == ["Olena", "Taras"]

    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download the rejected rows (CSV)").click()
    download = download_info.value
    assert download.suggested_filename == "spring-rejected.csv"
    rejected = download.path().read_text(encoding="utf-8-sig").splitlines()
    assert rejected[0] == "Mobile,Full name,City,row,reason"
    assert rejected[1] == "380671234567,Taras again,Lviv,4,duplicate: same number as row 3"
    assert rejected[2].startswith("12345,Too short,Odesa,5,")
