"""The ``ocr`` command: OCR files, folders, globs and URLs from a terminal.

::

    ocr read scan.png                      # text to stdout (OCR_ENDPOINT, OCR_API_KEY)
    ocr read --emulator scans/ --output out/  # embedded emulator, one file per input
    ocr read --format json https://example.com/page.pdf
    ocr read --format pdf --output out/ scans/  # searchable PDFs: the scans with their text
    ocr read --format markdown letter.pdf      # paragraphs and page breaks, as Markdown

Many inputs run concurrently (``--concurrency``) through ``AsyncOcrClient``'s batch, which
honours 429s for the whole batch; a progress bar goes to stderr, then a summary listing every
failed input with its error code. An error that every input would meet alike (the key
refused, the service unreachable) is reported once and stops the batch. Exit status: 0 all
read (or stdout closed early, as by ``| head``), 1 some failed, 2 usage error, 130
interrupted (Ctrl-C). See ``docs/cli.md``.

Needs the ``cli`` extra (``pip install 'ocr-sdk[cli]'``) for the progress bar, the
``emulator`` extra for ``--emulator`` and the ``pdf`` extra for ``--format pdf``. Not imported
by ``import ocr_sdk``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import glob
import json
import logging
import os
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

from ._async_client import AsyncOcrClient
from ._batch import DEFAULT_CONCURRENCY, BatchItem, RateGate
from ._exceptions import AuthenticationError, OcrConnectionError, OcrError
from ._models import ReadResult
from .output.markdown import to_markdown
from .output.searchable_pdf import PDF_EXTRA_HINT, write_searchable_pdf

if TYPE_CHECKING:
    from tqdm import tqdm

__all__ = ["main", "build_parser", "expand_inputs", "DOCUMENT_SUFFIXES"]

PROG = "ocr"
CLI_EXTRA_HINT = "the ocr command needs the cli extra: pip install 'ocr-sdk[cli]'"
EMULATOR_EXTRA_HINT = "--emulator needs the emulator extra: pip install 'ocr-sdk[emulator]'"

#: What a folder expands to: the formats the service reads, matched case-insensitively.
#: Files named one by one are sent whatever their name, and the service judges them.
DOCUMENT_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".pdf"})

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130

#: ``--format`` choices and the extension of the files ``--output`` writes for each.
FORMATS = {"text": "txt", "json": "json", "markdown": "md", "pdf": "pdf"}


class UsageError(Exception):
    """Bad command line: reported as ``ocr: error: ...`` with exit status 2."""


@dataclass(frozen=True, slots=True)
class Input:
    """One document to read: a local file or a URL the service fetches itself."""

    name: str
    """How the input is shown: the path as found, or the URL."""
    path: Path | None = None
    url: str | None = None


# --- inputs and outputs -------------------------------------------------------------------------


def _is_url(text: str) -> bool:
    return urlsplit(text).scheme.lower() in ("http", "https")


def _folder_documents(folder: Path) -> list[Path]:
    # Hidden files and folders (.git, .DS_Store) are never documents.
    return sorted(
        path
        for path in folder.rglob("*")
        if path.is_file()
        and path.suffix.lower() in DOCUMENT_SUFFIXES
        and not any(part.startswith(".") for part in path.relative_to(folder).parts)
    )


def expand_inputs(arguments: Sequence[str]) -> list[Input]:
    """Turn the command's arguments into inputs, in order, without duplicates.

    A URL (``http``/``https``) stays a URL; a file is taken as is; a folder expands to the
    documents under it, recursively (:data:`DOCUMENT_SUFFIXES`); anything else is a glob
    pattern (``**`` recurses), for shells that do not expand it. Raises :class:`UsageError`
    for an argument that names nothing.
    """
    inputs: list[Input] = []
    seen: set[str] = set()

    def add(item: Input) -> None:
        key = item.url or str(item.path.resolve() if item.path else item.name)
        if key not in seen:
            seen.add(key)
            inputs.append(item)

    def add_path(path: Path) -> None:
        if path.is_dir():
            for document in _folder_documents(path):
                add(Input(str(document), path=document))
        else:
            add(Input(str(path), path=path))

    for argument in arguments:
        if _is_url(argument):
            add(Input(argument, url=argument))
            continue
        path = Path(argument).expanduser()
        if path.exists():
            before = len(inputs)
            add_path(path)
            if path.is_dir() and len(inputs) == before:
                raise UsageError(f"no documents in folder {argument!r}")
            continue
        if glob.has_magic(argument):
            matches = sorted(glob.glob(os.path.expanduser(argument), recursive=True))
            for match in matches:
                add_path(Path(match))
            if not matches:
                raise UsageError(f"no file matches {argument!r}")
            continue
        raise UsageError(f"no such file, folder or URL: {argument!r}")
    return inputs


def output_names(inputs: Sequence[Input], extension: str) -> list[str]:
    """One distinct file name per input: ``<input file name>.<extension>``.

    Keeping the input's own extension (``scan.png.txt``) keeps ``scan.png`` and ``scan.pdf``
    apart; inputs with the same name from different folders get ``-2``, ``-3``... appended.
    """
    names: list[str] = []
    used: set[str] = set()
    for item in inputs:
        if item.url is not None:
            base = unquote(urlsplit(item.url).path.rstrip("/").rsplit("/", 1)[-1]) or "url"
        else:
            base = item.path.name if item.path is not None else item.name
        # Nothing from a URL may climb out of the output folder or hide itself.
        base = base.replace("/", "_").replace("\\", "_").lstrip(".") or "document"
        candidate, number = f"{base}.{extension}", 1
        while candidate.lower() in used:
            number += 1
            candidate = f"{base}-{number}.{extension}"
        used.add(candidate.lower())
        names.append(candidate)
    return names


def wire_json(result: ReadResult) -> dict[str, Any]:
    """The service's JSON for the operation (``ReadOperationResult`` by alias)."""
    return result.operation.model_dump(mode="json", by_alias=True, exclude_none=True)


def error_code(error: BaseException) -> str:
    """The service's error code, or the exception's type when there is none."""
    if isinstance(error, OcrError) and error.code:
        return error.code
    return type(error).__name__


def error_message(error: BaseException) -> str:
    """A one-line reason, without the code (shown separately)."""
    if isinstance(error, OcrError):
        return error.message
    if isinstance(error, OSError) and error.strerror:
        return error.strerror
    return str(error) or type(error).__name__


#: ``OcrConnectionError.reason`` values that no document escapes: the endpoint is wrong, or the
#: client cannot talk to it. A timeout, a reset or a dropped connection may be one document's.
_ENDPOINT_FAILURES = frozenset({"refused", "dns", "not_tls", "certificate", "tls"})


def stops_the_batch(error: BaseException) -> bool:
    """True for an error that every other input would meet the same way: the key refused
    (401, 403), or the service unreachable (nothing listening, unknown host, TLS mismatch or
    an untrusted certificate)."""
    if isinstance(error, AuthenticationError):
        return True
    return isinstance(error, OcrConnectionError) and error.reason in _ENDPOINT_FAILURES


def fatal_report(error: OcrError, settings: _Settings) -> list[str]:
    """The lines that report an error which stopped the batch: what happened and what to
    check. Names where the key came from, never the key."""
    if isinstance(error, AuthenticationError):
        if settings.key_source is None:
            check = "no key was sent: pass --api-key or set OCR_API_KEY"
        else:
            check = (
                f"the key came from {settings.key_source}; check that it is a key of this "
                "resource (Azure: one of the two keys on the resource's Keys and Endpoint page; "
                "an emulator: the key it printed at start-up, or one it was started with "
                "--api-key)"
            )
        return [
            f"{PROG}: error: {settings.endpoint} rejected the API key: {error}",
            f"  {check}",
        ]
    return [f"{PROG}: error: cannot reach the service: {error.message}"]


# --- the parser ---------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    """The ``ocr`` argument parser."""
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="OCR documents with a Read API v3.2 service (Azure AI Vision or the emulator).",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    read = commands.add_parser(
        "read",
        help="read documents and print or save their text",
        description="Read files, folders (recursively: png, jpg, jpeg, bmp, tif, tiff, pdf), "
        "glob patterns and http(s) URLs. Exit status: 0 all read, 1 some failed, "
        "2 usage error, 130 interrupted.",
    )
    read.add_argument("inputs", nargs="+", metavar="FILE_OR_URL", help="documents to read")
    service = read.add_argument_group("service")
    service.add_argument("--endpoint", help="service endpoint (default: $OCR_ENDPOINT)")
    service.add_argument("--api-key", help="subscription key (default: $OCR_API_KEY)")
    trust = service.add_mutually_exclusive_group()
    trust.add_argument("--ca-bundle", metavar="PATH", help="trust this CA bundle (PEM) for TLS")
    trust.add_argument(
        "--insecure", action="store_true", help="do not verify TLS certificates (testing only)"
    )
    service.add_argument(
        "--emulator",
        action="store_true",
        help="start an embedded emulator for the duration of the command (needs the "
        "emulator extra); --endpoint and --api-key are then ignored",
    )
    options = read.add_argument_group("read options")
    options.add_argument("--pages", help="pages to read, e.g. 1,3-5,7-")
    options.add_argument("--language", help="BCP-47 language code, e.g. en (default: detect)")
    options.add_argument(
        "--reading-order", choices=["basic", "natural"], help="line order (service default basic)"
    )
    options.add_argument("--model-version", help="OCR model version (service default latest)")
    options.add_argument(
        "--timeout", type=float, help="give up waiting for one document after this many seconds"
    )
    output = read.add_argument_group("output")
    output.add_argument(
        "--format",
        choices=list(FORMATS),
        default="text",
        help="text: the lines read (default); json: the service's JSON result; markdown: "
        "paragraphs and page breaks as Markdown; pdf: a searchable PDF, the document with an "
        "invisible text layer (needs --output and the pdf extra; files only, not URLs)",
    )
    output.add_argument(
        "--output",
        metavar="DIR",
        help="write one file per input into DIR (<name>.txt, .json, .md or .pdf) instead of stdout",
    )
    output.add_argument(
        "--concurrency",
        type=int,
        default=DEFAULT_CONCURRENCY,
        help=f"documents in flight at once (default {DEFAULT_CONCURRENCY})",
    )
    output.add_argument(
        "--progress",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="progress bar on stderr (default: when stderr is a terminal and there are "
        "several inputs)",
    )
    output.add_argument(
        "-v", "--verbose", action="store_true", help="log retries and emulator events to stderr"
    )
    return parser


# --- running ------------------------------------------------------------------------------------


@dataclass
class _Settings:
    endpoint: str | None
    api_key: str | None
    verify: bool | str
    #: Where the key came from, for messages (``--api-key``, ``$OCR_API_KEY``); never the key.
    key_source: str | None = None


class _Printer:
    """Writes results to stdout in input order, whatever order they complete in, so that a
    batch's output is stable; with ``--output`` writes files as they come instead."""

    def __init__(
        self,
        inputs: Sequence[Input],
        fmt: str,
        output: Path | None,
        bar: tqdm | None,
        stdout: IO[str],
    ) -> None:
        self.inputs = inputs
        self.fmt = fmt
        self.output = output
        self.bar = bar
        self.stdout = stdout
        self.names = output_names(inputs, FORMATS[fmt])
        self._ready: dict[int, ReadResult | None] = {}
        self._next = 0
        #: Searchable PDFs written by the readers, waiting to be saved (``--format pdf``).
        self.pdfs: dict[Input, bytes] = {}

    def render(self, index: int, result: ReadResult) -> str:
        if self.fmt == "json":
            if len(self.inputs) == 1 or self.output is not None:
                return json.dumps(wire_json(result), indent=2, ensure_ascii=False)
            # Several results on stdout: JSON Lines, each naming its input.
            return json.dumps(
                {"input": self.inputs[index].name, "result": wire_json(result)},
                ensure_ascii=False,
            )
        text = to_markdown(result) if self.fmt == "markdown" else result.text
        if len(self.inputs) == 1 or self.output is not None:
            return text
        return f"==> {self.inputs[index].name} <==\n{text}\n"

    def add(self, item: BatchItem[Input]) -> None:
        if self.output is not None:
            if item.result is not None:
                target = self.output / self.names[item.index]
                if self.fmt == "pdf":
                    target.write_bytes(self.pdfs.pop(item.document))
                else:
                    text = self.render(item.index, item.result) + "\n"
                    target.write_text(text, encoding="utf-8")
            return
        self._ready[item.index] = item.result
        while self._next in self._ready:
            result = self._ready.pop(self._next)
            if result is not None:
                self._write(self.render(self._next, result))
            self._next += 1

    def finish(self) -> None:
        """Write the results still waiting for an earlier input that will not come (the
        batch stopped early), in input order."""
        for index in sorted(self._ready):
            result = self._ready.pop(index)
            if result is not None:
                self._write(self.render(index, result))

    def _write(self, text: str) -> None:
        if self.bar is not None:
            # Clears and redraws the bar around the line, so the two never mix on a terminal.
            self.bar.write(text, file=self.stdout)
        else:
            print(text, file=self.stdout, flush=True)


async def _run(
    inputs: Sequence[Input],
    args: argparse.Namespace,
    settings: _Settings,
    stdout: IO[str],
    stderr: IO[str],
) -> int:
    from tqdm import tqdm

    show_progress = args.progress
    if show_progress is None:
        show_progress = len(inputs) > 1 and stderr.isatty()
    bar = tqdm(total=len(inputs), file=stderr, unit="doc", disable=not show_progress)
    output = Path(args.output) if args.output else None
    printer = _Printer(inputs, args.format, output, bar if show_progress else None, stdout)
    failures: list[tuple[Input, BaseException]] = []
    read = 0
    #: An error that every input would meet (key refused, service unreachable): reported once,
    #: and the batch stops instead of failing each input the same way.
    stopped_by: OcrError | None = None
    options: dict[str, Any] = {
        "pages": args.pages,
        "language": args.language,
        "reading_order": args.reading_order,
        "model_version": args.model_version,
    }
    try:
        async with AsyncOcrClient(
            settings.endpoint, settings.api_key, verify=settings.verify
        ) as client:

            async def read_one(item: Input, gate: RateGate) -> ReadResult:
                # The batch machinery of read_many, with URLs as well as files.
                if item.url is not None:
                    spec = client._read_url_request(item.url, **options)
                    poller = await client._begin(spec, gate)
                    return await poller.result(args.timeout)
                assert item.path is not None
                if args.format != "pdf":
                    spec = client._read_request(item.path, **options)
                    poller = await client._begin(spec, gate)
                    return await poller.result(args.timeout)
                # The PDF is made of the very bytes the service read, read from disk once.
                data = await asyncio.to_thread(item.path.read_bytes)
                poller = await client._begin(client._read_request(data, **options), gate)
                result = await poller.result(args.timeout)
                # Off the event loop: other documents' polls go on meanwhile. A document the
                # writer cannot handle fails like one the service could not read.
                printer.pdfs[item] = await asyncio.to_thread(write_searchable_pdf, data, result)
                return result

            batch = client._batch(inputs, read_one, args.concurrency)
            async with contextlib.aclosing(batch):
                async for done in batch:
                    printer.add(done)
                    bar.update(1)
                    if isinstance(done.error, OcrError) and stops_the_batch(done.error):
                        stopped_by = done.error
                        break  # closing the batch cancels the reads still in flight
                    if done.error is not None:
                        failures.append((done.document, done.error))
                    else:
                        read += 1
            printer.finish()
    finally:
        bar.close()
    noun = "document" if len(inputs) == 1 else "documents"
    if stopped_by is not None:
        for line in fatal_report(stopped_by, settings):
            print(line, file=stderr)
        if len(inputs) > 1:
            print(
                f"{PROG}: stopped: read {read} of {len(inputs)} {noun}; the others would "
                "fail the same way",
                file=stderr,
            )
    elif len(inputs) > 1 or failures:
        print(f"{PROG}: read {read} of {len(inputs)} {noun}, {len(failures)} failed", file=stderr)
    for item, error in sorted(failures, key=lambda failure: failure[0].name):
        print(f"  FAILED {item.name}: {error_code(error)}: {error_message(error)}", file=stderr)
    return EXIT_FAILED if failures or stopped_by is not None else EXIT_OK


@contextlib.contextmanager
def _service(args: argparse.Namespace, environ: dict[str, str]) -> Iterator[_Settings]:
    if not args.emulator:
        verify: bool | str = args.ca_bundle if args.ca_bundle else not args.insecure
        api_key, key_source = args.api_key, "--api-key"
        if not api_key:
            api_key, key_source = environ.get("OCR_API_KEY") or None, "$OCR_API_KEY"
        yield _Settings(
            args.endpoint or environ.get("OCR_ENDPOINT") or None,
            api_key,
            verify,
            key_source if api_key else None,
        )
        return
    try:
        from emulator.testing import run_emulator
    except ImportError:
        raise UsageError(EMULATOR_EXTRA_HINT) from None
    # Two workers at most: a terminal user's machine is doing other things too.
    with run_emulator(workers=min(2, os.cpu_count() or 1)) as emulator:
        yield _Settings(emulator.endpoint, emulator.api_key, True, "the embedded emulator")


@contextlib.contextmanager
def _logging(verbose: bool, stderr: IO[str]) -> Iterator[None]:
    """Route the SDK's and the emulator's logs to stderr for the command, then restore them
    (``main`` may run in a process that has its own logging, such as a test run)."""
    handler = logging.StreamHandler(stderr)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    loggers = [logging.getLogger(name) for name in ("ocr_sdk", "emulator")]
    saved = [(logger.level, logger.propagate) for logger in loggers]
    for logger in loggers:
        logger.addHandler(handler)
        # Without -v the emulator's warnings (a rejected document) would repeat the summary.
        logger.setLevel(logging.INFO if verbose else logging.ERROR)
        logger.propagate = False
    try:
        yield
    finally:
        for logger, (level, propagate) in zip(loggers, saved, strict=True):
            logger.removeHandler(handler)
            logger.setLevel(level)
            logger.propagate = propagate


def _check_pdf_output(args: argparse.Namespace) -> None:
    if not args.output:
        raise UsageError(
            "--format pdf writes files: add --output DIR (a PDF is never written to stdout)"
        )
    try:
        import pikepdf  # noqa: F401
        import PIL  # noqa: F401 - only to say what to install before reading anything
    except ImportError:
        raise UsageError(PDF_EXTRA_HINT) from None


def _check_pdf_inputs(inputs: Sequence[Input]) -> None:
    # The service fetches a URL itself, so the command never has the bytes it read; fetching
    # them again could pair the text with a different document (a page that changed, or that
    # answers each client differently), so URLs are refused rather than guessed at.
    urls = [item.name for item in inputs if item.url is not None]
    if urls:
        raise UsageError(
            f"--format pdf needs the document itself, and the service fetches URLs on its own: "
            f"download {urls[0]!r} first and pass the file"
        )


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``ocr`` command with ``argv`` (default ``sys.argv[1:]``); return the exit status."""
    stdout, stderr = sys.stdout, sys.stderr
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit_:  # --help, or argparse's own usage errors
        return int(exit_.code or 0)
    try:
        import tqdm  # noqa: F401 - only to say what to install before doing anything
    except ImportError:
        print(f"{PROG}: error: {CLI_EXTRA_HINT}", file=stderr)
        return EXIT_USAGE
    try:
        if args.concurrency < 1:
            raise UsageError("--concurrency must be at least 1")
        if args.format == "pdf":
            _check_pdf_output(args)
        inputs = expand_inputs(args.inputs)
        if args.format == "pdf":
            _check_pdf_inputs(inputs)
        if args.output:
            Path(args.output).mkdir(parents=True, exist_ok=True)
        with _logging(args.verbose, stderr), _service(args, dict(os.environ)) as settings:
            if settings.endpoint is None:
                raise UsageError(
                    "no endpoint: pass --endpoint, set OCR_ENDPOINT, or use --emulator"
                )
            try:
                return asyncio.run(_run(inputs, args, settings, stdout, stderr))
            except ValueError as error:  # the client refused its configuration
                raise UsageError(str(error)) from None
    except UsageError as error:
        print(f"{PROG}: error: {error}", file=stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print(f"\n{PROG}: interrupted", file=stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # The reader went away (`ocr read ... | head`): it has what it wanted, so stop quietly
        # with status 0, and point stdout at devnull so that the interpreter's final flush
        # does not complain (Python's docs, "Note on SIGPIPE").
        with contextlib.suppress(OSError, ValueError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), stdout.fileno())
        return EXIT_OK
    except OSError as error:  # e.g. the output folder cannot be created
        print(f"{PROG}: error: {error}", file=stderr)
        return EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main())
