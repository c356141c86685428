"""Swagger UI's documents: each API surface's OpenAPI 3.0 document, cut down to the routes
the emulator serves, with its examples inlined, the emulator's title and description, the
key and bearer schemes, and addressed to the emulator that serves it (see
:mod:`emulator.api.swagger`)."""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any, cast

from starlette.routing import Route

from emulator import contract
from emulator.api.document_intelligence import parsing as di_parsing
from emulator.api.document_intelligence import routes as document_intelligence
from emulator.api.image_analysis import routes as image_analysis
from emulator.api.read_v32 import routes as read_v32

#: The folder of :mod:`emulator.contract` that holds the OpenAPI 3.0 documents.
OPENAPI3_FOLDER = "openapi3"

#: The security schemes of every document: the key, and a bearer token in ``Authorization``.
KEY_SCHEME = "apim_key"
BEARER_SCHEME = "bearer"
KEY_HEADER = "Ocp-Apim-Subscription-Key"
SECURITY_SCHEMES: dict[str, dict[str, str]] = {
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
#: The sections of ``components`` that a ``$ref`` names (``securitySchemes`` are named by
#: ``security`` instead).
_COMPONENTS = ("schemas", "parameters", "responses", "requestBodies", "headers", "examples")


@dataclass(frozen=True, slots=True)
class Definition:
    """One document of Swagger UI's top bar."""

    #: Its file name under ``/swagger/`` (without ``.json``).
    name: str
    #: Its name in the top bar, and its ``info.title``.
    title: str
    #: What it describes: the first paragraph of its ``info.description`` (Markdown).
    about: str
    #: The path its operations' paths are under (its server's path).
    base: str
    #: The document, before it is finished (:func:`document`) and addressed.
    build: Callable[[], dict[str, Any]]
    #: The Swagger 2.0 contract it is converted from: its ``x-ms-examples``.
    source: Callable[[], dict[str, Any]]


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


@cache
def _converted(name: str) -> dict[str, Any]:
    """The OpenAPI 3.0 document ``name`` (``emulator/contract/openapi3/<name>.json``), as
    swagger2openapi converted it from the Swagger 2.0 contract; callers copy it."""
    folder = resources.files(contract.__name__).joinpath(OPENAPI3_FOLDER)
    return cast("dict[str, Any]", json.loads(folder.joinpath(f"{name}.json").read_bytes()))


def _operations(
    document: dict[str, Any], section: str = "paths"
) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """(path, method, operation) for every operation of ``document``'s ``paths`` (or
    ``section``, such as ``x-ms-paths``)."""
    for path, item in document.get(section, {}).items():
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


def _served_only(document: dict[str, Any], base: str, served: frozenset[tuple[str, str]]) -> None:
    """Drop the operations (and the paths left empty) that no route serves, ``base`` before
    their paths."""
    for path, method, _operation in list(_operations(document)):
        if route_key(method, base + path) not in served:
            del document["paths"][path][method]
    for path in [p for p, item in document["paths"].items() if not set(item) & set(_METHODS)]:
        del document["paths"][path]


def _inline_examples(document: dict[str, Any], source: dict[str, Any], folder: str) -> None:
    """Each operation's ``x-ms-examples`` in the Swagger 2.0 contract ``source`` (the one with
    the same ``operationId``; swagger2openapi drops them), each ``{"$ref": "./examples/X.json"}``
    replaced by that file from ``emulator/contract/examples/<folder>``; an example not shipped
    is left out."""
    by_id = {
        operation.get("operationId"): operation.get("x-ms-examples")
        for section in ("paths", "x-ms-paths")
        for _path, _method, operation in _operations(source, section)
    }
    for _path, _method, operation in _operations(document):
        examples = by_id.get(operation.get("operationId"))
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
    sign-in, another origin) replaced by :data:`SECURITY_SCHEMES`."""
    document.setdefault("components", {})["securitySchemes"] = copy.deepcopy(SECURITY_SCHEMES)
    either: list[dict[str, list[str]]] = [{KEY_SCHEME: []}, {BEARER_SCHEME: []}]
    document["security"] = either
    for _path, _method, operation in _operations(document):
        # An operation's own requirements (the token route's: a key only) keep the schemes
        # still declared; an empty list (the health routes': no key) stays as it is.
        if operation.get("security"):
            operation["security"] = [
                requirement
                for requirement in operation["security"]
                if set(requirement) <= set(SECURITY_SCHEMES)
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
    """Drop the ``components`` (schemas, parameters, request bodies...) that nothing left
    refers to, so the "Schemas" section shows only what these operations use."""
    components = document.setdefault("components", {})
    kept: set[tuple[str, str]] = set()
    pending = list(_references(document["paths"]))
    while pending:
        reference = pending.pop()
        parts = reference.removeprefix("#/components/").split("/", 1)
        if not reference.startswith("#/components/") or len(parts) != 2:
            continue
        section, name = parts[0], parts[1].replace("~1", "/").replace("~0", "~")
        if (section, name) in kept or name not in components.get(section, {}):
            continue
        kept.add((section, name))
        pending.extend(_references(components[section][name]))
    for section in _COMPONENTS:
        if section in components:
            components[section] = {
                name: value
                for name, value in components[section].items()
                if (section, name) in kept
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
    document = copy.deepcopy(_converted("read-v3.2"))
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
            "parameters": [
                *copy.deepcopy(get_result["parameters"]),
                {
                    "name": "page",
                    "in": "path",
                    "description": "The page's number, from 1.",
                    "required": True,
                    "schema": {"type": "integer", "minimum": 1},
                },
            ],
            "responses": {
                "200": {
                    "description": "The page's image.",
                    "content": {"image/png": {"schema": {"type": "string", "format": "binary"}}},
                },
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
                "content": {
                    "application/json": {
                        "schema": {"$ref": "#/components/schemas/ReadOperationResult"}
                    }
                },
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
    _served_only(document, read_v32.API_PREFIX, served_keys(read_v32.routes()))
    return document


def _document_intelligence(
    name: str, version: di_parsing.ApiVersion
) -> Callable[[], dict[str, Any]]:
    """The builder of Document Intelligence's contract ``name`` for ``version``: the
    operations served under its prefix, "Try it out" offering the models and the api-version
    served."""

    def build() -> dict[str, Any]:
        document = copy.deepcopy(_converted(name))
        _merge_overloads(document)
        _served_only(document, version.prefix, served_keys(document_intelligence.routes()))
        shared = document.get("components", {}).get("parameters", {})
        for _path, _method, operation in _operations(document):
            for parameter in operation.get("parameters", []):
                reference = parameter.get("$ref", "")
                target = (
                    shared[reference.rsplit("/", 1)[1]]
                    if reference.startswith("#/components/parameters/")
                    else parameter
                )
                if target.get("name") == "api-version":
                    target["schema"]["default"] = version.version
                elif target.get("name") == "modelId" and target.get("in") == "path":
                    target["schema"]["enum"] = list(di_parsing.MODEL_IDS)
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
    document = copy.deepcopy(_converted("image-analysis-4.0"))
    _served_only(document, image_analysis.API_PREFIX, served_keys(image_analysis.routes()))
    tag = "Image Analysis"
    _tag(document, [(tag, "Image Analysis 4.0: the read feature.")], lambda _path, _method: tag)
    return document


def _emulator() -> dict[str, Any]:
    """The emulator's own routes: health, admin, tokens, ``/swagger.json``."""
    return copy.deepcopy(_converted("emulator"))


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
        read_v32.API_PREFIX,
        _read_v32,
        contract.openapi,
    ),
    Definition(
        "document-intelligence-2024-11-30",
        "Document Intelligence 2024-11-30 (OCR emulator)",
        "Microsoft's Document Intelligence 2024-11-30 contract, cut down to the operations "
        f"this emulator serves, for the models {_MODELS}. Analyze takes the document's bytes, "
        "or JSON with `urlSource` or `base64Source` (listed as `?_overload=analyzeDocument`: "
        "the `Content-Type` tells the two apart).",
        di_parsing.V4.prefix,
        _document_intelligence("document-intelligence-2024-11-30", di_parsing.V4),
        lambda: contract.document_intelligence_openapi(di_parsing.V4.version),
    ),
    Definition(
        "form-recognizer-2023-07-31",
        "Form Recognizer 2023-07-31 (OCR emulator)",
        "Microsoft's Form Recognizer 2023-07-31 contract (Document Intelligence v3.1), cut "
        f"down to the operations this emulator serves, for the models {_MODELS}. Analyze "
        "takes JSON with `urlSource` or `base64Source`, or the document's bytes (pick their "
        "media type, such as `application/octet-stream`, under **Request body**).",
        di_parsing.V31.prefix,
        _document_intelligence("form-recognizer-2023-07-31", di_parsing.V31),
        lambda: contract.document_intelligence_openapi(di_parsing.V31.version),
    ),
    Definition(
        "image-analysis-4.0",
        "Image Analysis 4.0 (OCR emulator)",
        "This emulator's own description of Image Analysis 4.0's `imageanalysis:analyze` as "
        "it serves it: the `read` feature only, answered in the same call. The image is the "
        "body's bytes, or JSON with its `url` (listed as `?_overload=analyzeFromUrl`).",
        image_analysis.API_PREFIX,
        _image_analysis,
        contract.image_analysis_openapi,
    ),
    Definition(
        "emulator",
        "The emulator's own routes",
        "Health (open without a key, like the Read container's), test controls, fault "
        "injection and the billing meter under `/_emulator/`, the development token issuer, "
        "and Microsoft's Read v3.2 contract verbatim (`/swagger.json`). None of these is part "
        "of an Azure service.",
        "",
        _emulator,
        contract.emulator_openapi,
    ),
)
_BY_NAME = {definition.name: definition for definition in DEFINITIONS}


def served_names() -> frozenset[str]:
    """The names of the documents served at ``/swagger/<name>.json``."""
    return frozenset(_BY_NAME)


@cache
def document(name: str) -> dict[str, Any]:
    """The finished document ``name`` (of :data:`DEFINITIONS`), not yet addressed: the
    emulator's title and description, its base path as its only server, examples inlined,
    the key and token schemes, nothing unreferenced. Callers copy it before changing it
    (:func:`addressed_contract`)."""
    definition = _BY_NAME[name]
    built = definition.build()
    built["servers"] = [{"url": definition.base or "/"}]
    built["info"] = {
        "title": definition.title,
        "version": built["info"]["version"],
        "description": _description(definition.about),
    }
    _inline_examples(built, definition.source(), name)
    _secure(built)
    _prune(built)
    return built


def addressed_contract(name: str, host: str, scheme: str) -> dict[str, Any]:
    """The document ``name`` addressed to ``host`` over ``scheme`` (the request's): its one
    server is this emulator, wherever it runs, so that "Try it out" calls it."""
    addressed = copy.deepcopy(document(name))
    url = f"{scheme}://{host}{_BY_NAME[name].base}"
    addressed["servers"] = [{"url": url, "description": "This OCR emulator."}]
    return addressed


def config() -> dict[str, Any]:
    """Swagger UI's configuration (``configUrl``): the definitions of its top bar, the first
    shown first; each operation's id shown beside its path (it tells an overload apart)."""
    return {
        "urls": [{"url": f"/swagger/{d.name}.json", "name": d.title} for d in DEFINITIONS],
        "urls.primaryName": DEFINITIONS[0].title,
        "displayOperationId": True,
    }
