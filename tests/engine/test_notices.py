"""Notification payloads other than distribution's: Harbor's webhooks."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from hoister.engine.notices import parse_counted

DIGEST = "sha256:" + "c" * 64


def _harbor(**changes: object) -> bytes:
    event = {
        "type": "PUSH_ARTIFACT",
        "occur_at": 1764493503,
        "operator": "alice",
        "event_data": {
            "resources": [
                {
                    "digest": DIGEST,
                    "tag": "1.4-stable",
                    "resource_url": "harbor.example.com/dev/website:1.4-stable",
                },
                {"digest": DIGEST, "tag": "sha256-" + "d" * 64},
                {"digest": "nope", "tag": "1.5"},
            ],
            "repository": {"name": "website", "namespace": "dev", "repo_full_name": "dev/website"},
        },
    }
    event.update(changes)
    return json.dumps(event).encode()


def test_harbor_push_artifact() -> None:
    notices, skipped = parse_counted(_harbor())
    assert skipped == 1
    [notice] = notices
    assert (notice.repository, notice.tag, notice.digest) == ("dev/website", "1.4-stable", DIGEST)
    assert notice.registry_host == "harbor.example.com"
    assert notice.actor == "alice"
    assert notice.timestamp == datetime.fromtimestamp(1764493503, UTC)


@pytest.mark.parametrize(
    "changes",
    [
        {"event_data": None},
        {"event_data": {"resources": [], "repository": {"repo_full_name": "Bad Name"}}},
    ],
)
def test_malformed_harbor_events_are_refused(changes: dict) -> None:  # type: ignore[type-arg]
    with pytest.raises(ValueError, match="Harbor event"):
        parse_counted(_harbor(**changes))
