"""The pages a person opens in a browser, like the Read container's home page and Vision
Studio: ``GET /`` (a try-it page: key, file or URL, read options; progress page by page; each
page, as the emulator drew it, with its line and word boxes and its text, and the JSON) and
``GET /swagger`` (Swagger UI, :mod:`emulator.api.swagger`).

Every asset is served from this package or from the ``swagger-ui-bundle`` wheel, never from
another origin, and each page carries a content-security policy that allows this origin only
(Swagger UI also needs inline styles and ``data:`` images for its icons). The pages need no
key; what they call does, with the key typed into them.
"""

from __future__ import annotations

from functools import cache
from importlib import resources
from pathlib import Path

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from emulator import errors

#: The try-it page's policy: this origin only. The page images the emulator draws are fetched
#: with the key (an ``<img>`` cannot send one) and shown from ``blob:`` URLs.
TRY_IT_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' blob:; "
    "connect-src 'self'; form-action 'none'; frame-ancestors 'none'; base-uri 'none'"
)
_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".png": "image/png",
}
#: The files of ``emulator/static`` served under ``/static/``.
STATIC_FILES = frozenset({"try-it.js", "try-it.css"})
#: The paths these pages (and Swagger UI's, :mod:`emulator.api.swagger`) and their assets
#: live under (open without a key).
OPEN_PATHS = frozenset({"/", "/swagger", "/favicon.ico"})
OPEN_PREFIXES = ("/static/", "/swagger/")


def routes() -> list[Route]:
    """The home page and its assets."""
    return [
        Route("/", try_it, methods=["GET"]),
        Route("/static/{name}", static_file, methods=["GET"]),
        Route("/favicon.ico", favicon, methods=["GET"]),
    ]


def page_headers(policy: str) -> dict[str, str]:
    """The headers of a browser page or asset of this emulator: its content-security
    ``policy``, no sniffing, no referrer, revalidated on every load."""
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
    return Response(data, media_type=media, headers=page_headers(policy))


async def try_it(request: Request) -> Response:
    """``GET /``: the try-it page."""
    return _file(_static("try-it.html"), "try-it.html", TRY_IT_POLICY)


async def static_file(request: Request) -> Response:
    """``GET /static/{name}``: the try-it page's script and style."""
    name = request.path_params["name"]
    if name not in STATIC_FILES:
        raise errors.resource_not_found(request.url.path)
    return _file(_static(name), name, TRY_IT_POLICY)


async def favicon(request: Request) -> Response:
    """``GET /favicon.ico``, which browsers ask for by themselves: Swagger UI's icon."""
    name = "favicon-32x32.png"
    return _file((_swagger_dist() / name).read_bytes(), name, TRY_IT_POLICY)
