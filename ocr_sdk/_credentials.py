"""Bearer-token credentials: azure-core's ``TokenCredential`` protocol, without azure-core.

Any object with ``get_token(*scopes) -> AccessToken`` (``.token``, ``.expires_on`` in epoch
seconds) works: azure-identity's ``DefaultAzureCredential``, ``ManagedIdentityCredential``,
``ClientSecretCredential``..., or the emulator's ``credential()``. The async client takes the
async form (``async def get_token``), as azure-identity's ``aio`` credentials are.

A token is asked for with :data:`SCOPE` and kept until :data:`REFRESH_MARGIN` seconds before
it expires (azure-core's ``BearerTokenCredentialPolicy`` does the same), so a long batch never
sends an expired one and a credential is not called for every request. The decision is
:meth:`TokenCache.needs_refresh`, a pure function of the time, shared by both clients.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

if TYPE_CHECKING:
    import asyncio

__all__ = [
    "SCOPE",
    "AccessTokenLike",
    "AsyncTokenCache",
    "AsyncTokenCredential",
    "TokenCache",
    "TokenCredential",
]

#: The scope of Azure AI services' tokens.
SCOPE = "https://cognitiveservices.azure.com/.default"
#: A token this close to its expiry (seconds) is replaced before it is sent.
REFRESH_MARGIN = 300.0


class AccessTokenLike(Protocol):
    """What ``get_token`` returns: azure-core's ``AccessToken`` (a named tuple) or alike."""

    @property
    def token(self) -> str:
        """The token, as sent after ``Bearer``."""
        ...

    @property
    def expires_on(self) -> int:
        """When it expires, in seconds since the epoch."""
        ...


@runtime_checkable
class TokenCredential(Protocol):
    """azure-core's synchronous ``TokenCredential``."""

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessTokenLike:
        """A token for ``scopes`` (the SDK asks for :data:`SCOPE`)."""
        ...


@runtime_checkable
class AsyncTokenCredential(Protocol):
    """azure-core's ``AsyncTokenCredential``."""

    async def get_token(self, *scopes: str, **kwargs: Any) -> AccessTokenLike:
        """A token for ``scopes`` (the SDK asks for :data:`SCOPE`)."""
        ...


class TokenCache:
    """The current token of one sync credential, refreshed before it expires. Thread-safe."""

    def __init__(self, credential: TokenCredential, clock: Callable[[], float] = time.time) -> None:
        self._credential = credential
        self._clock = clock
        self._lock = threading.Lock()
        self._token: AccessTokenLike | None = None

    @staticmethod
    def needs_refresh(token: AccessTokenLike | None, now: float) -> bool:
        """Whether ``token`` must be replaced before a request sent at ``now``."""
        return token is None or token.expires_on - now < REFRESH_MARGIN

    def header(self) -> str:
        """The ``Authorization`` header's value, fetching a token when needed."""
        with self._lock:
            if self.needs_refresh(self._token, self._clock()):
                self._token = self._credential.get_token(SCOPE)
            assert self._token is not None
            return f"Bearer {self._token.token}"


class AsyncTokenCache:
    """The current token of one async credential; one refresh at a time."""

    def __init__(
        self, credential: AsyncTokenCredential, clock: Callable[[], float] = time.time
    ) -> None:
        self._credential = credential
        self._clock = clock
        self._lock: asyncio.Lock | None = None
        self._token: AccessTokenLike | None = None

    async def header(self) -> str:
        """The ``Authorization`` header's value, fetching a token when needed."""
        if self._lock is None:
            import asyncio  # not at the top: ``import ocr_sdk`` does not load asyncio

            self._lock = asyncio.Lock()
        async with self._lock:
            if TokenCache.needs_refresh(self._token, self._clock()):
                fetched: Awaitable[AccessTokenLike] = self._credential.get_token(SCOPE)
                self._token = await fetched
            assert self._token is not None
            return f"Bearer {self._token.token}"
