"""Swagger UI (``GET /swagger``) over every API this emulator serves: one document a surface,
picked in its top bar ("Select a definition"), each at ``/swagger/<name>.json``:

- ``read-v3.2``: Microsoft's Read v3.2 contract, with the Read container's routes
  (``syncAnalyze``, ``read/operations/{id}``) and the emulator's ``DELETE`` of a result added;
- ``document-intelligence-2024-11-30``, ``form-recognizer-2023-07-31``: Microsoft's Document
  Intelligence contracts, cut down to the operations the emulator's route table serves;
- ``image-analysis-4.0``: the emulator's own description of ``imageanalysis:analyze``;
- ``emulator``: its health, admin and token routes, and ``/swagger.json``.

Every document is addressed to this emulator (the request's host and scheme, the API's base
path) so that "Try it out" calls it; carries the emulator's own title and description
(Microsoft's operation descriptions are kept); has its ``x-ms-examples`` inlined from
:mod:`emulator.contract` (no ``$ref`` is left to a file that is not served, which Swagger UI
would show as a resolver error); and declares the key (``Ocp-Apim-Subscription-Key``) and a
bearer token, under the same two names in every document, for "Authorize". The page and the
documents need no key (:data:`emulator.api.home.OPEN_PATHS` and ``OPEN_PREFIXES``); what
they call does.

Swagger UI's files come from the ``swagger-ui-bundle`` wheel, never from another origin, and
the page's content-security policy allows this origin only, plus the inline styles and
``data:`` icons Swagger UI uses and ``blob:`` images (a figure it shows from an answer).
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from emulator import contract, errors
from emulator.api.document_intelligence import parsing as di_parsing
from emulator.api.document_intelligence import routes as document_intelligence
from emulator.api.image_analysis import routes as image_analysis
from emulator.api.read_v32 import routes as read_v32

#: Swagger UI's policy: this origin only, plus the inline styles and ``data:`` icons it uses,
#: and ``blob:`` images (an answer's PNG, such as a figure, shown in the page).
SWAGGER_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data: blob:; connect-src 'self'; font-src 'self'; form-action 'none'; "
    "frame-ancestors 'none'; base-uri 'none'"
)
#: The files of Swagger UI's distribution served under ``/swagger/assets/``.
SWAGGER_FILES = frozenset(
    {
        "swagger-ui.css",
        "swagger-ui-bundle.js",
        "swagger-ui-standalone-preset.js",
        "favicon-16x16.png",
        "favicon-32x32.png",
    }
)
#: The page's own script (``emulator/static``), served as ``/swagger/swagger-init.js``.
INIT_SCRIPT = "swagger-init.js"
#: Swagger UI's configuration: the definitions of its top bar.
CONFIG_PATH = "/swagger/config.json"
_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".png": "image/png",
}

#: The security schemes of every document: the key, and a bearer token in ``Authorization``.
KEY_SCHEME = "apim_key"
BEARER_SCHEME = "bearer"
KEY_HEADER = "Ocp-Apim-Subscription-Key"
SECURITY_DEFINITIONS: dict[str, dict[str, str]] = {
    KEY_SCHEME: {
        "type": "apiKey",
        "name": KEY_HEADER,
        "in": "header",
        "description": "One of the emulator's keys: `--api-key` or `OCR_EMULATOR_API_KEY` "
        "(without either, the key it generated and printed at start-up).",
    },
    BEARER_SCHEME: {
        "type": "apiKey",
        "name": "Authorization",
        "in": "header",
        "description": "A bearer token, typed as `Bearer <token>`. `POST /_emulator/token` "
        "(in the emulator's own routes) issues one for a key; tokens from a trusted issuer "
        "(`--trust-jwks`) work too.",
    },
}
_METHODS = ("get", "put", "post", "delete", "options", "head", "patch")


@dataclass(frozen=True, slots=True)
class Definition:
    """One document of Swagger UI's top bar."""

    #: Its file name under ``/swagger/`` (without ``.json``).
    name: str
    #: Its name in the top bar, and its ``info.title``.
    title: str
    #: What it describes: the first paragraph of its ``info.description`` (Markdown).
    about: str
    #: The document, before it is finished (:func:`document`) and addressed.
    build: Callable[[], dict[str, Any]]


def _description(about: str) -> str:
    """A document's ``info.description``: ``about``, then what the emulator is, how to
    authorize, and the way back to the try-it page."""
    return (
        f"{about}\n\n"
        "**This is the OCR emulator, running locally**: a stand-in for Azure's OCR APIs that "
        "answers as the service does, reading documents with a local OCR engine. Nothing is "
        'sent to Azure: every "Try it out" calls this emulator.\n\n'
        f"**To try an operation**, press **Authorize** and type one of the emulator's keys as "
        f"`{KEY_HEADER}` (the `--api-key` it was started with, or `OCR_EMULATOR_API_KEY`; "
        "without either, the key it printed at start-up), or a bearer token as "
        "`Bearer <token>`; then open an operation, **Try it out** and **Execute**. The other "
        "APIs are under **Select a definition**, above (authorize again after picking one)."
        "\n\n"
        "To read a document and see its line and word boxes, use [the try-it page](/)."
    )


def _operations(document: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """(path, method, operation) for every operation of ``document``'s ``paths``."""
    for path, item in document.get("paths", {}).items():
        for method in _METHODS:
            if isinstance(operation := item.get(method), dict):
                yield path, method, operation


def route_key(method: str, path: str) -> tuple[str, str]:
    """``(METHOD, path)`` with any query (an ``x-ms-paths`` overload such as
    ``?overload=stream``) cut off and every ``{parameter}`` as ``{}``: an emulator route and
    a document's operation compare equal when they are the same request."""
    return method.upper(), re.sub(r"\{[^}]*\}", "{}", path.split("?", 1)[0])


def served_keys(table: Iterable[Route]) -> frozenset[tuple[str, str]]:
    """The :func:`route_key` of every method of every route in ``table`` (``HEAD`` aside,
    which Starlette adds to every ``GET``)."""
    return frozenset(
        route_key(method, route.path)
        for route in table
        for method in route.methods or ()
        if method != "HEAD"
    )


def _merge_overloads(document: dict[str, Any]) -> None:
    """Move ``x-ms-paths`` into ``paths`` so Swagger UI lists both operations of a path: the
    overload's query (``?overload=stream``) only names it; the emulator, like the service,
    tells the two apart by ``Content-Type`` and ignores the parameter. Each overload is
    listed right after the path it overloads."""
    overloads = document.pop("x-ms-paths", {})
    merged: dict[str, Any] = {}
    for path, item in document["paths"].items():
        merged[path] = item
        merged.update(
            {key: value for key, value in overloads.items() if key.startswith(path + "?")}
        )
    merged.update({key: value for key, value in overloads.items() if key not in merged})
    document["paths"] = merged


def _served_only(document: dict[str, Any], served: frozenset[tuple[str, str]]) -> None:
    """Drop the operations (and the paths left empty) that no route serves."""
    base = document.get("basePath", "")
    for path, method, _operation in list(_operations(document)):
        if route_key(method, base + path) not in served:
            del document["paths"][path][method]
    for path in [p for p, item in document["paths"].items() if not set(item) & set(_METHODS)]:
        del document["paths"][path]


def _inline_examples(document: dict[str, Any], folder: str) -> None:
    """Each ``x-ms-examples`` ``{"$ref": "./examples/X.json"}`` replaced by that file from
    ``emulator/contract/examples/<folder>``; an example not shipped is left out."""
    for _path, _method, operation in _operations(document):
        examples = operation.pop("x-ms-examples", None)
        if not examples:
            continue
        inlined = {}
        for title, example in examples.items():
            reference = example.get("$ref") if isinstance(example, dict) else None
            if reference is None:
                inlined[title] = example
            elif (loaded := contract.example(folder, Path(reference).name)) is not None:
                inlined[title] = copy.deepcopy(loaded)
        if inlined:
            operation["x-ms-examples"] = inlined


def _secure(document: dict[str, Any]) -> None:
    """The document's key scheme (whatever it was called) and its OAuth2 flows (Microsoft's
    sign-in, another origin) replaced by :data:`SECURITY_DEFINITIONS`."""
    document["securityDefinitions"] = copy.deepcopy(SECURITY_DEFINITIONS)
    either: list[dict[str, list[str]]] = [{KEY_SCHEME: []}, {BEARER_SCHEME: []}]
    document["security"] = either
    for _path, _method, operation in _operations(document):
        # An operation's own requirements (the token route's: a key only) keep the schemes
        # still declared; an empty list (the health routes': no key) stays as it is.
        if operation.get("security"):
            operation["security"] = [
                requirement
                for requirement in operation["security"]
                if set(requirement) <= set(SECURITY_DEFINITIONS)
            ] or either


def _references(node: Any) -> Iterator[str]:
    """Every ``$ref`` under ``node``."""
    if isinstance(node, dict):
        if isinstance(reference := node.get("$ref"), str):
            yield reference
        for value in node.values():
            yield from _references(value)
    elif isinstance(node, list):
        for value in node:
            yield from _references(value)


def _prune(document: dict[str, Any]) -> None:
    """Drop the definitions, parameters and responses that nothing left refers to, so the
    "Models" section shows only what these operations use."""
    sections = ("definitions", "parameters", "responses")
    kept: set[tuple[str, str]] = set()
    pending = list(_references(document["paths"]))
    while pending:
        reference = pending.pop()
        parts = reference.removeprefix("#/").split("/", 1)
        if not reference.startswith("#/") or len(parts) != 2 or parts[0] not in sections:
            continue
        section, name = parts[0], parts[1].replace("~1", "/").replace("~0", "~")
        if (section, name) in kept or name not in document.get(section, {}):
            continue
        kept.add((section, name))
        pending.extend(_references(document[section][name]))
    for section in sections:
        if section in document:
            document[section] = {
                name: value for name, value in document[section].items() if (section, name) in kept
            }


def _tag(
    document: dict[str, Any], tags: list[tuple[str, str]], of: Callable[[str, str], str]
) -> None:
    """Tag every operation by its path and method (``of``), and declare ``tags`` (name,
    description) in that order, those used only."""
    for path, method, operation in _operations(document):
        operation["tags"] = [of(path, method)]
    used = {tag for _path, _method, op in _operations(document) for tag in op["tags"]}
    document["tags"] = [{"name": n, "description": d} for n, d in tags if n in used]


def _read_v32() -> dict[str, Any]:
    """Microsoft's Read v3.2 contract, both overloads listed, with the Read container's
    routes and the emulator's extensions that the route table serves."""
    document = copy.deepcopy(contract.openapi())
    _merge_overloads(document)
    paths = document["paths"]
    relative = len(read_v32.API_PREFIX)
    result = read_v32.RESULTS_PATH[relative:] + "/{operationId}"
    get_result = paths[result]["get"]
    paths[result]["delete"] = {
        "operationId": "DeleteReadResult",
        "description": "Deletes the operation's input and result now, instead of when the "
        "retention period ends; later reads of it answer 404. An extension of this emulator: "
        "the service keeps them for 48 hours.",
        "parameters": copy.deepcopy(get_result["parameters"]),
        "responses": {
            "204": {"description": "Deleted."},
            "default": copy.deepcopy(get_result["responses"]["default"]),
        },
    }
    # Listed where the route table has it (_served_only drops it otherwise).
    paths[result + "/pages/{page}/image"] = {
        "get": {
            "operationId": "GetReadPageImage",
            "description": "The PNG of a page of an operation, as the emulator drew it, for an "
            "operation submitted with the emulator's page-images request header (as the try-it "
            "page does), to its submitting key only. An extension of this emulator.",
            "produces": ["image/png", "application/json"],
            "parameters": [
                *copy.deepcopy(get_result["parameters"]),
                {
                    "name": "page",
                    "in": "path",
                    "description": "The page's number, from 1.",
                    "required": True,
                    "type": "integer",
                    "minimum": 1,
                },
            ],
            "responses": {
                "200": {"description": "The page's image.", "schema": {"type": "file"}},
                "default": copy.deepcopy(get_result["responses"]["default"]),
            },
        }
    }
    operations = read_v32.OPERATIONS_PATH[relative:] + "/{operationId}"
    paths[operations] = {
        "get": {
            **copy.deepcopy(get_result),
            "operationId": "GetReadOperation",
            "description": "The Read container's name for GetReadResult: the same answer, "
            "headers and errors.",
        }
    }
    sync = read_v32.SYNC_ANALYZE_PATH[relative:]
    analyze = read_v32.ANALYZE_PATH[relative:]
    for overload, name in (("", "SyncRead"), ("?overload=stream", "SyncReadInStream")):
        operation = copy.deepcopy(paths[analyze + overload]["post"])
        operation.pop("x-ms-examples", None)
        operation["operationId"] = name
        operation["description"] = (
            "The Read container's synchronous read: as "
            + ("ReadInStream" if overload else "Read")
            + ", answered only when the operation is finished, with 200 and the "
            "ReadOperationResult a GET on it would answer then. The operation is deleted once "
            "answered. 503 when the job time limit passes first."
        )
        operation["responses"] = {
            "200": {
                "description": "The finished operation.",
                "schema": {"$ref": "#/definitions/ReadOperationResult"},
            },
            "default": operation["responses"]["default"],
        }
        paths[sync + overload] = {"post": operation}
    _tag(
        document,
        [
            ("Read", "Read v3.2, as Azure serves it."),
            ("Read container", "The Read container's own routes."),
            ("Emulator extensions", "What this emulator adds to the service."),
        ],
        lambda path, method: (
            "Read container"
            if path.startswith((sync, operations))
            else "Emulator extensions"
            if path.startswith(result + "/") or method == "delete"
            else "Read"
        ),
    )
    document["basePath"] = read_v32.API_PREFIX
    _served_only(document, served_keys(read_v32.routes()))
    return document


def _document_intelligence(version: di_parsing.ApiVersion) -> Callable[[], dict[str, Any]]:
    """The builder of Document Intelligence's contract for ``version``: the operations served
    under its prefix, "Try it out" offering the models and the api-version served."""

    def build() -> dict[str, Any]:
        document = copy.deepcopy(contract.document_intelligence_openapi(version.version))
        _merge_overloads(document)
        document["basePath"] = version.prefix
        _served_only(document, served_keys(document_intelligence.routes()))
        for _path, _method, operation in _operations(document):
            for parameter in operation.get("parameters", []):
                reference = parameter.get("$ref", "")
                target = (
                    document["parameters"][reference.rsplit("/", 1)[1]]
                    if reference.startswith("#/parameters/")
                    else parameter
                )
                if target.get("name") == "api-version":
                    target["default"] = version.version
                elif target.get("name") == "modelId" and target.get("in") == "path":
                    target["enum"] = list(di_parsing.MODEL_IDS)
                    target["description"] = "The model: " + " or ".join(di_parsing.MODEL_IDS)
        _tag(
            document,
            [
                ("Analyze", "Submit a document to a prebuilt model."),
                ("Analyze results", "The result of an analysis, and what it made."),
                ("Models", "The models served."),
            ],
            lambda path, _method: (
                "Analyze results"
                if "/analyzeResults/" in path
                else "Analyze"
                if ":analyze" in path
                else "Models"
            ),
        )
        return document

    return build


def _image_analysis() -> dict[str, Any]:
    """The emulator's own description of Image Analysis 4.0's ``read``."""
    document = copy.deepcopy(contract.image_analysis_openapi())
    _served_only(document, served_keys(image_analysis.routes()))
    tag = "Image Analysis"
    _tag(document, [(tag, "Image Analysis 4.0: the read feature.")], lambda _path, _method: tag)
    return document


def _emulator() -> dict[str, Any]:
    """The emulator's own routes: health, admin, tokens, ``/swagger.json``."""
    return copy.deepcopy(contract.emulator_openapi())


_MODELS = " and ".join(f"`{model}`" for model in di_parsing.MODEL_IDS)
#: The documents, in the top bar's order (the first is shown first).
DEFINITIONS = (
    Definition(
        "read-v3.2",
        "Computer Vision Read v3.2 (OCR emulator)",
        "Microsoft's Read v3.2 contract (Computer Vision's `Ocr.json`), with the Read "
        "container's routes (`syncAnalyze`, `read/operations/{operationId}`) and this "
        "emulator's `DELETE` of a result added. `POST /read/analyze` takes a URL as JSON "
        "(Read) or the document's bytes (ReadInStream, listed as `?overload=stream`: the "
        "`Content-Type` tells the two apart, the parameter is ignored).",
        _read_v32,
    ),
    Definition(
        "document-intelligence-2024-11-30",
        "Document Intelligence 2024-11-30 (OCR emulator)",
        "Microsoft's Document Intelligence 2024-11-30 contract, cut down to the operations "
        f"this emulator serves, for the models {_MODELS}. Analyze takes the document's bytes, "
        "or JSON with `urlSource` or `base64Source` (listed as `?_overload=analyzeDocument`: "
        "the `Content-Type` tells the two apart).",
        _document_intelligence(di_parsing.V4),
    ),
    Definition(
        "form-recognizer-2023-07-31",
        "Form Recognizer 2023-07-31 (OCR emulator)",
        "Microsoft's Form Recognizer 2023-07-31 contract (Document Intelligence v3.1), cut "
        f"down to the operations this emulator serves, for the models {_MODELS}.",
        _document_intelligence(di_parsing.V31),
    ),
    Definition(
        "image-analysis-4.0",
        "Image Analysis 4.0 (OCR emulator)",
        "This emulator's own description of Image Analysis 4.0's `imageanalysis:analyze` as "
        "it serves it: the `read` feature only, answered in the same call. The image is the "
        "body's bytes, or JSON with its `url` (listed as `?_overload=analyzeFromUrl`).",
        _image_analysis,
    ),
    Definition(
        "emulator",
        "The emulator's own routes",
        "Health (open without a key, like the Read container's), test controls, fault "
        "injection and the billing meter under `/_emulator/`, the development token issuer, "
        "and Microsoft's Read v3.2 contract verbatim (`/swagger.json`). None of these is part "
        "of an Azure service.",
        _emulator,
    ),
)
_BY_NAME = {definition.name: definition for definition in DEFINITIONS}


@cache
def document(name: str) -> dict[str, Any]:
    """The finished document ``name`` (of :data:`DEFINITIONS`), not yet addressed: the
    emulator's title and description, examples inlined, the key and token schemes, nothing
    unreferenced. Callers copy it before changing it (:func:`addressed_contract`)."""
    definition = _BY_NAME[name]
    built = definition.build()
    built.pop("x-ms-parameterized-host", None)
    built.pop("host", None)
    built["info"] = {
        "title": definition.title,
        "version": built["info"]["version"],
        "description": _description(definition.about),
    }
    _inline_examples(built, name)
    _secure(built)
    _prune(built)
    return built


def addressed_contract(name: str, host: str, scheme: str) -> dict[str, Any]:
    """The document ``name`` addressed to ``host`` over ``scheme`` (the request's), so that
    "Try it out" calls this emulator wherever it runs."""
    addressed = copy.deepcopy(document(name))
    addressed["host"] = host
    addressed["schemes"] = [scheme]
    return addressed


def config() -> dict[str, Any]:
    """Swagger UI's configuration (``configUrl``): the definitions of its top bar, the first
    shown first; each operation's id shown beside its path (it tells an overload apart)."""
    return {
        "urls": [{"url": f"/swagger/{d.name}.json", "name": d.title} for d in DEFINITIONS],
        "urls.primaryName": DEFINITIONS[0].title,
        "displayOperationId": True,
    }


def routes() -> list[Route]:
    """Swagger UI, its configuration, its documents and its assets."""
    return [
        Route("/swagger", swagger_ui, methods=["GET"]),
        Route(CONFIG_PATH, swagger_config, methods=["GET"]),
        Route(f"/swagger/{INIT_SCRIPT}", swagger_init, methods=["GET"]),
        Route("/swagger/assets/{name}", swagger_asset, methods=["GET"]),
        Route("/swagger/{document}.json", swagger_contract, methods=["GET"]),
    ]


def _headers(policy: str) -> dict[str, str]:
    return {
        "Content-Security-Policy": policy,
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
        "Cache-Control": "no-cache",
    }


def _file(data: bytes, name: str) -> Response:
    media = _TYPES[Path(name).suffix]
    return Response(data, media_type=media, headers=_headers(SWAGGER_POLICY))


def _json(body: dict[str, Any]) -> Response:
    return Response(
        json.dumps(body), media_type="application/json", headers=_headers(SWAGGER_POLICY)
    )


@cache
def _static(name: str) -> bytes:
    return resources.files("emulator").joinpath("static", name).read_bytes()


@cache
def swagger_dist() -> Path:
    """Swagger UI's distribution folder in the ``swagger-ui-bundle`` wheel."""
    import swagger_ui_bundle

    return Path(swagger_ui_bundle.swagger_ui_path)


async def swagger_ui(request: Request) -> Response:
    """``GET /swagger``: Swagger UI over every API this emulator serves."""
    return _file(_static("swagger.html"), "swagger.html")


async def swagger_init(request: Request) -> Response:
    """``GET /swagger/swagger-init.js``: the script that starts Swagger UI."""
    return _file(_static(INIT_SCRIPT), INIT_SCRIPT)


async def swagger_config(request: Request) -> Response:
    """``GET /swagger/config.json``: Swagger UI's configuration (:func:`config`)."""
    return _json(config())


async def swagger_asset(request: Request) -> Response:
    """``GET /swagger/assets/{name}``: Swagger UI's own files, from its wheel."""
    name = request.path_params["name"]
    if name not in SWAGGER_FILES:
        raise errors.resource_not_found(request.url.path)
    return _file((swagger_dist() / name).read_bytes(), name)


async def swagger_contract(request: Request) -> Response:
    """``GET /swagger/{name}.json``: a document of :data:`DEFINITIONS`, addressed to this
    emulator (:func:`addressed_contract`)."""
    name = request.path_params["document"]
    if name not in _BY_NAME:
        raise errors.resource_not_found(request.url.path)
    return _json(addressed_contract(name, request.url.netloc, request.url.scheme))
