// The API reference page: Swagger UI (vendored) on the generated OpenAPI document.
// "Try it out" sends this browser's login, so writes carry the page's CSRF token.
(function () {
  "use strict";
  document.addEventListener("DOMContentLoaded", function () {
    var root = document.getElementById("swagger-ui");
    var token = document.querySelector('meta[name="csrf-token"]');
    if (!root || !window.SwaggerUIBundle) { return; }
    window.SwaggerUIBundle({
      url: root.getAttribute("data-spec"),
      domNode: root,
      deepLinking: false,
      validatorUrl: null,
      requestInterceptor: function (request) {
        if (token) { request.headers["X-CSRFToken"] = token.getAttribute("content"); }
        return request;
      }
    });
  });
})();
