// Admin inline editors: Esc cancels (the cancel button fetches the row back, which takes the focus).
(function () {
  "use strict";
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape") { return; }
    var editor = event.target.closest && event.target.closest("form[data-inline-editor]");
    var cancel = editor && editor.querySelector("[data-cancel]");
    if (cancel) {
      event.preventDefault();
      cancel.click();
    }
  });
})();
