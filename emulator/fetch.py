"""Downloading the document of a ``Read`` (URL) request, with the service's limits.

Only ``http`` and ``https``; the size cap is enforced while streaming; one overall timeout;
redirects followed by hand (at most 5) so every hop is checked. Link-local addresses (which
include cloud metadata endpoints such as 169.254.169.254) and known metadata host names are
refused, because an emulator in a CI runner must not become a way to read the runner's
cloud credentials. Loopback and private addresses are allowed: serving test documents from
localhost is the point of a local emulator.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from urllib.parse import urljoin, urlsplit

import httpx

from emulator import errors
from emulator.parsing import too_large

MAX_REDIRECTS = 5
BLOCKED_HOSTNAMES = frozenset({"metadata.google.internal", "metadata", "metadata.azure.internal"})
_METADATA_V6 = ipaddress.ip_network("fd00:ec2::254/128")


def _blocked(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return (
        address.is_link_local
        or address.is_multicast
        or address.is_unspecified
        or (isinstance(address, ipaddress.IPv6Address) and address in _METADATA_V6)
    )


async def check_url(url: str) -> None:
    """Raise ``InvalidImageUrl`` unless ``url`` is http(s) and resolves only to allowed
    addresses; ``FailedToDownloadImage`` if the host does not resolve."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise errors.invalid_image_url(f"Invalid image URL: {url!r}.") from None
    if parts.scheme.lower() not in {"http", "https"}:
        raise errors.invalid_image_url("The image URL must use http or https.")
    host = parts.hostname
    if not host:
        raise errors.invalid_image_url(f"The image URL has no host: {url!r}.")
    if host.lower().rstrip(".") in BLOCKED_HOSTNAMES:
        raise errors.invalid_image_url("The image URL points to a metadata service.")
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(
            host, port or (443 if parts.scheme.lower() == "https" else 80), type=socket.SOCK_STREAM
        )
    except (OSError, UnicodeError):
        raise errors.failed_to_download(
            f"Could not resolve the host of the image URL: {host}."
        ) from None
    for info in infos:
        address = ipaddress.ip_address(str(info[4][0]).split("%", 1)[0])
        if _blocked(address):
            raise errors.invalid_image_url(
                "The image URL resolves to a link-local or metadata address, which is not allowed."
            )


async def download(url: str, max_bytes: int, time_limit: float) -> bytes:
    """Fetch ``url`` and return its body, within ``max_bytes`` and ``time_limit`` seconds."""
    try:
        async with asyncio.timeout(time_limit):
            return await _download(url, max_bytes, time_limit)
    except TimeoutError:
        raise errors.failed_to_download(
            f"Downloading the image URL took longer than {time_limit:g} seconds."
        ) from None


async def _download(url: str, max_bytes: int, time_limit: float) -> bytes:
    async with httpx.AsyncClient(
        follow_redirects=False, timeout=time_limit, trust_env=False
    ) as client:
        for _ in range(MAX_REDIRECTS + 1):
            await check_url(url)
            try:
                async with client.stream("GET", url) as response:
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
                    buffer = bytearray()
                    async for chunk in response.aiter_bytes():
                        buffer += chunk
                        if len(buffer) > max_bytes:
                            raise too_large(max_bytes)
                    return bytes(buffer)
            except httpx.InvalidURL:
                raise errors.invalid_image_url(f"Invalid image URL: {url!r}.") from None
            except httpx.HTTPError as error:
                raise errors.failed_to_download(
                    f"Could not download the image URL ({type(error).__name__})."
                ) from None
        raise errors.failed_to_download("The image URL redirected too many times.")
