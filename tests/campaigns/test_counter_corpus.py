"""The browser's counter (static/js/sms-counter.js) and bsg.smstext agree on every text of a
shared corpus: encoding, characters, length, parts, part size, limit, remaining, forcing
characters and whether BSG accepts it."""

import dataclasses
import json
import shutil
import subprocess
from pathlib import Path

import pytest

from bsg import smstext

ROOT = Path(__file__).resolve().parents[2]
CORPUS = ROOT / "tests" / "fixtures" / "sms_corpus.json"
COUNTER = ROOT / "static" / "js" / "sms-counter.js"

NODE_SCRIPT = """
const counter = require(process.argv[1]);
const corpus = JSON.parse(require("fs").readFileSync(process.argv[2], "utf8"));
process.stdout.write(JSON.stringify(corpus.map((c) => counter.analyse(c.text))));
"""


def python_answers(corpus):
    answers = []
    for case in corpus:
        stats = dataclasses.asdict(smstext.analyse(case["text"]))
        stats["non_gsm_characters"] = list(stats["non_gsm_characters"])
        answers.append(stats)
    return answers


@pytest.fixture(scope="module")
def corpus():
    return json.loads(CORPUS.read_text(encoding="utf-8"))


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
def test_the_js_counter_agrees_with_python_on_the_whole_corpus(corpus):
    completed = subprocess.run(
        ["node", "-e", NODE_SCRIPT, str(COUNTER), str(CORPUS)],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    js = json.loads(completed.stdout)
    python = python_answers(corpus)
    for case, js_stats, py_stats in zip(corpus, js, python, strict=True):
        assert js_stats == py_stats, case["name"]


def test_the_corpus_covers_the_boundaries(corpus):
    by_name = {case["name"]: smstext.analyse(case["text"]) for case in corpus}
    assert by_name["gsm7 160"].parts == 1
    assert by_name["gsm7 161"].parts == 2
    assert by_name["gsm7 765"].fits
    assert not by_name["gsm7 766"].fits
    assert by_name["ucs2 335"].fits
    assert not by_name["ucs2 336"].fits
    assert by_name["extension 80 euros = 160 septets"].parts == 1
    assert by_name["extension straddling a part boundary"].parts == 2
    assert by_name["emoji straddling a part boundary"].parts == 2
    assert not by_name["extension pushing over five parts"].fits
    assert by_name["cyrillic"].encoding == smstext.UCS2


SCRIPT_SAMPLES = [
    "Привіт, {first_name}! Знижка 20% на все до неділі.",
    # A Ukrainian apostrophe (U+02BC) is a letter of no script.
    "Привітʼ — знижка",
    "Hi {first_name}, it\u2019s spring",
    "Spring sale in Київ",
    "\u0393\u03b5\u03b9\u03ac \u03c3\u03bf\u03c5 \u03ba\u03cc\u03c3\u03bc\u03b5",
    "Ωρα",  # Greek letters GSM-7 has
    "שלום עולם",
    "مرحبا بالعالم",
    "你好世界 sale",
    "こんにちは",
    "안녕하세요",
    "😀😀 Hi",
    "",
]

SCRIPT_NODE = """
const counter = require(process.argv[1]);
const texts = JSON.parse(process.argv[2]);
process.stdout.write(JSON.stringify(texts.map((t) => counter.scriptOf(t))));
"""


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
def test_the_js_counter_names_the_same_alphabet_as_python(corpus):
    """Which texts are "written in Cyrillic" (said plainly) and which have stray characters
    (said in detail) is the same decision in the browser and on the server."""
    texts = SCRIPT_SAMPLES + [case["text"] for case in corpus]
    completed = subprocess.run(
        ["node", "-e", SCRIPT_NODE, str(COUNTER), json.dumps(texts)],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    assert json.loads(completed.stdout) == [smstext.script_of(text) for text in texts]
    assert smstext.script_of(SCRIPT_SAMPLES[0]) == "Cyrillic"
    assert smstext.script_of(SCRIPT_SAMPLES[2]) == ""
