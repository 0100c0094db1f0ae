"""Hand attacks on the upload form's kept file (contacts.importing.services: a good file sent
with another field's error is kept under media/imports/held for 6 hours and named by a signed
token in the form). Nobody gets a file they did not send, nothing outside the held folder is
ever opened or deleted, and no token makes a 500."""

from __future__ import annotations

import time
from datetime import timedelta
from unittest import mock

import pytest
from django.contrib.auth import get_user_model
from django.core import signing
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from contacts.importing import services
from contacts.models import ContactImport, ContactList

pytestmark = pytest.mark.django_db

UPLOAD = reverse("contacts:import-upload")
SALT = "contacts.import.held-upload"  # services._HELD_SALT: a forger with the key would use it
OLENAS_FILE = b"phone,name\n380501111111,Olena\n"
NOT_KEPT = "The file you chose before is no longer kept; choose it again."


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
def people(db):
    make = get_user_model().objects.create_user
    return {
        name: make(name, password="a-long-test-password", is_superuser=True)
        for name in ("olena", "mallory")
    }


@pytest.fixture
def spring(db):
    return ContactList.objects.create(name="Spring")


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def held_token(client: Client) -> str:
    """Olena sends her file without choosing a list: it is kept, and the page holds the token."""
    response = client.post(
        UPLOAD,
        {
            "target": "contacts",
            "on_existing": "skip",
            "file": SimpleUploadedFile("olena.csv", OLENAS_FILE),
        },
    )
    assert "Choose a list, or name a new one." in response.content.decode()
    return response.context["form"].data["held_file"]


def try_with(client: Client, token: str, spring) -> str:
    data = {
        "target": "contacts",
        "on_existing": "skip",
        "contact_list": spring.pk,
        "held_file": token,
    }
    response = client.post(UPLOAD, data)
    assert response.status_code == 200, response.status_code
    return response.content.decode()


def held_files(media) -> list[str]:
    folder = media / services.HELD_UPLOADS
    return sorted(path.name for path in folder.iterdir()) if folder.exists() else []


def test_another_persons_token_gets_nothing_and_leaves_their_file(people, spring, _media):
    token = held_token(signed_in(people["olena"]))
    kept = held_files(_media)
    page = try_with(signed_in(people["mallory"]), token, spring)
    assert NOT_KEPT in page and "olena.csv" not in page
    assert not ContactImport.objects.exists()
    assert held_files(_media) == kept  # still Olena's to use
    # Olena's own next try still works.
    response = signed_in(people["olena"]).post(
        UPLOAD,
        {
            "target": "contacts",
            "on_existing": "skip",
            "contact_list": spring.pk,
            "held_file": token,
        },
    )
    assert response.status_code == 302
    assert ContactImport.objects.get().created_by == people["olena"]


def test_a_tampered_token_gets_nothing(people, spring):
    olena = signed_in(people["olena"])
    token = held_token(olena)
    _payload, _, signature = token.rpartition(":")
    mallorys = signing.dumps(
        {"path": "x", "name": "x.csv", "user": people["mallory"].pk}, salt=SALT
    ).rpartition(":")[0]
    for tampered in [
        token[:-2] + ("AA" if not token.endswith("AA") else "BB"),
        "x" + token,
        mallorys + ":" + signature,  # another payload under Olena's signature
        token.replace(":", "", 1),
        signing.dumps({"path": "x", "user": people["olena"].pk}, salt="another-salt"),
    ]:
        assert NOT_KEPT in try_with(olena, tampered, spring)
    assert not ContactImport.objects.exists()


def test_a_token_older_than_six_hours_gets_nothing(people, spring):
    olena = signed_in(people["olena"])
    seven_hours_ago = time.time() - timedelta(hours=7).total_seconds()
    with mock.patch("django.core.signing.time.time", return_value=seven_hours_ago):
        token = held_token(olena)
    assert NOT_KEPT in try_with(olena, token, spring)
    assert not ContactImport.objects.exists()


@pytest.mark.parametrize(
    "path",
    [
        "imports/held/../../secret.txt",
        "imports/held/../reports/someone.csv",
        "imports/held/../../../../../../etc/passwd",
        "/etc/passwd",
        "imports/held",
        "imports/held/",
        "imports/heldout/x.upload",
        "imports/held/sub/x.upload",
        "imports/held/x.upload\x00.csv",
        "",
    ],
)
def test_a_signed_token_naming_a_path_outside_the_held_folder_opens_nothing(
    people, spring, _media, path
):
    """Even signed with the real key (a leaked key, a bug elsewhere): only a file the hold
    itself made, directly in the held folder, is ever opened or deleted."""
    secret = _media / "secret.txt"
    report = _media / "imports" / "reports" / "someone.csv"
    for victim in (secret, report):
        victim.parent.mkdir(parents=True, exist_ok=True)
        victim.write_bytes(b"phone\n380509999999\n")
    (_media / services.HELD_UPLOADS).mkdir(parents=True, exist_ok=True)
    olena = signed_in(people["olena"])
    token = signing.dumps({"path": path, "name": "x.csv", "user": people["olena"].pk}, salt=SALT)
    assert NOT_KEPT in try_with(olena, token, spring)
    assert not ContactImport.objects.exists()
    services.contact_import_release_held_upload(token=token, user_id=people["olena"].pk)
    assert secret.exists() and report.exists()


@pytest.mark.parametrize(
    "payload", ["a string", ["imports/held/x.upload"], 42, None, {"path": 42, "user": 1}, {}]
)
def test_a_signed_token_of_another_shape_opens_nothing(people, spring, payload):
    olena = signed_in(people["olena"])
    if isinstance(payload, dict) and "user" in payload:
        payload = {**payload, "user": people["olena"].pk}
    token = signing.dumps(payload, salt=SALT)
    assert NOT_KEPT in try_with(olena, token, spring)
    services.contact_import_release_held_upload(token=token, user_id=people["olena"].pk)


@pytest.mark.parametrize(
    "token", ["a\x00b", "\x00", "x" * 100_000, ":" * 100_000, "a:b:c", " ", "null", "{}"]
)
def test_hostile_tokens_are_refused_beside_the_file(people, spring, token):
    page = try_with(signed_in(people["olena"]), token, spring)
    assert NOT_KEPT in page or "This field is required." in page
    assert len(page) < 150_000  # a 100,000-character token is not shown back twice over
    assert not ContactImport.objects.exists()


def test_a_used_token_cannot_be_used_again(people, spring, _media):
    olena = signed_in(people["olena"])
    token = held_token(olena)
    data = {"target": "contacts", "on_existing": "skip", "contact_list": spring.pk}
    assert olena.post(UPLOAD, {**data, "held_file": token}).status_code == 302
    assert held_files(_media) == []
    assert NOT_KEPT in try_with(olena, token, spring)
    assert ContactImport.objects.count() == 1
