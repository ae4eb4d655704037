// Activities: a live character count under the summary and a preview of the photos chosen for upload.
(function () {
  "use strict";

  function updateCounter(field) {
    var counter = document.getElementById(field.getAttribute("data-counter"));
    var limit = field.getAttribute("maxlength");
    if (counter && limit) { counter.textContent = field.value.length + " / " + limit; }
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

  document.addEventListener("input", function (event) {
    if (event.target.hasAttribute && event.target.hasAttribute("data-counter")) { updateCounter(event.target); }
  });
  document.addEventListener("change", function (event) {
    if (event.target.hasAttribute && event.target.hasAttribute("data-preview")) { showPreview(event.target); }
  });
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-counter]").forEach(updateCounter);
  });
})();
