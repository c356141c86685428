"""Every option of the emulator in one frozen object, from command-line flags and the environment.

Each flag ``--some-name`` can also be set with ``OCR_EMULATOR_SOME_NAME`` (CI systems and
containers cannot always pass flags); a flag wins over the environment. ``--api-key`` is
repeatable and its variable takes a comma-separated list, so keys can be rotated.

Why one module (over 600 lines): an option is a field of :class:`Settings`, a flag of
:func:`build_parser` and a step of :func:`load` (flag or variable, parsed and checked), and the
three must match one for one (``tests/docs/test_emulator_options_documented.py`` checks the
docs against them); kept side by side, adding an option is one change in one file. Parsing the
values (sizes, durations, rates, tiers) is the rest, and is small.
"""

from __future__ import annotations

import argparse
import ipaddress
import os
import re
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Literal, get_args

from emulator.documents.decoding import DEFAULT_INSPECT_TIMEOUT
from emulator.documents.decoding import DEFAULT_MEMORY as DEFAULT_DECODE_MEMORY
from emulator.documents.formats import Limits
from emulator.faults import FaultError, FaultRule, load_config
from emulator.security.sealed import DEFAULT_SPOOL_THRESHOLD

Tier = Literal["free", "paid"]
#: How log lines are written (``--log-format``): ``text`` for people, ``json`` for collectors.
LogFormat = Literal["text", "json"]
LOG_FORMATS: tuple[str, ...] = get_args(LogFormat)

ENV_PREFIX = "OCR_EMULATOR_"
# An origin as browsers send it: scheme, host and an optional port, nothing after.
_ORIGIN = re.compile(r"https?://(\[[0-9A-Fa-f:.]+\]|[^/\s:?#\[\]]+)(:\d{1,5})?")
MAX_RETENTION = timedelta(days=7)
DEFAULT_RETENTION = timedelta(hours=24)
# Long enough for the largest document (2000 pages at about a second each) on this kind of
# machine; short enough that a hung page cannot hold a worker for good.
DEFAULT_JOB_TIMEOUT = timedelta(hours=1)
# Ten missed heartbeats (one every third of it) would be absurd; three are a dead node.
DEFAULT_CLAIM_TIMEOUT = timedelta(seconds=30)
# Connection limits (emulator.http.protocol). A client on this machine or its network sends
# a request head in milliseconds: ten seconds is lenient even for a loaded CI runner, and
# bounds a head sent a byte a second (slowloris).
DEFAULT_HEAD_TIMEOUT = 10.0
# An upload with no byte for this long is dead; as long as a URL source may take in all.
DEFAULT_BODY_TIMEOUT = 30.0
# uvicorn's default; a client polling a result every second reuses its connection.
DEFAULT_KEEP_ALIVE_TIMEOUT = 5.0
# Far above what clients open (a connection pool holds 10 to 100), and under the usual limit
# of 1024 open files with room for the store, the workers' pipes and spooled documents.
DEFAULT_MAX_CONNECTIONS = 500
# Uploads being received at once (memory, or spool files past --spool-threshold). One upload
# alone is always let in, so a document as large as the tier allows still fits.
DEFAULT_MAX_BYTES_IN_FLIGHT = 256 * 1024 * 1024
BACKEND_SCHEMES = ("redis", "rediss", "unix")
# How long a SIGTERM/SIGINT waits for requests and running pages before cutting them short:
# a page takes seconds, and orchestrators allow 30 s before they kill (Kubernetes' default
# terminationGracePeriodSeconds).
DEFAULT_SHUTDOWN_TIMEOUT = 30.0

# The service's published limits per pricing tier: F0 reads the first two pages of documents
# up to 4 MB and allows 20 transactions a minute; S1 takes 500 MB and 2000 pages.
TIER_LIMITS: dict[Tier, Limits] = {
    "free": Limits(max_bytes=4 * 1024 * 1024, max_pages=2),
    "paid": Limits(max_bytes=500 * 1024 * 1024, max_pages=2000),
}
TIER_REQUESTS_PER_MINUTE: dict[Tier, int | None] = {"free": 20, "paid": None}


#: How the engine reads lines (``--recogniser``).
Recogniser = Literal["strong", "cascade"]
RECOGNISERS: tuple[str, ...] = get_args(Recogniser)


class SettingsError(ValueError):
    """An option has a value the emulator cannot run with; the message says which and why."""


@dataclass(frozen=True, slots=True)
class Rate:
    """At most ``limit`` analyze requests per key in any ``window`` seconds."""

    limit: int
    window: float

    def __str__(self) -> str:
        unit = {1.0: "s", 60.0: "min", 3600.0: "h"}.get(self.window, f"{self.window:g}s")
        return f"{self.limit}/{unit}"


_RATE = re.compile(r"^\s*(\d+)\s*/\s*(s|sec|second|m|min|minute|h|hour)\s*$")
_RATE_WINDOWS = {"s": 1.0, "sec": 1.0, "second": 1.0, "m": 60.0, "min": 60.0, "minute": 60.0}
_RATE_WINDOWS.update({"h": 3600.0, "hour": 3600.0})


def parse_rate(text: str) -> Rate:
    """Parse ``--rate-limit``: ``20/min``, ``10/s``, ``1000/h``."""
    match = _RATE.match(text.lower())
    if match is None or int(match.group(1)) < 1:
        raise SettingsError(
            f"invalid --rate-limit {text!r}: use a positive count per s, min or h (e.g. 20/min)"
        )
    return Rate(int(match.group(1)), _RATE_WINDOWS[match.group(2)])


@dataclass(frozen=True, slots=True)
class Settings:
    """The emulator's configuration. Build it with :func:`load` or directly in tests."""

    host: str = "127.0.0.1"
    port: int = 5000
    api_keys: tuple[str, ...] = ()
    generated_api_key: bool = False
    tls: bool = False
    tls_cert: Path | None = None
    tls_key: Path | None = None
    tls_ca_out: Path | None = None
    data_dir: Path | None = None
    retention: timedelta = DEFAULT_RETENTION
    workers: int = field(default_factory=lambda: usable_cores())
    max_queue: int = 100
    #: A job still running this long after a worker took it ends ``failed``; None: no limit.
    job_timeout: timedelta | None = DEFAULT_JOB_TIMEOUT
    tier: Tier = "paid"
    encryption_key_file: Path | None = None
    #: A JSON Web Key Set whose keys sign bearer tokens this emulator accepts (beside its own
    #: development issuer's).
    trust_jwks: Path | None = None
    allow_insecure_http: bool = False
    rate_limit: Rate | None = None
    faults: tuple[FaultRule, ...] = ()
    fault_seed: int = 0
    allow_private_urls: bool = False
    #: Refuse Document Intelligence's preview api-versions (``--strict-api-version``), as
    #: before they were served with their nearest version's shape.
    strict_api_version: bool = False
    #: How lines are read (``--recogniser``): ``strong`` (PP-OCRv6 small for every line) or
    #: ``cascade`` (a cheap model, the strong one where its gate doubts it, at about 0.55
    #: times the CPU and a little accuracy; :mod:`emulator.engine.cascade`).
    recogniser: Recogniser = "strong"
    #: Origins whose pages may call the emulator from a browser (CORS, ``--cors-origin``);
    #: ``*`` for any. Empty: no cross-origin calls, as by default.
    cors_origins: tuple[str, ...] = ()
    #: Where jobs, documents, results and the work queue live when shared by several nodes:
    #: a ``redis://``, ``rediss://`` or ``unix://`` URL; None keeps them in this process (or in
    #: ``data_dir``).
    backend: str | None = None
    #: How long a page held by a node that stopped answering waits before another node takes
    #: it over (a Redis backend's claim timeout).
    claim_timeout: timedelta = DEFAULT_CLAIM_TIMEOUT
    #: Seconds a request head may take from its first byte (``--head-timeout``); then 408.
    head_timeout: float = DEFAULT_HEAD_TIMEOUT
    #: Seconds a request body may go without a byte arriving (``--body-timeout``); then 408.
    body_timeout: float = DEFAULT_BODY_TIMEOUT
    #: Seconds an idle connection stays open between requests (``--keep-alive-timeout``).
    keep_alive_timeout: float = DEFAULT_KEEP_ALIVE_TIMEOUT
    #: Connections served at once (``--max-connections``); a request on one more gets 503.
    max_connections: int = DEFAULT_MAX_CONNECTIONS
    #: Bytes of request bodies received at once over all connections
    #: (``--max-bytes-in-flight``); an upload that would pass it gets 503.
    max_bytes_in_flight: int = DEFAULT_MAX_BYTES_IN_FLIGHT
    #: Address space a document's decoder (a child process) may use beyond its own code and
    #: the document (``--decode-memory``); past it the decoding fails, and only its job.
    decode_memory: int = DEFAULT_DECODE_MEMORY
    #: Seconds the upload check of one document may take (``--inspect-timeout``).
    inspect_timeout: float = DEFAULT_INSPECT_TIMEOUT
    # Not flags: knobs for tests and operators who embed the app.
    #: Run the default engine in worker processes (killable: time limit, crash recovery);
    #: False runs it in threads of this process.
    worker_processes: bool = True
    sweep_interval: float = 60.0
    #: Seconds a URL source may take to download, redirects included (``--url-timeout``).
    url_timeout: float = 30.0
    #: Sealed bytes of an incoming document held in memory; past this, its sealed segments go
    #: to an anonymous temporary file in ``data_dir`` (else the system's temporary directory)
    #: until its job is done with it (``--spool-threshold``; 0 spools every document).
    spool_threshold: int = DEFAULT_SPOOL_THRESHOLD
    log_level: str = "info"
    #: ``text`` (default) or ``json``: one JSON object per line (``--log-format``).
    log_format: LogFormat = "text"
    #: Serve Prometheus metrics at ``/metrics`` (``--metrics``), behind the API key.
    metrics: bool = False
    #: Serve ``/metrics`` without a key (``--metrics-open``, which implies ``--metrics``), for
    #: scrapers that cannot send a header; it shows counts and timings, no ids and no content.
    metrics_open: bool = False
    #: OpenTelemetry spans for requests, jobs and pages (``--otel``; the ``otel`` extra), sent
    #: where ``OTEL_TRACES_EXPORTER`` says (none unless it is set).
    otel: bool = False
    #: Seconds a SIGTERM/SIGINT waits for requests and running pages before it cuts them short
    #: (``--shutdown-timeout``); then the pages go back to the queue.
    shutdown_timeout: float = DEFAULT_SHUTDOWN_TIMEOUT

    def __post_init__(self) -> None:
        for origin in self.cors_origins:
            if origin != "*" and not _ORIGIN.fullmatch(origin):
                raise SettingsError(
                    f"--cors-origin must be an origin such as https://app.example:8443 or *, "
                    f"not {origin!r}"
                )
        if not self.api_keys:
            raise SettingsError("at least one API key is required")
        if any(not key for key in self.api_keys):
            raise SettingsError("an API key must not be empty")
        if not 0 <= self.port <= 65535:
            raise SettingsError(f"--port must be between 0 and 65535, not {self.port}")
        if self.workers < 1:
            raise SettingsError(f"--workers must be at least 1, not {self.workers}")
        if self.job_timeout is not None and self.job_timeout <= timedelta(0):
            raise SettingsError("--job-timeout must be positive (0 on the command line: no limit)")
        if not self.url_timeout > 0:
            raise SettingsError("--url-timeout must be positive")
        for flag, seconds in (
            ("--head-timeout", self.head_timeout),
            ("--body-timeout", self.body_timeout),
            ("--keep-alive-timeout", self.keep_alive_timeout),
        ):
            if not seconds > 0:
                raise SettingsError(f"{flag} must be positive")
        if self.max_connections < 1:
            raise SettingsError(f"--max-connections must be at least 1, not {self.max_connections}")
        if self.max_bytes_in_flight < 1:
            raise SettingsError(
                f"--max-bytes-in-flight must be at least 1 byte, not {self.max_bytes_in_flight}"
            )
        if not self.inspect_timeout > 0:
            raise SettingsError("--inspect-timeout must be positive")
        if self.decode_memory < 64 * 1024 * 1024:
            raise SettingsError("--decode-memory must be at least 64MiB")
        if self.spool_threshold < 0:
            raise SettingsError(
                f"--spool-threshold must not be negative, not {self.spool_threshold}"
            )
        if self.max_queue < 1:
            raise SettingsError(f"--max-queue must be at least 1, not {self.max_queue}")
        if self.tier not in TIER_LIMITS:
            raise SettingsError(f"--tier must be 'free' or 'paid', not {self.tier!r}")
        if not timedelta(0) <= self.retention <= MAX_RETENTION:
            raise SettingsError("--retention must be between 0 and 7d")
        if self.log_level.lower() not in {"debug", "info", "warning", "error"}:
            raise SettingsError(
                f"--log-level must be debug, info, warning or error, not {self.log_level!r}"
            )
        if self.log_format not in LOG_FORMATS:
            raise SettingsError(f"--log-format must be text or json, not {self.log_format!r}")
        if not self.shutdown_timeout >= 0:
            raise SettingsError("--shutdown-timeout must not be negative")
        if self.backend is not None:
            scheme = self.backend.partition("://")[0].lower()
            if "://" not in self.backend or scheme not in BACKEND_SCHEMES:
                raise SettingsError(
                    "--backend must be a redis://[:password@]host:port/db, rediss://... or "
                    "unix://... URL"
                )
            if self.data_dir is not None:
                raise SettingsError("--backend and --data-dir are two stores: pass one of them")
            if self.encryption_key_file is None:
                raise SettingsError(
                    "--backend redis needs --encryption-key-file: every node of a cluster must "
                    "encrypt with the same key, and the key must never be stored in Redis"
                )
        if self.claim_timeout <= timedelta(0):
            raise SettingsError("--claim-timeout must be positive")
        if (self.tls_cert is None) != (self.tls_key is None):
            raise SettingsError("--tls-cert and --tls-key go together")
        if self.tls_cert is not None and not self.tls:
            raise SettingsError("--tls-cert/--tls-key need --tls")
        if not self.tls and not self.allow_insecure_http and not is_loopback(self.host):
            raise SettingsError(
                f"refusing to serve plain HTTP on non-loopback host {self.host!r}: "
                "pass --tls, or --allow-insecure-http if you really mean it"
            )

    @property
    def serves_metrics(self) -> bool:
        """True if ``/metrics`` is served (``--metrics`` or ``--metrics-open``)."""
        return self.metrics or self.metrics_open

    @property
    def limits(self) -> Limits:
        """The document limits of the configured tier."""
        return TIER_LIMITS[self.tier]

    @property
    def requests_per_minute(self) -> int | None:
        """The analyze-request rate limit of the configured tier, or None for no limit."""
        return TIER_REQUESTS_PER_MINUTE[self.tier]

    @property
    def effective_rate_limit(self) -> Rate | None:
        """``--rate-limit`` if given, else the tier's (20/min on free), else None."""
        if self.rate_limit is not None:
            return self.rate_limit
        per_minute = self.requests_per_minute
        return Rate(per_minute, 60.0) if per_minute is not None else None

    @property
    def intra_op_threads(self) -> int:
        """ONNX intra-op threads per worker so that the pool does not oversubscribe the CPU."""
        return max(1, usable_cores() // self.workers)


def usable_cores() -> int:
    """The cores this process may run on: its CPU affinity (``taskset``, a container's
    cpuset), not every core of the machine, so a node pinned to one core sizes itself so."""
    try:
        return len(os.sched_getaffinity(0)) or 1
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def is_loopback(host: str) -> bool:
    """True if ``host`` names only this machine (``localhost``, 127.0.0.0/8, ``::1``)."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


_DURATION = re.compile(r"^\s*(\d+)\s*([smhd]?)\s*$")
_UNIT_SECONDS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(text: str) -> timedelta:
    """Parse a retention such as ``24h``, ``30m``, ``90s``, ``7d`` or ``0``.

    Raises :class:`SettingsError` for anything else or for more than seven days.
    """
    match = _DURATION.match(text.lower())
    if match is None:
        raise SettingsError(
            f"invalid duration {text!r}: use a whole number with s, m, h or d (e.g. 24h, 30m, 0)"
        )
    value = timedelta(seconds=int(match.group(1)) * _UNIT_SECONDS[match.group(2)])
    if value > MAX_RETENTION:
        raise SettingsError(f"retention {text!r} is longer than the maximum of 7d")
    return value


_SIZE = re.compile(r"^\s*(\d{1,18})\s*([kmg]i?b|b)?\s*$")
_SIZE_UNITS = {"b": 1, "kb": 10**3, "mb": 10**6, "gb": 10**9}
_SIZE_UNITS.update({"kib": 2**10, "mib": 2**20, "gib": 2**30})


def parse_size(text: str, flag: str) -> int:
    """Parse a size in bytes such as ``1MiB``, ``512KiB``, ``2MB`` or ``1048576``.

    Raises :class:`SettingsError`, naming ``flag``, for anything else.
    """
    match = _SIZE.match(text.lower())
    if match is None:
        raise SettingsError(
            f"invalid {flag} {text!r}: use a whole number of bytes, optionally with B, KiB, "
            "MiB, GiB, KB, MB or GB (e.g. 1MiB)"
        )
    return int(match.group(1)) * _SIZE_UNITS[match.group(2) or "b"]


def _env_flag(value: str) -> bool:
    lowered = value.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"", "0", "false", "no", "off"}:
        return False
    raise SettingsError(f"invalid boolean {value!r}: use 1/0, true/false, yes/no or on/off")


def _env_int(name: str, value: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise SettingsError(f"{ENV_PREFIX}{name} must be an integer, not {value!r}") from None


def build_parser() -> argparse.ArgumentParser:
    """The command-line parser; every flag defaults to ``None`` so the environment can fill in."""
    p = argparse.ArgumentParser(
        prog="ocr-emulator",
        description="Offline emulator of the Azure AI Vision Read API v3.2 with real OCR. "
        "Every flag can also be set as OCR_EMULATOR_<NAME> (e.g. OCR_EMULATOR_PORT).",
    )
    p.add_argument("--host", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, help="port to listen on; 0 picks a free one (default 5000)")
    p.add_argument(
        "--api-key",
        action="append",
        dest="api_key",
        help="accepted Ocp-Apim-Subscription-Key; repeat to accept several. "
        "If none is given, one is generated and printed",
    )
    p.add_argument("--tls", action="store_true", default=None, help="serve HTTPS (TLS >= 1.2)")
    p.add_argument("--tls-cert", help="PEM server certificate (default: generate a local CA)")
    p.add_argument("--tls-key", help="PEM private key for --tls-cert")
    p.add_argument("--tls-ca-out", help="where to write the generated CA certificate")
    p.add_argument("--data-dir", help="keep jobs and results in an encrypted store here")
    p.add_argument(
        "--retention",
        help="how long results are kept: e.g. 24h (default), 30m, 7d (max), "
        "or 0 to delete a result once it has been read",
    )
    p.add_argument(
        "--workers",
        type=int,
        help="OCR worker processes, one engine each (default: the cores this process may use)",
    )
    p.add_argument(
        "--job-timeout",
        help="a job still running this long after it started ends failed, e.g. 90s, 10m, "
        "1h (default); 0 for no limit",
    )
    p.add_argument("--max-queue", type=int, help="jobs waiting before 429 (default 100)")
    p.add_argument("--tier", choices=["free", "paid"], help="pricing tier limits (default paid)")
    p.add_argument("--encryption-key-file", help="32-byte key file for encryption at rest")
    p.add_argument(
        "--trust-jwks",
        metavar="FILE",
        help="accept bearer tokens signed by the keys of this JSON Web Key Set",
    )
    p.add_argument(
        "--backend",
        help="share jobs, results and the work queue with other nodes through Redis: "
        "redis://[:password@]host:port/db, rediss://... (TLS) or unix://...; needs "
        "--encryption-key-file, the same on every node (default: this process only)",
    )
    p.add_argument(
        "--claim-timeout",
        help="with --backend: how long a page held by a node that stopped answering waits "
        "before another node takes it over, e.g. 30s (default), 2m",
    )
    p.add_argument(
        "--allow-insecure-http",
        action="store_true",
        default=None,
        help="allow plain HTTP on a non-loopback host",
    )
    p.add_argument(
        "--rate-limit",
        help="analyze requests allowed per API key, e.g. 20/min or 10/s; then 429 with "
        "Retry-After (default: none on paid, 20/min on free)",
    )
    p.add_argument(
        "--fault",
        action="append",
        help="a fault rule such as route=result,status=503,times=2 (repeatable; "
        "see docs/emulator.md)",
    )
    p.add_argument("--fault-config", help="JSON or TOML file with fault rules and a seed")
    p.add_argument("--fault-seed", type=int, help="seed for fault probabilities (default 0)")
    p.add_argument(
        "--recogniser",
        choices=RECOGNISERS,
        help="strong: PP-OCRv6 small for every line (default); cascade: a cheap recogniser "
        "for every line, PP-OCRv6 small where it is unsure, at about 0.55 times the CPU and a "
        "little accuracy (docs/performance.md)",
    )
    p.add_argument(
        "--strict-api-version",
        action="store_true",
        default=None,
        help="answer Document Intelligence's preview api-versions with 404, as the service "
        "does once they are retired (default: served with the nearest version's shape)",
    )
    p.add_argument(
        "--cors-origin",
        action="append",
        dest="cors_origin",
        help="an origin (https://app.example:8443) whose pages may call the emulator from a "
        "browser; repeat for several, * for any (default: none)",
    )
    p.add_argument(
        "--allow-private-urls",
        action="store_true",
        default=None,
        help="let URL sources point at private networks (10/8, 172.16/12, 192.168/16, fc00::/7)",
    )
    p.add_argument(
        "--url-timeout",
        help="how long downloading a URL source may take, redirects included, e.g. 30s "
        "(default), 2m; longer is FailedToDownloadImage",
    )
    p.add_argument(
        "--head-timeout",
        help="a request head not complete this long after its first byte is answered 408 "
        "and its connection closed, e.g. 10s (default)",
    )
    p.add_argument(
        "--body-timeout",
        help="a request body with no byte for this long is dropped, answered 408 and its "
        "connection closed, e.g. 30s (default)",
    )
    p.add_argument(
        "--keep-alive-timeout",
        help="how long an idle connection stays open between requests, e.g. 5s (default)",
    )
    p.add_argument(
        "--max-connections",
        type=int,
        help="connections served at once; a request on one more is answered 503 with "
        "Retry-After (default 500)",
    )
    p.add_argument(
        "--max-bytes-in-flight",
        help="bytes of request bodies received at once over all connections; an upload "
        "that would pass it is answered 503 with Retry-After (one upload alone always fits), "
        "e.g. 256MiB (default), 1GiB",
    )
    p.add_argument(
        "--spool-threshold",
        help="sealed bytes of an incoming document kept in memory; past this it is kept "
        "encrypted in an anonymous temporary file (in --data-dir, else the system's "
        "temporary directory) until its job has read it, e.g. 1MiB (default), 256KiB, 0",
    )
    p.add_argument(
        "--decode-memory",
        help="memory a document's decoder (a child process) may use beyond the document "
        "itself, e.g. 1GiB (default); a document that needs more fails its job",
    )
    p.add_argument(
        "--inspect-timeout",
        help="how long checking an upload (format, pages, sizes) may take, e.g. 10s "
        "(default); longer is InvalidImage",
    )
    p.add_argument("--log-level", help="debug, info (default), warning or error")
    p.add_argument(
        "--log-format",
        choices=LOG_FORMATS,
        help="text (default) or json: one JSON object per line with time, level, logger, "
        "message, request id and, for jobs, the operation and its state",
    )
    p.add_argument(
        "--metrics",
        action="store_true",
        default=None,
        help="serve Prometheus metrics at /metrics, behind the API key (default: off)",
    )
    p.add_argument(
        "--metrics-open",
        action="store_true",
        default=None,
        help="serve /metrics without a key, for scrapers that send none (implies --metrics)",
    )
    p.add_argument(
        "--otel",
        action="store_true",
        default=None,
        help="OpenTelemetry spans for requests, jobs and pages, exported as OTEL_TRACES_EXPORTER "
        "says (console, otlp; default none); needs pip install 'ocr-sdk[otel]'",
    )
    p.add_argument(
        "--shutdown-timeout",
        help="on SIGTERM/SIGINT, how long requests and running pages may take to finish "
        "before they are cut short and handed back, e.g. 30s (default), 2m, 0",
    )
    return p


def load(argv: Sequence[str] | None = None, environ: Mapping[str, str] | None = None) -> Settings:
    """Build :class:`Settings` from ``argv`` (flags) over ``environ`` (``OCR_EMULATOR_*``).

    Generates an API key when none is configured. Raises :class:`SettingsError` for bad values;
    argparse exits for unknown flags.
    """
    env = dict(os.environ if environ is None else environ)
    args = build_parser().parse_args(argv)

    def pick(name: str) -> str | None:
        value = getattr(args, name)
        if value is not None:
            return str(value)
        return env.get(ENV_PREFIX + name.upper())

    def path(name: str) -> Path | None:
        value = pick(name)
        return Path(value).expanduser() if value else None

    kwargs: dict[str, object] = {}
    if (host := pick("host")) is not None:
        kwargs["host"] = host
    if (port := pick("port")) is not None:
        kwargs["port"] = _env_int("PORT", port)
    if (workers := pick("workers")) is not None:
        kwargs["workers"] = _env_int("WORKERS", workers)
    if (job_timeout := pick("job_timeout")) is not None:
        limit = parse_duration(job_timeout)
        kwargs["job_timeout"] = limit if limit > timedelta(0) else None
    if (backend := pick("backend")) is not None:
        kwargs["backend"] = backend
    if (recogniser := pick("recogniser")) is not None:
        if recogniser not in RECOGNISERS:
            raise SettingsError(
                f"OCR_EMULATOR_RECOGNISER must be one of {', '.join(RECOGNISERS)}: {recogniser!r}"
            )
        kwargs["recogniser"] = recogniser
    if (claim_timeout := pick("claim_timeout")) is not None:
        kwargs["claim_timeout"] = parse_duration(claim_timeout)
    if (url_timeout := pick("url_timeout")) is not None:
        kwargs["url_timeout"] = parse_duration(url_timeout).total_seconds()
    if (spool_threshold := pick("spool_threshold")) is not None:
        kwargs["spool_threshold"] = parse_size(spool_threshold, "--spool-threshold")
    if (decode_memory := pick("decode_memory")) is not None:
        kwargs["decode_memory"] = parse_size(decode_memory, "--decode-memory")
    if (inspect_timeout := pick("inspect_timeout")) is not None:
        kwargs["inspect_timeout"] = parse_duration(inspect_timeout).total_seconds()
    for timeout in ("head_timeout", "body_timeout", "keep_alive_timeout"):
        if (seconds := pick(timeout)) is not None:
            kwargs[timeout] = parse_duration(seconds).total_seconds()
    if (max_connections := pick("max_connections")) is not None:
        kwargs["max_connections"] = _env_int("MAX_CONNECTIONS", max_connections)
    if (in_flight := pick("max_bytes_in_flight")) is not None:
        kwargs["max_bytes_in_flight"] = parse_size(in_flight, "--max-bytes-in-flight")
    if (max_queue := pick("max_queue")) is not None:
        kwargs["max_queue"] = _env_int("MAX_QUEUE", max_queue)
    if (tier := pick("tier")) is not None:
        kwargs["tier"] = tier
    if (retention := pick("retention")) is not None:
        kwargs["retention"] = parse_duration(retention)
    if (log_level := pick("log_level")) is not None:
        kwargs["log_level"] = log_level.lower()
    if (log_format := pick("log_format")) is not None:
        kwargs["log_format"] = log_format.lower()
    if (shutdown_timeout := pick("shutdown_timeout")) is not None:
        kwargs["shutdown_timeout"] = parse_duration(shutdown_timeout).total_seconds()
    if (rate := pick("rate_limit")) is not None:
        kwargs["rate_limit"] = parse_rate(rate)
    rules: list[FaultRule] = []
    seed: int | None = None
    try:
        if (config := path("fault_config")) is not None:
            rules_from_file, seed = load_config(config)
            rules.extend(rules_from_file)
        specs: list[str] = list(args.fault or [])
        if not specs and (raw_faults := env.get(ENV_PREFIX + "FAULT")):
            # Several rules in one variable: separated by ";" (a rule itself uses ",").
            specs = [spec for spec in raw_faults.split(";") if spec.strip()]
        rules.extend(FaultRule.parse(spec) for spec in specs)
    except FaultError as error:
        raise SettingsError(str(error)) from None
    kwargs["faults"] = tuple(rules)
    if (fault_seed := pick("fault_seed")) is not None:
        seed = _env_int("FAULT_SEED", fault_seed)
    if seed is not None:
        kwargs["fault_seed"] = seed
    for flag in (
        "tls",
        "allow_insecure_http",
        "allow_private_urls",
        "strict_api_version",
        "metrics",
        "metrics_open",
        "otel",
    ):
        value = getattr(args, flag)
        if value is None and (raw := env.get(ENV_PREFIX + flag.upper())) is not None:
            value = _env_flag(raw)
        if value is not None:
            kwargs[flag] = bool(value)
    for name in (
        "tls_cert",
        "tls_key",
        "tls_ca_out",
        "data_dir",
        "encryption_key_file",
        "trust_jwks",
    ):
        if (p := path(name)) is not None:
            kwargs[name] = p

    origins: list[str] = list(args.cors_origin or [])
    if not origins and (raw_origins := env.get(ENV_PREFIX + "CORS_ORIGIN")):
        origins = [o.strip() for o in raw_origins.split(",") if o.strip()]
    kwargs["cors_origins"] = tuple(origins)

    keys: list[str] = list(args.api_key or [])
    if not keys and (raw_keys := env.get(ENV_PREFIX + "API_KEY")):
        keys = [k.strip() for k in raw_keys.split(",") if k.strip()]
    if not keys:
        keys = [secrets.token_hex(16)]
        kwargs["generated_api_key"] = True
    kwargs["api_keys"] = tuple(keys)
    return Settings(**kwargs)  # type: ignore[arg-type]
