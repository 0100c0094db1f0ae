"""Which column feeds what: guessed from the headers, changed by the user, stored on the import.

A mapping is `{column index as str: target}`; a target is `phone`, `name`, `reason` (opt-out
imports), `field:<key>` for a contact field, or `` to ignore the column. Several columns may feed
`name` (first and last name columns are joined with a space); the rest at most one each.
"""

# Cyrillic letters here are meant: headers arrive in Ukrainian and Russian.
# ruff: noqa: RUF001, RUF003
from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence

from contacts.phones import InvalidPhone, normalize_phone

PHONE = "phone"
NAME = "name"
REASON = "reason"
IGNORE = ""
FIELD_PREFIX = "field:"

# Header words, compared after `_simplify` (lowercase, no punctuation, single spaces).
PHONE_HEADERS = frozenset(
    {
        "phone", "phones", "phone number", "phonenumber", "phone no", "tel", "telephone",
        "telephone number", "mobile", "mobile phone", "mobile number", "mob", "cell",
        "cellphone", "cell phone", "msisdn", "number", "gsm", "contact number", "whatsapp",
        "номер", "телефон", "тел", "номер телефона", "номер телефону", "мобильный",
        "мобільний", "мобильный телефон", "мобільний телефон", "моб", "моб телефон",
        "телефон мобильный", "телефон мобільний", "сотовый", "номер мобильного",
    }
)  # fmt: skip
NAME_HEADERS = frozenset(
    {
        "name", "full name", "fullname", "contact", "contact name", "customer", "customer name",
        "client", "client name", "recipient", "имя", "ім'я", "імя", "фио", "піб",
        "имя клиента", "клиент", "клієнт", "контакт", "получатель", "отримувач",
    }
)  # fmt: skip
REASON_HEADERS = frozenset(
    {"reason", "opt out reason", "comment", "note", "причина", "комментарий", "коментар"}
)

# Ukrainian and Russian letters in Latin, for field keys made from Cyrillic headers.
_CYRILLIC = {
    "а": "a", "б": "b", "в": "v", "г": "h", "ґ": "g", "д": "d", "е": "e", "є": "ye",
    "ё": "yo", "ж": "zh", "з": "z", "и": "y", "і": "i", "ї": "yi", "й": "y", "к": "k",
    "л": "l", "м": "m", "н": "n", "о": "o", "п": "p", "р": "r", "с": "s", "т": "t", "у": "u",
    "ф": "f", "х": "kh", "ц": "ts", "ч": "ch", "ш": "sh", "щ": "shch", "ъ": "", "ы": "y",
    "ь": "", "э": "e", "ю": "yu", "я": "ya",
}  # fmt: skip
# The typographic apostrophe of ім’я, read as the plain one.
_APOSTROPHE = "\u2019"


def _simplify(header: str) -> str:
    text = header.lower().replace("_", " ").replace(_APOSTROPHE, "'")
    words = re.sub(r"[^\w']+", " ", text).split()
    return " ".join(words)


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


def guess_mapping(
    headers: list[str],
    fields: Iterable[tuple[str, str]],
    *,
    sample_rows: Sequence[Sequence[str]] = (),
    for_opt_outs: bool = False,
) -> tuple[dict[str, str], dict[str, str]]:
    """(mapping, new fields to suggest {column: key}) for these headers.

    `fields` are the existing (key, label) pairs. The first phone-like column is the phone;
    a column matching a field's key or label (case-insensitive) feeds that field; any other
    named column is suggested as a new field (opt-out imports ignore it instead). When no
    header says "phone", a column whose sample values are all phone numbers is taken.
    """
    by_name: dict[str, str] = {}
    for key, label in fields:
        by_name.setdefault(_simplify(key), key)
        by_name.setdefault(_simplify(label), key)
    mapping: dict[str, str] = {}
    suggested: dict[str, str] = {}
    used_fields: set[str] = set()
    has_phone = False
    for position, header in enumerate(headers):
        column = str(position)
        simple = _simplify(header)
        target = IGNORE
        if simple in PHONE_HEADERS and not has_phone:
            target, has_phone = PHONE, True
        elif for_opt_outs:
            target = REASON if simple in REASON_HEADERS else IGNORE
        elif simple in NAME_HEADERS:
            target = NAME
        elif simple in by_name and by_name[simple] not in used_fields:
            target = field_target(by_name[simple])
            used_fields.add(by_name[simple])
        elif simple:
            key = field_key_for(header, position=position)
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
        problems.append("Choose the column that holds the phone numbers.")
    elif phones > 1:
        problems.append("Only one column can hold the phone numbers.")
    if for_opt_outs and any(target not in (PHONE, REASON, IGNORE) for target in targets):
        problems.append("An opt-out import reads only a phone column and a reason column.")
    if targets.count(REASON) > 1:
        problems.append("Only one column can hold the reason.")
    keys = [field_key_of(target) for target in targets if field_key_of(target)]
    repeated = sorted({key for key in keys if keys.count(key) > 1})
    if repeated:
        problems.append("Each field can be fed by one column only: " + ", ".join(repeated) + ".")
    return problems
