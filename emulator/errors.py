"""The one place that knows the service's error codes and writes its error bodies.

Read v3.2 answers errors with a flat ``{"code", "message", "requestId"}`` body
(``ComputerVisionOcrError`` in the contract). The API gateway in front of it answers 401 and
429 with the wrapped ``{"error": {"code", "message"}}`` shape instead.
"""

from __future__ import annotations


class ServiceError(Exception):
    """An error the emulator reports to the client in the service's format.

    Raised anywhere in the emulator (request parsing, document decoding, the store); the
    HTTP layer turns it into a response. ``wrapped`` selects the gateway's ``{"error": ...}``
    body shape used for 401 and 429.
    """

    def __init__(
        self,
        status_code: int,
        code: str,
        message: str,
        *,
        wrapped: bool = False,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.code = code
        self.message = message
        self.wrapped = wrapped
        self.headers = dict(headers or {})

    def __repr__(self) -> str:
        return f"ServiceError({self.status_code}, {self.code!r}, {self.message!r})"
