// The API reference page: Swagger UI (vendored, no outside fetch) renders
// the OpenAPI document this hookgate serves. "Try it out" calls this same
// origin; the token is entered with the Authorize button and kept in memory.
window.ui = SwaggerUIBundle({
  url: new URL('../v1/openapi.json', window.location.href).toString(),
  dom_id: '#reference',
  deepLinking: true,
  validatorUrl: null,
  tryItOutEnabled: false,
});
