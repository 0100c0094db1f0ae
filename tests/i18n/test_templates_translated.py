"""No template shows a word that is not translatable: every user-visible string under templates/
is inside {% translate %} / {% blocktranslate %} (or a _("…") argument), so the Ukrainian
catalogue can cover it.

Each template is read with Django's own template lexer. Translation blocks, comments, tags and
variables are taken out; what remains is parsed as HTML, and any text with a letter in it, or a
user-visible attribute with one (title, placeholder, aria-label, alt, the value of an input
button), is an untranslated string. Text inside <code> is a name the API or a template uses
(`sender`, `{first_name}`) and stays as it is. Inside tags, English-only constructs are caught
too: `|pluralize` (an English plural), and words passed as plain string literals to filters
and tags that show them (`|default:"none"`, `|yesno:"yes,no"`, `{% firstof "…" %}`,
`{% include … with title="…" %}`) instead of `_("…")`.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

from django.template.base import Lexer, TokenType

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"
LETTER = re.compile(r"[^\W\d_]")
# Attributes a person reads or hears (a screen reader reads aria-label and title).
VISIBLE_ATTRIBUTES = frozenset({"title", "placeholder", "aria-label", "alt"})
BUTTON_INPUTS = frozenset({"submit", "button", "reset"})
# Elements whose text is not prose in the page's language.
UNTRANSLATED_ELEMENTS = frozenset({"code", "script", "style"})
# The product's name is the same in every language.
NAMES = frozenset({"BSG Campaigns"})
# Filters whose string argument is shown to people, and tags whose string literals are.
SHOWN_FILTER_ARGUMENTS = re.compile(r"""\|(?:default|default_if_none|yesno):(["'])(.*?)\1""")
SHOWN_TAG_LITERALS = re.compile(r"""(?:^firstof\s|\bwith\s|\s\w+=)(?:.*?)(["'])(.*?)\1""")
LITERAL_ASSIGNMENT = re.compile(r"""\b(\w+)=(["'])(.*?)\2""")


def _has_words(text: str) -> bool:
    for name in NAMES:
        text = text.replace(name, "")
    return bool(LETTER.search(text))


def _is_prose(literal: str) -> bool:
    """A literal people read: words (a space) or a capitalised word, not an id or a key."""
    return bool(LETTER.search(literal)) and (" " in literal.strip() or literal[:1].isupper())


class _Visible(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[str] = []
        self.hidden_depth = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        for name, value in attrs:
            if value and name in VISIBLE_ATTRIBUTES and _has_words(value):
                self.found.append(f'{name}="{" ".join(value.split())}"')
        if tag == "input" and (values.get("type") or "") in BUTTON_INPUTS:
            value = values.get("value") or ""
            if _has_words(value):
                self.found.append(f'value="{" ".join(value.split())}"')
        if tag in UNTRANSLATED_ELEMENTS:
            self.hidden_depth += 1

    def handle_endtag(self, tag: str) -> None:
        if tag in UNTRANSLATED_ELEMENTS and self.hidden_depth:
            self.hidden_depth -= 1

    def handle_data(self, data: str) -> None:
        text = " ".join(data.split())
        if not self.hidden_depth and _has_words(text):
            self.found.append(text)


def untranslated(source: str) -> list[str]:
    """The strings a template shows without a translation, in order."""
    skeleton: list[str] = []
    problems: list[str] = []
    skipping_until: str | None = None
    for token in Lexer(source).tokenize():
        contents = token.contents.strip()
        if skipping_until is not None:
            if token.token_type == TokenType.BLOCK and contents == skipping_until:
                skipping_until = None
            continue
        if token.token_type == TokenType.TEXT:
            skeleton.append(token.contents)
        elif token.token_type == TokenType.VAR:
            problems.extend(_var_problems(contents))
        elif token.token_type == TokenType.BLOCK:
            command = contents.split(None, 1)[0] if contents else ""
            if command in {"blocktranslate", "blocktrans"} and " asvar " not in f" {contents} ":
                skipping_until = f"end{command}"
            elif command == "comment":
                skipping_until = "endcomment"
            elif command == "verbatim":
                skipping_until = "endverbatim"
            if command not in {"translate", "trans", "blocktranslate", "blocktrans"}:
                problems.extend(_tag_problems(contents))
    parser = _Visible()
    parser.feed("".join(skeleton))
    parser.close()
    return parser.found + problems


def _var_problems(contents: str) -> list[str]:
    problems = []
    if re.search(r"\|pluralize\b", contents):
        problems.append(f"{{{{ {contents} }}}}: |pluralize is English only; use a count")
    for _quote, literal in SHOWN_FILTER_ARGUMENTS.findall(contents):
        if LETTER.search(literal):
            problems.append(f'{{{{ {contents} }}}}: "{literal}" needs _("…")')
    return problems


def _tag_problems(contents: str) -> list[str]:
    command = contents.split(None, 1)[0]
    problems = []
    if command == "firstof":
        for _quote, literal in re.findall(r"""(["'])(.*?)\1""", contents):
            if LETTER.search(literal):
                problems.append(f'{{% {contents} %}}: "{literal}" needs {{% translate … as … %}}')
    if command in {"include", "with"}:
        for _name, _quote, literal in LITERAL_ASSIGNMENT.findall(contents):
            if _is_prose(literal):
                problems.append(f'{{% {contents} %}}: "{literal}" needs _("…")')
    for _quote, literal in SHOWN_FILTER_ARGUMENTS.findall(contents):
        if LETTER.search(literal):
            problems.append(f'{{% {contents} %}}: "{literal}" needs _("…")')
    return problems


def test_every_template_string_is_translatable():
    leftovers = []
    templates = sorted(p for p in TEMPLATES.rglob("*") if p.is_file())
    assert len(templates) >= 38
    for path in templates:
        name = str(path.relative_to(TEMPLATES))
        for text in untranslated(path.read_text(encoding="utf-8")):
            leftovers.append(f"{name}: {text}")
    assert leftovers == [], "Wrap these in {% translate %}:\n" + "\n".join(leftovers)


def test_the_check_finds_what_it_should():
    """The check itself: each kind of untranslated string is caught, translated ones are not."""
    source = """{% load i18n %}<h1>Plain heading</h1>
    <p>{% translate "Wrapped" %} <code>sender</code> {{ value }} · 42 %</p>
    {% blocktranslate %}Inside {{ x }}{% endblocktranslate %}
    {# A comment #}{% comment %}Also a comment{% endcomment %}
    <button title="Hover text" aria-label="{% translate 'Fine' %}">
      {{ n }} item{{ n|pluralize }}</button>
    <input type="submit" value="Go"><input type="hidden" name="step" value="next">
    {{ name|default:"nobody" }} {{ name|default:_("someone") }} {{ x|date:"Y-m-d" }}
    {% include "x.html" with title="Shown title" target="id_text" label=_("Fine") %}
    {% firstof "Fallback words" as waits %}"""
    assert untranslated(source) == [
        "Plain heading",
        'title="Hover text"',
        "item",
        'value="Go"',
        "{{ n|pluralize }}: |pluralize is English only; use a count",
        '{{ name|default:"nobody" }}: "nobody" needs _("…")',
        '{% include "x.html" with title="Shown title" target="id_text" label=_("Fine") %}: '
        '"Shown title" needs _("…")',
        '{% firstof "Fallback words" as waits %}: "Fallback words" needs {% translate … as … %}',
    ]
