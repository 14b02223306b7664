"""Times in the database: one shape, UTC, aware on the way out."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hoister.store import from_db_time, now_utc, to_db_time

ZONES = st.builds(
    lambda minutes: timezone(timedelta(minutes=minutes)), st.integers(-14 * 60, 14 * 60)
)
AWARE = st.datetimes(
    min_value=datetime(1970, 1, 2), max_value=datetime(9998, 12, 30), timezones=ZONES
)


def test_documented_shape() -> None:
    when = datetime(2026, 11, 30, 9, 5, 3, 123456, tzinfo=UTC)
    assert to_db_time(when) == "2026-11-30T09:05:03.123456+00:00"
    assert to_db_time(when.replace(microsecond=0)) == "2026-11-30T09:05:03.000000+00:00"


def test_none_passes_through() -> None:
    assert to_db_time(None) is None
    assert from_db_time(None) is None


def test_naive_time_is_refused() -> None:
    with pytest.raises(ValueError, match="time zone"):
        to_db_time(datetime(2026, 1, 1))


def test_naive_text_is_read_as_utc() -> None:
    assert from_db_time("2026-11-30T09:05:03") == datetime(2026, 11, 30, 9, 5, 3, tzinfo=UTC)


def test_now_is_aware_utc() -> None:
    assert now_utc().utcoffset() == timedelta(0)


@given(AWARE)
def test_round_trip_is_exact_and_utc(when: datetime) -> None:
    back = from_db_time(to_db_time(when))
    assert back == when
    assert back is not None and back.tzinfo is UTC


@given(AWARE, AWARE)
def test_text_order_is_time_order(first: datetime, second: datetime) -> None:
    """Indexes and ``<`` in SQL compare the text, so it must sort like the times."""
    a, b = to_db_time(first), to_db_time(second)
    assert a is not None and b is not None
    assert (a < b) == (first < second)
