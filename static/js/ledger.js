// Ledger: spreadsheet-style keyboard editing of rows. Every row answer replaces the whole <tr>; this file only
// decides which cell to open, save or focus next. Event delegation, so swapped-in rows need no set-up.
(function () {
  "use strict";
  var pending = null;    // {row, field}: open this cell's editor once the current row answer has landed
  var focusAfter = null; // {row, field}: focus this cell after its row is swapped back to view

  function rowOf(el) { return el.closest("tr[data-version]"); }
  function cellAt(spot) {
    var row = spot && document.getElementById(spot.row);
    return row && row.querySelector('td[data-field="' + spot.field + '"]');
  }
  function spotOf(td) { return {row: rowOf(td).id, field: td.getAttribute("data-field")}; }

  function openEditor(spot) {
    var cell = cellAt(spot), row = cell && rowOf(cell);
    if (!row || !row.hasAttribute("data-edit") || !cell.classList.contains("editable")) { return; }
    htmx.ajax("GET", row.getAttribute("data-edit") + "?field=" + encodeURIComponent(spot.field),
      {source: cell, target: row, swap: "outerHTML"});
  }

  function showRow(row) {
    htmx.ajax("GET", row.getAttribute("data-show"), {source: row, target: row, swap: "outerHTML"});
  }

  function isDirty(form) {
    if (form.hasAttribute("data-unsaved")) { return true; } // came back invalid: the input is not saved yet
    return Array.prototype.some.call(form.elements, function (el) {
      if (el.tagName === "SELECT") {
        return Array.prototype.some.call(el.options, function (o) { return o.selected !== o.defaultSelected; });
      }
      return (el.tagName === "TEXTAREA" || el.type === "text" || el.type === "date") && el.value !== el.defaultValue;
    });
  }

  // Save the open editor if it changed (else just close it); then open `next` or refocus the cell.
  function closeEditor(td, next, refocus) {
    if (td.hasAttribute("data-closing")) { if (next) { pending = next; } return; }
    td.setAttribute("data-closing", "");
    pending = next || null;
    focusAfter = refocus && !next ? spotOf(td) : null;
    var form = td.querySelector("form.cell-editor");
    if (form && isDirty(form)) {
      // htmx wires up swapped-in content only when it settles; a fast Tab or Enter can come first,
      // and an unwired form would be submitted natively (a GET that loses the edit).
      htmx.process(form);
      form.requestSubmit();
    } else { showRow(rowOf(td)); }
  }

  function cancelEditor(td) {
    td.setAttribute("data-closing", "");
    pending = null;
    focusAfter = spotOf(td);
    showRow(rowOf(td));
  }

  // The next (or previous) editable cell in reading order; evidence cells are skipped by Tab.
  function neighbour(td, step) {
    var cells = Array.prototype.slice.call(
      document.querySelectorAll('table.ledger td.editable[data-field]:not([data-field="files"]), table.ledger td.editing'));
    var next = cells[cells.indexOf(td) + step];
    return next ? spotOf(next) : null;
  }

  function inputsOf(form) {
    return Array.prototype.filter.call(form.elements, function (x) {
      return x.tagName !== "BUTTON" && x.type !== "hidden";
    });
  }
  function laterInput(form, el) { var inputs = inputsOf(form); return inputs.indexOf(el) < inputs.length - 1; }
  function earlierInput(form, el) { return inputsOf(form).indexOf(el) > 0; }

  function startEditing(cell) {
    var spot = spotOf(cell), open = document.querySelector("table.ledger td.editing");
    if (!open) { openEditor(spot); return; }
    if (open.querySelector("form[data-conflict]")) { return; } // a conflict is resolved with its own buttons
    closeEditor(open, spot, false);
  }

  document.addEventListener("click", function (e) {
    if (e.target.closest("[data-cancel-edit]")) {
      cancelEditor(e.target.closest("td.editing"));
      return;
    }
    if (e.target.closest("[data-close-panel]")) {
      closePanel();
      return;
    }
    var cell = e.target.closest("table.ledger td.editable[data-field]");
    if (cell && !e.target.closest("a, button, input, select, textarea, label")) { startEditing(cell); }
  });

  document.addEventListener("keydown", function (e) {
    if (e.isComposing || e.keyCode === 229) { return; } // the IME is choosing characters
    var td = e.target.closest && e.target.closest("table.ledger td.editing");
    if (!td) {
      if (e.key === "Enter" && e.target.matches && e.target.matches("table.ledger td.editable[data-field]")) {
        e.preventDefault();
        startEditing(e.target);
      }
      return;
    }
    if (e.key === "Escape") { e.preventDefault(); cancelEditor(td); return; }
    var form = td.querySelector("form.cell-editor");
    if (!form || e.target.tagName === "BUTTON") { return; }
    var enter = e.key === "Enter" && !(e.shiftKey && e.target.tagName === "TEXTAREA");
    if (form.hasAttribute("data-conflict")) {
      // The conflict panel: Enter applies the user's input on top of what was saved meanwhile.
      if (enter) {
        e.preventDefault();
        td.setAttribute("data-closing", "");
        focusAfter = spotOf(td);
        htmx.process(form);
        form.requestSubmit(form.querySelector("[data-apply-mine]"));
      }
      return;
    }
    if (enter) {
      e.preventDefault();
      closeEditor(td, null, true);
    } else if (e.key === "Tab" && form.hasAttribute("data-unsaved")) {
      // An editor showing an error never traps Tab: the browser moves on (to Save, Cancel, the next cell)
      // and the editor stays open with the typed text until it is saved or cancelled.
      return;
    } else if (e.key === "Tab" && (e.shiftKey ? !earlierInput(form, e.target) : !laterInput(form, e.target))) {
      e.preventDefault();
      closeEditor(td, neighbour(td, e.shiftKey ? -1 : 1), true);
    }
  });

  // Leaving the cell saves it; an editor showing a conflict or an error waits for the user's choice.
  document.addEventListener("focusout", function (e) {
    var td = e.target.closest && e.target.closest("table.ledger td.editing");
    if (!td || !td.querySelector("form.cell-editor:not([data-conflict]):not([data-unsaved])")) { return; }
    if (e.relatedTarget && td.contains(e.relatedTarget)) { return; }
    window.setTimeout(function () {
      if (td.isConnected && !td.hasAttribute("data-closing") && !td.contains(document.activeElement)) {
        closeEditor(td, null, false);
      }
    }, 0);
  });

  // The history side panel is a modal dialog: it takes focus, Esc or ✕ closes it, focus goes back to the
  // link that opened it, and the page behind it is inert (out of the Tab order) while it is open.
  var panelOpener = null;
  function behindPanel(panel) {
    var items = Array.prototype.slice.call(document.body.children);
    Array.prototype.forEach.call(panel.parentElement.children, function (el) { items.push(el); });
    return items.filter(function (el) { return el !== panel && !el.contains(panel) && el.id !== "announcer"; });
  }
  function openPanel(panel, opener) {
    if (!panel.hasAttribute("role")) { panelOpener = opener; }
    var title = panel.querySelector("h2");
    panel.setAttribute("role", "dialog");
    panel.setAttribute("aria-modal", "true");
    if (title) {
      title.id = title.id || "ledger-panel-title";
      title.setAttribute("tabindex", "-1");
      panel.setAttribute("aria-labelledby", title.id);
    }
    behindPanel(panel).forEach(function (el) { el.inert = true; });
    (title || panel).focus();
  }
  function closePanel() {
    var panel = document.getElementById("ledger-panel");
    if (!panel || !panel.hasAttribute("role")) { return; }
    behindPanel(panel).forEach(function (el) { el.inert = false; });
    panel.replaceChildren();
    ["role", "aria-modal", "aria-labelledby"].forEach(function (name) { panel.removeAttribute(name); });
    var opener = panelOpener && document.getElementById(panelOpener);
    panelOpener = null;
    if (opener) { opener.focus(); }
  }
  document.addEventListener("keydown", function (e) {
    if (e.key === "Escape" && e.target.closest && e.target.closest("#ledger-panel")) { e.preventDefault(); closePanel(); }
  });

  // A save is announced to screen readers ("已保存：推进情况"); which cell it was is read off the editor.
  document.addEventListener("htmx:beforeRequest", function (e) {
    var td = e.detail.elt && e.detail.elt.closest && e.detail.elt.closest("table.ledger td.editing");
    var verb = e.detail.requestConfig && e.detail.requestConfig.verb;
    if (td && verb === "post" && e.detail.xhr) { e.detail.xhr.savingLabel = td.getAttribute("data-label"); }
  });

  document.addEventListener("htmx:afterSwap", function (e) {
    var target = e.detail.target;
    if (target && target.id === "ledger-panel") {
      var elt = e.detail.requestConfig && e.detail.requestConfig.elt;
      openPanel(target, elt && elt.id ? elt.id : null);
      return;
    }
    var xhr = e.detail.xhr;
    if (xhr && xhr.savingLabel && xhr.status === 200 && window.taizhangAnnounce) {
      var status = document.getElementById("ledger-status");
      window.taizhangAnnounce((status ? status.getAttribute("data-saved") : "") + xhr.savingLabel);
    }
    var row = target && target.id && target.id.indexOf("row-") === 0 ? document.getElementById(target.id) : null;
    if (!row) { return; }
    var input = row.querySelector("td.editing [aria-invalid='true']") || row.querySelector("td.editing [data-edit-focus]");
    if (input) {
      pending = null;
      input.focus();
      if (input.setSelectionRange && (input.type === "text" || input.type === "textarea")) {
        input.setSelectionRange(input.value.length, input.value.length);
      }
      return;
    }
    if (pending) { var next = pending; pending = null; openEditor(next); return; }
    if (focusAfter && focusAfter.row === row.id) {
      var cell = cellAt(focusAfter);
      focusAfter = null;
      if (cell) { cell.focus(); }
    }
  });

  // A failed request (403, 500, network) leaves the editor open with the user's text; say why.
  function showFailure(e) {
    var open = document.querySelector("table.ledger td.editing[data-closing]");
    if (open) { open.removeAttribute("data-closing"); }
    pending = null;
    var status = document.getElementById("ledger-status");
    if (!status) { return; }
    var xhr = e.detail.xhr, text = "";
    if (xhr && xhr.responseText) {
      text = new DOMParser().parseFromString(xhr.responseText, "text/html").body.textContent.trim();
    }
    status.textContent = text || status.getAttribute("data-offline");
  }
  document.addEventListener("htmx:responseError", showFailure);
  document.addEventListener("htmx:sendError", showFailure);
  document.addEventListener("htmx:beforeRequest", function (e) {
    var status = document.getElementById("ledger-status");
    if (status) { status.textContent = ""; }
    // An upload: the cell's old error goes; a file over the limit is refused here, with the limit said.
    var form = e.detail.elt && e.detail.elt.closest && e.detail.elt.closest("form.upload-form");
    if (!form) { return; }
    var old = form.querySelector(".field-error");
    if (old) { old.remove(); }
    var input = form.querySelector("input[type=file][data-max-bytes]");
    var limit = input ? Number(input.getAttribute("data-max-bytes")) : 0;
    var tooBig = input && Array.prototype.some.call(input.files || [], function (f) { return f.size > limit; });
    if (tooBig) {
      e.preventDefault();
      var error = document.createElement("span");
      error.className = "field-error";
      error.setAttribute("role", "alert");
      error.textContent = input.getAttribute("data-too-large");
      form.querySelector("progress").insertAdjacentElement("afterend", error);
    }
  });

  // Upload progress in the evidence cell's <progress>.
  document.addEventListener("htmx:xhr:progress", function (e) {
    var form = e.target.closest && e.target.closest("form.upload-form");
    var bar = form && form.querySelector("progress");
    if (bar && e.detail.lengthComputable && e.detail.total) {
      bar.value = Math.round(e.detail.loaded * 100 / e.detail.total);
    }
  });

  // A save refused because the session ended (401, see session.js) leaves the editor open and usable.
  document.addEventListener("htmx:beforeOnLoad", function (e) {
    var td = e.detail.xhr.status === 401 && e.detail.elt.closest && e.detail.elt.closest("td.editing");
    if (td) { td.removeAttribute("data-closing"); }
  });

  // Choosing another unit or plan loads that ledger as a page of its own.
  document.addEventListener("change", function (e) {
    var form = e.target.closest && e.target.closest("form[data-autosubmit], form.ledger-filters");
    if (form && (form.hasAttribute("data-autosubmit") || e.target.name === "plan")) {
      e.stopPropagation();
      form.submit();
    }
  }, true);
})();
