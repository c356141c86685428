"""The pages a person opens in a browser, like the Read container's home page and Vision
Studio: ``GET /`` (a try-it page: key, file or URL, read options; the page with its line and
word boxes, the text and the JSON) and ``GET /swagger`` (Swagger UI over the contract).

Every asset is served from this package or from the ``swagger-ui-bundle`` wheel, never from
another origin, and each page carries a content-security policy that allows this origin only
(Swagger UI also needs inline styles and ``data:`` images for its icons). The pages need no
key; what they call does, with the key typed into them.
"""

from __future__ import annotations

import copy
import json
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from emulator import contract, errors

#: The try-it page's policy: this origin only; page images are shown from ``blob:`` URLs.
TRY_IT_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' blob:; "
    "connect-src 'self'; form-action 'none'; frame-ancestors 'none'; base-uri 'none'"
)
#: Swagger UI's: the same, plus the inline styles and ``data:`` icons it uses.
SWAGGER_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; connect-src 'self'; font-src 'self'; form-action 'none'; "
    "frame-ancestors 'none'; base-uri 'none'"
)
_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".png": "image/png",
}
#: The files of ``emulator/static`` served under ``/static/``.
STATIC_FILES = frozenset({"try-it.js", "try-it.css", "swagger-init.js"})
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
#: The paths these pages and their assets live under (open without a key).
OPEN_PATHS = frozenset({"/", "/swagger", "/favicon.ico"})
OPEN_PREFIXES = ("/static/", "/swagger/")


def routes() -> list[Route]:
    """The home page, Swagger UI, and their assets."""
    return [
        Route("/", try_it, methods=["GET"]),
        Route("/swagger", swagger_ui, methods=["GET"]),
        Route("/swagger/read-v3.2.json", swagger_contract, methods=["GET"]),
        Route("/swagger/assets/{name}", swagger_asset, methods=["GET"]),
        Route("/static/{name}", static_file, methods=["GET"]),
        Route("/favicon.ico", favicon, methods=["GET"]),
    ]


def _headers(policy: str) -> dict[str, str]:
    return {
        "Content-Security-Policy": policy,
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
        "Cache-Control": "no-cache",
    }


@cache
def _static(name: str) -> bytes:
    return resources.files("emulator").joinpath("static", name).read_bytes()


@cache
def _swagger_dist() -> Path:
    import swagger_ui_bundle

    return Path(swagger_ui_bundle.swagger_ui_path)


def _file(data: bytes, name: str, policy: str) -> Response:
    media = _TYPES[Path(name).suffix]
    return Response(data, media_type=media, headers=_headers(policy))


async def try_it(request: Request) -> Response:
    """``GET /``: the try-it page."""
    return _file(_static("try-it.html"), "try-it.html", TRY_IT_POLICY)


async def swagger_ui(request: Request) -> Response:
    """``GET /swagger``: Swagger UI over the Read v3.2 contract."""
    return _file(_static("swagger.html"), "swagger.html", SWAGGER_POLICY)


async def static_file(request: Request) -> Response:
    """``GET /static/{name}``: the try-it page's script and style."""
    name = request.path_params["name"]
    if name not in STATIC_FILES:
        raise errors.resource_not_found(request.url.path)
    return _file(_static(name), name, TRY_IT_POLICY)


async def swagger_asset(request: Request) -> Response:
    """``GET /swagger/assets/{name}``: Swagger UI's own files, from its wheel."""
    name = request.path_params["name"]
    if name not in SWAGGER_FILES:
        raise errors.resource_not_found(request.url.path)
    return _file((_swagger_dist() / name).read_bytes(), name, SWAGGER_POLICY)


async def favicon(request: Request) -> Response:
    """``GET /favicon.ico``, which browsers ask for by themselves: Swagger UI's icon."""
    name = "favicon-32x32.png"
    return _file((_swagger_dist() / name).read_bytes(), name, TRY_IT_POLICY)


async def swagger_contract(request: Request) -> Response:
    """``GET /swagger/read-v3.2.json``: the contract, addressed to this emulator (its host
    and scheme instead of the ``{Endpoint}`` template), so Swagger UI's "Try it out" calls
    it."""
    body = json.dumps(addressed_contract(request.url.netloc, request.url.scheme))
    return Response(body, media_type="application/json", headers=_headers(SWAGGER_POLICY))


def addressed_contract(host: str, scheme: str) -> dict[str, Any]:
    """The contract with ``host`` and ``scheme`` in place of its parameterised host."""
    document = copy.deepcopy(contract.openapi())
    document.pop("x-ms-parameterized-host", None)
    document["host"] = host
    document["schemes"] = [scheme]
    return document
