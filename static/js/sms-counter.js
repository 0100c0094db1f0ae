/*
 * The live SMS counter, a mirror of bsg/smstext.py (the source of truth): encoding, length as
 * BSG counts it, SMS parts and the characters left before BSG's limits.
 * tests/campaigns/test_counter_corpus.py runs tests/fixtures/sms_corpus.json through both and
 * requires identical answers, so change the two together.
 *
 * - GSM-7 when every character is in the GSM 03.38 default alphabet or its extension table;
 *   any other character makes the whole text UCS-2.
 * - Extension characters (form feed ^ { } \ [ ~ ] | €) cost two septets; in UCS-2 a character
 *   outside the Basic Multilingual Plane (most emoji) costs two UTF-16 units.
 * - 160 septets / 70 units fit one SMS; longer texts are cut into parts of 153 / 67, and a
 *   two-unit character never straddles two parts (it moves whole to the next one).
 * - BSG accepts at most 765 GSM-7 / 335 UCS-2 units and at most 5 parts.
 */
(function (root) {
  "use strict";

  var GSM7 = "GSM-7";
  var UCS2 = "UCS-2";
  var BASIC =
    "@£$¥èéùìòÇ\nØø\rÅå" +
    "Δ_ΦΓΛΩΠΨΣΘΞÆæßÉ" +
    " !\"#¤%&'()*+,-./" +
    "0123456789:;<=>?" +
    "¡ABCDEFGHIJKLMNO" +
    "PQRSTUVWXYZÄÖÑÜ§" +
    "¿abcdefghijklmno" +
    "pqrstuvwxyzäöñüà";
  var EXTENSION = "\f^{}\\[~]|€";
  var MAX_PARTS = 5;
  var SIZES = {};
  SIZES[GSM7] = { single: 160, multi: 153, max: 5 * 153 };
  SIZES[UCS2] = { single: 70, multi: 67, max: 5 * 67 };

  /* The counter's words come from Django's JavaScript catalogue (/jsi18n/, loaded before this
   * file by the composer pages) in the page's language. Without it (node, which runs analyse()
   * in tests/campaigns/test_counter_corpus.py) they stay English. */
  function named(format, values) {
    return format.replace(/%\((\w+)\)s/g, function (match, key) { return String(values[key]); });
  }
  var gettext = root.gettext || function (message) { return message; };
  var ngettext = root.ngettext || function (singular, plural, count) {
    return count === 1 ? singular : plural;
  };
  var interpolate = root.interpolate || named;

  var basicSet = new Set(Array.from(BASIC));
  var extensionSet = new Set(Array.from(EXTENSION));

  function isGsm7(ch) {
    return basicSet.has(ch) || extensionSet.has(ch);
  }

  /* Same fields as Python's TextStats (snake_case kept so the corpus compares them 1:1). */
  function analyse(text) {
    var chars = Array.from(text); // code points, as Python's str
    var nonGsm = [];
    var seen = new Set();
    chars.forEach(function (ch) {
      if (!isGsm7(ch) && !seen.has(ch)) {
        seen.add(ch);
        nonGsm.push(ch);
      }
    });
    var encoding = nonGsm.length ? UCS2 : GSM7;
    var units = chars.map(function (ch) {
      if (encoding === GSM7) return extensionSet.has(ch) ? 2 : 1;
      return ch.codePointAt(0) > 0xffff ? 2 : 1;
    });
    var length = units.reduce(function (a, b) { return a + b; }, 0);
    var size = SIZES[encoding];
    var parts = 0;
    if (length > 0 && length <= size.single) {
      parts = 1;
    } else if (length > size.single) {
      // Greedy: fill each part; a character that does not fit starts the next part whole.
      var used = 0;
      parts = 1;
      units.forEach(function (u) {
        if (used + u > size.multi) {
          parts += 1;
          used = 0;
        }
        used += u;
      });
    }
    return {
      encoding: encoding,
      characters: chars.length,
      length: length,
      parts: parts,
      part_size: length <= size.single ? size.single : size.multi,
      max_length: size.max,
      remaining: size.max - length,
      non_gsm_characters: nonGsm,
      fits: length <= size.max && parts <= MAX_PARTS
    };
  }

  /* The alphabet a text is mostly written in when GSM-7 lacks it, else "": a mirror of
   * bsg.smstext.script_of (same keys, found here by Unicode script property). At least half of
   * the letters, placeholders left out. Such a text is UCS-2 by nature, not by mistake. */
  var SCRIPTS = ["Cyrillic", "Greek", "Arabic", "Hebrew", "Armenian", "Georgian", "Devanagari",
    "Thai", "Hangul", "Hiragana", "Katakana", "Han"].map(function (key) {
    return { key: key, pattern: new RegExp("\\p{Script=" + key + "}", "u") };
  });
  var LETTER = /\p{L}/u;

  function scriptOf(text) {
    var letters = Array.from(text.replace(/\{[^{}]*\}/g, "")).filter(function (ch) {
      return LETTER.test(ch);
    });
    var foreign = letters.filter(function (ch) { return !isGsm7(ch); });
    if (!foreign.length || foreign.length * 2 < letters.length) return "";
    var counts = SCRIPTS.map(function () { return 0; });
    foreign.forEach(function (ch) {
      for (var i = 0; i < SCRIPTS.length; i++) {
        if (SCRIPTS[i].pattern.test(ch)) { counts[i] += 1; break; }
      }
    });
    var best = 0;
    for (var i = 1; i < counts.length; i++) if (counts[i] > counts[best]) best = i;
    return counts[best] ? SCRIPTS[best].key : "other";
  }

  /* Literal gettext calls, so makemessages finds each name (djangojs catalogue). */
  function scriptName(script) {
    switch (script) {
      case "Cyrillic": return gettext("Cyrillic");
      case "Greek": return gettext("Greek");
      case "Arabic": return gettext("Arabic");
      case "Hebrew": return gettext("Hebrew");
      case "Armenian": return gettext("Armenian");
      case "Georgian": return gettext("Georgian");
      case "Devanagari": return gettext("Devanagari");
      case "Thai": return gettext("Thai");
      case "Hangul": return gettext("Korean");
      case "Hiragana": case "Katakana": return gettext("Japanese");
      case "Han": return gettext("Chinese or Japanese");
      default: return gettext("Non-Latin");
    }
  }

  function scriptNote(script) {
    return interpolate(
      gettext("%(script)s text: up to %(single)s characters per SMS part (%(multi)s when split)."),
      { script: scriptName(script), single: SIZES[UCS2].single, multi: SIZES[UCS2].multi }, true);
  }

  /* The names bsg/smstext.py gives the same characters (_plain_name), literal gettext calls so
   * makemessages finds each; "" for others. */
  function plainName(ch) {
    switch (ch) {
      case "\u2019": return gettext("curly apostrophe");
      case "\u2018": case "\u201c": return gettext("curly opening quote");
      case "\u201d": return gettext("curly closing quote");
      case "\u00ab": case "\u00bb": return gettext("angle quote");
      case "\u02bc": return gettext("letter apostrophe");
      case "\u2013": return gettext("en dash");
      case "\u2014": return gettext("em dash");
      case "\u2026": return gettext("ellipsis");
      case "\u2022": return gettext("bullet");
      case "\u00a0": return gettext("no-break space");
      case "\u202f": return gettext("narrow no-break space");
      case "\u200b": return gettext("zero-width space");
      case "\ufeff": return gettext("invisible character");
      default: return "";
    }
  }

  /* The character in quotes and its plain name, as the server says it (smstext._describe):
   * no code point, which means nothing to a marketer. */
  function describe(ch) {
    var name = plainName(ch);
    if (/\s/.test(ch) || ch.codePointAt(0) < 32 || ch === "\u200b" || ch === "\ufeff") {
      return name || gettext("an invisible character");
    }
    var quoted = interpolate(gettext("“%(character)s”"), { character: ch }, true);
    return name ? interpolate(gettext("%(quoted)s %(name)s"), { quoted: quoted, name: name }, true) : quoted;
  }

  /* The encoding in a marketer's words, as campaigns/bsg_words.py says it on the server's
   * pages ("GSM-7" and "UCS-2" stay only in the line's title). */
  function encodingWords(encoding) {
    return encoding === UCS2 ? gettext("special characters") : gettext("standard characters");
  }

  function summary(stats) {
    if (!stats.characters) return gettext("Empty: 0 SMS parts.");
    // "characters" whatever the count, as the server's preview says it (a figure, not prose).
    var characters = interpolate(gettext("%(count)s characters"), { count: stats.characters }, true);
    characters += " (" + encodingWords(stats.encoding) + ")";
    var parts = interpolate(
      ngettext("%(count)s SMS part (%(size)s per part)", "%(count)s SMS parts (%(size)s per part)",
        stats.parts),
      { count: stats.parts, size: stats.part_size }, true);
    var limit = stats.fits
      ? interpolate(gettext("%(remaining)s left before BSG's limit of %(max)s."),
        { remaining: stats.remaining, max: stats.max_length }, true)
      : interpolate(gettext("over BSG's limit of %(max)s or 5 parts by %(over)s."),
        { max: stats.max_length, over: Math.max(-stats.remaining, 0) }, true);
    return [characters, parts, limit].join(" · ");
  }

  /* Under each textarea[data-sms-counter]: the counter line and the characters forcing UCS-2,
   * highlighted in a copy of the text (built with text nodes: never HTML from the user). */
  function attach(textarea) {
    if (textarea.dataset.smsCounterReady) return;
    textarea.dataset.smsCounterReady = "1";
    var out = document.createElement("div");
    out.className = "sms-counter";
    out.setAttribute("aria-live", "polite");
    out.dataset.counterFor = textarea.id;
    var line = document.createElement("p");
    line.className = "sms-counter-line";
    var forcing = document.createElement("div");
    forcing.className = "gsm7-forcing";
    out.appendChild(line);
    out.appendChild(forcing);
    textarea.insertAdjacentElement("afterend", out);

    function update() {
      var stats = analyse(textarea.value);
      line.textContent = summary(stats);
      line.title = stats.characters ? stats.encoding : "";
      out.classList.toggle("over-limit", !stats.fits);
      forcing.textContent = "";
      var script = stats.encoding === UCS2 ? scriptOf(textarea.value) : "";
      // Amber and each character marked only for the useful case: a few stray characters
      // making a GSM-7 text UCS-2. A text written in Cyrillic (etc.) is said plainly.
      out.classList.toggle("ucs2", stats.encoding === UCS2 && !script);
      if (script) {
        var plain = document.createElement("p");
        plain.className = "script-note";
        plain.textContent = scriptNote(script);
        forcing.appendChild(plain);
        return;
      }
      if (stats.encoding !== UCS2) return;
      var note = document.createElement("p");
      note.textContent = interpolate(gettext("The text has special characters because of %(characters)s:"),
        { characters: stats.non_gsm_characters.map(describe).join(", ") }, true);
      note.title = UCS2;
      forcing.appendChild(note);
      var copy = document.createElement("div");
      copy.className = "gsm7-highlight";
      var bad = new Set(stats.non_gsm_characters);
      Array.from(textarea.value).forEach(function (ch) {
        if (bad.has(ch)) {
          var mark = document.createElement("mark");
          mark.title = describe(ch);
          mark.textContent = /\s/.test(ch) || ch === "\u200b" || ch === "\ufeff" ? "·" : ch;
          copy.appendChild(mark);
        } else {
          copy.appendChild(document.createTextNode(ch));
        }
      });
      forcing.appendChild(copy);
    }
    textarea.addEventListener("input", update);
    update();
  }

  function attachAll(scope) {
    (scope || document).querySelectorAll("textarea[data-sms-counter]").forEach(attach);
  }

  if (typeof document !== "undefined") {
    document.addEventListener("DOMContentLoaded", function () {
      attachAll(document);
    });
    // The GSM-7 helper's one-click fix: the server (campaigns/rendering.py) computed the fixed
    // text; this only puts it in the textarea and lets everything recount.
    document.addEventListener("click", function (event) {
      var button = event.target.closest("[data-gsm7-fix]");
      if (!button) return;
      var textarea = document.getElementById(button.dataset.gsm7Fix);
      if (!textarea) return;
      textarea.value = button.dataset.fixed;
      textarea.dispatchEvent(new Event("input", { bubbles: true }));
      textarea.focus();
    });
  }

  var api = { analyse: analyse, summary: summary, scriptOf: scriptOf, attachAll: attachAll };
  if (typeof module !== "undefined" && module.exports) module.exports = api;
  root.SmsCounter = api;
})(typeof window !== "undefined" ? window : globalThis);
