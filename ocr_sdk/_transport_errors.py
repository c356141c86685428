"""Transport failures explained: an :class:`~ocr_sdk.OcrConnectionError` whose message says
what happened to a request that got no HTTP answer (refused, DNS, TLS against a plain server,
an untrusted certificate, a timeout...) and what to try, with ``reason`` saying it for
programs. Used by both clients through :class:`~ocr_sdk._base_client.BaseClient`.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from ._exceptions import OcrConnectionError

if TYPE_CHECKING:
    # Imported when a client is constructed, not by ``import ocr_sdk`` (see _base_client).
    import httpx


#: ``ssl.SSLError.reason`` when an ``https://`` client got plain text back (the first bytes
#: of an HTTP answer read as a TLS record): the server does not speak TLS on that port.
#: OpenSSL 1.1 and 3.0 say WRONG_VERSION_NUMBER; 3.2 and later RECORD_LAYER_FAILURE or
#: PACKET_LENGTH_TOO_LONG.
_PLAIN_TEXT_TLS_REASONS = frozenset(
    {"WRONG_VERSION_NUMBER", "RECORD_LAYER_FAILURE", "PACKET_LENGTH_TOO_LONG"}
)
_DNS_FAILURES = (
    "name or service not known",
    "nodename nor servname",
    "temporary failure in name resolution",
    "no address associated with hostname",
    "getaddrinfo failed",
)


def trust_description(verify: bool | str | os.PathLike[str]) -> str:
    """What ``verify`` checks certificates against, for error messages."""
    if verify is True:
        return "the system's trusted CAs"
    if verify is False:
        return "nothing (verify=False)"
    return f"the CA bundle {os.fspath(verify)}"


def _causes(error: BaseException) -> list[BaseException]:
    """``error`` and what it was raised from, outermost first (httpx, httpcore, the OS)."""
    chain: list[BaseException] = []
    current: BaseException | None = error
    while current is not None and all(current is not seen for seen in chain):
        chain.append(current)
        current = current.__cause__ or current.__context__
    return chain


def connection_error(
    method: str,
    url: str,
    error: httpx.TransportError,
    *,
    trust: str,
    timeout: httpx.Timeout,
) -> OcrConnectionError:
    """An :class:`OcrConnectionError` whose message says what happened and what to try.

    ``trust`` says what certificates were checked against (:func:`trust_description`);
    ``timeout`` is the client's, to name the limit that ran out. The caller chains
    ``error`` as ``__cause__``.
    """
    import socket
    import ssl

    import httpx

    parsed = httpx.URL(url)
    secure = parsed.scheme == "https"
    host = parsed.host
    port = parsed.port or (443 if secure else 80)
    where = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    causes = _causes(error)
    # The innermost words are the most precise (the OS's, OpenSSL's): anyio, under the async
    # client, sums up a refused connection as "All connection attempts failed".
    detail = next((str(c) for c in reversed(causes) if str(c)), type(error).__name__)
    text = " ".join(str(cause) for cause in causes).lower()
    ssl_error = next((c for c in causes if isinstance(c, ssl.SSLError)), None)

    reason: str | None
    if isinstance(error, httpx.TimeoutException):
        reason, what = "timeout", _timeout_explanation(error, where, timeout)
    elif isinstance(ssl_error, ssl.SSLCertVerificationError) or (
        "certificate_verify_failed" in text
    ):
        reason, what = "certificate", _certificate_explanation(ssl_error, detail, where, trust)
    elif ssl_error is not None and (
        ssl_error.reason in _PLAIN_TEXT_TLS_REASONS or "wrong version number" in text
    ):
        reason = "not_tls"
        what = (
            f"the server at {where} does not speak TLS (it answered the handshake in plain "
            "text); "
            f"use http://{where} (an emulator started without --tls serves plain HTTP)"
        )
    elif ssl_error is not None:
        reason = "tls"
        what = f"the TLS handshake with {where} failed (the SDK requires TLS 1.2 or later)"
    elif any(isinstance(c, ConnectionRefusedError) for c in causes) or "refused" in text:
        reason = "refused"
        what = (
            f"nothing is listening at {where}; is the emulator (or service) running on that port?"
        )
    elif isinstance(error, httpx.ConnectError) and (
        any(isinstance(c, socket.gaierror) for c in causes)
        or any(phrase in text for phrase in _DNS_FAILURES)
    ):
        reason = "dns"
        what = (
            f"the host name {host!r} could not be resolved; check the endpoint for a typo, and "
            "this machine's network and DNS"
        )
    elif isinstance(error, httpx.RemoteProtocolError):
        reason = "closed"
        what = f"the server at {where} closed the connection without an HTTP response"
        if not secure:
            what += (
                f"; if it serves HTTPS (an emulator started with --tls does), use https://{where}"
            )
    elif isinstance(error, httpx.ReadError | httpx.WriteError) or any(
        isinstance(c, ConnectionResetError | BrokenPipeError) for c in causes
    ):
        reason = "reset"
        what = f"the connection to {where} broke while the request was in flight"
    else:
        reason, what = None, f"the request to {where} failed"
    return OcrConnectionError(
        f"{method} {url} failed: {what} [{type(error).__name__}: {detail}]",
        reason=reason,
    )


def _timeout_explanation(error: httpx.TimeoutException, where: str, timeout: httpx.Timeout) -> str:
    import httpx

    def within(seconds: float | None) -> str:
        return f" within {seconds:g} s" if seconds is not None else ""

    if isinstance(error, httpx.ConnectTimeout):
        return (
            f"no connection to {where}{within(timeout.connect)}; is the host reachable, or is "
            "a firewall dropping the traffic? (timeout= sets the limit)"
        )
    if isinstance(error, httpx.WriteTimeout):
        return (
            f"sending to {where} stalled{within(timeout.write)}; a large document on a slow "
            "link may need a longer timeout="
        )
    if isinstance(error, httpx.PoolTimeout):
        return f"no free connection to {where}{within(timeout.pool)}: too many requests at once"
    return (
        f"{where} sent no response{within(timeout.read)}; a slow or overloaded service may "
        "need a longer timeout="
    )


def _certificate_explanation(
    error: BaseException | None, detail: str, where: str, trust: str
) -> str:
    verify_message = getattr(error, "verify_message", None) or detail
    if "mismatch" in verify_message.lower():
        return (
            f"the certificate of {where} is not valid for that name ({verify_message}); "
            "connect with a name it was issued for (the emulator's names localhost, its "
            "--host, 127.0.0.1 and ::1)"
        )
    return (
        f"the certificate of {where} is not trusted ({verify_message}), checked against "
        f"{trust}; for an emulator started with --tls, trust the CA certificate it wrote "
        "(the file given with --tls-ca-out, or the path its start-up line prints) with "
        "verify='path/to/ca.pem' (ocr command: --ca-bundle path/to/ca.pem)"
    )
