/* The composer's small helpers: show the recipients input that matches "Send to", the
 * "Insert field" picker, and the RCS card editor. Without this script both inputs simply stay
 * visible, the picker stays hidden and the card buttons post the form. */
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

  /* Scheduling needs a start time: the schedule button waits while Start is "Now" (the server
   * draws it so; this follows the choice). A button that waits for something else
   * (data-waits: fields in red, no fresh send plan) keeps waiting. */
  function followStart(form) {
    var start = form.querySelector("input[name=start]:checked");
    var scheduled = start && start.value === "at";
    form.querySelectorAll("[data-needs-start]").forEach(function (button) {
      if (button.dataset.waits) return;
      button.disabled = !scheduled;
      if (scheduled) button.removeAttribute("title");
      else button.title = button.dataset.needsStart;
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

  /* The RCS card editor: "Add card", "Move up", "Move down" and "Remove card" in place.
   * Without this script each of them posts the form and the server rearranges the cards
   * (campaigns.forms.CardEditForm); here the fieldsets move and are renumbered so the posted
   * names (card-0-title, ...) follow their order, exactly as the server would number them. */
  var CARD_NAME = /card-(\d+|__prefix__)-/g;

  function renumberCards(editor) {
    var cards = editor.querySelectorAll("[data-card]");
    var max = parseInt(editor.dataset.maxCards, 10) || 10;
    cards.forEach(function (card, index) {
      card.querySelectorAll("[name], [id], [for]").forEach(function (element) {
        ["name", "id", "for"].forEach(function (attribute) {
          var value = element.getAttribute(attribute);
          if (value && value.indexOf("card-") !== -1) {
            element.setAttribute(attribute, value.replace(CARD_NAME, "card-" + index + "-"));
          }
        });
      });
      card.querySelectorAll("[data-card-edit]").forEach(function (button) {
        var action = button.dataset.cardEdit;
        button.value = action + ":" + index;
        if (action === "up") button.disabled = index === 0;
        if (action === "down") button.disabled = index === cards.length - 1;
      });
      var number = card.querySelector("[data-card-number]");
      if (number) number.textContent = String(index + 1);
    });
    var total = document.getElementById("id_card-TOTAL_FORMS");
    if (total) total.value = String(cards.length);
    var initial = document.getElementById("id_card-INITIAL_FORMS");
    if (initial) initial.value = "0";
    var add = document.querySelector("[data-card-edit=add]");
    if (add) add.disabled = cards.length >= max;
  }

  function editCards(editor, button) {
    var action = button.dataset.cardEdit;
    var card = button.closest("[data-card]");
    if (action === "add") {
      var template = document.getElementById("card-template");
      if (!template) return;
      var added = template.content.firstElementChild.cloneNode(true);
      editor.appendChild(added);
      renumberCards(editor);
      var first = added.querySelector("input, textarea");
      if (first) first.focus();
    } else if (action === "remove" && card) {
      card.remove();
      renumberCards(editor);
    } else if (action === "up" && card && card.previousElementSibling) {
      editor.insertBefore(card, card.previousElementSibling);
      renumberCards(editor);
      button.focus();
    } else if (action === "down" && card && card.nextElementSibling) {
      editor.insertBefore(card.nextElementSibling, card);
      renumberCards(editor);
      button.focus();
    } else {
      return;
    }
    // The live preview follows the form's "change" events (hx-trigger on #preview).
    var form = document.getElementById("compose-form");
    if (form) form.dispatchEvent(new Event("change", { bubbles: true }));
  }

  function setUpCardEditor() {
    var editor = document.querySelector("[data-card-editor]");
    var form = document.getElementById("compose-form");
    if (!editor || !form) return;
    form.addEventListener("click", function (event) {
      var button = event.target.closest("[data-card-edit]");
      if (!button || !form.contains(button)) return;
      event.preventDefault();
      editCards(editor, button);
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    setUpCardEditor();
    document.querySelectorAll("[data-insert-field-for]").forEach(function (picker) {
      picker.hidden = false;
      var button = picker.querySelector("[data-insert-field]");
      if (button) button.addEventListener("click", function () { insertField(picker); });
    });
    var form = document.getElementById("compose-form");
    if (!form) return;
    form.addEventListener("change", function () { sync(form); followStart(form); });
    // The buttons are drawn again when a send plan is ready (swapped out of band).
    document.body.addEventListener("htmx:afterSettle", function () { followStart(form); });
    sync(form);
    followStart(form);
  });
})();
