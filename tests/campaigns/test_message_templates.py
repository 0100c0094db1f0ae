"""Saved message templates through the pages: an author keeps the library (create, change,
delete, each audited), anyone starts a campaign from one, a viewer only reads, and a
placeholder naming no field is refused beside the field that has it."""

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

from audit.models import AuditEntry
from campaigns.models import Campaign, MessageTemplate, SavedSender
from contacts.models import ContactField
from tests.access.conftest import groups, make_person  # noqa: F401 - the fixture

pytestmark = pytest.mark.django_db

TEMPLATES = reverse("campaigns:templates")
NEW = reverse("campaigns:template-new")


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def first_name(db):
    return ContactField.objects.create(key="first_name", label="First name")


@pytest.fixture
def author(groups):  # noqa: F811 - the fixture imported above
    return make_person("author", groups, name="olena")


@pytest.fixture
def viewer(groups):  # noqa: F811
    return make_person("viewer", groups, name="vera")


def form_data(**overrides) -> dict:
    data = {
        "name": "Spring welcome",
        "channel": "sms",
        "text": "Hi {first_name|there}, spring sale today",
        "fallback_text": "",
        "card-TOTAL_FORMS": "1",
        "card-INITIAL_FORMS": "0",
        "card-MIN_NUM_FORMS": "0",
        "card-MAX_NUM_FORMS": "10",
    }
    data.update(overrides)
    return data


def field_block(body: str, field_id: str) -> str:
    """The composer-style block of one field: label, input, help and errors."""
    start = body.index(f'id="field-{field_id}"')
    return body[start : body.index("</div>", start)]


def said(response) -> str:
    return " ".join(str(m) for m in get_messages(response.wsgi_request))


def audit_actions(template_id: int) -> list[str]:
    return list(
        AuditEntry.objects.filter(
            target_content_type__model="messagetemplate", target_object_id=str(template_id)
        )
        .order_by("id")
        .values_list("action", flat=True)
    )


def test_an_author_saves_an_sms_template_and_the_log_says_who(client, author, first_name):
    client.force_login(author)
    response = client.post(NEW, form_data())
    assert response.status_code == 302 and response["Location"] == TEMPLATES
    template = MessageTemplate.objects.get()
    assert (template.text, template.created_by) == (
        "Hi {first_name|there}, spring sale today",
        author,
    )
    entry = AuditEntry.objects.get(action="message-template-create")
    assert entry.actor == author and entry.changes["text"][1] == template.text
    page = client.get(TEMPLATES).content.decode()
    assert "Spring welcome" in page and "New campaign from this template" in page


def test_a_placeholder_naming_no_field_is_refused_beside_the_text(client, author, first_name):
    client.force_login(author)
    response = client.post(NEW, form_data(text="Hi {frist_name}, spring sale"))
    assert response.status_code == 200
    block = field_block(response.content.decode(), "text")
    assert "{frist_name} names no contact field" in block and "{first_name}" in block
    # Nothing typed is lost, nothing is saved.
    assert "Hi {frist_name}, spring sale" in block
    assert not MessageTemplate.objects.exists() and not AuditEntry.objects.exists()


def test_an_empty_sms_text_and_a_taken_name_are_refused_beside_their_fields(
    client, author, first_name
):
    client.force_login(author)
    empty = client.post(NEW, form_data(text="  "))
    assert "Write the text of the SMS." in field_block(empty.content.decode(), "text")
    MessageTemplate.objects.create(name="Spring welcome", text="Hi")
    taken = client.post(NEW, form_data())
    assert taken.status_code == 200
    assert "already exists" in field_block(taken.content.decode(), "name")
    assert MessageTemplate.objects.count() == 1


def test_an_rcs_template_keeps_its_cards_and_fallback_and_checks_their_placeholders(
    client, author, first_name
):
    client.force_login(author)
    bad = client.post(
        NEW,
        form_data(
            channel="rcs",
            text="",
            fallback_text="Spring sale, {first_name}",
            **{"card-0-title": "Spring", "card-0-text": "Hello {nmae}"},
        ),
    )
    assert bad.status_code == 200
    body = bad.content.decode()
    assert "{nmae} names no contact field. Did you mean {name}?" in field_block(body, "card-0-text")
    assert not MessageTemplate.objects.exists()

    good = client.post(
        NEW,
        form_data(
            name="Spring card",
            channel="rcs",
            fallback_text="Spring sale, {first_name|friend}",
            **{"card-0-title": "Spring", "card-0-text": "Hello {name|there}"},
        ),
    )
    assert good.status_code == 302
    template = MessageTemplate.objects.get()
    assert template.rcs_cards == [{"title": "Spring", "text": "Hello {name|there}"}]
    assert (template.fallback_text, template.text) == ("Spring sale, {first_name|friend}", "")


def test_editing_a_template_is_logged_with_what_changed(client, author, first_name):
    client.force_login(author)
    client.post(NEW, form_data())
    template = MessageTemplate.objects.get()
    edit = reverse("campaigns:template-edit", args=[template.pk])
    assert "Hi {first_name|there}" in client.get(edit).content.decode()
    response = client.post(edit, form_data(text="Hello {first_name}, new spring prices"))
    assert response.status_code == 302 and "changed" in said(response)
    template.refresh_from_db()
    assert template.text == "Hello {first_name}, new spring prices"
    entry = AuditEntry.objects.get(action="message-template-update")
    assert entry.changes == {"text": ["Hi {first_name|there}, spring sale today", template.text]}
    # Saving it again unchanged writes nothing more to the log.
    client.post(edit, form_data(text=template.text))
    assert audit_actions(template.pk) == ["message-template-create", "message-template-update"]


def test_a_new_campaign_starts_from_a_template_with_its_words(client, author, first_name):
    SavedSender.objects.create(name="Shop", sender="Shop", is_default=True)
    template = MessageTemplate.objects.create(name="Spring welcome", text="Hi {first_name|there}")
    client.force_login(author)
    response = client.post(reverse("campaigns:template-use", args=[template.pk]))
    draft = Campaign.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("campaigns:edit", args=[draft.pk])
    assert (draft.status, draft.channel, draft.text, draft.sender, draft.created_by) == (
        Campaign.Status.DRAFT,
        Campaign.Channel.SMS,
        "Hi {first_name|there}",
        "Shop",
        author,
    )
    entry = AuditEntry.objects.get(action="campaign-create")
    assert f"message template “Spring welcome” (#{template.pk})" in entry.message
    # The composer opens on it, with the template's text to carry on from.
    composer = client.get(response["Location"]).content.decode()
    assert "Hi {first_name|there}" in composer
    # The draft is its own: changing the template later leaves it as it was.
    template.text = "Changed"
    template.save()
    draft.refresh_from_db()
    assert draft.text == "Hi {first_name|there}"


def test_an_rcs_template_starts_an_rcs_draft_with_its_fallback_on(client, author, first_name):
    template = MessageTemplate.objects.create(
        name="Card",
        channel="rcs",
        rcs_cards=[{"title": "Spring", "text": "Hello"}],
        fallback_text="Spring sale",
    )
    client.force_login(author)
    client.post(reverse("campaigns:template-use", args=[template.pk]))
    draft = Campaign.objects.get()
    assert (draft.channel, draft.rcs_mode, draft.rcs_cards) == (
        "rcs",
        Campaign.RcsMode.LISTS,
        [{"title": "Spring", "text": "Hello"}],
    )
    assert draft.fallback_enabled and draft.fallback_text == "Spring sale"


def test_deleting_a_template_is_logged_and_leaves_its_campaigns(client, author, first_name):
    client.force_login(author)
    client.post(NEW, form_data())
    template = MessageTemplate.objects.get()
    client.post(reverse("campaigns:template-use", args=[template.pk]))
    response = client.post(reverse("campaigns:template-delete", args=[template.pk]))
    assert response.status_code == 302 and "deleted" in said(response)
    assert not MessageTemplate.objects.exists() and Campaign.objects.count() == 1
    assert audit_actions(template.pk) == ["message-template-create", "message-template-delete"]
    entry = AuditEntry.objects.get(action="message-template-delete")
    assert entry.actor == author and "Spring welcome" in entry.message
    missing = client.post(reverse("campaigns:template-delete", args=[template.pk]))
    assert missing.status_code == 404


def test_a_viewer_reads_the_library_and_may_change_nothing(client, viewer, first_name):
    template = MessageTemplate.objects.create(name="Spring welcome", text="Hi {first_name}")
    client.force_login(viewer)
    page = client.get(TEMPLATES)
    body = page.content.decode()
    assert page.status_code == 200 and "Spring welcome" in body
    assert "New campaign from this template" not in body and "New template" not in body
    for url in (
        NEW,
        reverse("campaigns:template-edit", args=[template.pk]),
        reverse("campaigns:template-delete", args=[template.pk]),
        reverse("campaigns:template-use", args=[template.pk]),
    ):
        assert client.post(url, form_data(name="Mine")).status_code == 403, url
    assert client.get(NEW).status_code == 403
    assert list(MessageTemplate.objects.values_list("name", flat=True)) == ["Spring welcome"]
    assert not Campaign.objects.exists() and not AuditEntry.objects.exists()


def test_django_admin_refuses_a_bad_placeholder_and_logs_its_writes(admin_client, first_name):
    add = reverse("admin:campaigns_messagetemplate_add")
    data = {"name": "Admin's", "channel": "sms", "text": "Hi {frist_name}", "rcs_cards": "[]"}
    refused = admin_client.post(add, {**data, "fallback_text": ""})
    assert refused.status_code == 200 and "names no contact field" in refused.content.decode()
    assert not MessageTemplate.objects.exists()
    saved = admin_client.post(add, {**data, "text": "Hi {first_name}", "fallback_text": ""})
    assert saved.status_code == 302
    template = MessageTemplate.objects.get()
    assert audit_actions(template.pk) == ["admin-add"]
