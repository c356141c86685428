"""Who a request is, and what its log line says: a token proves one principal, a key and its
tokens share one rate window, logged paths cannot forge lines, and every answer carries
``nosniff``. Each test is an attack from the security review, against a real server."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from emulator.engine.fake import FakeEngine
from emulator.security.tokens import AUDIENCE, DEV_ISSUER
from emulator.server import Endpoint, run_in_thread
from emulator.settings import Rate, Settings

KEY = "security-key-0123456789"
OTHER_KEY = "security-other-key-9876543210"
ANALYZE = "/vision/v3.2/read/analyze"


@pytest.fixture(scope="module")
def signing_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def endpoint(
    tmp_path_factory: pytest.TempPathFactory, signing_key: rsa.RSAPrivateKey
) -> Iterator[Endpoint]:
    public = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(signing_key.public_key()))
    jwks = tmp_path_factory.mktemp("jwks") / "jwks.json"
    jwks.write_text(json.dumps({"keys": [{**public, "kid": "idp", "use": "sig"}]}))
    settings = Settings(
        api_keys=(KEY, OTHER_KEY),
        port=0,
        workers=1,
        trust_jwks=jwks,
        rate_limit=Rate(limit=3, window=60.0),
    )
    with run_in_thread(settings, engine_factory=lambda _threads: FakeEngine()) as running:
        yield running


def _keyed(key: str) -> dict[str, str]:
    return {"Ocp-Apim-Subscription-Key": key}


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _development_token(endpoint: Endpoint, key: str) -> str:
    answer = httpx.post(f"{endpoint.url}/_emulator/token", headers=_keyed(key), json={})
    assert answer.status_code == 200
    token: str = answer.json()["access_token"]
    return token


def _submit(endpoint: Endpoint, headers: dict[str, str], document: bytes) -> httpx.Response:
    return httpx.post(
        endpoint.url + ANALYZE,
        headers={**headers, "Content-Type": "application/octet-stream"},
        content=document,
    )


def test_a_trusted_issuers_token_cannot_pass_for_a_keys_development_token(
    endpoint: Endpoint, signing_key: rsa.RSAPrivateKey, png: Callable[..., bytes]
) -> None:
    # The victim's job, and its development token, whose subject anyone holding it can read.
    httpx.post(f"{endpoint.url}/_emulator/reset", headers=_keyed(OTHER_KEY))
    hold = httpx.post(f"{endpoint.url}/_emulator/holds", headers=_keyed(OTHER_KEY), json={})
    assert hold.status_code in (200, 204)
    accepted = _submit(endpoint, _keyed(OTHER_KEY), png(120, 60))
    assert accepted.status_code == 202
    victim = _development_token(endpoint, OTHER_KEY)
    subject = jwt.decode(victim, options={"verify_signature": False})["sub"]

    # The trusted identity provider's key signs a token that claims the development issuer.
    now = int(time.time())
    forged = jwt.encode(
        {"iss": DEV_ISSUER, "aud": AUDIENCE, "sub": subject, "nbf": now - 5, "exp": now + 600},
        signing_key,
        algorithm="RS256",
        headers={"kid": "idp"},
    )
    reset = httpx.post(f"{endpoint.url}/_emulator/reset", headers=_bearer(forged))
    assert reset.status_code == 401
    assert reset.json()["error"]["code"] == "401"

    # The victim's job is still there.
    operation = accepted.headers["Operation-Location"]
    still = httpx.get(operation, headers=_keyed(OTHER_KEY))
    assert still.status_code == 200
    httpx.delete(f"{endpoint.url}/_emulator/holds", headers=_keyed(OTHER_KEY))
    httpx.post(f"{endpoint.url}/_emulator/reset", headers=_keyed(OTHER_KEY))


def test_the_trusted_issuers_own_tokens_still_work(
    endpoint: Endpoint, signing_key: rsa.RSAPrivateKey, png: Callable[..., bytes]
) -> None:
    now = int(time.time())
    token = jwt.encode(
        {
            "iss": "https://login.example.test/tenant",
            "aud": AUDIENCE,
            "sub": "app-7",
            "nbf": now - 5,
            "exp": now + 600,
        },
        signing_key,
        algorithm="RS256",
        headers={"kid": "idp"},
    )
    assert _submit(endpoint, _bearer(token), png(120, 60)).status_code == 202


def test_a_key_and_its_development_tokens_share_one_rate_window(
    endpoint: Endpoint, png: Callable[..., bytes]
) -> None:
    assert httpx.post(f"{endpoint.url}/_emulator/reset", headers=_keyed(KEY)).status_code == 200
    token = _development_token(endpoint, KEY)
    document = png(120, 60)
    for _ in range(3):
        assert _submit(endpoint, _keyed(KEY), document).status_code == 202
    refused = _submit(endpoint, _bearer(token), document)
    assert refused.status_code == 429
    assert int(refused.headers["Retry-After"]) >= 1
    assert refused.json()["error"]["code"] == "429"
    # Another key has its own window.
    assert _submit(endpoint, _keyed(OTHER_KEY), document).status_code == 202
    # Resetting with the token empties the window the key counts in too.
    assert httpx.post(f"{endpoint.url}/_emulator/reset", headers=_bearer(token)).status_code == 200
    assert _submit(endpoint, _keyed(KEY), document).status_code == 202
    httpx.post(f"{endpoint.url}/_emulator/reset", headers=_keyed(KEY))
    httpx.post(f"{endpoint.url}/_emulator/reset", headers=_keyed(OTHER_KEY))


@pytest.mark.parametrize(
    "path",
    ["/vision/v3.2/read/analyzeResults/nope", "/no-such-route", "/documentintelligence/nope"],
)
def test_answers_and_errors_are_never_sniffed(endpoint: Endpoint, path: str) -> None:
    for headers in ({}, _keyed(KEY)):
        answer = httpx.get(endpoint.url + path + "%3Cscript%3E", headers=headers)
        assert answer.status_code >= 400
        assert answer.headers["x-content-type-options"] == "nosniff"
        assert answer.headers["content-type"].startswith("application/json")
    assert httpx.get(endpoint.url + "/status").headers["x-content-type-options"] == "nosniff"


def test_a_path_cannot_forge_a_log_line_or_drive_a_terminal(tmp_path: Path) -> None:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("OCR_EMULATOR_")}
    process = subprocess.Popen(
        [sys.executable, "-m", "emulator", "--port", "0", "--workers", "1", "--api-key", KEY],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=environment,
    )
    try:
        assert process.stdout is not None
        url = process.stdout.readline().split("listening on ")[1].split()[0]
        forged = "2026-12-06 06:00:00,000 WARNING emulator.jobs: job X failed"
        with httpx.Client(base_url=url, timeout=30) as http:
            deadline = time.monotonic() + 120
            while http.get("/status").status_code != 200 and time.monotonic() < deadline:
                time.sleep(0.1)
            http.get("/x%0a" + forged.replace(" ", "%20"))
            http.get("/y%1b%5b2J%0d%e2%80%a8z", headers=_keyed(KEY))
    finally:
        process.terminate()
        _, stderr = process.communicate(timeout=60)
    lines = stderr.splitlines()
    assert not any(line.startswith(forged[:19]) for line in lines), stderr
    assert "\x1b" not in stderr and "\r" not in stderr and "\u2028" not in stderr
    access = [line for line in lines if "emulator.access" in line]
    assert any("/x\\x0a2026-12-06" in line for line in access), access
    assert any("/y\\x1b[2J\\x0d\\u2028z" in line for line in access), access
