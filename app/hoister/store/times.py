"""How the store writes time: ISO 8601 text in UTC with microseconds, always the same shape.

SQLite has no date type. Text in one fixed shape (``2026-11-30T09:05:03.123456+00:00``)
stays readable in any SQLite browser and, because every value has the same width and
zone, sorts and compares correctly as plain strings, so indexes on time columns work
and ``WHERE finished_at > ?`` needs no conversion.
"""

from __future__ import annotations

from datetime import UTC, datetime


def now_utc() -> datetime:
    """The default clock of the store (tests inject their own)."""
    return datetime.now(UTC)


def to_db_time(value: datetime | None) -> str | None:
    """Text for a time column; a naive time is refused because its zone is a guess."""
    if value is None:
        return None
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"refusing to store a time without a time zone: {value!r}")
    return value.astimezone(UTC).isoformat(timespec="microseconds")


def from_db_time(value: str | None) -> datetime | None:
    """An aware UTC datetime from a time column.

    Text without a zone (written by hand or by another tool) is read as UTC, the only
    zone the store ever writes.
    """
    if value is None:
        return None
    parsed = datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)
