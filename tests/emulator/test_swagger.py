"""Swagger UI's documents (``/swagger/<name>.json``): one for every API surface, together
listing every route the emulator serves and nothing it does not; addressed to the emulator
that serves them; with the emulator's own description, examples that resolve, and
"Authorize" for the key or a bearer token that both work; valid OpenAPI 3.0, converted from the
Swagger 2.0 contracts (``emulator/contract/openapi3/``), whose document bodies are files. The
page in a browser is ``tests/e2e/test_e2e_swagger.py``."""

from __future__ import annotations

import json
import re
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from _harness import KEY, Harness
from openapi_spec_validator import OpenAPIV30SpecValidator
from starlette.applications import Starlette
from starlette.routing import Route

from emulator import contract
from emulator.api.document_intelligence.parsing import MODEL_IDS
from emulator.api.swagger import SWAGGER_POLICY
from emulator.http.middleware.auth import OPEN_PATHS

#: What each document is called in the top bar, and its base path.
DOCUMENTS = {
    "read-v3.2": "/vision/v3.2",
    "document-intelligence-2024-11-30": "/documentintelligence",
    "form-recognizer-2023-07-31": "/formrecognizer",
    "image-analysis-4.0": "/computervision",
    "emulator": "",
}
#: The routes deliberately in no document, each with the reason.
UNDOCUMENTED = {
    ("GET", "/"): "the try-it page: a page for a person, not an API",
    ("GET", "/static/{}"): "the try-it page's script and style",
    ("GET", "/favicon.ico"): "the icon browsers ask for by themselves",
    ("GET", "/swagger"): "Swagger UI itself",
    ("GET", "/swagger/config.json"): "Swagger UI's configuration: the list of these documents",
    ("GET", "/swagger/swagger-init.js"): "Swagger UI's start-up script",
    ("GET", "/swagger/assets/{}"): "Swagger UI's own files",
    ("GET", "/swagger/{}.json"): "these documents themselves",
}
_METHODS = {"get", "put", "post", "delete", "patch", "head", "options"}
#: The schema that Swagger UI shows as a file input.
FILE = {"type": "string", "format": "binary"}
#: Each OpenAPI 3.0 document (``emulator/contract/openapi3/<name>.json``) and the Swagger 2.0
#: contract it is converted from.
CONVERTED = {
    "read-v3.2": "read-v3.2.openapi.json",
    "document-intelligence-2024-11-30": "document-intelligence-2024-11-30.openapi.json",
    "form-recognizer-2023-07-31": "form-recognizer-2023-07-31.openapi.json",
    "image-analysis-4.0": "image-analysis-4.0.openapi.json",
    "emulator": "emulator.openapi.json",
}


def _key(method: str, path: str) -> tuple[str, str]:
    """A request as (METHOD, path): an overload's query cut off, parameters as ``{}``."""
    return method.upper(), re.sub(r"\{[^}]*\}", "{}", path.split("?", 1)[0])


def _served(app: Starlette) -> set[tuple[str, str]]:
    served = set()
    for route in app.routes:
        assert isinstance(route, Route)
        served |= {_key(method, route.path) for method in route.methods or () if method != "HEAD"}
    return served


def _operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method, path, operation)
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if method in _METHODS
    ]


def _base(document: dict[str, Any]) -> str:
    """The path of the document's one server: where its paths are."""
    [server] = document["servers"]
    return urlsplit(server["url"]).path.rstrip("/")


def _resolve(document: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    """``node``, or what its ``$ref`` names in ``document``."""
    if "$ref" not in node:
        return node
    target: Any = document
    for part in node["$ref"].removeprefix("#/").split("/"):
        target = target[part.replace("~1", "/").replace("~0", "~")]
    return _resolve(document, target)


def _contract(name: str) -> dict[str, Any]:
    folder = resources.files(contract.__name__)
    parsed: dict[str, Any] = json.loads(folder.joinpath(name).read_bytes())
    return parsed


def _bare(app: Starlette, base_url: str = "http://emulator.test") -> httpx.AsyncClient:
    """A client with no key."""
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=base_url)


async def _documents(app: Starlette, base_url: str = "http://emulator.test") -> dict[str, Any]:
    """Every document of Swagger UI's top bar, by name, fetched without a key."""
    async with _bare(app, base_url) as client:
        config = (await client.get("/swagger/config.json")).json()
        documents = {}
        for entry in config["urls"]:
            response = await client.get(entry["url"])
            assert response.status_code == 200, entry
            document = response.json()
            assert document["info"]["title"] == entry["name"]
            documents[entry["url"].removeprefix("/swagger/").removesuffix(".json")] = document
    return documents


def _references(node: Any) -> list[str]:
    if isinstance(node, dict):
        found = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return found + [ref for value in node.values() for ref in _references(value)]
    if isinstance(node, list):
        return [ref for value in node for ref in _references(value)]
    return []


async def test_the_documents_list_every_route_the_emulator_serves_and_no_other(
    h: Harness,
) -> None:
    documents = await _documents(h.app)
    assert list(documents) == list(DOCUMENTS)
    documented = {
        _key(method, _base(document) + path)
        for document in documents.values()
        for method, path, _operation in _operations(document)
    }
    served = _served(h.app)
    assert set(UNDOCUMENTED) <= served, "a reason for a route that is not served"
    assert served - set(UNDOCUMENTED) - documented == set(), "served but in no document"
    assert documented - served == set(), "documented but not served"
    assert documented & set(UNDOCUMENTED) == set()
    # What the issue found missing: the Read container's routes, the DELETE, the other APIs.
    for expected in [
        ("DELETE", "/vision/v3.2/read/analyzeResults/{}"),
        ("POST", "/vision/v3.2/read/syncAnalyze"),
        ("GET", "/vision/v3.2/read/operations/{}"),
        ("GET", "/documentintelligence/documentModels/{}/analyzeResults/{}/figures/{}"),
        ("POST", "/formrecognizer/documentModels/{}:analyze"),
        ("POST", "/computervision/imageanalysis:analyze"),
        ("POST", "/_emulator/token"),
        ("GET", "/ContainerLiveness"),
    ]:
        assert expected in documented


async def test_each_document_is_addressed_to_the_emulator_that_serves_it(
    h: Harness, png: Any
) -> None:
    documents = await _documents(h.app, "https://ocr.example:8443")
    for name, document in documents.items():
        [server] = document["servers"]
        assert server["url"] == "https://ocr.example:8443" + DOCUMENTS[name], name
        assert not {"host", "schemes", "basePath", "x-ms-parameterized-host"} & set(document)
    # "Try it out" builds its URL from the server: that URL reaches the route.
    operation_id = await h.submit(png())
    read = (await _documents(h.app))["read-v3.2"]
    url = read["servers"][0]["url"]
    response = await h.client.get(f"{url}/read/analyzeResults/{operation_id}")
    assert response.status_code == 200
    assert response.json()["status"] == "notStarted"
    async with _bare(h.app) as client:
        missing = await client.get("/swagger/ocr-v9.json")
        assert missing.status_code == 404
        page = await client.get("/swagger")
        assert page.status_code == 200
        assert page.headers["content-security-policy"] == SWAGGER_POLICY
        for asset in re.findall(r'(?:src|href)="([^"]+)"', page.text):
            assert asset.startswith("/swagger/"), asset  # this origin, never another
            assert (await client.get(asset)).status_code == 200, asset


async def test_every_reference_resolves_and_microsofts_examples_are_inlined(h: Harness) -> None:
    documents = await _documents(h.app)
    for name, document in documents.items():
        for reference in _references(document):
            # Inside the document: Swagger UI never asks the server for ./examples/*.json.
            assert reference.startswith("#/"), (name, reference)
            target: Any = document
            for part in reference.removeprefix("#/").split("/"):
                target = target[part.replace("~1", "/").replace("~0", "~")]
    read = documents["read-v3.2"]["paths"]["/read/analyze"]["post"]["x-ms-examples"]
    operation_location = read["Successful Analyze request"]["responses"]["202"]["header"]
    assert "/vision/v3.2/read/" in operation_location["Operation-Location"]
    # Every example shipped is shown where the contract refers to it.
    folder = resources.files(contract.__name__).joinpath("examples")
    for name in ("read-v3.2", "document-intelligence-2024-11-30", "form-recognizer-2023-07-31"):
        inlined = [
            example
            for _method, _path, operation in _operations(documents[name])
            for example in operation.get("x-ms-examples", {}).values()
        ]
        files = [f for f in folder.joinpath(name).iterdir() if f.name.endswith(".json")]
        assert files
        for file in files:
            assert json.loads(file.read_bytes()) in inlined, (name, file.name)


async def test_each_document_describes_this_emulator_and_keeps_microsofts_operations(
    h: Harness,
) -> None:
    documents = await _documents(h.app)
    for name, document in documents.items():
        description = document["info"]["description"]
        assert "OCR emulator, running locally" in description, name
        assert "Nothing is sent to Azure" in description
        assert "`Ocp-Apim-Subscription-Key`" in description and "**Authorize**" in description
        assert "[the try-it page](/)" in description
        assert "faces" not in description and "thumbnail" not in description  # not Microsoft's
    assert documents["read-v3.2"]["info"]["title"].startswith("Computer Vision Read v3.2")
    ours = documents["read-v3.2"]["paths"]["/read/analyze"]["post"]["description"]
    assert ours == contract.openapi()["paths"]["/read/analyze"]["post"]["description"]
    di = contract.document_intelligence_openapi("2024-11-30")
    result = "/documentModels/{modelId}/analyzeResults/{resultId}"
    assert (
        documents["document-intelligence-2024-11-30"]["paths"][result]["get"]["description"]
        == di["paths"][result]["get"]["description"]
    )
    # Only what these operations use: no classifier or custom-model schemas.
    di_components = documents["document-intelligence-2024-11-30"]["components"]
    assert "DocumentClassifierDetails" not in di_components["schemas"]
    assert "AnalyzeResult" in di_components["schemas"]


async def test_authorize_takes_the_key_or_a_bearer_token_and_both_reach_the_emulator(
    h: Harness,
) -> None:
    documents = await _documents(h.app)
    for name, document in documents.items():
        schemes = document["components"]["securitySchemes"]
        assert set(schemes) == {"apim_key", "bearer"}, name  # no OAuth2 sign-in elsewhere
        assert (schemes["apim_key"]["in"], schemes["apim_key"]["name"]) == (
            "header",
            "Ocp-Apim-Subscription-Key",
        )
        assert (schemes["bearer"]["in"], schemes["bearer"]["name"]) == ("header", "Authorization")
        assert document["security"] == [{"apim_key": []}, {"bearer": []}]
    own = documents["emulator"]
    # The operations listed as open are exactly the routes that answer without a key.
    open_paths = {path for _m, path, op in _operations(own) if op.get("security") == []}
    assert open_paths == set(OPEN_PATHS)
    key = own["components"]["securitySchemes"]["apim_key"]["name"]
    bearer = own["components"]["securitySchemes"]["bearer"]["name"]
    async with _bare(h.app) as client:
        for path in open_paths:
            assert (await client.get(path)).status_code in (200, 503), path
        assert (await client.get("/_emulator/usage")).status_code == 401
        assert (await client.get("/_emulator/usage", headers={key: KEY})).status_code == 200
        token = await client.post("/_emulator/token", headers={key: KEY})
        assert token.status_code == 200
        authorization = {bearer: f"Bearer {token.json()['access_token']}"}
        assert (await client.get("/_emulator/usage", headers=authorization)).status_code == 200
        # The token route is listed as key-only, and refuses a token.
        token_route = own["paths"]["/_emulator/token"]["post"]
        assert token_route["security"] == [{"apim_key": []}]
        assert (await client.post("/_emulator/token", headers=authorization)).status_code == 401


@pytest.mark.parametrize(
    ("name", "version"),
    [
        ("document-intelligence-2024-11-30", "2024-11-30"),
        ("form-recognizer-2023-07-31", "2023-07-31"),
    ],
)
async def test_try_it_out_offers_the_models_and_api_version_served(
    h: Harness, name: str, version: str
) -> None:
    document = (await _documents(h.app))[name]
    parameters = [
        _resolve(document, p)
        for _method, _path, operation in _operations(document)
        for p in operation.get("parameters", [])
    ]
    models = [p for p in parameters if p["name"] == "modelId"]
    assert models and all(p["schema"]["enum"] == list(MODEL_IDS) for p in models)
    versions = [p for p in parameters if p["name"] == "api-version"]
    assert versions and all(p["schema"]["default"] == version for p in versions)


async def test_every_document_is_valid_openapi_3(h: Harness) -> None:
    documents = await _documents(h.app)
    for name, document in documents.items():
        assert document["openapi"].startswith("3.0."), name
        errors = [error.message for error in OpenAPIV30SpecValidator(document).iter_errors()]
        assert errors == [], name


async def test_a_body_that_is_the_documents_bytes_is_a_file_and_json_stays_json(
    h: Harness,
) -> None:
    """Swagger UI offers a file input for a ``{"type": "string", "format": "binary"}`` body
    (OpenAPI 3 only): every operation that takes the document's bytes has one."""
    documents = await _documents(h.app)
    uploads = {
        ("read-v3.2", "/read/analyze?overload=stream"): ["application/octet-stream"],
        ("read-v3.2", "/read/syncAnalyze?overload=stream"): ["application/octet-stream"],
        ("image-analysis-4.0", "/imageanalysis:analyze"): ["application/octet-stream"],
        ("document-intelligence-2024-11-30", "/documentModels/{modelId}:analyze"): [
            "application/octet-stream"
        ],
        ("form-recognizer-2023-07-31", "/documentModels/{modelId}:analyze"): [
            "application/json",
            "application/octet-stream",
        ],
    }
    for (name, path), first in uploads.items():
        document = documents[name]
        body = _resolve(document, document["paths"][path]["post"]["requestBody"])
        content = body["content"]
        assert list(content)[: len(first)] == first, (name, path)  # Swagger UI shows the first
        binary = [media for media in content if "json" not in media]
        assert "application/octet-stream" in binary
        assert all(content[media]["schema"] == FILE for media in binary), (name, path)
        assert "image/png" in binary or name == "read-v3.2"
    # Every body of every document: the bytes as a file, JSON as its schema.
    for name, document in documents.items():
        for _method, path, operation in _operations(document):
            if "requestBody" not in operation:
                continue
            for media, entry in _resolve(document, operation["requestBody"])["content"].items():
                assert (entry["schema"] == FILE) == ("json" not in media), (name, path, media)
    read_json = documents["read-v3.2"]["paths"]["/read/analyze"]["post"]["requestBody"]
    assert read_json["content"] == {
        "application/json": {"schema": {"$ref": "#/components/schemas/ImageUrl"}}
    }


@pytest.mark.parametrize(("name", "source"), CONVERTED.items())
def test_the_openapi_3_documents_are_their_swagger_2_contracts_converted(
    name: str, source: str
) -> None:
    """The files that ``emulator/contract/openapi3/regenerate.sh`` writes have every operation
    and schema of the Swagger 2.0 contract they come from: a contract changed without running
    it fails here."""
    converted = _contract(f"openapi3/{name}.json")
    original = _contract(source)
    assert converted["openapi"] == "3.0.0"

    def operations(document: dict[str, Any]) -> set[tuple[str, str, str]]:
        return {
            (method, path, operation.get("operationId", ""))
            for section in ("paths", "x-ms-paths")
            for path, item in document.get(section, {}).items()
            for method, operation in item.items()
            if method in _METHODS
        }

    assert operations(converted) == operations(original)
    assert set(converted["components"]["schemas"]) == set(original["definitions"])
    assert converted["info"] == original["info"]


def test_the_examples_are_microsofts_verbatim() -> None:
    """Each shipped example is the copy under ``shared/contract`` (where it is beside the
    repository), byte for byte: Microsoft's, MIT-licensed, unchanged."""
    shared = Path(__file__).resolve().parents[3] / "shared" / "contract"
    if not shared.is_dir():
        pytest.skip("shared contract not beside the repository")
    sources = {
        "read-v3.2": shared / "examples",
        "document-intelligence-2024-11-30": shared / "document-intelligence/examples/2024-11-30",
        "form-recognizer-2023-07-31": shared / "document-intelligence/examples/2023-07-31",
    }
    folder = resources.files(contract.__name__).joinpath("examples")
    for name, source in sources.items():
        shipped = {f.name: f.read_bytes() for f in folder.joinpath(name).iterdir()}
        assert shipped == {f.name: f.read_bytes() for f in source.iterdir()}, name
