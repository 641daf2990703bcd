"""The canary sandbox's limits, and who may set them. [pure]

A pull request must not choose its own sandbox: `canary.limits` is read from the *base* revision's
datacanary.yml (what is already merged), and every value is capped by the operator's settings, which
come from the environment of the process (the Action's runner or the App's server), never from a file in
the pull request:

    DATACANARY_SANDBOX_MAX_MEMORY     DuckDB memory per canary (default 2GiB)
    DATACANARY_SANDBOX_MAX_THREADS    DuckDB threads (default 4)
    DATACANARY_SANDBOX_MAX_SECONDS    time per model (default 300)
    DATACANARY_SANDBOX_MAX_TEMP       DuckDB spill space (default 4GiB)
    DATACANARY_PROCESS_MAX_MEMORY     address space of the whole process (default: 3 x the DuckDB cap + 2GiB)
    DATACANARY_SANDBOX_TIMEOUT        severity of a model that runs out of time: error (default) or warning
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from app.errors import ConfigError
from app.project.config import SandboxLimits
from app.types import Severity

GIB = 2**30
_UNITS = {
    "b": 1,
    "kb": 10**3,
    "mb": 10**6,
    "gb": 10**9,
    "tb": 10**12,
    "kib": 2**10,
    "mib": 2**20,
    "gib": 2**30,
    "tib": 2**40,
}


def parse_size(text: str) -> int | None:
    """Bytes of `1GB`, `512MiB`, `1.5 GB` or `1000` (DuckDB's spelling); None when it is not a size."""
    s = text.strip().lower().replace(" ", "")
    number = s.rstrip("abcdefghijklmnopqrstuvwxyz")
    unit = s[len(number) :] or "b"
    if unit in ("k", "m", "g", "t"):
        unit += "b"
    try:
        value = float(number)
    except ValueError:
        return None
    if unit not in _UNITS or value < 0 or value != value:
        return None
    return int(value * _UNITS[unit])


def format_size(n: int) -> str:
    """DuckDB-readable text for a byte count (`2GiB`, `512MiB`)."""
    for unit, size in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if n >= size and n % size == 0:
            return f"{n // size}{unit}"
    return f"{n}B"


@dataclass(frozen=True, slots=True)
class Caps:
    """The operator's ceiling on every canary, whatever the project's datacanary.yml says."""

    memory: int = 2 * GIB
    threads: int = 4
    seconds: float = 300.0
    temp: int = 4 * GIB
    process_memory: int | None = None  # None: derived from `memory`
    timeout_severity: Severity = Severity.ERROR

    @property
    def process_limit(self) -> int:
        return self.process_memory if self.process_memory is not None else 3 * self.memory + 2 * GIB


@dataclass(frozen=True, slots=True)
class Effective:
    """The limits a canary runs with, and what the report should say about how they were chosen."""

    memory: int
    threads: int
    seconds: float
    temp: int
    timeout_severity: Severity
    notes: tuple[str, ...] = ()

    @property
    def memory_limit(self) -> str:
        return format_size(self.memory)

    def to_json(self) -> dict[str, object]:
        return {
            "memory_limit": self.memory_limit,
            "threads": self.threads,
            "timeout_seconds": self.seconds,
            "max_temp_directory_size": format_size(self.temp),
        }


def caps_from_env(env: Mapping[str, str]) -> Caps:
    """The operator's caps from environment variables; a malformed one is a ConfigError naming it."""
    defaults = Caps()

    def size(name: str, default: int | None) -> int | None:
        raw = env.get(name)
        if raw is None:
            return default
        value = parse_size(raw)
        if value is None or value <= 0:
            raise ConfigError(
                f"{name}={raw!r} is not a memory size",
                hint=f"write it like 2GiB or 512MB, or unset {name}",
            )
        return value

    def number(name: str, default: float, kind: type[int] | type[float]) -> float:
        raw = env.get(name)
        if raw is None:
            return default
        try:
            value = kind(raw.strip())
        except ValueError:
            value = 0
        if not value > 0:
            raise ConfigError(
                f"{name}={raw!r} is not a positive {'whole ' if kind is int else ''}number",
                hint=f"set it like {kind(default)!r}, or unset {name}",
            )
        return value

    severity_raw = env.get("DATACANARY_SANDBOX_TIMEOUT", "error").strip().lower()
    if severity_raw not in ("error", "warning"):
        raise ConfigError(
            f"DATACANARY_SANDBOX_TIMEOUT={severity_raw!r} is neither error nor warning",
            hint="a model that runs out of time blocks the merge with `error` (the default)",
        )
    return Caps(
        memory=size("DATACANARY_SANDBOX_MAX_MEMORY", defaults.memory) or defaults.memory,
        threads=int(number("DATACANARY_SANDBOX_MAX_THREADS", defaults.threads, int)),
        seconds=number("DATACANARY_SANDBOX_MAX_SECONDS", defaults.seconds, float),
        temp=size("DATACANARY_SANDBOX_MAX_TEMP", defaults.temp) or defaults.temp,
        process_memory=size("DATACANARY_PROCESS_MAX_MEMORY", None),
        timeout_severity=Severity(severity_raw),
    )


def effective_limits(base: SandboxLimits | None, head: SandboxLimits, caps: Caps) -> Effective:
    """The base revision's `canary.limits` (defaults when the base has no project), each capped by the
    operator. `head` is only compared, to tell the author that their new limits apply once merged."""
    chosen = base if base is not None else SandboxLimits()
    notes: list[str] = []
    if head != chosen:
        notes.append(
            "canary.limits in this pull request apply once it is merged; this canary runs with the base "
            f"revision's ({_describe(chosen)})"
        )
    memory = parse_size(chosen.memory_limit) or caps.memory
    capped = []
    if memory > caps.memory:
        capped.append(f"memory {chosen.memory_limit} -> {format_size(caps.memory)}")
        memory = caps.memory
    threads = chosen.threads
    if threads > caps.threads:
        capped.append(f"threads {threads} -> {caps.threads}")
        threads = caps.threads
    seconds = chosen.timeout_seconds
    if seconds > caps.seconds:
        capped.append(f"time per model {seconds:g} s -> {caps.seconds:g} s")
        seconds = caps.seconds
    if capped:
        notes.append("canary.limits above the operator's caps were lowered: " + ", ".join(capped))
    return Effective(memory, threads, seconds, caps.temp, caps.timeout_severity, tuple(notes))


def _describe(limits: SandboxLimits) -> str:
    return f"memory {limits.memory_limit}, {limits.threads} thread(s), {limits.timeout_seconds:g} s per model"
