// Swagger UI over every API this emulator serves: the documents of its top bar ("Select a
// definition") come from /swagger/config.json, each addressed to this origin.
"use strict";
window.addEventListener("load", () => {
  window.ui = SwaggerUIBundle({
    configUrl: "/swagger/config.json",
    dom_id: "#swagger-ui",
    deepLinking: true,
    presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset],
    plugins: [SwaggerUIBundle.plugins.DownloadUrl],
    layout: "StandaloneLayout",
    validatorUrl: null,
  });
});
