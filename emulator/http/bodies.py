"""Reading a request body as it streams in, under a size cap, into whatever takes it (the document's
:class:`~emulator.security.sealed.SealedWriter`, or a small buffer for JSON). Shared by every API: a
body over the cap is refused before it is read, or as soon as it passes the cap.
"""

from __future__ import annotations

import io
from collections.abc import AsyncIterator, Callable
from typing import Protocol

from starlette.requests import ClientDisconnect

from emulator import errors


def too_large(max_bytes: int) -> errors.ServiceError:
    """The error for a document over the tier's size cap."""
    return errors.invalid_image_size(
        f"The document is larger than the limit of {max_bytes} bytes for this tier."
    )


def json_too_large(max_bytes: int) -> errors.ServiceError:
    """The error for a URL request whose JSON body is implausibly large."""
    return errors.bad_argument(f"The JSON body is larger than {max_bytes} bytes.")


class BodySink(Protocol):
    """Where a streamed body goes, chunk by chunk (a file, a :class:`SealedWriter`)."""

    def write(self, data: bytes, /) -> object:
        """Take one chunk."""
        ...


async def copy_body(
    chunks: AsyncIterator[bytes],
    sink: BodySink,
    max_bytes: int,
    content_length: str | None = None,
    too_big: Callable[[int], errors.ServiceError] = too_large,
) -> int:
    """Pass a request body (chunked or not) to ``sink`` as it arrives, and stop as soon as it
    exceeds ``max_bytes``, raising ``too_big(max_bytes)``. Returns the body's length.

    A declared Content-Length over the cap is refused before reading anything. Nothing is
    buffered here: an upload is only ever held by the sink.
    """
    if content_length is not None:
        try:
            declared = int(content_length)
        except ValueError:
            raise errors.bad_argument("Invalid Content-Length header.") from None
        if declared > max_bytes:
            raise too_big(max_bytes)
    total = 0
    try:
        async for chunk in chunks:
            total += len(chunk)
            if total > max_bytes:
                raise too_big(max_bytes)
            sink.write(chunk)
    except ClientDisconnect:
        # Nobody is left to read the answer, but it must not surface as a server error.
        raise errors.bad_argument("The client disconnected before the body was complete.") from None
    return total


async def read_body(
    chunks: AsyncIterator[bytes],
    max_bytes: int,
    content_length: str | None = None,
    too_big: Callable[[int], errors.ServiceError] = too_large,
) -> bytes:
    """A small request body (JSON) in one buffer, under the same rules as :func:`copy_body`."""
    buffer = io.BytesIO()
    await copy_body(chunks, buffer, max_bytes, content_length, too_big)
    return buffer.getvalue()
