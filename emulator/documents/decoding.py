"""Decoding documents where a hostile one can hurt only itself: in a child process with a
memory ceiling, a deadline, and nothing shared with the server.

Everything that parses a client's document — the upload check (format, page count, sizes),
drawing each page for the engine (and its preview image, when the job asked for page images),
and writing the searchable PDF — runs in a
:class:`DecoderProcess`. A PDF of a hundred thousand strokes that takes minutes to draw, or a
Flate stream that inflates to gigabytes, costs only its own job: past the job's deadline the
child is killed; past its memory ceiling (``resource.RLIMIT_AS``, the ``--decode-memory``
budget on top of the document itself) an allocation fails or the child dies, and the job
fails. The server process never runs a decoder, so it cannot be aborted by one, and no lock
is shared between jobs: pdfium, which is not thread-safe, gets a process of its own each time.

The document crosses the pipe once per job, decrypted in chunks (it never touches the disk in
the clear); the child keeps it in memory while the job's pages are drawn, and each page comes
back as an RGB bitmap. Children are forked from a fork server (see :data:`_CONTEXT`).

Who uses what: :class:`DecoderPool` serves the upload checks of request threads (a few
children, taken in turn); :class:`emulator.jobs.JobRunner` keeps one child per worker thread.
"""

from __future__ import annotations

import contextlib
import functools
import io
import logging
import multiprocessing
import os
import resource
import signal
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import IO, Any, NoReturn

from PIL import Image

from emulator import errors
from emulator.documents import formats
from emulator.documents.children import EXIT_GRACE, ChildProcess
from emulator.documents.formats import Document, DocumentInfo, Limits, PageImage
from emulator.documents.streams import SeekableReader
from emulator.errors import ServiceError

log = logging.getLogger("emulator.decoding")

# Children are forked from a fork server that has imported this module (and with it Pillow,
# pypdfium2 and numpy) once: a new decoder starts in milliseconds, not the third of a second
# a spawned interpreter takes to import them. The fork server does nothing but fork, so a fork
# of it inherits no lock some busy thread held (why the emulator itself never forks, and its
# OCR workers are spawned).
_CONTEXT = multiprocessing.get_context("forkserver")
# emulator.documents.fork_server first: the server ignores a SIGTERM sent to the whole process
# group.
_CONTEXT.set_forkserver_preload(["emulator.documents.fork_server", "emulator.documents.decoding"])
#: Default ``--decode-memory``: address space a decoder may use beyond its own code and the
#: document it holds. A 10000 x 10000 page is 300 MB as RGB, and Pillow or pdfium may hold two
#: or three such buffers while converting.
DEFAULT_MEMORY = 1536 * 1024 * 1024
#: Default ``--inspect-timeout``: longest the upload check of one document may take. A
#: 2000-page PDF or TIFF is checked in well under a second; anything slower is hostile.
DEFAULT_INSPECT_TIMEOUT = 10.0
#: How many children check uploads at once (each check is short; more wait their turn).
UPLOAD_CHECKERS = 2
# The document crosses the pipe in pieces of this size.
_CHUNK = 256 * 1024
# How long a child may take to start (imports) before it is considered broken.
_START_TIMEOUT = 60.0


class DecoderError(Exception):
    """The decoder could not finish: it ran out of time or memory, or died. The message says
    which, in words a client may read (no document content)."""

    def __init__(self, message: str, *, timed_out: bool = False, memory: bool = False) -> None:
        super().__init__(message)
        #: It ran past its deadline (and was killed).
        self.timed_out = timed_out
        #: It needed more memory than ``--decode-memory`` allows.
        self.memory = memory


# --- pages across a pipe ------------------------------------------------------------------------

# A page crosses a pipe in bands of rows of about this many bytes, so neither side ever holds
# a second copy of a large page (a 10000 x 10000 page is 300 MB as RGB bytes).
_BAND_BYTES = 4 * 1024 * 1024


def _bands(width: int, height: int) -> Iterator[tuple[int, int]]:
    rows = max(1, _BAND_BYTES // max(1, width * 3))
    for top in range(0, height, rows):
        yield top, min(height, top + rows)


def send_image(conn: Connection, image: Image.Image) -> None:
    """Send an RGB ``image`` (its size known to the receiver) as bands of rows."""
    width, height = image.size
    for top, bottom in _bands(width, height):
        conn.send_bytes(image.crop((0, top, width, bottom)).tobytes())


def receive_image(conn: Connection, size: tuple[int, int]) -> Image.Image:
    """The RGB image of ``size`` that :func:`send_image` sends, built band by band."""
    width, height = size
    image = Image.new("RGB", size)
    for top, bottom in _bands(width, height):
        band = Image.frombytes("RGB", (width, bottom - top), conn.recv_bytes())
        image.paste(band, (0, top))
    return image


# --- the child ---------------------------------------------------------------------------------


class _MemoryStream(SeekableReader):
    """A seekable read-only stream over a buffer, without copying it."""

    def __init__(self, view: memoryview) -> None:
        super().__init__()
        self._view = view

    @property
    def size(self) -> int:
        return len(self._view)

    def readinto(self, buffer: Any) -> int:
        end = min(len(self._view), self._position + len(buffer))
        count = max(0, end - self._position)
        memoryview(buffer).cast("B")[:count] = self._view[self._position : end]
        self._position += count
        return count


@dataclass(frozen=True, slots=True)
class _HeldDocument:
    """The document a child holds, as :mod:`emulator.documents.formats` reads it."""

    buffer: bytearray

    @property
    def size(self) -> int:
        return len(self.buffer)

    def open(self) -> IO[bytes]:
        return io.BufferedReader(_MemoryStream(memoryview(self.buffer)))


def _address_space() -> int:
    """This process's virtual memory size in bytes (Linux), or 0 where it cannot be read."""
    try:
        with open("/proc/self/statm", encoding="ascii") as statm:
            pages = int(statm.read().split()[0])
    except (OSError, ValueError, IndexError):
        return 0
    return pages * resource.getpagesize()


def _limit_memory(ceiling: int) -> None:
    """Let this process's allocations fail past ``ceiling`` bytes of address space."""
    _soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    if hard != resource.RLIM_INFINITY:
        ceiling = min(ceiling, hard)
    with contextlib.suppress(ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_AS, (ceiling, hard))


def _refusal(error: ServiceError) -> tuple[str, tuple[int, str, str]]:
    return ("refused", (error.status_code, error.code, error.message))


def _close_reader(reader: tuple[formats.PageReader, DocumentInfo, float] | None) -> None:
    """Close the child's page reader, if any: it holds the document open."""
    if reader is not None:
        reader[0].close()


def _send_or_die(send: Callable[[], object]) -> None:
    """Send what follows an ``ok``; a failure halfway (out of memory cutting a page into
    bands) cannot be answered in the middle of it, so the child ends and the parent, seeing
    the pipe close, fails the request."""
    try:
        send()
    except BaseException:
        os._exit(3)


def _child_main(conn: Connection, memory: int) -> None:
    """The child's loop: hold one document at a time and answer what is asked of it."""
    # Ctrl-C reaches the whole process group, and so does a SIGTERM sent to it (systemd's
    # default): the parent decides when children stop, after the pages being drawn.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    baseline = _address_space()
    held: _HeldDocument | None = None
    # Draws the held document's pages, kept between requests: a TIFF's pages asked for in
    # order are then one walk of the file, not a walk from its first page for each.
    reader: tuple[formats.PageReader, DocumentInfo, float] | None = None
    conn.send(("ready", None))
    try:
        while (request := conn.recv()) is not None:
            operation = request[0]
            try:
                if operation == "load":
                    _close_reader(reader)
                    held = reader = None
                    size = request[1]
                    if baseline:
                        _limit_memory(baseline + memory + size)
                    buffer = bytearray(size)
                    conn.send(("ok", None))
                    received = 0
                    with memoryview(buffer) as view:
                        while received < size:
                            received += conn.recv_bytes_into(view[received:])
                    held = _HeldDocument(buffer)
                    conn.send(("ok", None))
                elif operation == "forget":
                    _close_reader(reader)
                    held = reader = None
                    conn.send(("ok", None))
                elif held is None:
                    conn.send(("error", "no document"))
                elif operation == "inspect":
                    _, limits, count_to = request
                    conn.send(("ok", formats.inspect(held, limits, count_to=count_to)))
                elif operation == "page":
                    _, info, number, dpi, preview = request
                    if reader is None or reader[1:] != (info, dpi):
                        _close_reader(reader)
                        reader = (formats.PageReader(held, info, dpi=dpi), info, dpi)
                    page = reader[0].page(number)
                    # Encoded here, under this child's limits, from the pixels just drawn.
                    png = formats.preview_png(page.image) if preview else None
                    meta = (page.number, page.unit, page.units_per_pixel, page.width, page.height)
                    conn.send(("ok", (meta, page.image.size, png is not None)))
                    _send_or_die(functools.partial(send_image, conn, page.image))
                    if png is not None:
                        _send_or_die(functools.partial(conn.send_bytes, png))
                    del page, png
                elif operation == "searchable-pdf":
                    from emulator.documents.searchable_pdf import searchable_pdf

                    pdf = searchable_pdf(bytes(held.buffer), request[1])
                    conn.send(("ok", None))
                    _send_or_die(functools.partial(conn.send_bytes, pdf))
                    del pdf
                else:
                    conn.send(("error", f"unknown request {operation!r}"))
            except ServiceError as error:
                conn.send(_refusal(error))
            except MemoryError:
                # Whatever it held may be half-built; the parent loads it again.
                _close_reader(reader)
                held = reader = None
                conn.send(("memory", None))
            except Exception as error:  # anything a decoder trips over is bad input
                conn.send(("error", type(error).__name__))
    except (EOFError, OSError):
        # The parent is gone, or killed us mid-reply: nobody is left to answer.
        return


# --- the parent's end --------------------------------------------------------------------------


class DecoderProcess(ChildProcess):
    """One decoding child and the parent's end of its pipe. Used by one thread at a time.

    Every call takes a ``deadline`` (``time.monotonic()``, or None): past it the child is
    killed and :class:`DecoderError` raised with ``timed_out`` set. A child that dies (a crash
    in native code, the memory ceiling) raises :class:`DecoderError` too. Either way the
    object is :attr:`broken` and a new one must be started.
    """

    def __init__(self, memory: int = DEFAULT_MEMORY) -> None:
        super().__init__(_CONTEXT, _child_main, (memory,), "ocr-decoder")
        self._started = False
        #: The key of the document the child holds (a job's id; "" for one loaded without a
        #: key), None when it holds none.
        self.holding: str | None = None
        # The last inspection of the document held: (holding, limits, count_to), its answer.
        self._inspected: tuple[tuple[str | None, Limits, int | None], DocumentInfo] | None = None

    # -- requests --

    def load(self, document: Document, key: str | None, deadline: float | None) -> None:
        """Give the child ``document`` (decrypted as it is read, a chunk at a time); a call
        with the ``key`` of the document already held sends nothing."""
        if key is not None and key == self.holding:
            return
        self.holding = None
        size = len(document) if isinstance(document, bytes) else document.size
        self._ask(("load", size), deadline)
        stream = io.BytesIO(document) if isinstance(document, bytes) else document.open()
        with stream:
            while chunk := stream.read(_CHUNK):
                self._check(deadline)
                self._send_bytes(chunk)
        self._answer(deadline)
        self.holding = key or ""

    def forget(self) -> None:
        """Have the child drop the document it holds (a finished job's input goes)."""
        if self.holding is None or self.broken:
            return
        self.holding = None
        with contextlib.suppress(DecoderError):
            self._ask(("forget",), time.monotonic() + EXIT_GRACE)

    def inspect(
        self, limits: Limits, deadline: float | None, count_to: int | None = None
    ) -> DocumentInfo:
        """:func:`emulator.documents.formats.inspect` of the document held (pages counted up to
        ``count_to``, by default the tier's page limit)."""
        # A cluster worker draws a job's pages one request at a time: the document it holds
        # is checked once, not once a page.
        question = (self.holding, limits, count_to)
        if self.holding and self._inspected is not None and self._inspected[0] == question:
            return self._inspected[1]
        info: DocumentInfo = self._ask(("inspect", limits, count_to), deadline)
        self._inspected = (question, info)
        return info

    def page(
        self,
        info: DocumentInfo,
        number: int,
        dpi: float,
        deadline: float | None,
        preview: bool = False,
    ) -> PageImage:
        """Page ``number`` (1-based) of the document held, drawn as
        :func:`emulator.documents.formats.iter_pages` draws it; with ``preview``, also as a
        small PNG (:func:`emulator.documents.formats.preview_png`, made in the child)."""
        meta, size, has_preview = self._ask(("page", info, number, dpi, preview), deadline)
        self._wait(deadline)
        try:
            image = receive_image(self._conn, size)
        except (EOFError, OSError):
            self._died()
        png = self._receive_bytes(deadline) if has_preview else None
        number, unit, units_per_pixel, width, height = meta
        return PageImage(number, image, unit, units_per_pixel, width, height, png)

    def searchable_pdf(self, records: Sequence[dict[str, Any]], deadline: float | None) -> bytes:
        """The searchable PDF of the document held, with ``records``' text
        (:func:`emulator.documents.searchable_pdf.searchable_pdf`)."""
        self._ask(("searchable-pdf", list(records)), deadline)
        return self._receive_bytes(deadline)

    # -- life --

    def kill(self) -> None:
        """Kill the child now and reap it; marks this decoder broken (holding nothing)."""
        self.holding = None
        super().kill()

    def _ask(self, request: tuple[Any, ...], deadline: float | None) -> Any:
        if self.broken:
            raise DecoderError("The decoder was stopped.")
        if not self._started:
            self._wait_started()
        try:
            self._conn.send(request)
        except (OSError, BrokenPipeError):
            self._died()
        return self._answer(deadline)

    def _wait_started(self) -> None:
        self._started = True
        try:
            if not self._conn.poll(_START_TIMEOUT):
                self.kill()
                raise DecoderError("The decoder did not start.")
            self._conn.recv()
        except (EOFError, OSError):
            self._died()

    def _check(self, deadline: float | None) -> None:
        if deadline is not None and time.monotonic() > deadline:
            self.kill()
            raise DecoderError("The document took too long to decode.", timed_out=True)

    def _wait(self, deadline: float | None) -> None:
        wait = None if deadline is None else max(0.0, deadline - time.monotonic())
        try:
            ready = self._conn.poll(wait)
        except (EOFError, OSError):
            self._died()
        if not ready:
            self._check(-1.0)

    def _answer(self, deadline: float | None) -> Any:
        self._wait(deadline)
        try:
            outcome, payload = self._conn.recv()
        except (EOFError, OSError):
            self._died()
        if outcome == "ok":
            return payload
        if outcome == "refused":
            status, code, message = payload
            raise ServiceError(status, code, message)
        self.kill()  # its state is unknown after a failure: start afresh next time
        if outcome == "memory":
            raise DecoderError(
                "The document needs more memory to decode than is allowed.", memory=True
            )
        raise DecoderError(f"The document could not be decoded ({payload}).")

    def _send_bytes(self, chunk: bytes) -> None:
        try:
            self._conn.send_bytes(chunk)
        except (OSError, BrokenPipeError):
            self._died()

    def _receive_bytes(self, deadline: float | None) -> bytes:
        self._wait(deadline)
        try:
            return self._conn.recv_bytes()
        except (EOFError, OSError):
            self._died()

    def _died(self) -> NoReturn:
        code = self.process.exitcode
        self.kill()
        if code is None:
            code = self.process.exitcode
        raise DecoderError(
            "The document could not be decoded within the emulator's limits "
            f"(the decoder stopped, exit code {code})."
        )


class DecoderPool:
    """Decoders for the upload checks of request threads: at most ``size`` children, each
    lent to one check at a time, replaced when one breaks."""

    def __init__(self, memory: int = DEFAULT_MEMORY, size: int = UPLOAD_CHECKERS) -> None:
        self.memory = memory
        self.size = size
        self._idle: list[DecoderProcess] = []
        self._lent = 0
        self._closed = False
        self._ready = threading.Condition()

    @contextlib.contextmanager
    def decoder(self) -> Iterator[DecoderProcess]:
        """A decoder for one check; waits while all of them are lent."""
        with self._ready:
            while not self._idle and self._lent >= self.size and not self._closed:
                self._ready.wait()
            if self._closed:
                raise DecoderError("The emulator is stopping.")
            decoder = self._idle.pop() if self._idle else None
            self._lent += 1
        try:
            if decoder is None:
                decoder = DecoderProcess(self.memory)
            yield decoder
        finally:
            with self._ready:
                self._lent -= 1
                if decoder is not None and not decoder.broken and not self._closed:
                    self._idle.append(decoder)
                    decoder = None
                self._ready.notify()
            if decoder is not None:
                decoder.close()

    def close(self) -> None:
        """Stop every idle child; lent ones stop when they come back."""
        with self._ready:
            self._closed = True
            idle, self._idle = self._idle, []
            self._ready.notify_all()
        for decoder in idle:
            decoder.close()


def inspect(
    pool: DecoderPool,
    document: Document,
    limits: Limits,
    timeout: float,
    count_to: int | None = None,
) -> DocumentInfo:
    """The upload check of ``document`` in one of ``pool``'s children, within ``timeout``
    seconds (pages counted up to ``count_to``: :func:`emulator.documents.formats.pages_to_count`):
    the :class:`ServiceError` the check raises; ``InvalidImage`` when the document
    cannot be checked within the time or memory allowed; ``InvalidImageFormat`` when the
    decoder trips over it (whatever a decoder cannot take in the client's bytes is bad
    input, not the emulator's failure)."""
    deadline = time.monotonic() + timeout
    with pool.decoder() as decoder:
        try:
            decoder.load(document, None, deadline)
            try:
                return decoder.inspect(limits, deadline, count_to)
            finally:
                decoder.forget()  # a refused upload is not kept, even there
        except DecoderError as error:
            log.warning("upload check stopped: %s", error)
            if error.timed_out:
                message = f"The document could not be checked within {timeout:g} seconds."
                raise ServiceError(400, "InvalidImage", message) from None
            if error.memory:
                raise ServiceError(400, "InvalidImage", str(error)) from None
            raise errors.invalid_image_format() from None
