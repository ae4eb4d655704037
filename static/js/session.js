// An ended session never costs what was typed. htmx answers 401 when the session has ended: instead of
// following HX-Redirect to the login page, the page stays and asks to log in again in a dialog (or in
// another tab); then the refused save is sent again with the new session's CSRF token. Ordinary POST forms
// check the session first, so the browser does not leave the page (and its input) for the login page.
(function () {
  "use strict";
  var dialog = document.getElementById("relogin");
  if (!dialog || !window.fetch) { return; }
  var form = dialog.querySelector("[data-relogin-form]");
  var error = dialog.querySelector("[data-relogin-error]");
  var sessionUrl = dialog.getAttribute("data-session-url");
  var loginUrl = dialog.getAttribute("data-login-url");
  var skip = (dialog.getAttribute("data-skip") || "").split(" ");
  var pending = null; // repeats the refused request once logged in again
  // When the session would end if left alone: idle since the last answer, or its absolute end.
  var idleMs = Number(dialog.getAttribute("data-idle-seconds")) * 1000;
  var endsAt = Date.now() + Number(dialog.getAttribute("data-seconds-left")) * 1000;
  var lastAnswer = Date.now();
  var MARGIN = 120000;
  document.addEventListener("htmx:afterRequest", function (event) {
    if (event.detail.successful) { lastAnswer = Date.now(); }
  });
  function mayHaveEnded() {
    var now = Date.now();
    return now - lastAnswer > idleMs - MARGIN || now > endsAt - MARGIN;
  }

  function setToken(token) {
    var meta = document.querySelector('meta[name="csrf-token"]');
    if (meta) { meta.setAttribute("content", token); }
    var headers = {};
    try { headers = JSON.parse(document.body.getAttribute("hx-headers") || "{}"); } catch (e) { headers = {}; }
    headers["X-CSRFToken"] = token;
    document.body.setAttribute("hx-headers", JSON.stringify(headers));
    Array.prototype.forEach.call(document.querySelectorAll('input[name="csrf_token"]'), function (input) {
      input.value = token;
    });
  }

  // The CSRF token of this browser's live session, or null when it is logged out.
  function currentToken() {
    return fetch(sessionUrl, {headers: {"Accept": "application/json"}, credentials: "same-origin", cache: "no-store"})
      .then(function (response) {
        return response.ok ? response.json().then(function (data) { return data.csrf; }) : null;
      });
  }

  function showError(text) { error.textContent = text || ""; error.hidden = !text; }

  function ask(retry) {
    pending = retry;
    showError("");
    if (!dialog.open) { dialog.showModal(); }
    var password = form.querySelector('input[name="password"]');
    password.value = "";
    password.focus();
  }

  function alive() { lastAnswer = Date.now(); }

  function resume(token) {
    alive();
    endsAt = Date.now() + Number(dialog.getAttribute("data-absolute-seconds")) * 1000; // a new session
    setToken(token);
    dialog.close();
    var retry = pending;
    pending = null;
    if (retry) { retry(); }
  }

  document.addEventListener("htmx:beforeOnLoad", function (event) {
    if (event.detail.xhr.status !== 401) { return; }
    event.preventDefault(); // no HX-Redirect: leaving the page would lose the input
    var source = event.detail.elt;
    var verb = (event.detail.requestConfig && event.detail.requestConfig.verb) || "get";
    if (source && source.tagName === "FORM" && verb !== "get") {
      ask(function () { htmx.process(source); source.requestSubmit(); });
    } else {
      ask(null);
    }
  });

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    showError("");
    // A login page first: its CSRF token belongs to whatever session this browser has now.
    fetch(loginUrl, {credentials: "same-origin", cache: "no-store"})
      .then(function (response) { return response.text(); })
      .then(function (html) {
        var match = /name="csrf-token" content="([^"]+)"/.exec(html);
        var body = new URLSearchParams();
        body.set("csrf_token", match ? match[1] : "");
        body.set("username", form.elements.username.value);
        body.set("password", form.elements.password.value);
        return fetch(loginUrl + "?next=" + encodeURIComponent(sessionUrl),
                     {method: "POST", body: body, credentials: "same-origin", headers: {"Accept": "application/json"}});
      })
      .then(function (response) {
        var type = response.headers.get("Content-Type") || "";
        if (response.ok && type.indexOf("application/json") === 0) {
          return response.json().then(function (data) { resume(data.csrf); });
        }
        return response.text().then(function (html) {
          var page = new DOMParser().parseFromString(html, "text/html");
          var said = Array.prototype.map.call(page.querySelectorAll("main [role=alert]"), function (el) {
            return el.textContent.trim();
          }).filter(Boolean);
          showError(said.join(" ") || dialog.getAttribute("data-failed"));
        });
      })
      .catch(function () { showError(dialog.getAttribute("data-failed")); });
  });

  dialog.querySelector("[data-relogin-retry]").addEventListener("click", function () {
    currentToken().then(function (token) {
      if (token) { resume(token); } else { showError(dialog.getAttribute("data-still-out")); }
    }, function () { showError(dialog.getAttribute("data-failed")); });
  });

  // Ordinary POST forms (the activity form): when the session may have ended (idle or near its end), check
  // before the browser leaves the page; otherwise the form is sent as usual, without a round trip.
  document.addEventListener("submit", function (event) {
    var target = event.target;
    if (event.defaultPrevented || target === form || !mayHaveEnded() || target.hasAttribute("hx-post") ||
        (target.getAttribute("method") || "").toLowerCase() !== "post" || target.hasAttribute("data-confirm") ||
        skip.indexOf(new URL(target.action, location.href).pathname) !== -1) { return; }
    if (target.hasAttribute("data-session-checked")) { target.removeAttribute("data-session-checked"); return; }
    event.preventDefault();
    var submitter = event.submitter && event.submitter.form === target ? event.submitter : undefined;
    var send = function () { target.setAttribute("data-session-checked", ""); target.requestSubmit(submitter); };
    currentToken().then(function (token) {
      if (token) { alive(); setToken(token); send(); } else { ask(send); }
    }, send);
  });
})();
