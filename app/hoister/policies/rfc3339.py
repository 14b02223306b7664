"""Times as MSR writes them: RFC 3339 with up to nanoseconds, Go's zero time for "never".

MSR is written in Go, whose ``time.Time`` has nanoseconds and marshals to JSON as
``RFC3339Nano`` (``2026-11-02T10:11:12.123456789Z``, trailing zeros of the fraction
dropped), and whose zero value ``0001-01-01T00:00:00Z`` stands for "not yet". Python's
``datetime`` stops at microseconds, so a policy keeps the text a file gave next to the
``datetime`` it means (``Policy.last_promoted_exact``): written back while it still is
that time, it makes the round trip byte for byte; once Hoister promotes again, the new
time is written in Go's own shape.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Final

#: Go's ``time.Time{}``: what MSR writes for a policy that never promoted.
GO_ZERO_TIME: Final = "0001-01-01T00:00:00Z"
#: The longest RFC 3339 text kept as it is (nanoseconds and an offset: 35 characters).
MAX_EXACT: Final = 40

_RFC3339 = re.compile(
    r"\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?(?:[Zz]|[+-]\d{2}:\d{2})", re.ASCII
)


def parse(text: str) -> datetime:
    """An aware UTC time from ISO 8601 text; digits past microseconds are dropped.

    Text without a zone is read as UTC (MSR and Hoister write nothing else). Raises
    ValueError (or OverflowError for a year the zone pushes out of range).
    """
    moment = datetime.fromisoformat(text[:-1] + "+00:00" if text[-1:] in "Zz" else text)
    return moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)


def is_exact_form(text: str) -> bool:
    """Whether ``text`` is RFC 3339 as Go writes it, worth keeping character for character."""
    return len(text) <= MAX_EXACT and _RFC3339.fullmatch(text) is not None


def exact_for(text: str | None, moment: datetime | None) -> str | None:
    """``text`` if it is RFC 3339 and still names ``moment`` (to the microsecond), else None."""
    if text is None or moment is None or not is_exact_form(text):
        return None
    try:
        return text if parse(text) == moment else None
    except (ValueError, OverflowError):
        return None


def go_format(moment: datetime) -> str:
    """``moment`` as Go's ``RFC3339Nano`` writes a UTC time: ``…T10:11:12.12Z``."""
    utc = moment.astimezone(UTC)
    fraction = f"{utc.microsecond:06d}".rstrip("0")
    whole = utc.replace(microsecond=0, tzinfo=None).isoformat()
    return whole + (f".{fraction}" if fraction else "") + "Z"
