"""The composer in a marketer's words: an SMS text's encoding is "standard characters" or
"special characters" (campaigns.bsg_words, as the send plan panel says it), with GSM-7 and
UCS-2 kept only in title hints; in English and in Ukrainian, on the server's preview, in the
live counter's catalogue and in the text's validation message beside the field."""

import json
import re
from pathlib import Path

import pytest
from django.urls import reverse

from accounts.services import account_settings_update
from bsg import smstext
from tests.campaigns.test_views import sms_data

pytestmark = pytest.mark.django_db

CURLY = "It\u2019s spring, {first_name}"  # one typographic apostrophe: special characters


@pytest.fixture
def author(client, user):
    client.force_login(user)
    return client


def _visible(html: str) -> str:
    """The page without its title hints, where the technical names may stay."""
    return re.sub(r' title="[^"]*"', "", html)


def _preview(author, audience, **typed) -> str:
    data = sms_data(lists=[audience["spring"].id], **typed)
    return author.post(reverse("campaigns:preview"), data).content.decode()


def test_the_preview_says_standard_and_special_characters(author, audience):
    body = _preview(author, audience, text=CURLY)
    # Each recipient's count line: the words, the technical name in the hint.
    assert re.search(r'<span title="UCS-2: emoji, Cyrillic, [^"]*">special characters</span>', body)
    helper = body.split('class="gsm7-helper"', 1)[1]
    assert re.search(r'<p title="UCS-2: [^"]*">The text has special characters because of', helper)
    assert "Replace \u2019 with standard look-alikes" in helper
    plain = _preview(author, audience, text="Hi {first_name}!")
    assert re.search(r'<span title="GSM-7: [^"]*">standard characters</span>', plain)
    for shown in (_visible(body), _visible(plain)):
        assert "GSM-7" not in shown and "UCS-2" not in shown


def test_the_preview_says_the_same_in_ukrainian(author, user, audience):
    account_settings_update(user=user, language="uk")
    body = _preview(author, audience, text=CURLY)
    assert re.search(
        r'<span title="UCS-2: емодзі, кирилиця, [^"]*">спеціальні символи</span>', body
    )
    assert "Текст містить спеціальні символи через" in body
    assert "Замінити \u2019 на схожі звичайні символи" in body
    plain = _preview(author, audience, text="Hi {first_name}!")
    assert re.search(r'<span title="GSM-7: [^"]*">звичайні символи</span>', plain)
    for shown in (_visible(body), _visible(plain)):
        assert "GSM-7" not in shown and "UCS-2" not in shown


def test_the_live_counter_gets_its_words_from_the_javascript_catalogue(author, user):
    """static/js/sms-counter.js says the encoding with gettext (Django's JS catalogue)."""
    account_settings_update(user=user, language="uk")
    text = author.get(reverse("javascript-catalog")).content.decode()
    for english, ukrainian in [
        ("standard characters", "звичайні символи"),
        ("special characters", "спеціальні символи"),
        (
            "The text has special characters because of %(characters)s:",
            "Текст містить спеціальні символи через %(characters)s:",
        ),
    ]:
        assert json.dumps({english: ukrainian})[1:-1] in text  # the catalogue's JSON


def _beside_text(body: str) -> str:
    match = re.search(r'<div class="errors-beside" id="errors-text"[^>]*>(.*?)</div>', body, re.S)
    assert match, "no errors block beside the text"
    return " ".join(re.findall(r'<p class="error field-error">(.*?)</p>', match.group(1), re.S))


@pytest.mark.parametrize(
    ("language", "said"),
    [
        (
            "en",
            "The text is 2000 characters long; with standard characters BSG accepts at most 765 "
            "(five SMS parts).",
        ),
        (
            "uk",
            "Текст має довжину 2000 символів; зі звичайними символами BSG приймає щонайбільше 765 "
            "(п\u2019ять частин SMS).",
        ),
    ],
)
def test_a_too_long_text_is_said_plainly_beside_the_field(author, user, audience, language, said):
    account_settings_update(user=user, language=language)
    body = _preview(author, audience, text="a" * 2000)
    assert _beside_text(body) == said


@pytest.mark.parametrize("language", ["en", "uk"])
def test_a_too_long_text_with_special_characters_says_both_limits(author, user, audience, language):
    account_settings_update(user=user, language=language)
    beside = _beside_text(_preview(author, audience, text="Ж" * 400))
    assert "335" in beside and "765" in beside
    assert {"en": "special characters", "uk": "спеціальні символи"}[language] in beside
    assert "GSM-7" not in beside and "UCS-2" not in beside


def test_the_counter_names_special_characters_as_the_server_does():
    """static/js/sms-counter.js's plainName and bsg.smstext._plain_name name the same
    characters the same way, so the hint under the text and the save error agree."""
    script = (Path(__file__).parents[2] / "static/js/sms-counter.js").read_text()
    body = script.split("function plainName(ch) {", 1)[1].split("default:", 1)[0]
    named = {}
    for line in body.splitlines():
        found = re.search(r'return gettext\("([^"]+)"\)', line)
        for code in re.findall(r'case "\\u([0-9a-f]{4})"', line):
            named[chr(int(code, 16))] = found.group(1)
    assert named and all(smstext._plain_name(ch) == name for ch, name in named.items())
    python_named = [chr(c) for c in range(0x10000) if smstext._plain_name(chr(c))]
    assert sorted(python_named) == sorted(named)
