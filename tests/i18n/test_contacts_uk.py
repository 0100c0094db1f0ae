"""Issue 15, "Languages": the contacts pages, imports and BSG's rules speak Ukrainian.

With Ukrainian active, what the contacts side says to a person comes out in Ukrainian: a
refused phone number, the rows an import rejects (in its report file, written by a task that
was given the page's language), a form's labels, counts in their three plural forms, BSG's
rules and the permission a refused page names.
"""

# Ukrainian text is what these tests check.
# ruff: noqa: RUF001, RUF003
import csv
import io
from datetime import UTC, datetime
from types import SimpleNamespace

import pytest
from django.contrib.auth import get_user_model
from django.core.files import File
from django.urls import reverse
from django.utils import translation

from accounts.services import account_settings_update
from bsg import rules
from contacts.forms import ContactForm, ContactListForm, LinkGroupForm
from contacts.importing import services
from contacts.models import ContactImport, ContactList, DoNotContact
from contacts.tasks import contact_import_analyse_task


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.CONTACTS_DEFAULT_REGION = "UA"


def test_a_phone_number_is_refused_in_ukrainian():
    with translation.override("uk"):
        form = ContactForm({"phone": "12345"}, contact_fields=[])
        assert not form.is_valid()
        assert form.errors["phone"] == [
            "На цей номер не можна надсилати: «12345» закороткий: 5 цифр, і це також не "
            "дійсний номер у регіоні UA."
        ]


def test_the_contact_forms_are_labelled_in_ukrainian():
    with translation.override("uk"):
        form = ContactForm(contact_fields=[])
        assert [form[name].label for name in ("phone", "name", "lists")] == [
            "Телефон",
            "Ім’я",
            "Списки",
        ]
        assert "З кодом країни" in form["phone"].help_text
        # A list has a name of another kind: «назва», not «ім’я».
        assert ContactListForm()["name"].label == "Назва"
    assert ContactForm(contact_fields=[])["phone"].label == "Phone"


def _analysed_import(tmp_path, *, language: str) -> ContactImport:
    path = tmp_path / "customers.csv"
    path.write_text(
        "phone,name\n"
        "380501234567,Olena\n"
        "380501234567,Olena again\n"
        "12345,Short\n"
        f"380671234567,{'x' * 201}\n"
        "380931234567,Ragged,cell\n"
    )
    contact_list = ContactList.objects.create(name="Customers")
    with open(path, "rb") as stream:
        contact_import = services.contact_import_create(
            upload=File(stream, name=path.name),
            original_name=path.name,
            list_id=contact_list.pk,
            enqueue=False,
        )
    services.contact_import_confirm_mapping(
        import_id=contact_import.pk, mapping=contact_import.mapping, enqueue=False
    )
    # The task the dry-run button queues, given the language of the page that queued it.
    contact_import_analyse_task(contact_import.pk, language)
    return ContactImport.objects.get(pk=contact_import.pk)


def _report(contact_import: ContactImport) -> list[list[str]]:
    with contact_import.rejected_file.open("rb") as stream:
        return list(csv.reader(io.StringIO(stream.read().decode("utf-8-sig"))))


@pytest.mark.django_db
def test_the_import_error_report_is_written_in_the_language_of_the_page(tmp_path):
    contact_import = _analysed_import(tmp_path, language="uk")

    assert contact_import.status == ContactImport.Status.READY
    report = _report(contact_import)
    # The columns keep their English names: scripts and a re-import read them.
    assert report[0] == ["phone", "name", "row", "reason"]
    assert {row[-2]: row[-1] for row in report[1:]} == {
        "3": "дублікат: той самий номер, що й у рядку 2",
        "4": "«12345» закороткий: 5 цифр, і це також не дійсний номер у регіоні UA",
        # Found by PostgreSQL in the staging table, in the words the task's language gave it.
        "5": "довжина імені — 201, а можна щонайбільше 200 символів",
        "6": "клітинок у рядку: 3, а стовпців у заголовку: 2; мабуть, якесь значення містить "
        "розділювач без лапок",
    }
    examples = contact_import.dry_run["invalid"]["examples"]
    assert examples[0]["detail"].startswith("«12345» закороткий")
    assert contact_import.get_status_display() == "Dry run done"
    with translation.override("uk"):
        assert contact_import.get_status_display() == "Пробний запуск завершено"


@pytest.mark.django_db
def test_an_import_started_from_an_english_page_reports_in_english(tmp_path):
    report = _report(_analysed_import(tmp_path, language="en"))

    assert (
        report[2][3] == "“12345” is too short: 5 digits, and it is not a valid number in UA either"
    )
    assert report[3][3] == "the name is 201 characters long; at most 200"


@pytest.mark.parametrize(
    ("count", "words"),
    [
        (1, "1 контакт"),
        (3, "3 контакти"),
        (5, "5 контактів"),
        (12, "12 контактів"),
        (21, "21 контакт"),
        (24, "24 контакти"),
    ],
)
def test_counts_take_the_ukrainian_plural_form_that_fits_the_number(count, words):
    group = SimpleNamespace(id=7, name="VIP", contacts_count=count)
    with translation.override("uk"):
        form = LinkGroupForm(groups=[group], claimed={})
        assert dict(form.fields["group_id"].choices)["7"] == f"VIP · id 7 · {words}"
    english = LinkGroupForm(groups=[group], claimed={})
    assert dict(english.fields["group_id"].choices)["7"] == f"VIP · id 7 · {count} contacts"


def test_bsg_rules_follow_the_language_of_the_page():
    with translation.override("uk"):
        assert rules.sender_warning("ab") == (
            "Відправник «ab» має лише 2 символи; опис API BSG вимагає щонайменше 3, тож BSG "
            "може його відхилити."
        )
    assert rules.sender_warning("a") == (
        "Sender 'a' is 1 character; BSG's API description asks for at least 3, so BSG may "
        "refuse it."
    )


@pytest.mark.django_db
def test_the_refusal_page_names_the_missing_permission_in_ukrainian(client):
    user = get_user_model().objects.create_user("newcomer", password="a long enough password")
    client.force_login(user)
    account_settings_update(user=user, language="uk")

    refused = client.get(reverse("contacts:list-index"))
    export_refused = client.get(reverse("contacts:contact-export"))

    assert refused.status_code == 403
    assert "Перегляд: список контактів" in refused.content.decode()
    assert "Експорт контактів, списків і списку «Не турбувати» у CSV" in (
        export_refused.content.decode()
    )
    account_settings_update(user=user, language="en")
    english = client.get(reverse("contacts:list-index")).content.decode()
    assert "it needs the permission “Can view contact list”" in english


# 08:00 UTC is 10:00 in Kyiv in December.
MOMENT = datetime(2027, 12, 10, 8, 0, tzinfo=UTC)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("language", "said", "not_said"),
    [
        ("en", "2027-12-10 10:00", ["Dec. 10, 2027", "10.12.2027"]),
        ("uk", "10.12.2027 10:00", ["10 грудня 2027", "2027-12-10"]),
    ],
)
def test_the_contacts_pages_say_moments_as_every_other_page_does(client, language, said, not_said):
    """The do-not-contact list, the imports and a list's last push: the reader's zone and the
    product's own format (audit.words.moment_words), not Django's DATETIME_FORMAT."""
    person = get_user_model().objects.create_superuser("olena", password="a-long-password-1")
    account_settings_update(user=person, language=language, time_zone="Europe/Kyiv")
    entry = DoNotContact.objects.create(phone="380501111111", created_by=person)
    DoNotContact.objects.create(phone="380502222222")  # added by no one (an import, say)
    imported = ContactImport.objects.create(original_name="customers.csv", created_by=person)
    spring = ContactList.objects.create(
        name="Spring", push_status=ContactList.PushStatus.DONE, push_done=3, push_finished_at=MOMENT
    )
    DoNotContact.objects.filter(pk__gte=entry.pk).update(created_at=MOMENT)
    ContactImport.objects.filter(pk=imported.pk).update(created_at=MOMENT)
    client.force_login(person)
    pages = {
        "do-not-contact": (reverse("contacts:dnc-index"), 2),
        "imports": (reverse("contacts:import-index"), 1),
        "list": (reverse("contacts:list-detail", args=[spring.pk]), 1),
    }
    for name, (url, moments) in pages.items():
        html = client.get(url).content.decode()
        assert html.count(said) == moments, name
        for other in not_said:
            assert other not in html, (name, other)
