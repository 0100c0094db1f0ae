/* Behaviour every page shares. Loaded from base.html after htmx; no page has inline script
 * (the Content-Security-Policy forbids it), so page behaviour lives in files like this one. */
(function () {
  "use strict";

  /* Polling panels (hx-trigger="every 2s") pause while the tab is hidden and resume on the next
   * tick once it is shown. htmx's own `[!document.hidden]` filter would do the same but needs
   * eval, which our CSP refuses; cancelling the request keeps htmx's timer running. */
  var POLLING = /(^|,)\s*every\s/;

  document.addEventListener("htmx:beforeRequest", function (event) {
    if (!document.hidden) return;
    var trigger = event.target.getAttribute && event.target.getAttribute("hx-trigger");
    if (trigger && POLLING.test(trigger)) event.preventDefault();
  });
})();
