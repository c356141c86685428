"""The token cache: one token until five minutes before it expires, then a fresh one."""

from __future__ import annotations

from typing import Any, NamedTuple

from ocr_sdk import TOKEN_SCOPE, TokenCredential
from ocr_sdk._credentials import TokenCache


class Token(NamedTuple):
    token: str
    expires_on: int


class Credential:
    def __init__(self) -> None:
        self.calls = 0

    def get_token(self, *scopes: str, **_kwargs: Any) -> Token:
        assert scopes == (TOKEN_SCOPE,)
        self.calls += 1
        return Token(f"t{self.calls}", 1000 + 3600)


def test_a_token_is_kept_until_five_minutes_before_it_expires() -> None:
    now = [1000.0]
    credential = Credential()
    cache = TokenCache(credential, clock=lambda: now[0])
    assert cache.header() == "Bearer t1"
    now[0] = 1000 + 3600 - 301
    assert cache.header() == "Bearer t1"
    now[0] = 1000 + 3600 - 299
    assert cache.header() == "Bearer t2"
    assert credential.calls == 2


def test_azure_cores_protocol_is_the_sdks() -> None:
    from azure.core.credentials import AccessToken

    class AzureStyle:
        def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
            return AccessToken("x", 2**31)

    assert isinstance(AzureStyle(), TokenCredential)
    assert TokenCache(AzureStyle()).header() == "Bearer x"
