"""A contact file as customers export it: the messy corpus the import is measured on.

Our own generated CSV (bench/import_contacts.py: clean digits, four tidy columns) flattered the
import: a 1M-row file exported from a CRM or a spreadsheet took three times as long and six
times the memory. This writes such a file, from a seed, streamed to disk:

- Excel's "CSV UTF-8": a byte-order mark, CRLF line ends, every value quoted when it must be.
- Ten columns a CRM exports (first and last name, mobile phone, email, city, country,
  company, birthday, tags, notes), eight of them custom fields once imported.
- Phones written every way people and spreadsheets write them: `+38 (067) 132-04-96`,
  `067 132 0496`, `0671320496`, `380671320496`, `'+380671320496` (a spreadsheet's text
  mark), `00380…`, trailing spaces, non-breaking spaces, Excel's `380671320496.0` and
  `3.80671320496E+11`, and foreign numbers (`+44 7911 123456`, `+48 512 345 678`,
  `+49 1512 3456789`, `+1 212 …`).
- About 5 % that are not numbers at all (`+1`, `12345`, `n/a`, a cut-off number, Excel's
  lossy `3.8067E+11`, an empty cell) and about 5 % repeats of an earlier number, mostly
  written another way (the same person exported twice from two systems).
- Names like O'Brien, Zoë, Nguyễn, Олена and mixed-script typos (a Cyrillic `О` in `Оlena`),
  with stray spaces; cities like Zürich, Одеса and `Kyiv ` ; companies with commas and
  quotes; notes with quotes, a line break or a tab now and then, and emoji.

The file's rules are its own, not the app's: nothing here imports the app, so the corpus
cannot bend to what the importer already handles.

    .venv/bin/python bench/messy_corpus.py OUT.csv [--rows 1000000] [--seed 2026]
"""

# Cyrillic and look-alike letters here are meant: they are what customers' files hold.
# ruff: noqa: RUF001, RUF002, RUF003
from __future__ import annotations

import argparse
import csv
import random
from pathlib import Path

HEADERS = [
    "First Name",
    "Last Name",
    "Mobile Phone",
    "Email",
    "City",
    "Country",
    "Company",
    "Birthday",
    "Tags",
    "Notes",
]
INVALID_SHARE = 0.05
REPEAT_SHARE = 0.05

FIRST_NAMES = [
    "Olena", "Taras", "Iryna", "Andrii", "Oksana", "Dmytro", "Юлія", "Богдан", "Олена",
    "Zoë", "José", "Seán", "Łukasz", "Jürgen", "Marie-Claire", "Ólafur", "Đorđe", "Chloé",
    "Оlena",  # a Cyrillic О typed on a Ukrainian keyboard
    "  Anna", "Mykola ", "", "ANDRIY", "o'neil", "Ганна-Марія", "Ярослав", "Søren", "李",
]  # fmt: skip
LAST_NAMES = [
    "O'Brien", "Petrenko", "Петренко", "Müller", "van der Berg", "Nguyễn", "Smith-Jones",
    "Kowalski Jr.", "Шевченко", "D'Angelo", "García Márquez", "Коваль ", "", "MACDONALD",
    "Ó Súilleabháin", "Franković", "Іваненко-Сидоренко", "Núñez",
]  # fmt: skip
CITIES = [
    "Kyiv", "Kyiv ", "Київ", "Одеса", "Odesa", "Zürich", "São Paulo", "Kraków", "Львів",
    "Dnipro", "Ivano-Frankivsk", "Düsseldorf", "Bila Tserkva", "Харків", "Kharkiv", "",
    "Mykolaiv", "Zaporizhzhia", "Kropyvnytskyi", "Bâle", "Łódź",
]  # fmt: skip
COUNTRIES = ["Ukraine", "UA", "Україна", "Switzerland", "Poland", "", "Germany", "ukraine"]
COMPANIES = [
    "", "", "", "O'Reilly & Sons", "Acme, Inc.", 'ТОВ "Роги і копита"', "Nova Poshta",
    "Müller GmbH", "ФОП Іваненко", "Smith, Jones & Partners LLP", "rozetka.ua",
]  # fmt: skip
TAGS = ["", "", "vip", "newsletter;vip", "b2b", "lead, cold", "клієнт", "#promo"]
NOTES = [
    "", "", "", "", "", "", "call after 6pm", 'said "call later"', "prefers Viber 📱",
    "VIP 🌟 since 2019", "moved to Lviv, new address pending", "не турбувати до 10:00",
    "line one\nline two",  # a note typed with Alt+Enter in a spreadsheet
    "pasted\tfrom a form",
]  # fmt: skip
MOBILE_CODES = ["50", "66", "67", "68", "63", "73", "93", "95", "96", "97", "98", "99"]
FOREIGN = [
    lambda r: f"+44 7{r.randrange(400, 999)} {r.randrange(10**6):06d}",
    lambda r: f"+48 5{r.randrange(10, 99)} {r.randrange(1000):03d} {r.randrange(1000):03d}",
    lambda r: f"+49 151 {r.randrange(10**7, 10**8)}",
    lambda r: f"+1 212 {r.randrange(200, 999)} {r.randrange(10**4):04d}",
    lambda r: f"+41 79 {r.randrange(100, 999)} {r.randrange(10, 99)} {r.randrange(10, 99)}",
]
INVALID = [
    "+1", "12345", "", "", "n/a", "-", "0000000000", "+38 (067) 132-04-9", "067 132",
    "3.8067E+11", "call me", "+380 67 132 04 96 96 96", "tel", "#ERROR!",
    "8 067 132 04 96",  # the old trunk prefix: not a number in today's plan
]  # fmt: skip


def _ukrainian_ways(national: str) -> list[str]:
    """One Ukrainian mobile number (9 national digits, e.g. 671320496) in the ways it is
    written."""
    a, b, c, d, e = national[:2], national[2:5], national[5:7], national[7:], national[2:]
    full = "380" + national
    return [
        full,
        full,
        full,
        "+" + full,
        f"+38 (0{a}) {b}-{c}-{d}",
        f"0{a} {b} {national[5:]}",
        f"0{a}{e}",
        f"'+{full}",
        f"{full} ",
        f" +380 {a} {b} {c} {d}",
        f"00{full}",
        f"(0{a}) {b}-{c}-{d}",
        f"+380-{a}-{b}-{c}-{d}",
        f"{full}.0",
        f"3.{full[1:]}E+11",
        f"+380\u00a0{a}\u00a0{b}\u00a0{c}\u00a0{d}",
    ]


def _phone(rng: random.Random, issued: list[str]) -> str:
    draw = rng.random()
    if draw < INVALID_SHARE:
        return rng.choice(INVALID)
    if draw < INVALID_SHARE + REPEAT_SHARE and issued:
        national = rng.choice(issued)
        return rng.choice(_ukrainian_ways(national))
    if draw < 0.13:
        return rng.choice(FOREIGN)(rng)
    national = f"{rng.choice(MOBILE_CODES)}{rng.randrange(10**7):07d}"
    if len(issued) < 200_000:
        issued.append(national)
    return rng.choice(_ukrainian_ways(national))


def _email(rng: random.Random, first: str, last: str) -> str:
    if rng.random() < 0.25:
        return ""
    local = f"{first.strip()}.{last.strip()}".replace(" ", "").replace("'", "") or "user"
    domain = rng.choice(["gmail.com", "ukr.net", "i.ua", "outlook.com", "Example.COM"])
    email = f"{local}{rng.randrange(1000)}@{domain}"
    return email.upper() if rng.random() < 0.02 else email


def _birthday(rng: random.Random) -> str:
    if rng.random() < 0.4:
        return ""
    year, month, day = rng.randrange(1950, 2006), rng.randrange(1, 13), rng.randrange(1, 29)
    return rng.choice(
        [f"{year}-{month:02d}-{day:02d}", f"{day:02d}.{month:02d}.{year}", f"{month}/{day}/{year}"]
    )


def write_messy_csv(path: Path, rows: int, *, seed: int = 2026) -> None:
    """Writes the corpus: a header and `rows` data rows, streamed."""
    rng = random.Random(seed)
    issued: list[str] = []
    # Excel's "CSV UTF-8": a BOM, CRLF, minimal quoting.
    with open(path, "w", newline="", encoding="utf-8-sig") as stream:
        writer = csv.writer(stream, lineterminator="\r\n")
        writer.writerow(HEADERS)
        for _ in range(rows):
            first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
            writer.writerow(
                [
                    first,
                    last,
                    _phone(rng, issued),
                    _email(rng, first, last),
                    rng.choice(CITIES),
                    rng.choice(COUNTRIES),
                    rng.choice(COMPANIES),
                    _birthday(rng),
                    rng.choice(TAGS),
                    rng.choice(NOTES),
                ]
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args()
    write_messy_csv(args.out, args.rows, seed=args.seed)


if __name__ == "__main__":
    main()
