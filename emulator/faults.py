"""Fault injection: the failures the cloud service produces, on purpose and reproducibly.

A :class:`FaultRule` says, for one route, *what* goes wrong (answer an error status, add
latency, drop the connection, or make the job end ``failed``), *how often* (a probability)
and *how many times* (the next N matching requests, or every one). A :class:`FaultInjector`
holds the rules and decides, request by request, which one fires. Its random draws come from
one seeded generator, so the same requests in the same order meet the same faults.

Rules come from ``--fault`` (repeatable), ``--fault-config FILE`` (JSON or TOML),
``OCR_EMULATOR_FAULT`` and, at run time, the admin route ``/_emulator/faults``. Every form
uses the same keys::

    route=analyze,status=503,times=2            # the next 2 analyze POSTs answer 503
    route=result,status=429,retry-after=2       # every poll answers 429, Retry-After: 2
    route=result,drop,probability=0.1           # 10 % of polls lose their connection
    route=any,delay=1.5                         # every API call takes 1.5 s longer
    route=analyze,fail,times=1                  # the next job to start ends "failed"

This module only decides; :mod:`emulator.http.middleware.faults` applies the decision.
"""

from __future__ import annotations

import json
import random
import threading
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

Route = Literal["analyze", "result", "delete", "any"]
Action = Literal["status", "delay", "drop", "fail"]

ROUTES: tuple[Route, ...] = ("analyze", "result", "delete", "any")
#: The statuses the service (and its gateway) answer for transient trouble.
FAULT_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
#: Longest injected latency: long enough for any client timeout, short enough to never wedge.
MAX_DELAY_SECONDS = 300.0
_ACTIONS: tuple[Action, ...] = ("status", "delay", "drop", "fail")


class FaultError(ValueError):
    """A fault rule or fault file is malformed; the message says which part and why."""


@dataclass(frozen=True, slots=True)
class FaultRule:
    """One kind of failure for one route.

    Attributes:
        route: ``analyze`` (POST read/analyze), ``result`` (GET analyzeResults),
            ``delete`` (DELETE analyzeResults) or ``any`` of those.
        action: ``status`` (answer ``status`` with the service's body), ``delay`` (wait
            ``delay`` seconds, then answer normally), ``drop`` (close the connection without a
            complete response) or ``fail`` (accept the job, which then ends ``failed``).
        status: for ``status``: 408, 429, 500, 502, 503 or 504.
        delay: for ``delay``: seconds to add.
        retry_after: for ``status``: the ``Retry-After`` to send (429 and 503 always send
            one, 1 s unless given).
        probability: chance that a matching request meets the fault (seeded draws).
        times: how many requests meet it before it is spent; ``None`` for no end.
    """

    route: Route
    action: Action
    status: int | None = None
    delay: float = 0.0
    retry_after: int | None = None
    probability: float = 1.0
    times: int | None = None

    def __post_init__(self) -> None:
        if self.route not in ROUTES:
            raise FaultError(f"fault route must be one of {', '.join(ROUTES)}, not {self.route!r}")
        if self.action not in _ACTIONS:
            raise FaultError(f"fault action must be one of {', '.join(_ACTIONS)}")
        if self.action == "status" and self.status not in FAULT_STATUSES:
            shown = ", ".join(str(s) for s in sorted(FAULT_STATUSES))
            raise FaultError(f"fault status must be one of {shown}, not {self.status!r}")
        if self.action != "status" and self.status is not None:
            raise FaultError("a fault has one effect: status, delay, drop or fail")
        if self.action == "delay" and not 0 < self.delay <= MAX_DELAY_SECONDS:
            raise FaultError(f"fault delay must be > 0 and <= {MAX_DELAY_SECONDS:g} seconds")
        if self.action == "fail" and self.route != "analyze":
            raise FaultError("a 'fail' fault applies to route=analyze (it fails the new job)")
        if self.retry_after is not None and not 0 <= self.retry_after <= 86400:
            raise FaultError("fault retry-after must be between 0 and 86400 seconds")
        if not 0.0 <= self.probability <= 1.0:
            raise FaultError(f"fault probability must be between 0 and 1, not {self.probability}")
        if self.times is not None and self.times < 1:
            raise FaultError(f"fault times must be at least 1, not {self.times}")

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> FaultRule:
        """Build a rule from JSON/TOML keys: ``route`` plus exactly one of ``status``,
        ``delay``, ``drop: true`` or ``fail: true``, and optionally ``probability``,
        ``times``, ``retryAfter`` (also ``retry-after`` / ``retry_after``)."""
        if not isinstance(data, Mapping):
            raise FaultError(
                "a fault must be an object such as {'route': 'analyze', 'status': 503}"
            )
        known = {"route", "status", "delay", "drop", "fail", "probability", "times"}
        values: dict[str, Any] = {}
        for key, value in data.items():
            name = "retry_after" if key in ("retryAfter", "retry-after", "retry_after") else key
            if name not in known and name != "retry_after":
                raise FaultError(f"unknown fault key {key!r}")
            values[name] = value
        effects: list[Action] = [
            name for name in _ACTIONS if name in values and values[name] not in (False, None)
        ]
        if len(effects) != 1:
            raise FaultError("a fault needs exactly one of status, delay, drop or fail")
        action = effects[0]
        return cls(
            route=str(values.get("route", "any")),  # type: ignore[arg-type]
            action=action,
            status=_int(values["status"], "status") if action == "status" else None,
            delay=_float(values["delay"], "delay") if action == "delay" else 0.0,
            retry_after=_optional_int(values.get("retry_after"), "retry-after"),
            probability=_float(values.get("probability", 1.0), "probability"),
            times=_optional_int(values.get("times"), "times"),
        )

    @classmethod
    def parse(cls, spec: str) -> FaultRule:
        """Parse the flag form ``route=result,status=429,times=2`` (bare ``drop``/``fail``)."""
        values: dict[str, Any] = {}
        for item in spec.split(","):
            item = item.strip()
            if not item:
                continue
            key, sep, value = item.partition("=")
            key = key.strip().lower()
            values[key] = value.strip() if sep else True
        if not values:
            raise FaultError(f"empty fault rule {spec!r}")
        for flag in ("drop", "fail"):
            if isinstance(values.get(flag), str):
                values[flag] = _boolean(values[flag], flag)
        return cls.from_mapping(values)

    def to_dict(self) -> dict[str, Any]:
        """The rule as JSON keys (the admin route's and the config file's form)."""
        out: dict[str, Any] = {"route": self.route}
        if self.action == "status":
            out["status"] = self.status
        elif self.action == "delay":
            out["delay"] = self.delay
        else:
            out[self.action] = True
        if self.retry_after is not None:
            out["retryAfter"] = self.retry_after
        out["probability"] = self.probability
        out["times"] = self.times
        return out


def _boolean(value: str, name: str) -> bool:
    lowered = value.lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off"}:
        return False
    raise FaultError(f"fault {name} must be true or false, not {value!r}")


def _int(value: Any, name: str) -> int:
    if isinstance(value, bool):
        raise FaultError(f"fault {name} must be a whole number, not {value!r}")
    try:
        number = int(str(value))
    except ValueError:
        raise FaultError(f"fault {name} must be a whole number, not {value!r}") from None
    return number


def _optional_int(value: Any, name: str) -> int | None:
    return None if value is None else _int(value, name)


def _float(value: Any, name: str) -> float:
    if isinstance(value, bool):
        raise FaultError(f"fault {name} must be a number, not {value!r}")
    try:
        number = float(str(value))
    except ValueError:
        raise FaultError(f"fault {name} must be a number, not {value!r}") from None
    if number != number or number in (float("inf"), float("-inf")):
        raise FaultError(f"fault {name} must be a finite number")
    return number


def rules_from_document(document: Any) -> tuple[tuple[FaultRule, ...], int | None]:
    """Rules and seed from a parsed config: ``{"seed": 7, "faults": [{...}, ...]}``, or a
    bare list of rules, or one rule."""
    seed: int | None = None
    if isinstance(document, Mapping) and ("faults" in document or "seed" in document):
        extra = set(document) - {"faults", "seed"}
        if extra:
            raise FaultError(f"unknown key(s) in the fault config: {', '.join(sorted(extra))}")
        if document.get("seed") is not None:
            seed = _int(document["seed"], "seed")
        items = document.get("faults", [])
    elif isinstance(document, Mapping):
        items = [document]
    else:
        items = document
    if not isinstance(items, list):
        raise FaultError("'faults' must be a list of fault objects")
    return tuple(FaultRule.from_mapping(item) for item in items), seed


def load_config(path: Path) -> tuple[tuple[FaultRule, ...], int | None]:
    """Read a fault config file: TOML if it ends in ``.toml``, else JSON."""
    try:
        raw = path.read_bytes()
    except OSError as error:
        raise FaultError(f"cannot read fault config {path}: {error.strerror}") from None
    try:
        if path.suffix.lower() == ".toml":
            document: Any = tomllib.loads(raw.decode())
        else:
            document = json.loads(raw)
    except (UnicodeDecodeError, ValueError) as error:
        raise FaultError(f"fault config {path} is not valid: {error}") from None
    try:
        return rules_from_document(document)
    except FaultError as error:
        raise FaultError(f"fault config {path}: {error}") from None


@dataclass(slots=True)
class _Armed:
    id: int
    rule: FaultRule
    remaining: int | None
    owner: str | None
    fired: int = 0


class FaultInjector:
    """The active rules and the seeded generators that decide which request meets which.

    Rules are tried in the order they were added; the first one that matches the route, is
    not spent and wins its draw fires (only rules with a probability below 1 draw, so adding
    a certain rule does not shift the sequence of an uncertain one). Thread-safe.

    A rule has an ``owner``: ``None`` for a rule of the whole emulator (``--fault``, the test
    handle in the same process), or the billing key of the caller who armed it over HTTP,
    for whose requests alone it fires. Each owner draws from its own generator, so test
    workers sharing one emulator meet the same faults whatever the others do.
    """

    def __init__(self, rules: Iterable[FaultRule] = (), seed: int = 0) -> None:
        self._lock = threading.Lock()
        self._seed = seed
        self._seeds: dict[str | None, int] = {}
        self._random: dict[str | None, random.Random] = {}
        self._armed: list[_Armed] = []
        self._next_id = 1
        self.fired = 0
        for rule in rules:
            self.add(rule)

    @property
    def seed(self) -> int:
        """The seed of the generator (set again by :meth:`clear`)."""
        return self._seed

    def add(self, rule: FaultRule, owner: str | None = None) -> int:
        """Arm ``rule`` (for the requests of ``owner`` only, if given); returns its id."""
        with self._lock:
            armed = _Armed(self._next_id, rule, rule.times, owner)
            self._next_id += 1
            self._armed.append(armed)
            return armed.id

    def clear(self, seed: int | None = None, owner: str | None = None) -> None:
        """Disarm the rules of ``owner`` (every rule, for ``None``) and restart its generator
        (from ``seed`` if given)."""
        with self._lock:
            if owner is None:
                self._armed.clear()
                self._random.clear()
                self._seeds.clear()
                if seed is not None:
                    self._seed = seed
                self.fired = 0
                return
            self._armed = [armed for armed in self._armed if armed.owner != owner]
            self._random.pop(owner, None)
            if seed is not None:
                self._seeds[owner] = seed

    def _generator(self, owner: str | None) -> random.Random:
        generator = self._random.get(owner)
        if generator is None:
            seed = self._seeds.get(owner, self._seed)
            generator = self._random[owner] = random.Random(seed)  # noqa: S311 - reproducibility
        return generator

    def pick(self, route: Route, owner: str | None = None) -> FaultRule | None:
        """The rule that fires for a request of ``owner`` on ``route``, or None; counts it as
        used."""
        with self._lock:
            for armed in self._armed:
                if armed.owner is not None and armed.owner != owner:
                    continue
                if armed.rule.route not in (route, "any") or armed.remaining == 0:
                    continue
                chance = armed.rule.probability
                if chance < 1.0 and self._generator(armed.owner).random() >= chance:
                    continue
                if armed.remaining is not None:
                    armed.remaining -= 1
                armed.fired += 1
                self.fired += 1
                return armed.rule
            return None

    def describe(self, owner: str | None = None) -> dict[str, Any]:
        """The rules as the admin route shows them: id, rule, times left, times fired. For an
        ``owner``, the rules that apply to its requests: its own and the emulator's."""
        with self._lock:
            shown = [a for a in self._armed if owner is None or a.owner in (None, owner)]
            return {
                "seed": self._seed if owner is None else self._seeds.get(owner, self._seed),
                "fired": self.fired if owner is None else sum(a.fired for a in shown),
                "faults": [
                    {"id": a.id, **a.rule.to_dict(), "remaining": a.remaining, "fired": a.fired}
                    for a in shown
                ],
            }


__all__ = [
    "FAULT_STATUSES",
    "FaultError",
    "FaultInjector",
    "FaultRule",
    "load_config",
    "rules_from_document",
]
