"""Downloading the document of a ``Read`` (URL) request, with the service's limits.

Only ``http`` and ``https``; the size cap is enforced while streaming; one overall timeout;
redirects followed by hand (at most 5) so every hop is checked again. A compressed response
(``Content-Encoding: gzip`` or ``deflate``) is inflated a bounded step at a time
(:func:`decoded_chunks`) and its decompressed size counts against the cap: httpx inflates each
chunk that arrives whole, and 64 KB of gzip can hold 64 MB.

Where a URL may point (an emulator in a CI runner must not become a way to reach the
runner's cloud credentials or its private network):

* **always refused**: link-local addresses (169.254.0.0/16 and fe80::/10, which hold the
  cloud metadata endpoints such as 169.254.169.254), other known metadata addresses
  (``fd00:ec2::254``, ``100.100.100.200``) and host names, unspecified, multicast and
  reserved addresses — also when written as IPv4-mapped, IPv4-compatible, 6to4, Teredo or
  NAT64 IPv6, or in decimal, octal or hex (every check is on the parsed, resolved address);
* **refused unless** ``--allow-private-urls``: private and shared ranges (10/8, 172.16/12,
  192.168/16, 100.64/10, fc00::/7 and every other address that is not globally routable);
* **allowed**: loopback (127.0.0.0/8, ``::1``) and public addresses. Loopback stays allowed
  because it is the machine the emulator already runs on and that the user controls: serving
  test documents from a local HTTP server is what a local emulator is for, and the
  emulator's own routes need a key the fetch never sends. A failed download from loopback
  gives no reason (see :func:`download`), so the machine's ports cannot be mapped through it.

The host is resolved once, every address it resolves to is checked, and the connection goes
to the checked address (the URL's host stays in ``Host`` and in TLS SNI and certificate
checks), so a DNS answer that changes between check and connect (rebinding) cannot redirect
the download.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import zlib
from collections.abc import AsyncIterator
from typing import Literal
from urllib.parse import urljoin, urlsplit

import httpx

from emulator import errors
from emulator.http.bodies import BodySink, copy_body, too_large

MAX_REDIRECTS = 5
BLOCKED_HOSTNAMES = frozenset(
    {"metadata.google.internal", "metadata", "metadata.azure.internal", "instance-data"}
)
_METADATA = (
    ipaddress.ip_network("fd00:ec2::254/128"),  # AWS IMDS over IPv6
    ipaddress.ip_network("100.100.100.200/32"),  # Alibaba Cloud metadata
    ipaddress.ip_network("0.0.0.0/8"),  # "this network": reaches the host itself on Linux
)
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
#: What a failed download from this machine says, whatever failed (see :func:`download`).
LOCAL_FAILURE = "The image URL could not be downloaded."
#: The content codings a URL's response may use (what the download asks for).
ACCEPT_ENCODING = "gzip, deflate"
#: Most bytes one step of inflating a compressed response produces.
DECODE_STEP = 64 * 1024

IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Verdict = Literal["allowed", "private", "blocked"]


def _embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address written in IPv6 notation: mapped, compatible (``::a.b.c.d``) or NAT64."""
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    packed = address.packed
    if address in _NAT64 or (packed[:12] == bytes(12) and int(address) > 1):
        return ipaddress.IPv4Address(packed[12:])
    return None


def _tunnelled_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address a tunnel prefix (6to4, Teredo server) routes towards."""
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        return address.teredo[1]
    return None


def _classify_one(address: IpAddress) -> Verdict:
    if address.is_loopback:
        return "allowed"
    if (
        address.is_link_local
        or address.is_multicast
        or address.is_unspecified
        # IPv6 "reserved" is all of ::/8 (loopback, mapped forms), judged separately.
        or (address.version == 4 and address.is_reserved)
        or any(address in network for network in _METADATA if network.version == address.version)
    ):
        return "blocked"
    if not address.is_global:
        return "private"
    return "allowed"


def classify(address: IpAddress) -> Verdict:
    """Whether a URL may point at ``address``.

    An IPv4 address in IPv6 notation is judged as that IPv4 address; for a tunnel prefix both
    the IPv6 address and the IPv4 address it leads to are judged, and the stricter wins.
    """
    if isinstance(address, ipaddress.IPv6Address):
        embedded = _embedded_ipv4(address)
        if embedded is not None:
            return _classify_one(embedded)
        verdicts = [_classify_one(address)]
        if (tunnelled := _tunnelled_ipv4(address)) is not None:
            verdicts.append(_classify_one(tunnelled))
        strictest: tuple[Verdict, ...] = ("blocked", "private")
        for verdict in strictest:
            if verdict in verdicts:
                return verdict
        return "allowed"
    return _classify_one(address)


async def check_url(url: str, *, allow_private: bool = False) -> IpAddress:
    """Check ``url`` and resolve its host once; return the address to connect to.

    Raises ``InvalidImageUrl`` unless ``url`` is http(s) and every address its host
    resolves to is allowed; ``FailedToDownloadImage`` if the host does not resolve.
    """
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise errors.invalid_image_url("The image URL is malformed.") from None
    if parts.scheme.lower() not in {"http", "https"}:
        raise errors.invalid_image_url("The image URL must use http or https.")
    host = parts.hostname
    if not host:
        raise errors.invalid_image_url("The image URL has no host.")
    if not url.isprintable():
        # A NUL or line break in a URL is an injection attempt, never a document address.
        raise errors.invalid_image_url("The image URL contains control characters.")
    if host.lower().rstrip(".") in BLOCKED_HOSTNAMES:
        raise errors.invalid_image_url("The image URL points to a metadata service.")
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(
            host, port or (443 if parts.scheme.lower() == "https" else 80), type=socket.SOCK_STREAM
        )
    except (OSError, UnicodeError, ValueError):
        raise errors.failed_to_download("Could not resolve the host of the image URL.") from None
    addresses = [ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]) for info in infos]
    if not addresses:
        raise errors.failed_to_download("Could not resolve the host of the image URL.")
    for address in addresses:
        verdict = classify(address)
        if verdict == "blocked":
            raise errors.invalid_image_url(
                "The image URL resolves to a link-local, metadata or reserved address, "
                "which is not allowed."
            )
        if verdict == "private" and not allow_private:
            raise errors.invalid_image_url(
                "The image URL resolves to a private network address; start the emulator "
                "with --allow-private-urls to allow it."
            )
    return addresses[0]


async def download(
    url: str,
    sink: BodySink,
    max_bytes: int,
    time_limit: float,
    *,
    allow_private: bool = False,
) -> int:
    """Fetch ``url`` into ``sink`` as it arrives, within ``max_bytes`` and ``time_limit``
    seconds; returns the body's length.

    A download that reached this machine (a loopback address, at any hop) and failed says
    only that: which of the machine's ports are closed, answer an HTTP status, or speak
    something else is not for a caller to map. ``allow_private`` (``--allow-private-urls``,
    an operator's choice for a trusted network) gives the full reason.
    """
    hops: list[IpAddress] = []
    try:
        async with asyncio.timeout(time_limit):
            return await _download(url, sink, max_bytes, time_limit, allow_private, hops)
    except TimeoutError:
        error = errors.failed_to_download(
            f"Downloading the image URL took longer than {time_limit:g} seconds."
        )
    except errors.ServiceError as failure:
        error = failure
    local = any(address.is_loopback or classify(address) != "allowed" for address in hops)
    if local and not allow_private and error.code == "FailedToDownloadImage":
        error = errors.failed_to_download(LOCAL_FAILURE)
    raise error from None


def _pinned_request(client: httpx.AsyncClient, url: str, address: IpAddress) -> httpx.Request:
    """A GET for ``url`` that connects to ``address`` but names the URL's host in ``Host``,
    SNI and certificate verification."""
    original = httpx.URL(url)
    extensions = {"sni_hostname": original.host} if original.scheme == "https" else {}
    return client.build_request(
        "GET",
        original.copy_with(host=str(address)),
        headers={
            "Host": original.netloc.decode("ascii").rpartition("@")[2],
            # Not httpx's default, which adds br and zstd when their packages are installed.
            "Accept-Encoding": ACCEPT_ENCODING,
        },
        extensions=extensions,
    )


async def _download(
    url: str,
    sink: BodySink,
    max_bytes: int,
    time_limit: float,
    allow_private: bool,
    hops: list[IpAddress],
) -> int:
    async with httpx.AsyncClient(
        follow_redirects=False, timeout=time_limit, trust_env=False
    ) as client:
        for _ in range(MAX_REDIRECTS + 1):
            address = await check_url(url, allow_private=allow_private)
            hops.append(address)
            try:
                request = _pinned_request(client, url, address)
                response = await client.send(request, stream=True)
                try:
                    if response.is_redirect and "location" in response.headers:
                        url = urljoin(url, response.headers["location"])
                        continue
                    if response.status_code != 200:
                        raise errors.failed_to_download(
                            f"Downloading the image URL returned HTTP {response.status_code}."
                        )
                    declared = response.headers.get("content-length")
                    if declared is not None and declared.isdigit() and int(declared) > max_bytes:
                        raise too_large(max_bytes)
                    return await copy_body(decoded_chunks(response), sink, max_bytes)
                finally:
                    await response.aclose()
            except (httpx.InvalidURL, UnicodeError):
                raise errors.invalid_image_url("The image URL is malformed.") from None
            except httpx.HTTPError as error:
                raise errors.failed_to_download(
                    f"Could not download the image URL ({type(error).__name__})."
                ) from None
        raise errors.failed_to_download("The image URL redirected too many times.")


async def decoded_chunks(response: httpx.Response) -> AsyncIterator[bytes]:
    """The body of ``response`` as it arrives, inflated when its ``Content-Encoding`` is gzip
    or deflate, at most :data:`DECODE_STEP` bytes at a time: the caller's size cap stops a
    small compressed bomb once the cap is passed, and no step inflates more than that.

    Any other coding is refused with ``FailedToDownloadImage``, as is data that does not
    inflate.
    """
    header = response.headers.get("content-encoding", "")
    codings = [c for c in (part.strip().lower() for part in header.split(",")) if c]
    codings = [c for c in codings if c != "identity"]
    if not codings:
        async for chunk in response.aiter_raw():
            yield chunk
        return
    if len(codings) > 1 or codings[0] not in {"gzip", "x-gzip", "deflate"}:
        raise errors.failed_to_download(
            f"The image URL's response uses an unsupported Content-Encoding ({header[:50]})."
        )
    # A gzip or a zlib header, whichever comes: servers send either as "deflate".
    inflater = zlib.decompressobj(zlib.MAX_WBITS | 32)
    try:
        async for chunk in response.aiter_raw():
            pending = chunk
            while True:
                piece = inflater.decompress(pending, DECODE_STEP)
                pending = inflater.unconsumed_tail
                if piece:
                    yield piece
                # A full step may leave output inside zlib even with no input left.
                if not pending and len(piece) < DECODE_STEP:
                    break
        if tail := inflater.flush():
            yield tail
    except zlib.error:
        raise errors.failed_to_download(
            f"The image URL's response is not valid {codings[0]} data."
        ) from None
