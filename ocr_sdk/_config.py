"""Client configuration: endpoint and key resolution, the plain-http guard, the TLS context."""

from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ._exceptions import InsecureTransportError

if TYPE_CHECKING:
    import ssl

__all__ = ["ENDPOINT_ENV", "API_KEY_ENV", "API_PATH", "ClientConfig", "build_ssl_context"]

ENDPOINT_ENV = "OCR_ENDPOINT"
API_KEY_ENV = "OCR_API_KEY"
#: Appended to the endpoint, exactly as the official client's ``'{Endpoint}/vision/v3.2'``.
API_PATH = "/vision/v3.2"


@dataclass(frozen=True, slots=True, repr=False)
class ClientConfig:
    """The resolved, validated endpoint and key. ``repr`` never shows the key."""

    endpoint: str
    base_url: str
    api_key: str | None

    @classmethod
    def resolve(
        cls,
        endpoint: str | None,
        api_key: str | None,
        *,
        allow_insecure_http: bool,
        token: bool = False,
    ) -> ClientConfig:
        """Apply the environment fallbacks and validate; ``token`` is true when a bearer-token
        credential authenticates instead of a key.

        Raises ``ValueError`` for a missing or malformed endpoint, an empty key, or both a key
        and a credential, and :class:`InsecureTransportError` for a key or token bound for a
        non-loopback ``http://`` host.
        """
        if endpoint is None:
            endpoint = os.environ.get(ENDPOINT_ENV) or None
        if endpoint is None:
            raise ValueError(f"no endpoint: pass endpoint= or set {ENDPOINT_ENV}")
        if token and api_key is not None:
            raise ValueError("pass api_key or credential, not both")
        if api_key is None and not token:
            api_key = os.environ.get(API_KEY_ENV) or None
        elif api_key is not None and not api_key:
            raise ValueError("api_key must not be empty (pass None to send no key)")

        # Imported here, not at the top: ``import ocr_sdk`` need not load httpx (about 60 ms);
        # constructing a client does.
        import httpx

        url = httpx.URL(endpoint.strip())
        if url.scheme not in ("http", "https") or not url.host:
            raise ValueError(
                f"endpoint must be scheme://host[:port][/prefix], got {endpoint!r} "
                "(e.g. https://myresource.cognitiveservices.azure.com)"
            )
        if url.query or url.fragment:
            raise ValueError("endpoint must not contain a query string or fragment")
        prefix = url.path.rstrip("/")
        if prefix.endswith(API_PATH):
            raise ValueError(f"endpoint must not end in {API_PATH}: the SDK appends it")
        if (
            (api_key is not None or token)
            and url.scheme == "http"
            and not allow_insecure_http
            and not is_loopback(url.host)
        ):
            secret = "a bearer token" if token else "the API key"
            raise InsecureTransportError(
                f"refusing to send {secret} in clear text to http://{url.host}: "
                "use https://, or pass allow_insecure_http=True if the network is trusted"
            )
        base_url = str(url.copy_with(path=prefix + API_PATH))
        return cls(endpoint=str(url), base_url=base_url, api_key=api_key)

    def __repr__(self) -> str:
        key = "None" if self.api_key is None else "'***'"
        return f"ClientConfig(endpoint={self.endpoint!r}, api_key={key})"


def is_loopback(host: str) -> bool:
    """True for ``localhost``, 127.0.0.0/8 and ``::1``: traffic that never leaves the machine."""
    host = host.strip("[]").rstrip(".").lower()
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def build_ssl_context(verify: bool | str | os.PathLike[str]) -> ssl.SSLContext:
    """An SSL context that refuses anything older than TLS 1.2.

    ``True``: the system trust store (``ssl.create_default_context()``), falling back to
    certifi's bundle when the system has none. A path: that CA bundle file (or directory of
    hashed certificates). ``False``: no certificate or hostname check, still TLS >= 1.2.
    """
    import ssl  # needed from the first client on, not by ``import ocr_sdk``

    if verify is True:
        context = ssl.create_default_context()
        if not context.cert_store_stats()["x509_ca"] and not context.get_ca_certs():
            _load_certifi(context)
    elif verify is False:
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    else:
        path = os.fspath(verify)
        if os.path.isdir(path):
            context = ssl.create_default_context(capath=path)
        elif os.path.isfile(path):
            context = ssl.create_default_context(cafile=path)
        else:
            raise FileNotFoundError(f"CA bundle not found: {path}")
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    return context


def _load_certifi(context: ssl.SSLContext) -> None:
    # Minimal containers ship without a system store; certifi comes with httpx.
    try:
        import certifi
    except ImportError:  # pragma: no cover - certifi is an httpx dependency
        return
    context.load_verify_locations(cafile=certifi.where())
