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

  // The phone (and 200 % zoom) menu: a real button that says whether the menu is open.
  function setUpMenu() {
    var button = document.querySelector(".topbar .nav-toggle"), bar = button && button.closest(".topbar");
    if (!button) { return; }
    bar.classList.add("nav-collapsible");
    button.hidden = false;
    button.addEventListener("click", function () {
      var open = button.getAttribute("aria-expanded") !== "true";
      button.setAttribute("aria-expanded", open ? "true" : "false");
      bar.classList.toggle("nav-open", open);
    });
    bar.addEventListener("keydown", function (event) {
      if (event.key === "Escape" && button.getAttribute("aria-expanded") === "true" && button.offsetParent) {
        button.setAttribute("aria-expanded", "false");
        bar.classList.remove("nav-open");
        button.focus();
      }
    });
  }

  // A table wider than the screen scrolls inside its box; keyboard users need to reach that box too.
  function markScrollableTables() {
    Array.prototype.forEach.call(document.querySelectorAll(".table-wrap"), function (box) {
      if (box.scrollWidth > box.clientWidth + 1) {
        box.setAttribute("tabindex", "0");
        if (!box.hasAttribute("role")) { box.setAttribute("role", "region"); }
        if (!box.hasAttribute("aria-label")) {
          var caption = box.querySelector("caption"), heading = (box.closest("section, main") || document).querySelector("h1, h2, h3");
          box.setAttribute("aria-label", (caption || heading || document.querySelector("h1") || {}).textContent || document.title);
        }
      } else if (box.getAttribute("tabindex") === "0") {
        box.removeAttribute("tabindex");
      }
    });
  }

  // A form that came back with errors: focus its first invalid field (the ledger's cell editor does its own).
  function focusFirstInvalid(scope) {
    var field = scope.querySelector("[aria-invalid='true']:not(table.ledger *)");
    if (field && !field.closest("[hidden]")) { field.focus(); }
  }

  // window.taizhangAnnounce(text): said politely by screen readers (the #announcer live region).
  window.taizhangAnnounce = function (text) {
    var region = document.getElementById("announcer");
    if (!region) { return; }
    region.textContent = "";
    window.setTimeout(function () { region.textContent = text; }, 50);
  };

  function ready() {
    setUpMenu();
    markScrollableTables();
    focusFirstInvalid(document);
  }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", ready); } else { ready(); }
  window.addEventListener("resize", markScrollableTables);
  document.addEventListener("htmx:afterSwap", markScrollableTables); // before settling: focus may move in at once
  document.addEventListener("htmx:afterSettle", function (event) {
    markScrollableTables();
    if (event.detail.target) { focusFirstInvalid(event.detail.target); }
  });
})();
