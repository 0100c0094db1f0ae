/* The composer's small helpers: show the recipients input that matches "Send to", and name
 * the BSG method it picks (the server says the same in the preview). Without this script both
 * inputs simply stay visible. */
(function () {
  "use strict";
  var METHODS = { numbers: "sms/send", individual: "sms/send-individual", groups: "sms/send-groups" };

  function sync(form) {
    var checked = form.querySelector("input[name=sms_mode]:checked");
    if (!checked) return;
    var mode = checked.value;
    form.querySelectorAll("[data-mode]").forEach(function (block) {
      block.hidden = (block.dataset.mode === "numbers") !== (mode === "numbers");
    });
    var label = document.querySelector("#bsg-method code");
    if (label && METHODS[mode]) label.textContent = METHODS[mode];
  }

  document.addEventListener("DOMContentLoaded", function () {
    var form = document.getElementById("compose-form");
    if (!form) return;
    form.addEventListener("change", function () { sync(form); });
    sync(form);
  });
})();
