"""Typed values people write in rules: versions, durations, sizes, dates."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from hoister.policies.semver import parse_range, parse_version
from hoister.policies.values import format_duration, parse_duration, parse_size, parse_time


@pytest.mark.parametrize(
    ("range_text", "inside", "outside"),
    [
        (">=1.2,<2", ["1.2", "1.4-stable", "v1.9.9"], ["1.1.9", "2.0", "latest"]),
        (">=1.2 <2", ["1.5.0"], ["2.1"]),
        ("^1.4", ["1.4.0", "1.99"], ["2.0.0", "1.3.9"]),
        ("^0.2.3", ["0.2.9"], ["0.3.0", "0.2.2"]),
        ("~1.4", ["1.4.7"], ["1.5.0"]),
        ("~1", ["1.9"], ["2.0"]),
        ("1.x", ["1.0", "1.22.3"], ["2.0", "0.9"]),
        ("1.2.*", ["1.2.9"], ["1.3.0"]),
        ("<1.0 || >=3", ["0.9", "3.1"], ["1.5", "2.99"]),
        ("=2.0.0", ["2.0", "v2.0.0"], ["2.0.1"]),
        ("!=2.0.0", ["2.0.1"], ["2.0"]),
        (">1.0.0-rc.1", ["1.0.0-rc.2", "1.0.0"], ["1.0.0-rc.0", "1.0.0-beta"]),
    ],
)
def test_ranges(range_text: str, inside: list[str], outside: list[str]) -> None:
    version_range = parse_range(range_text)
    for tag in inside:
        version = parse_version(tag)
        assert version is not None and version_range.allows(version), tag
    for tag in outside:
        version = parse_version(tag)
        assert version is None or not version_range.allows(version), tag


@pytest.mark.parametrize("impossible", [">=2,<1", ">3 <=3", ">=1.5 <1.5", "=1.0.0 >1.0.0"])
def test_impossible_ranges_are_refused(impossible: str) -> None:
    with pytest.raises(ValueError, match="impossible"):
        parse_range(impossible)


@pytest.mark.parametrize("bad", ["", "banana", ">=", "1.0 || "])
def test_unreadable_ranges_are_refused(bad: str) -> None:
    with pytest.raises(ValueError):
        parse_range(bad)


def test_prerelease_sorts_before_its_release() -> None:
    assert parse_version("1.0.0-rc.1") < parse_version("1.0.0")  # type: ignore[operator]
    assert parse_version("1.0.0-rc.2") < parse_version("1.0.0-rc.10")  # type: ignore[operator]
    assert parse_version("1.0.0-1") < parse_version("1.0.0-alpha")  # type: ignore[operator]


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("12h", 43200),
        ("1h30m", 5400),
        ("90s", 90),
        ("1.5h", 5400),
        ("7d", 604800),
        ("2w", 1209600),
        ("300ms", 0.3),
        ("1h0m0s", 3600),
    ],
)
def test_durations(text: str, seconds: float) -> None:
    assert parse_duration(text) == timedelta(seconds=seconds)


@pytest.mark.parametrize("bad", ["", "12", "h", "1 day", "12hours", "-1h"])
def test_bad_durations(bad: str) -> None:
    with pytest.raises(ValueError, match="duration"):
        parse_duration(bad)


def test_duration_round_trip_words() -> None:
    assert format_duration(timedelta(days=1, hours=2, minutes=3)) == "1d2h3m"
    assert format_duration(timedelta(0)) == "0s"


@pytest.mark.parametrize(
    ("text", "size"),
    [
        ("1024", 1024),
        ("500MB", 500_000_000),
        ("1.5GiB", 1610612736),
        ("10 kib", 10240),
        ("2g", 2_000_000_000),
        ("7B", 7),
    ],
)
def test_sizes(text: str, size: int) -> None:
    assert parse_size(text) == size


@pytest.mark.parametrize("bad", ["", "big", "10XB", "MB"])
def test_bad_sizes(bad: str) -> None:
    with pytest.raises(ValueError, match=r"size|unit"):
        parse_size(bad)


def test_times() -> None:
    assert parse_time("2026-11-30") == datetime(2026, 11, 30, tzinfo=UTC)
    assert parse_time("2026-11-30T09:00:00Z") == datetime(2026, 11, 30, 9, tzinfo=UTC)
    assert parse_time("2026-11-30T10:00:00+01:00") == datetime(2026, 11, 30, 9, tzinfo=UTC)
    assert parse_time("2026-11-30T09:00:00").tzinfo is UTC
    with pytest.raises(ValueError, match=r"ISO 8601"):
        parse_time("30/11/2026")
