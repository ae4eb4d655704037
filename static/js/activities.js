// Activities: a live character count under the summary, a preview of the chosen photos and a size check.
(function () {
  "use strict";

  function updateCounter(field) {
    var counter = document.getElementById(field.getAttribute("data-counter"));
    var limit = Number(field.getAttribute("data-max-chars"));
    if (counter && limit) {
      counter.textContent = field.value.length + " / " + limit;
      counter.classList.toggle("over", field.value.length > limit);
    }
  }

  function showPreview(input) {
    var list = document.getElementById(input.getAttribute("data-preview"));
    if (!list) { return; }
    list.textContent = "";
    Array.prototype.forEach.call(input.files || [], function (file) {
      var item = document.createElement("li");
      if (file.type.indexOf("image/") === 0 && window.URL) {
        var img = document.createElement("img");
        img.alt = "";
        img.src = window.URL.createObjectURL(file);
        img.addEventListener("load", function () { window.URL.revokeObjectURL(img.src); });
        item.appendChild(img);
      }
      item.appendChild(document.createTextNode(file.name));
      list.appendChild(item);
    });
  }

  // The server refuses a request over its size limit outright; say so before the form is lost.
  function tooLarge(input) {
    var total = 0;
    Array.prototype.forEach.call(input.files || [], function (file) { total += file.size; });
    var limit = parseInt(input.getAttribute("data-max-total"), 10);
    var warning = document.getElementById(input.id + "-too-large");
    var over = limit > 0 && total > limit;
    if (warning) {
      warning.textContent = over ? input.getAttribute("data-too-large") : "";
      warning.classList.toggle("hidden", !over);
    }
    return over;
  }

  document.addEventListener("submit", function (event) {
    var input = event.target.querySelector && event.target.querySelector("input[data-max-total]");
    if (input && tooLarge(input)) { event.preventDefault(); input.focus(); }
  });
  document.addEventListener("input", function (event) {
    if (event.target.hasAttribute && event.target.hasAttribute("data-counter")) { updateCounter(event.target); }
  });
  document.addEventListener("change", function (event) {
    if (event.target.hasAttribute && event.target.hasAttribute("data-preview")) {
      showPreview(event.target);
      tooLarge(event.target);
    }
  });
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-counter]").forEach(updateCounter);
  });
})();
