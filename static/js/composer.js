/* The composer's small helpers: show the recipients input that matches "Send to", and the
 * "Insert field" picker. Without this script both inputs simply stay visible and the picker
 * stays hidden. */
(function () {
  "use strict";

  function sync(form) {
    var checked = form.querySelector("input[name=sms_mode]:checked");
    if (!checked) return;
    var mode = checked.value;
    form.querySelectorAll("[data-mode]").forEach(function (block) {
      block.hidden = (block.dataset.mode === "numbers") !== (mode === "numbers");
    });
  }

  /* "Insert field": puts the chosen {key} where the cursor is in the text (or over the
   * selection), then tells the counter and the live preview the text changed. */
  function insertField(picker) {
    var textarea = document.getElementById(picker.dataset.insertFieldFor);
    var choice = picker.querySelector("select");
    if (!textarea || !choice || !choice.value) return;
    var start = textarea.selectionStart, end = textarea.selectionEnd;
    if (typeof start !== "number") start = end = textarea.value.length;
    textarea.setRangeText(choice.value, start, end, "end");
    textarea.dispatchEvent(new Event("input", { bubbles: true }));
    textarea.focus();
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-insert-field-for]").forEach(function (picker) {
      picker.hidden = false;
      var button = picker.querySelector("[data-insert-field]");
      if (button) button.addEventListener("click", function () { insertField(picker); });
    });
    var form = document.getElementById("compose-form");
    if (!form) return;
    form.addEventListener("change", function () { sync(form); });
    sync(form);
  });
})();
