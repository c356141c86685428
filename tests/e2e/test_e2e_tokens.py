"""Bearer tokens over a real socket: the emulator's development issuer and a trusted key set,
the SDK's ``credential=`` (sync and async, cached and refreshed), and Microsoft's client with
``msrest``'s ``BasicTokenAuthentication``; expired, premature, misaddressed and forged tokens
get the gateway's 401."""

from __future__ import annotations

import asyncio
import io
import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from emulator.engine.fake import FakeEngine
from emulator.security.tokens import AUDIENCE
from emulator.server import Endpoint, run_in_thread
from emulator.settings import Settings, SettingsError
from emulator.testing import AccessToken
from ocr_sdk import AsyncOcrClient, InsecureTransportError, OcrClient

KEY = "token-test-key-0123456789"
ANALYZE = "/vision/v3.2/read/analyze"
TRUSTED_ISSUER = "https://login.example.test/tenant/v2.0"


@pytest.fixture(scope="module")
def signing_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def jwks(tmp_path_factory: pytest.TempPathFactory, signing_key: rsa.RSAPrivateKey) -> Path:
    public = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(signing_key.public_key()))
    path = tmp_path_factory.mktemp("jwks") / "jwks.json"
    path.write_text(json.dumps({"keys": [{**public, "kid": "test-key", "use": "sig"}]}))
    return path


@pytest.fixture(scope="module")
def endpoint(jwks: Path) -> Iterator[Endpoint]:
    settings = Settings(api_keys=(KEY,), port=0, workers=1, trust_jwks=jwks)
    with run_in_thread(settings, engine_factory=lambda _threads: FakeEngine()) as running:
        yield running


def mint(endpoint: Endpoint, body: object = None) -> httpx.Response:
    return httpx.post(
        f"{endpoint.url}/_emulator/token",
        headers={"Ocp-Apim-Subscription-Key": KEY},
        json=body if body is not None else {},
    )


def analyze(endpoint: Endpoint, token: str, png: bytes) -> httpx.Response:
    return httpx.post(
        endpoint.url + ANALYZE,
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/octet-stream"},
        content=png,
    )


class Credential:
    """A TokenCredential over ``POST /_emulator/token``, counting its calls."""

    def __init__(self, endpoint: Endpoint, lifetime: int = 3600) -> None:
        self.endpoint, self.lifetime, self.calls = endpoint, lifetime, 0
        self.scopes: list[tuple[str, ...]] = []

    def get_token(self, *scopes: str, **_kwargs: Any) -> AccessToken:
        self.calls += 1
        self.scopes.append(scopes)
        answer = mint(self.endpoint, {"expires_in": self.lifetime}).json()
        return AccessToken(answer["access_token"], answer["expires_on"])


def test_a_development_token_reads_and_bills_the_key_that_asked_for_it(
    endpoint: Endpoint, png: Callable[..., bytes]
) -> None:
    answer = mint(endpoint, {"expires_in": 600})
    assert answer.status_code == 200
    body = answer.json()
    assert body["token_type"] == "Bearer"
    assert abs(body["expires_on"] - (time.time() + 600)) < 5
    claims = jwt.decode(body["access_token"], options={"verify_signature": False})
    assert claims["aud"] == AUDIENCE and KEY not in json.dumps(claims)
    before = httpx.get(
        f"{endpoint.url}/_emulator/usage", headers={"Ocp-Apim-Subscription-Key": KEY}
    ).json()["keys"][0]["transactions"]
    credential = Credential(endpoint)
    with OcrClient(endpoint.url, credential=credential, polling_interval=0.05) as client:
        for _ in range(3):
            assert client.read(png(200, 80)).pages
    assert credential.calls == 1  # cached: one token for every request
    assert credential.scopes == [("https://cognitiveservices.azure.com/.default",)]
    after = httpx.get(
        f"{endpoint.url}/_emulator/usage", headers={"Ocp-Apim-Subscription-Key": KEY}
    ).json()["keys"][0]["transactions"]
    assert after - before == 3


def test_a_token_close_to_expiry_is_replaced_before_it_is_sent(
    endpoint: Endpoint, png: Callable[..., bytes]
) -> None:
    credential = Credential(endpoint, lifetime=60)  # inside the five-minute margin
    with OcrClient(endpoint.url, credential=credential, polling_interval=0.05) as client:
        assert client.read(png(200, 80)).pages
    assert credential.calls >= 2  # asked again for the polls


def test_the_async_client_takes_an_async_credential(
    endpoint: Endpoint, png: Callable[..., bytes]
) -> None:
    class AsyncCredential:
        calls = 0

        async def get_token(self, *scopes: str, **_kwargs: Any) -> AccessToken:
            AsyncCredential.calls += 1
            async with httpx.AsyncClient() as http:
                answer = await http.post(
                    f"{endpoint.url}/_emulator/token",
                    headers={"Ocp-Apim-Subscription-Key": KEY},
                    json={},
                )
            body = answer.json()
            return AccessToken(body["access_token"], body["expires_on"])

    async def main() -> Any:
        async with AsyncOcrClient(
            endpoint.url, credential=AsyncCredential(), polling_interval=0.05
        ) as client:
            return await asyncio.gather(*(client.read(png(200, 80)) for _ in range(3)))

    assert all(result.pages for result in asyncio.run(main()))
    assert AsyncCredential.calls == 1
    with pytest.raises(TypeError):
        OcrClient(endpoint.url, credential=AsyncCredential())  # type: ignore[arg-type]


def test_microsofts_client_with_a_basic_token_authentication(
    endpoint: Endpoint, png: Callable[..., bytes]
) -> None:
    from azure.cognitiveservices.vision.computervision import ComputerVisionClient
    from msrest.authentication import BasicTokenAuthentication

    token = mint(endpoint).json()["access_token"]
    client = ComputerVisionClient(endpoint.url, BasicTokenAuthentication({"access_token": token}))
    raw = client.read_in_stream(io.BytesIO(png(200, 80)), raw=True)
    operation_id = raw.headers["Operation-Location"].rsplit("/", 1)[-1]
    deadline = time.monotonic() + 30
    while (result := client.get_read_result(operation_id)).status in ("notStarted", "running"):
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert result.status == "succeeded"


def _signed(signing_key: rsa.RSAPrivateKey, **changes: Any) -> str:
    now = int(time.time())
    claims = {
        "iss": TRUSTED_ISSUER,
        "aud": AUDIENCE,
        "sub": "app-42",
        "nbf": now - 10,
        "exp": now + 600,
        **changes,
    }
    return jwt.encode(claims, signing_key, algorithm="RS256", headers={"kid": "test-key"})


def test_a_trusted_issuers_token_is_accepted(
    endpoint: Endpoint, signing_key: rsa.RSAPrivateKey, png: Callable[..., bytes]
) -> None:
    assert analyze(endpoint, _signed(signing_key), png(200, 80)).status_code == 202


@pytest.mark.parametrize(
    ("case", "reason"),
    [
        ("expired", "expired"),
        ("premature", "not valid yet"),
        ("audience", "audience"),
        ("forged", "signature"),
        ("unknown-key", "not in the trusted key set"),
        ("garbage", "not a JSON Web Token"),
        ("none-algorithm", "not signed by an issuer"),
    ],
)
def test_bad_tokens_get_the_gateways_401(
    endpoint: Endpoint,
    signing_key: rsa.RSAPrivateKey,
    png: Callable[..., bytes],
    case: str,
    reason: str,
) -> None:
    now = int(time.time())
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    token = {
        "expired": lambda: _signed(signing_key, exp=now - 5, nbf=now - 60),
        "premature": lambda: _signed(signing_key, nbf=now + 300),
        "audience": lambda: _signed(signing_key, aud="https://storage.azure.com"),
        "forged": lambda: _signed(other),
        "unknown-key": lambda: jwt.encode(
            {"aud": AUDIENCE, "sub": "x", "nbf": now, "exp": now + 60},
            other,
            algorithm="RS256",
            headers={"kid": "someone-else"},
        ),
        "garbage": lambda: "not.a.token",
        "none-algorithm": lambda: jwt.encode(
            {"aud": AUDIENCE, "sub": "x", "nbf": now, "exp": now + 60}, None, algorithm="none"
        ),
    }[case]()
    response = analyze(endpoint, token, png(200, 80))
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")
    error = response.json()["error"]
    assert error["code"] == "401" and reason in error["message"]


def test_an_expired_development_token_is_refused(
    endpoint: Endpoint, png: Callable[..., bytes]
) -> None:
    token = mint(endpoint, {"expires_in": 1}).json()["access_token"]
    time.sleep(2.1)
    assert analyze(endpoint, token, png(200, 80)).status_code == 401


def test_the_token_route_needs_a_key_and_a_sane_lifetime(endpoint: Endpoint) -> None:
    token = mint(endpoint).json()["access_token"]
    by_token = httpx.post(
        f"{endpoint.url}/_emulator/token", headers={"Authorization": f"Bearer {token}"}, json={}
    )
    assert by_token.status_code == 401
    for body in ({"expires_in": 0}, {"expires_in": 10**6}, {"expires_in": "soon"}, [1]):
        answer = mint(endpoint, body)
        assert answer.status_code == 400 and answer.json()["code"] == "BadArgument"


def test_tokens_are_not_sent_in_clear_text_to_another_host() -> None:
    credential = Credential.__new__(Credential)
    with pytest.raises(InsecureTransportError):
        OcrClient("http://ocr.example.test", credential=credential)
    with pytest.raises(ValueError, match="not both"):
        OcrClient("https://ocr.example.test", "a-key", credential=credential)


def test_a_bad_key_set_stops_the_emulator_with_a_clear_error(tmp_path: Path) -> None:
    from emulator.app import create_app

    bad = tmp_path / "jwks.json"
    bad.write_text('{"keys": []}')
    with pytest.raises(SettingsError, match="trust-jwks"):
        create_app(Settings(api_keys=(KEY,), trust_jwks=bad))


def test_the_test_handles_credential(png: Callable[..., bytes]) -> None:
    from ocr_sdk.testing import run_emulator

    with run_emulator(engine_factory=lambda _threads: FakeEngine()) as emu:
        credential = emu.credential()
        with emu.client(credential=credential) as client:
            assert client.read(png(200, 80)).pages
        assert credential.issued == 1
        assert emu.usage()["keys"][0]["transactions"] == 1

        async def main() -> Any:
            async with emu.async_client(credential=emu.async_credential()) as client:
                return await client.read(png(200, 80))

        assert asyncio.run(main()).pages
