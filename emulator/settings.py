"""Every option of the emulator in one frozen object, from command-line flags and the environment.

Each flag ``--some-name`` can also be set with ``OCR_EMULATOR_SOME_NAME`` (CI systems and
containers cannot always pass flags); a flag wins over the environment. ``--api-key`` is
repeatable and its variable takes a comma-separated list, so keys can be rotated.
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
from typing import Literal

from emulator.documents import Limits
from emulator.faults import FaultError, FaultRule, load_config

Tier = Literal["free", "paid"]

ENV_PREFIX = "OCR_EMULATOR_"
MAX_RETENTION = timedelta(days=7)
DEFAULT_RETENTION = timedelta(hours=24)
# Long enough for the largest document (2000 pages at about a second each) on this kind of
# machine; short enough that a hung page cannot hold a worker for good.
DEFAULT_JOB_TIMEOUT = timedelta(hours=1)
# Ten missed heartbeats (one every third of it) would be absurd; three are a dead node.
DEFAULT_CLAIM_TIMEOUT = timedelta(seconds=30)
BACKEND_SCHEMES = ("redis", "rediss", "unix")

# The service's published limits per pricing tier: F0 reads the first two pages of documents
# up to 4 MB and allows 20 transactions a minute; S1 takes 500 MB and 2000 pages.
TIER_LIMITS: dict[Tier, Limits] = {
    "free": Limits(max_bytes=4 * 1024 * 1024, max_pages=2),
    "paid": Limits(max_bytes=500 * 1024 * 1024, max_pages=2000),
}
TIER_REQUESTS_PER_MINUTE: dict[Tier, int | None] = {"free": 20, "paid": None}


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
    #: Where jobs, documents, results and the work queue live when shared by several nodes:
    #: a ``redis://``, ``rediss://`` or ``unix://`` URL; None keeps them in this process (or in
    #: ``data_dir``).
    backend: str | None = None
    #: How long a page held by a node that stopped answering waits before another node takes
    #: it over (a Redis backend's claim timeout).
    claim_timeout: timedelta = DEFAULT_CLAIM_TIMEOUT
    # Not flags: knobs for tests and operators who embed the app.
    #: Run the default engine in worker processes (killable: time limit, crash recovery);
    #: False runs it in threads of this process.
    worker_processes: bool = True
    sweep_interval: float = 60.0
    #: Seconds a URL source may take to download, redirects included (``--url-timeout``).
    url_timeout: float = 30.0
    log_level: str = "info"

    def __post_init__(self) -> None:
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
    p.add_argument("--log-level", help="debug, info (default), warning or error")
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
    if (claim_timeout := pick("claim_timeout")) is not None:
        kwargs["claim_timeout"] = parse_duration(claim_timeout)
    if (url_timeout := pick("url_timeout")) is not None:
        kwargs["url_timeout"] = parse_duration(url_timeout).total_seconds()
    if (max_queue := pick("max_queue")) is not None:
        kwargs["max_queue"] = _env_int("MAX_QUEUE", max_queue)
    if (tier := pick("tier")) is not None:
        kwargs["tier"] = tier
    if (retention := pick("retention")) is not None:
        kwargs["retention"] = parse_duration(retention)
    if (log_level := pick("log_level")) is not None:
        kwargs["log_level"] = log_level.lower()
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
    for flag in ("tls", "allow_insecure_http", "allow_private_urls"):
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

    keys: list[str] = list(args.api_key or [])
    if not keys and (raw_keys := env.get(ENV_PREFIX + "API_KEY")):
        keys = [k.strip() for k in raw_keys.split(",") if k.strip()]
    if not keys:
        keys = [secrets.token_hex(16)]
        kwargs["generated_api_key"] = True
    kwargs["api_keys"] = tuple(keys)
    return Settings(**kwargs)  # type: ignore[arg-type]
