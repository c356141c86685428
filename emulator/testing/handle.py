"""What every emulator test handle offers, in process or shared: :class:`EmulatorHandle`.

A handle knows where the emulator listens and with which key, makes SDK clients and token
credentials for it, and carries the controls a test needs (reset, hold and release jobs,
fail the next job, arm faults, read the billing meter). :class:`~emulator.testing.local.
RunningEmulator` implements the controls by calling the emulator it runs in this process;
:class:`~emulator.testing.shared.SharedEmulator` through the admin routes of an emulator that
several test processes share, each with its own key, so each sees only its own jobs.

This module imports neither the emulator's server nor its engine: a pytest-xdist worker that
uses a shared emulator stays as light as the SDK.
"""

from __future__ import annotations

import contextlib
from abc import ABC, abstractmethod
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from emulator.faults import FaultRule
from emulator.faults import Route as FaultRoute
from ocr_sdk import TOKEN_SCOPE

if TYPE_CHECKING:
    from emulator.jobs import HoldStage
    from ocr_sdk import AsyncOcrClient, OcrClient

#: Fast polling for test clients; the emulator's Retry-After still decides when it sends one.
TEST_POLLING_INTERVAL = 0.05


class AccessToken(NamedTuple):
    """azure-core's ``AccessToken`` shape: the token and its expiry (epoch seconds)."""

    token: str
    expires_on: int


class EmulatorCredential:
    """A ``TokenCredential`` whose tokens come from the emulator's development issuer, as
    ``POST /_emulator/token`` mints them, for the handle's key. ``issued`` counts them."""

    def __init__(self, emulator: EmulatorHandle, lifetime: int) -> None:
        self._emulator = emulator
        self._lifetime = lifetime
        self.issued = 0

    def _issue(self, scopes: tuple[str, ...]) -> AccessToken:
        if scopes != (TOKEN_SCOPE,):
            raise ValueError(f"the emulator issues tokens for Azure AI services only: {scopes}")
        self.issued += 1
        answer = self._emulator.mint_token(self._lifetime)
        return AccessToken(answer["access_token"], int(answer["expires_on"]))

    def get_token(self, *scopes: str, **_kwargs: Any) -> AccessToken:
        """A fresh token for ``scopes`` (only Azure AI services' scope)."""
        return self._issue(scopes)


class AsyncEmulatorCredential(EmulatorCredential):
    """:class:`EmulatorCredential` as an ``AsyncTokenCredential``."""

    async def get_token(self, *scopes: str, **_kwargs: Any) -> AccessToken:  # type: ignore[override]
        """A fresh token for ``scopes`` (only Azure AI services' scope)."""
        return self._issue(scopes)


class EmulatorHandle(ABC):
    """A running emulator and the controls a test needs.

    Attributes:
        endpoint: the base URL to give a client, e.g. ``http://127.0.0.1:49152``.
        api_key: a key the emulator accepts (the handle's own, when it is shared).
        ca_path: with TLS, the generated CA certificate to trust (else ``None``).
        port: the loopback port it listens on.
    """

    def __init__(self, endpoint: str, api_key: str, ca_path: Path | None, port: int) -> None:
        self.endpoint = endpoint
        self.api_key = api_key
        self.ca_path = ca_path
        self.port = port

    def __repr__(self) -> str:
        return f"<{type(self).__name__} endpoint={self.endpoint!r} tls={self.tls}>"

    @property
    def tls(self) -> bool:
        """Whether the emulator serves HTTPS."""
        return self.endpoint.startswith("https:")

    # --- clients ------------------------------------------------------------------------------

    def _client_kwargs(self, kwargs: dict[str, Any]) -> dict[str, Any]:
        kwargs.setdefault("polling_interval", TEST_POLLING_INTERVAL)
        if self.ca_path is not None:
            kwargs.setdefault("verify", str(self.ca_path))
        return kwargs

    def client(self, **kwargs: Any) -> OcrClient:
        """A new :class:`ocr_sdk.OcrClient` for this emulator (endpoint, key, CA filled in).

        ``kwargs`` go to the client (e.g. ``retry=``); ``polling_interval`` defaults to
        0.05 s. Close it, or use it in a ``with`` block.
        """
        from ocr_sdk import OcrClient

        key = None if "credential" in kwargs else self.api_key
        return OcrClient(self.endpoint, key, **self._client_kwargs(kwargs))

    def async_client(self, **kwargs: Any) -> AsyncOcrClient:
        """A new :class:`ocr_sdk.AsyncOcrClient` for this emulator; see :meth:`client`."""
        from ocr_sdk import AsyncOcrClient

        key = None if "credential" in kwargs else self.api_key
        return AsyncOcrClient(self.endpoint, key, **self._client_kwargs(kwargs))

    @abstractmethod
    def mint_token(self, lifetime: int = 3600) -> dict[str, Any]:
        """A development token for this handle's key, as ``POST /_emulator/token`` answers:
        ``{"access_token", "token_type", "expires_on"}``."""

    def credential(self, lifetime: int = 3600) -> EmulatorCredential:
        """A ``TokenCredential`` for ``OcrClient(credential=...)`` (or Microsoft's clients)
        whose tokens this emulator accepts, each valid ``lifetime`` seconds."""
        return EmulatorCredential(self, lifetime)

    def async_credential(self, lifetime: int = 3600) -> AsyncEmulatorCredential:
        """The same as an ``AsyncTokenCredential``, for ``AsyncOcrClient``."""
        return AsyncEmulatorCredential(self, lifetime)

    # --- test controls ------------------------------------------------------------------------

    @abstractmethod
    def usage(self) -> dict[str, Any]:
        """What each key has been billed so far, as ``GET /_emulator/usage`` reports it:
        ``{"meter", "keys": [{"key", "endsWith", "caller", "transactions", "operations"}],
        "total"}``, with this handle's key as the caller."""

    @abstractmethod
    def reset(self) -> None:
        """Forget this handle's jobs and results, release its held jobs, cancel its pending
        failures, disarm its faults, empty its rate-limit window and set its billing meter
        to zero. For a handle of its own emulator, that is the state of a fresh one."""

    def inject_fault(
        self,
        route: FaultRoute = "any",
        *,
        status: int | None = None,
        delay: float | None = None,
        drop: bool = False,
        fail: bool = False,
        probability: float = 1.0,
        times: int | None = None,
        retry_after: int | None = None,
    ) -> FaultRule:
        """Arm a fault on ``route`` (``"analyze"``, ``"result"``, ``"delete"`` or ``"any"``).

        Give exactly one effect: ``status`` (408, 429, 500, 502, 503, 504 with the service's
        body; ``retry_after`` sets ``Retry-After``), ``delay`` (seconds added before the normal
        answer), ``drop=True`` (the connection closes mid-response) or ``fail=True`` (on
        ``"analyze"``: the next job to start ends ``failed``). ``times`` limits it to the next
        N matching requests; ``probability`` makes it random, drawn from the seeded
        generator (see ``settings.fault_seed``). Returns the armed rule; raises
        :class:`~emulator.faults.FaultError` for a malformed one.
        """
        rule = FaultRule.from_mapping(
            {
                "route": route,
                "status": status,
                "delay": delay,
                "drop": drop,
                "fail": fail,
                "probability": probability,
                "times": times,
                "retryAfter": retry_after,
            }
        )
        self._arm(rule)
        return rule

    @abstractmethod
    def _arm(self, rule: FaultRule) -> None:
        """Arm a checked rule."""

    @abstractmethod
    def clear_faults(self, seed: int | None = None) -> None:
        """Disarm the faults and restart the seeded generator (from ``seed`` if given, else
        from the seed it had), so the next run of a test meets the same random faults."""

    @abstractmethod
    def describe_faults(self) -> dict[str, Any]:
        """The armed rules as ``GET /_emulator/faults`` lists them: ``{"seed", "fired",
        "faults": [{"id", "route", ..., "remaining", "fired"}]}``."""

    @abstractmethod
    def hold_jobs(self, at: HoldStage = "notStarted") -> None:
        """Stop every job that reaches ``at`` (``"notStarted"`` or ``"running"``) until
        :meth:`release`. A held job reports that status to every poll."""

    @abstractmethod
    def release(self) -> None:
        """Stop holding and let every held job run to its end."""

    @contextlib.contextmanager
    def holding_jobs(self, at: HoldStage = "notStarted") -> Iterator[None]:
        """:meth:`hold_jobs` for the block, :meth:`release` when it exits (even on error)."""
        self.hold_jobs(at)
        try:
            yield
        finally:
            self.release()

    @abstractmethod
    def wait_for_held(self, count: int = 1, timeout: float = 30.0) -> list[str]:
        """Block until ``count`` jobs are held; return their operation ids.

        A job held at ``running`` gets there only once a worker picks it up; this waits for
        that moment on a condition variable, never by sleeping a fixed time. Raises
        :class:`TimeoutError` if fewer are held when ``timeout`` runs out.
        """

    @abstractmethod
    def fail_next_job(self, count: int = 1) -> None:
        """Make the next ``count`` jobs to start end with status ``failed``."""


__all__ = [
    "TEST_POLLING_INTERVAL",
    "AccessToken",
    "AsyncEmulatorCredential",
    "EmulatorCredential",
    "EmulatorHandle",
]
