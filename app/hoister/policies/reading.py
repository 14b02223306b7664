"""Reading fields of an imported policy object, each problem named with its place.

Shared by the two formats an import reads (Hoister's JSON and MSR's API objects), so a
wrong type or time reads the same whichever file it came in.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from hoister.policies import rfc3339
from hoister.policies.errors import PolicyError
from hoister.policies.model import Rule

#: Times outside these are refused: shown in any time zone they must stay representable.
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(9998, 12, 31, tzinfo=UTC)


def expect(
    obj: dict[str, Any], key: str, kind: type | tuple[type, ...], where: str, default: Any = ...
) -> Any:
    """``obj[key]`` if it is of ``kind``; ``default`` when absent or null (else an error)."""
    if key not in obj or obj[key] is None:
        if default is ...:
            raise PolicyError(f"{where}: '{key}' is missing")
        return default
    value = obj[key]
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        names = kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
        raise PolicyError(f"{where}: '{key}' must be a {names}, not {type(value).__name__}")
    return value


def enum_in(enum: type, value: str, where: str, key: str) -> Any:
    try:
        return enum(value)
    except ValueError:
        allowed = ", ".join(m.value for m in enum)
        raise PolicyError(f"{where}: '{key}' must be one of {allowed}, not '{value}'") from None


def rules_in(value: Any, where: str) -> tuple[Rule, ...]:
    if not isinstance(value, list):
        raise PolicyError(f"{where}: 'rules' must be a list")
    rules = []
    for index, item in enumerate(value, start=1):
        here = f"{where}, rule {index}"
        if not isinstance(item, dict):
            raise PolicyError(f"{here}: must be an object with field, operator and values")
        values = expect(item, "values", list, here)
        if not all(isinstance(v, (str, int, float)) and not isinstance(v, bool) for v in values):
            raise PolicyError(f"{here}: 'values' must be a list of strings")
        rules.append(
            Rule(expect(item, "field", str, here), expect(item, "operator", str, here), values)
        )
    return tuple(rules)


def time_in(value: Any, where: str) -> datetime | None:
    """A time, or None for none (absent, empty, or Go's zero time as MSR writes it)."""
    return precise_time_in(value, where)[0]


def precise_time_in(value: Any, where: str) -> tuple[datetime | None, str | None]:
    """The time and, when it is RFC 3339 that says more, its text as written."""
    if value in (None, "", rfc3339.GO_ZERO_TIME):
        return None, None
    if not isinstance(value, str):
        raise PolicyError(f"{where}: a time must be a string such as 2026-11-30T09:00:00Z")
    try:
        moment = rfc3339.parse(value)
    except (ValueError, OverflowError):
        raise PolicyError(f"{where}: '{value[:80]}' is not an ISO 8601 time") from None
    if not EARLIEST <= moment <= LATEST:
        raise PolicyError(f"{where}: '{value[:80]}' is not a time between 1970 and 9998")
    # Kept only where it says more than the time in Go's own form (nanoseconds, an
    # offset, trailing zeros): the rest is written back the same from the time alone.
    keep = rfc3339.is_exact_form(value) and value != rfc3339.go_format(moment)
    return moment, value if keep else None
