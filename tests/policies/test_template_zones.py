"""``%Z`` always renders something a tag can hold; ``hoister template`` converts to UTC.

A policy with ``--local-time`` on a machine whose zone is known only by its offset
(``TZ=UTC-05``, tzdata's ``-03`` for São Paulo, ``<+0530>``) once saved a template that
could never render; these pin the names chosen instead (documented in ``zone_name``).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hoister.policies.template import TemplateContext, render, validate_template
from hoister.registry.reference import TAG_RE


def z(when: datetime, template: str = "%Z") -> str:
    return render(template, TemplateContext(tag="1.4", when=when))


@pytest.fixture
def local_zone(monkeypatch: pytest.MonkeyPatch) -> Iterator[object]:
    """Switch this process's local zone (TZ + tzset), restored after the test."""

    def use(spec: str) -> None:
        monkeypatch.setenv("TZ", spec)
        time.tzset()

    yield use
    monkeypatch.undo()
    time.tzset()


@pytest.mark.parametrize(
    ("zone", "expected"),
    [
        (UTC, "UTC"),
        (timezone(timedelta(hours=1), "CET"), "CET"),
        (timezone(timedelta(hours=5, minutes=30), "+0530"), "UTCp0530"),
        (timezone(timedelta(hours=-3), "-03"), "UTCm0300"),
        (timezone(timedelta(hours=5, minutes=30)), "UTCp0530"),  # Python's "UTC+05:30"
        (timezone(timedelta(hours=5), "UTC"), "UTCp0500"),  # POSIX TZ=UTC-05
        (timezone(timedelta(0), "+00"), "UTC"),
        (timezone(timedelta(hours=-9, minutes=-30, seconds=-12), "LMT-ish"), "UTCm093012"),
    ],
)
def test_zone_names(zone: timezone, expected: str) -> None:
    assert z(datetime(2026, 11, 30, 12, tzinfo=zone)) == expected


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("UTC-05", "UTCp0500"),  # POSIX: five hours east, named "UTC"
        ("<+0530>-5:30", "UTCp0530"),
        ("<-03>3", "UTCm0300"),
        ("EST5", "EST"),
        ("UTC0", "UTC"),
    ],
)
def test_local_time_under_numeric_zones(local_zone, spec: str, expected: str) -> None:  # type: ignore[no-untyped-def]
    local_zone(spec)
    when = datetime(2026, 11, 30, 12, tzinfo=UTC).astimezone()  # as evaluate.target_tag does
    tag = z(when, "%Y%m%d-%H%M-%Z")
    assert tag.endswith("-" + expected) and TAG_RE.fullmatch(tag)


# Any offset a tzinfo may have (strictly within a day), with any name: printable text,
# empty, numeric forms, or a real-looking abbreviation.
names = st.one_of(
    st.none(),
    st.text(max_size=12),
    st.from_regex(r"[+-][0-9]{2}([0-9]{2})?", fullmatch=True),
    st.from_regex(r"[A-Z]{3,5}", fullmatch=True),
)
offsets = st.integers(min_value=-(24 * 3600) + 1, max_value=24 * 3600 - 1).map(
    lambda s: timedelta(seconds=s)
)


@given(offset=offsets, name=names, template=st.sampled_from(["%Z", "v%Z", "%Y%m%d-%Z", "%n.%Z"]))
def test_a_zone_template_renders_a_valid_tag_for_any_zone(
    offset: timedelta, name: str | None, template: str
) -> None:
    zone = timezone(offset) if name is None else timezone(offset, name)
    validate_template(template)  # saved: the same check a policy gets
    tag = z(datetime(2026, 11, 30, 12, tzinfo=zone), template)
    assert TAG_RE.fullmatch(tag), tag


def test_cli_converts_an_offset_to_utc(cli) -> None:  # type: ignore[no-untyped-def]
    at = "2024-12-31T12:00:00+02:00"
    code, out, err = cli("template", "%H-%I%p-%Z", "--tag", "1.4", "--at", at)
    assert (code, out.strip()) == (0, "10-10AM-UTC"), err


def test_cli_local_time_renders_in_the_machine_zone(cli, local_zone) -> None:  # type: ignore[no-untyped-def]
    local_zone("<+0530>-5:30")
    code, out, err = cli(
        "template", "%H%M-%Z", "--tag", "1.4", "--at", "2024-12-31T10:00:00Z", "--local-time"
    )
    assert (code, out.strip()) == (0, "1530-UTCp0530"), err
