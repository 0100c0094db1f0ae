/* Behaviour every page shares. Loaded from base.html after htmx; no page has inline script
 * (the Content-Security-Policy forbids it), so page behaviour lives in files like this one. */
(function () {
  "use strict";

  var POLLING = /(^|,)\s*every\s/;
  // How often a live panel ([data-live]) polls while the tab is hidden. The visible pace is the
  // one the server rendered (data-live-visible keeps it once rewritten).
  var HIDDEN_PACE = "every 30s";

  /* Live panels ([data-live], hx-trigger="every 5s") slow to every 30 s while the tab is hidden
   * and speed up again when it is shown. htmx's `[!document.hidden]` filter would need eval,
   * which our CSP refuses, so the trigger itself is rewritten and htmx told to re-read it.
   * A panel the server re-renders without data-live has stopped polling for good. */
  function pace(root) {
    if (!window.htmx) return;
    var scope = root && root.querySelectorAll ? root : document;
    var panels = Array.prototype.slice.call(scope.querySelectorAll("[data-live][hx-trigger]"));
    if (scope.matches && scope.matches("[data-live][hx-trigger]")) panels.push(scope);
    panels.forEach(function (panel) {
      var visible = panel.getAttribute("data-live-visible") || panel.getAttribute("hx-trigger");
      panel.setAttribute("data-live-visible", visible);
      var wanted = document.hidden ? HIDDEN_PACE : visible;
      if (panel.getAttribute("hx-trigger") !== wanted) {
        panel.setAttribute("hx-trigger", wanted);
        window.htmx.process(panel);
      }
    });
  }

  document.addEventListener("visibilitychange", function () {
    pace(document);
  });

  // A panel swapped in while the tab is hidden arrives at the visible pace: slow it at once.
  document.addEventListener("htmx:load", function (event) {
    if (document.hidden) pace(event.target);
  });

  /* Other polling elements (the send plan, test sends, the header balance) simply skip their
   * requests while the tab is hidden; cancelling the request keeps htmx's timer running. */
  document.addEventListener("htmx:beforeRequest", function (event) {
    if (!document.hidden) return;
    var element = event.target;
    if (!element.getAttribute || element.hasAttribute("data-live")) return;
    var trigger = element.getAttribute("hx-trigger");
    if (trigger && POLLING.test(trigger)) event.preventDefault();
  });
})();
