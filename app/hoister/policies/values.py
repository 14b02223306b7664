"""Parsing rule values typed by people: counts, sizes, durations, dates, booleans.

Each parser raises ``ValueError`` with a sentence that says what was expected; the rule
compiler adds which policy and rule it was.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

_DURATION_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h|d|w)")
_DURATION_UNITS = {
    "ns": 1e-9,
    "us": 1e-6,
    "µs": 1e-6,
    "ms": 1e-3,
    "s": 1.0,
    "m": 60.0,
    "h": 3600.0,
    "d": 86400.0,
    "w": 604800.0,
}
_SIZE = re.compile(r"\s*(\d+(?:\.\d+)?)\s*([kmgtp]?i?b?)?\s*", re.IGNORECASE)
_SIZE_UNITS = {"": 1, "b": 1, "k": 1000, "m": 1000**2, "g": 1000**3, "t": 1000**4, "p": 1000**5}
#: Beyond these a rule means nothing, and "now minus the duration" leaves datetime's range.
MAX_DURATION = timedelta(days=1000 * 365)
MAX_SIZE = 2**63 - 1


def parse_count(text: str) -> int:
    value = text.strip()
    if not value.isdigit():
        raise ValueError(f"'{text}' is not a count; use a whole number such as 0")
    return int(value)


def parse_duration(text: str) -> timedelta:
    """Go duration syntax (``12h``, ``1h30m``, ``90s``), plus ``d`` (days) and ``w`` (weeks)."""
    value = text.strip()
    if not value:
        raise ValueError("a duration is required, such as 12h, 30m or 7d")
    position, seconds = 0, 0.0
    for match in _DURATION_PART.finditer(value):
        if match.start() != position:
            break
        seconds += float(match.group(1)) * _DURATION_UNITS[match.group(2)]
        position = match.end()
    if position != len(value) or position == 0:
        raise ValueError(
            f"'{text}' is not a duration; use a number and unit such as 12h, 1h30m, 45m or 7d"
        )
    if not seconds <= MAX_DURATION.total_seconds():  # also catches inf from 1e400s
        raise ValueError(f"'{text[:40]}' is longer than 1000 years")
    return timedelta(seconds=seconds)


def parse_size(text: str) -> int:
    """Bytes, with decimal (``MB``) or binary (``MiB``) units: ``500MB``, ``1.5GiB``."""
    match = _SIZE.fullmatch(text)
    if match is None:
        raise ValueError(f"'{text}' is not a size; use bytes or a unit such as 500MB or 1.5GiB")
    number, unit = float(match.group(1)), (match.group(2) or "").lower()
    binary = "i" in unit
    prefix = unit[:1] if unit[:1] in "kmgtp" else ""
    if unit not in ("", "b") and not prefix:
        raise ValueError(f"'{text}' has an unknown unit; use B, KB, MB, GB, KiB, MiB or GiB")
    factor = 1024 ** ("kmgtp".index(prefix) + 1) if binary and prefix else _SIZE_UNITS[prefix]
    if not number * factor <= MAX_SIZE:  # also catches inf from a 400-digit number
        raise ValueError(f"'{text[:40]}' is larger than any image can be")
    return int(number * factor)


def parse_time(text: str) -> datetime:
    """An ISO 8601 date or date-time; without a zone it is taken as UTC."""
    value = text.strip()
    try:
        if len(value) == 10:
            day = date.fromisoformat(value)
            return datetime(day.year, day.month, day.day, tzinfo=UTC)
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(
            f"'{text}' is not a date; use ISO 8601 such as 2026-11-30 or 2026-11-30T09:00:00Z"
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def parse_bool(text: str) -> bool:
    value = text.strip().lower()
    if value in ("true", "yes", "1"):
        return True
    if value in ("false", "no", "0"):
        return False
    raise ValueError(f"'{text}' is not true or false")


def format_duration(delta: timedelta) -> str:
    """``timedelta`` back to the short form people type (``1d2h``)."""
    seconds = int(delta.total_seconds())
    if seconds == 0:
        return "0s"
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        count, seconds = divmod(seconds, size)
        if count:
            parts.append(f"{count}{unit}")
    return "".join(parts)


def format_size(size: int) -> str:
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if value < 1024 or unit == "TiB":
            return f"{int(value)} B" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")  # pragma: no cover
