"""Swagger UI's page, its configuration, its assets (from the ``swagger-ui-bundle`` wheel)
and the documents of :mod:`emulator.api.swagger.documents`, under one content-security
policy."""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from emulator import errors
from emulator.api.home import page_headers
from emulator.api.swagger.documents import addressed_contract, config, served_names

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


def routes() -> list[Route]:
    """Swagger UI, its configuration, its documents and its assets."""
    return [
        Route("/swagger", swagger_ui, methods=["GET"]),
        Route(CONFIG_PATH, swagger_config, methods=["GET"]),
        Route(f"/swagger/{INIT_SCRIPT}", swagger_init, methods=["GET"]),
        Route("/swagger/assets/{name}", swagger_asset, methods=["GET"]),
        Route("/swagger/{document}.json", swagger_contract, methods=["GET"]),
    ]


def _file(data: bytes, name: str) -> Response:
    media = _TYPES[Path(name).suffix]
    return Response(data, media_type=media, headers=page_headers(SWAGGER_POLICY))


def _json(body: dict[str, Any]) -> Response:
    return Response(
        json.dumps(body), media_type="application/json", headers=page_headers(SWAGGER_POLICY)
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
    """``GET /swagger/{name}.json``: a document of
    :data:`~emulator.api.swagger.documents.DEFINITIONS`, addressed to this
    emulator (:func:`addressed_contract`)."""
    name = request.path_params["document"]
    if name not in served_names():
        raise errors.resource_not_found(request.url.path)
    return _json(addressed_contract(name, request.url.netloc, request.url.scheme))
