"""Which column feeds what: guessed from the headers, changed by the user, stored on the import.

A mapping is `{column index as str: target}`; a target is `phone`, `name`, `reason` (opt-out
imports), `field:<key>` for a contact field, or `` to ignore the column. Several columns may feed
`name` (first and last name columns are joined with a space); the rest at most one each.

Headers are compared folded (`folded`): `First-Name`, `first_name` and `FIRSTNAME` are one header,
and so are `Ім’я`, `ім'я` and `Iм'я` typed with a Latin I. The built-in columns are tried first,
so a "First name" column fills the contact's Name (which search and `{name}` read) rather than a
custom field; then an existing field by its key or label, then by a word that means the same
(`FIELD_SYNONYMS`: a "Город" column feeds the field labelled "Місто" or keyed `city`).
"""

# Cyrillic letters here are meant: headers arrive in Ukrainian and Russian.
# ruff: noqa: RUF001, RUF002, RUF003
from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence

from django.utils.translation import gettext as _

from contacts.phones import InvalidPhone, normalize_phone

PHONE = "phone"
NAME = "name"
REASON = "reason"
IGNORE = ""
FIELD_PREFIX = "field:"

# Latin and Cyrillic letters that look alike, as `casefold` leaves them. A header typed on a
# Ukrainian keyboard often has a Latin `i` in a Cyrillic word ("Мiсто"); a word mixing the two
# alphabets is read in the alphabet most of its letters are in.
_LATIN_LOOKALIKES = dict(zip("авекмнорстхуі", "abekmhopctxyi", strict=True))
_CYRILLIC_LOOKALIKES = {latin: cyrillic for cyrillic, latin in _LATIN_LOOKALIKES.items()}
_CYRILLIC_LETTER = re.compile(r"[\u0400-\u04ff]")
_LATIN_LETTER = re.compile(r"[a-z]")


def _one_alphabet(word: str) -> str:
    cyrillic = len(_CYRILLIC_LETTER.findall(word))
    latin = len(_LATIN_LETTER.findall(word))
    if not cyrillic or not latin:
        return word
    lookalikes = _CYRILLIC_LOOKALIKES if cyrillic > latin else _LATIN_LOOKALIKES
    return "".join(lookalikes.get(char, char) for char in word)


def folded(text: str) -> str:
    """`text` reduced to what names a column: no case, punctuation, spaces or mixed alphabets.

    `First-Name`, `first_name` and `FIRSTNAME` give `firstname`; `Ім’я`, `ім'я` and `Iм'я`
    give `імя`; `Ё` reads as `е`.
    """
    text = unicodedata.normalize("NFKC", text).casefold().replace("\u0451", "\u0435")
    text = " ".join(_one_alphabet(word) for word in text.split())
    return "".join(char for char in text if char.isalnum())


def _folded_set(words: Iterable[str]) -> frozenset[str]:
    return frozenset(folded(word) for word in words)


PHONE_HEADERS = _folded_set(
    {
        "phone", "phones", "phone number", "phone no", "tel", "telephone",
        "telephone number", "mobile", "mobile phone", "mobile number", "mob", "cell",
        "cellphone", "msisdn", "number", "gsm", "contact number", "whatsapp",
        "номер", "телефон", "тел", "номер телефона", "номер телефону", "мобильный",
        "мобільний", "мобильный телефон", "мобільний телефон", "моб", "моб телефон",
        "телефон мобильный", "телефон мобільний", "сотовый", "номер мобильного",
    }
)  # fmt: skip
# The contact's Name. First and last name columns both feed it, joined in the file's order.
NAME_HEADERS = _folded_set(
    {
        "name", "full name", "contact", "contact name", "customer", "customer name",
        "client", "client name", "recipient", "first name", "given name", "last name",
        "surname", "family name", "name surname",
        "имя", "ім'я", "фио", "піб", "фамилия", "прізвище", "имя фамилия", "фамилия имя",
        "ім'я прізвище", "прізвище ім'я", "ім'я та прізвище", "имя клиента", "клиент",
        "клієнт", "контакт", "получатель", "отримувач",
    }
)  # fmt: skip
REASON_HEADERS = _folded_set(
    {"reason", "opt out reason", "comment", "note", "причина", "комментарий", "коментар"}
)
# Words for one custom field in the languages our customers write, its usual key first: a
# column named by any of them feeds an existing field named by any of them, and when there is
# none it is offered as a new field under that key (so "Місто" and "Город" files meet in `city`).
FIELD_SYNONYMS: tuple[tuple[str, ...], ...] = (
    ("city", "town", "місто", "город", "населений пункт", "населенный пункт"),
    ("email", "e-mail", "email address", "електронна пошта", "ел пошта", "электронная почта",
     "эл почта"),
    ("birthday", "date of birth", "birth date", "dob", "день народження",
     "дата народження", "день рождения", "дата рождения"),
    ("company", "organisation", "organization", "компанія", "компания", "організація",
     "организация"),
    ("country", "країна", "страна"),
    ("region", "oblast", "область", "регіон", "регион"),
    ("address", "адреса", "адрес"),
    ("gender", "sex", "стать", "пол"),
)  # fmt: skip
_SYNONYM_KEYS = {folded(word): words[0] for words in FIELD_SYNONYMS for word in words}

# Ukrainian and Russian letters in Latin, for field keys made from Cyrillic headers.
_CYRILLIC = {
    "а": "a", "б": "b", "в": "v", "г": "h", "ґ": "g", "д": "d", "е": "e", "є": "ye",
    "ё": "yo", "ж": "zh", "з": "z", "и": "y", "і": "i", "ї": "yi", "й": "y", "к": "k",
    "л": "l", "м": "m", "н": "n", "о": "o", "п": "p", "р": "r", "с": "s", "т": "t", "у": "u",
    "ф": "f", "х": "kh", "ц": "ts", "ч": "ch", "ш": "sh", "щ": "shch", "ъ": "", "ы": "y",
    "ь": "", "э": "e", "ю": "yu", "я": "ya",
}  # fmt: skip


def field_key_for(header: str, *, position: int) -> str:
    """A ContactField key made from a column header: `Order No.` → `order_no`, `Місто` → `misto`."""
    latin = "".join(_CYRILLIC.get(char, char) for char in header.lower())
    key = re.sub(r"[^a-z0-9]+", "_", latin).strip("_")[:50].rstrip("_")
    if not key:
        return f"column_{position + 1}"
    if not key[0].isalpha():
        key = f"f_{key}"[:50]
    return key


def field_target(key: str) -> str:
    return FIELD_PREFIX + key


def field_key_of(target: str) -> str | None:
    return target[len(FIELD_PREFIX) :] if target.startswith(FIELD_PREFIX) else None


def _fields_by_header(fields: Iterable[tuple[str, str]]) -> dict[str, str]:
    """Folded header → the key of the existing field it names.

    A field's own key and label come before a synonym of another field's, and an earlier field
    before a later one, so two fields can never swap a column between them.
    """
    fields = list(fields)
    by_header: dict[str, str] = {}
    for key, label in fields:
        by_header.setdefault(folded(key), key)
        by_header.setdefault(folded(label), key)
    for key, label in fields:
        for name in (folded(key), folded(label)):
            concept = _SYNONYM_KEYS.get(name)
            if concept is None:
                continue
            for word, word_concept in _SYNONYM_KEYS.items():
                if word_concept == concept:
                    by_header.setdefault(word, key)
    return by_header


def new_field_key(header: str, *, position: int) -> str:
    """The key offered for a new field fed by this column: a synonym's usual key ("Город" →
    `city`), else the header in Latin letters (field_key_for)."""
    return _SYNONYM_KEYS.get(folded(header)) or field_key_for(header, position=position)


def guess_mapping(
    headers: list[str],
    fields: Iterable[tuple[str, str]],
    *,
    sample_rows: Sequence[Sequence[str]] = (),
    for_opt_outs: bool = False,
) -> tuple[dict[str, str], dict[str, str]]:
    """(mapping, new fields to suggest {column: key}) for these headers.

    `fields` are the existing (key, label) pairs. The first phone-like column is the phone;
    name-like columns feed the Name; a column naming a field by its key, label or a synonym
    (`FIELD_SYNONYMS`) feeds that field; any other named column is suggested as a new field
    (opt-out imports ignore it instead). When no header says "phone", a column whose sample
    values are all phone numbers is taken.
    """
    by_header = _fields_by_header(fields)
    mapping: dict[str, str] = {}
    suggested: dict[str, str] = {}
    used_fields: set[str] = set()
    has_phone = False
    for position, header in enumerate(headers):
        column = str(position)
        name = folded(header)
        # An earlier "Місто" created the field `misto`: a later "Місто" or "Misto" finds it.
        transliterated = folded(field_key_for(header, position=position))
        existing = by_header.get(name) or by_header.get(transliterated)
        target = IGNORE
        if name in PHONE_HEADERS and not has_phone:
            target, has_phone = PHONE, True
        elif for_opt_outs:
            target = REASON if name in REASON_HEADERS else IGNORE
        elif name in NAME_HEADERS:
            target = NAME
        elif existing is not None and existing not in used_fields:
            target = field_target(existing)
            used_fields.add(existing)
        elif name:
            key = new_field_key(header, position=position)
            if key not in used_fields and key not in (PHONE, NAME):
                suggested[column] = key
                used_fields.add(key)
        mapping[column] = target
    if not has_phone:
        column = _phone_column_by_values(len(headers), sample_rows)
        if column is not None:
            mapping[column] = PHONE
            suggested.pop(column, None)
    return mapping, suggested


def _phone_column_by_values(width: int, sample_rows: Sequence[Sequence[str]]) -> str | None:
    for position in range(width):
        values = [row[position] for row in sample_rows if position < len(row) and row[position]]
        if not values:
            continue
        try:
            for value in values:
                normalize_phone(value)
        except InvalidPhone:
            continue
        return str(position)
    return None


def mapping_problems(mapping: Mapping[str, str], *, for_opt_outs: bool = False) -> list[str]:
    """What is wrong with a mapping, as sentences for the user; empty when it can run."""
    targets = list(mapping.values())
    problems = []
    phones = targets.count(PHONE)
    if phones == 0:
        problems.append(_("Choose the column that holds the phone numbers."))
    elif phones > 1:
        problems.append(_("Only one column can hold the phone numbers."))
    if for_opt_outs and any(target not in (PHONE, REASON, IGNORE) for target in targets):
        problems.append(_("An opt-out import reads only a phone column and a reason column."))
    if targets.count(REASON) > 1:
        problems.append(_("Only one column can hold the reason."))
    keys = [field_key_of(target) for target in targets if field_key_of(target)]
    repeated = sorted({key for key in keys if keys.count(key) > 1})
    if repeated:
        problems.append(
            _("Each field can be fed by one column only: %(keys)s.") % {"keys": ", ".join(repeated)}
        )
    return problems
