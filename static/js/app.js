// Site-wide behaviour. Area scripts live beside this file; no inline scripts (CSP).
(function () {
  "use strict";
  // Elements marked data-autofocus get focus when htmx swaps them in.
  document.addEventListener("htmx:afterSwap", function (event) {
    var target = event.detail.target;
    var focus = target && (target.querySelector("[data-autofocus]") || (target.matches && target.matches("[data-autofocus]") ? target : null));
    if (focus) { focus.focus(); if (focus.select && focus.type !== "date") { focus.select(); } }
  });
  // Links and buttons with data-confirm ask before htmx sends the request.
  document.addEventListener("htmx:confirm", function (event) {
    var message = event.detail.elt.getAttribute("data-confirm");
    if (message) {
      event.preventDefault();
      if (window.confirm(message)) { event.detail.issueRequest(true); }
    }
  });
  document.addEventListener("submit", function (event) {
    var message = event.target.getAttribute("data-confirm");
    if (message && !event.target.hasAttribute("hx-post") && !window.confirm(message)) { event.preventDefault(); }
  });
})();
