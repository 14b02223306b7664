"""Go's times, as MSR writes them: read to the microsecond, written back as they were."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from hoister.policies import rfc3339
from hoister.policies.exchange import parse_import
from hoister.policies.msr import export_msr

MOMENT = datetime(2026, 11, 2, 10, 11, 12, 123456, tzinfo=UTC)


@pytest.mark.parametrize(
    "text",
    [
        "2026-11-02T10:11:12.123456789Z",
        "2026-11-02T10:11:12.1234567Z",
        "2026-11-02T12:11:12.123456789+02:00",
        "2026-11-02T05:11:12.123456-05:00",
        "2026-11-02t10:11:12.123456z",
    ],
)
def test_texts_naming_the_moment_are_kept(text: str) -> None:
    assert rfc3339.parse(text) == MOMENT
    assert rfc3339.is_exact_form(text)
    assert rfc3339.exact_for(text, MOMENT) == text


@pytest.mark.parametrize(
    "text",
    [
        "2026-11-02T10:11:12.1234561",  # no zone: read as UTC, not kept as it is
        "2026-11-02 10:11:12.123456Z",  # a space: ISO 8601, not RFC 3339 as Go writes it
        "2026-11-02T10:11:12.1234567891Z",  # ten digits
        "20261102T101112Z",
    ],
)
def test_other_shapes_are_not_kept(text: str) -> None:
    assert not rfc3339.is_exact_form(text)
    assert rfc3339.exact_for(text, MOMENT) is None


def test_a_text_for_another_moment_is_not_kept() -> None:
    assert rfc3339.exact_for("2026-11-02T10:11:12.123457Z", MOMENT) is None
    assert rfc3339.exact_for(None, MOMENT) is None
    assert rfc3339.exact_for("2026-11-02T10:11:12.123456Z", None) is None


@pytest.mark.parametrize(
    ("moment", "text"),
    [
        (datetime(2026, 12, 2, 10, 0, tzinfo=UTC), "2026-12-02T10:00:00Z"),
        (datetime(2026, 12, 2, 10, 0, 0, 500000, tzinfo=UTC), "2026-12-02T10:00:00.5Z"),
        (MOMENT, "2026-11-02T10:11:12.123456Z"),
        (datetime(1970, 1, 1, tzinfo=UTC), "1970-01-01T00:00:00Z"),
    ],
)
def test_go_format(moment: datetime, text: str) -> None:
    assert rfc3339.go_format(moment) == text
    assert rfc3339.parse(text) == moment


def test_an_offset_time_from_msr_comes_back_with_its_offset() -> None:
    objects = [
        {
            "id": "5a0b7c1e-0000-4000-8000-00000000000a",
            "sourceRepository": "dev/a",
            "targetRepository": "qa/a",
            "tagTemplate": "%n",
            "enabled": True,
            "rules": [],
            "lastPromotedAt": "2026-11-02T12:11:12.1234567+02:00",
        }
    ]
    [policy] = parse_import(json.dumps(objects), profile="msr")
    assert policy.last_promoted_at == MOMENT
    assert export_msr([policy]) == (objects, [])
