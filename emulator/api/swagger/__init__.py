"""Swagger UI (``GET /swagger``) over every API this emulator serves: one document a surface,
picked in its top bar ("Select a definition"), each at ``/swagger/<name>.json``:

- ``read-v3.2``: Microsoft's Read v3.2 contract, with the Read container's routes
  (``syncAnalyze``, ``read/operations/{id}``) and the emulator's ``DELETE`` of a result added;
- ``document-intelligence-2024-11-30``, ``form-recognizer-2023-07-31``: Microsoft's Document
  Intelligence contracts, cut down to the operations the emulator's route table serves;
- ``image-analysis-4.0``: the emulator's own description of ``imageanalysis:analyze``;
- ``emulator``: its health, admin and token routes, and ``/swagger.json``.

Every document is OpenAPI 3.0: the Swagger 2.0 contract of :mod:`emulator.contract`
converted once, at development time, by swagger2openapi (``emulator/contract/openapi3/``, its
README and ``regenerate.sh``), so that "Try it out" offers a file input for a body that is
the document's bytes (Swagger UI shows a Swagger 2.0 body as a text box). Each is addressed to
this emulator (``servers``: the request's host and scheme, the API's base path) so that "Try
it out" calls it; carries the emulator's own title and description (Microsoft's operation
descriptions are kept); has its ``x-ms-examples`` inlined from the Swagger 2.0 contract and
:mod:`emulator.contract`'s examples (no ``$ref`` is left to a file that is not served, which
Swagger UI would show as a resolver error); and declares the key
(``Ocp-Apim-Subscription-Key``) and a bearer token, under the same two names in every
document, for "Authorize". The page and the documents need no key
(:data:`emulator.api.home.OPEN_PATHS` and ``OPEN_PREFIXES``); what they call does.

Swagger UI's files come from the ``swagger-ui-bundle`` wheel, never from another origin, and
the page's content-security policy allows this origin only, plus the inline styles and
``data:`` icons Swagger UI uses and ``blob:`` images (a figure it shows from an answer).

The package in two: :mod:`~emulator.api.swagger.documents` builds the documents,
:mod:`~emulator.api.swagger.pages` serves them with the page and its assets.
"""

from __future__ import annotations

from emulator.api.swagger.pages import SWAGGER_POLICY, routes

__all__ = ["SWAGGER_POLICY", "routes"]
