"""Registry notification envelopes, read into the pushes that matter.

Only tagged manifest pushes count: blob pushes, mounts, pulls and deletes are noise to a
promotion engine, and so are the bookkeeping tags of referrers and backups. A malformed
event inside a valid envelope is skipped and counted rather than failing the delivery,
because the registry would otherwise retry the whole envelope forever.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from hoister import jsonlimits
from hoister.engine.tags import is_internal_tag
from hoister.registry.mediatypes import MANIFEST_TYPES
from hoister.registry.reference import DIGEST_RE, MAX_REPOSITORY_LENGTH, REPOSITORY_RE, TAG_RE

#: distribution 2.8 sends v1 although its docs say v2; plain JSON is what proxies send.
_EVENTS = "application/vnd.docker.distribution.events"
ENVELOPE_TYPES = frozenset({f"{_EVENTS}.v1+json", f"{_EVENTS}.v2+json", "application/json"})

log = logging.getLogger(__name__)

#: Times a notice may carry: a day inside what ``datetime`` can hold, so that converting
#: one to any time zone (tag templates do) cannot overflow. Harbor's ``occur_at`` outside
#: them (or NaN, or a bool) is refused; a distribution event's is ignored.
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(9998, 12, 31, tzinfo=UTC)


@dataclass(frozen=True)
class PushNotice:
    """A tag now points at a manifest: a candidate the engine re-checks before acting."""

    repository: str
    tag: str
    digest: str
    media_type: str
    registry_host: str | None
    event_id: str
    timestamp: datetime | None
    actor: str | None


class _MalformedEvent(Exception):
    """One event of a valid envelope cannot be trusted: skipped and counted, not fatal."""


def parse_envelope(body: bytes) -> list[PushNotice]:
    """Tagged manifest pushes in ``body``; ValueError when the envelope itself is unusable."""
    return parse_counted(body)[0]


def parse_counted(body: bytes) -> tuple[list[PushNotice], int]:
    try:
        document = jsonlimits.loads(body, what="body")
    except jsonlimits.InvalidJSON as exc:
        raise ValueError(str(exc)) from None
    if isinstance(document, dict) and document.get("type") in HARBOR_PUSH_TYPES:
        return _harbor(document)
    if not isinstance(document, dict) or not isinstance(document.get("events"), list):
        raise ValueError('expected a JSON object with an "events" list')
    notices: list[PushNotice] = []
    skipped = 0
    for event in document["events"]:
        try:
            notice = _notice(event)
        except _MalformedEvent as exc:
            log.debug("skipping malformed event: %s", exc)
            skipped += 1
            continue
        if notice is not None:
            notices.append(notice)
    return notices, skipped


#: Harbor's webhooks use a payload of their own: one event per push with its resources.
HARBOR_PUSH_TYPES = frozenset({"PUSH_ARTIFACT", "pushImage"})


def _harbor(document: dict[str, Any]) -> tuple[list[PushNotice], int]:
    data = document.get("event_data")
    if not isinstance(data, dict) or not isinstance(data.get("resources"), list):
        raise ValueError("a Harbor event without event_data.resources")
    repository = data.get("repository") if isinstance(data.get("repository"), dict) else {}
    name = repository.get("repo_full_name")
    if not isinstance(name, str) or REPOSITORY_RE.fullmatch(name) is None:
        raise ValueError("a Harbor event without a valid repository.repo_full_name")
    when = document.get("occur_at")
    timestamp = _harbor_time(when)
    notices, skipped = [], 0
    for resource in data["resources"]:
        tag = resource.get("tag") if isinstance(resource, dict) else None
        digest = resource.get("digest") if isinstance(resource, dict) else None
        if not isinstance(tag, str) or not isinstance(digest, str):
            skipped += 1
            continue
        if TAG_RE.fullmatch(tag) is None or DIGEST_RE.fullmatch(digest) is None:
            skipped += 1
            continue
        if is_internal_tag(tag):
            continue
        url = str(resource.get("resource_url") or "")
        host = url.split("/", 1)[0] or None
        event_id = f"harbor:{name}:{tag}:{digest}:{when}"
        operator = document.get("operator")
        notices.append(
            PushNotice(
                name,
                tag,
                digest,
                "",
                host,
                event_id,
                timestamp,
                operator if isinstance(operator, str) else None,
            )
        )
    return notices, skipped


def _harbor_time(value: Any) -> datetime | None:
    """``occur_at`` as a time: Unix seconds (what Harbor sends) or an RFC 3339 string."""
    if value is None:
        return None
    if isinstance(value, str):
        moment = _timestamp(value)
        if moment is None:
            raise ValueError(f"occur_at {value[:40]!r} is not a time")
        return moment
    numeric = isinstance(value, int | float) and not isinstance(value, bool)
    if not numeric or (isinstance(value, float) and not math.isfinite(value)):
        raise ValueError("occur_at is not a number of seconds")
    if not EARLIEST.timestamp() <= value <= LATEST.timestamp():
        raise ValueError("occur_at is not a time between 1970 and 9998")
    return datetime.fromtimestamp(value, UTC)


def _text(mapping: dict[str, Any], key: str) -> str:
    value = mapping.get(key)
    if not isinstance(value, str):
        raise _MalformedEvent(f"{key} is not a string")
    return value


def _notice(event: Any) -> PushNotice | None:
    """None for what is no trigger: pulls, mounts, blobs, untagged or internal manifests."""
    if not isinstance(event, dict):
        raise _MalformedEvent("event is not an object")
    if event.get("action") != "push":
        return None
    target = event.get("target")
    if not isinstance(target, dict):
        raise _MalformedEvent("push without a target object")
    media_type = _text(target, "mediaType")
    if media_type not in MANIFEST_TYPES or target.get("tag") in (None, ""):
        return None
    tag = _text(target, "tag")
    if TAG_RE.fullmatch(tag) is None:
        raise _MalformedEvent(f"invalid tag {tag[:140]!r}")
    if is_internal_tag(tag):
        return None
    repository, digest = _text(target, "repository"), _text(target, "digest")
    if len(repository) > MAX_REPOSITORY_LENGTH or REPOSITORY_RE.fullmatch(repository) is None:
        raise _MalformedEvent(f"invalid repository {repository[:260]!r}")
    if DIGEST_RE.fullmatch(digest) is None:
        raise _MalformedEvent(f"invalid digest {digest[:80]!r}")
    if not (event_id := _text(event, "id")):
        raise _MalformedEvent("event without an id")
    actor = event.get("actor")
    name = actor.get("name") if isinstance(actor, dict) else None
    name = name if isinstance(name, str) and name else None
    when, host = _timestamp(event.get("timestamp")), _host(event, target)
    return PushNotice(repository, tag, digest, media_type, host, event_id, when, name)


def _host(event: dict[str, Any], target: dict[str, Any]) -> str | None:
    """The registry the client pushed to; ``target.url`` when the request part is absent."""
    request = event.get("request")
    host = request.get("host") if isinstance(request, dict) else None
    if isinstance(host, str) and host:
        return host
    url = target.get("url")
    try:
        return (urlsplit(url).netloc or None) if isinstance(url, str) else None
    except ValueError:  # e.g. an unclosed IPv6 bracket
        return None


def _timestamp(value: Any) -> datetime | None:
    """RFC 3339 with nanoseconds, as Go writes it; an unreadable time is not worth a drop."""
    if not isinstance(value, str) or len(value) > 64:
        return None
    try:
        parsed = datetime.fromisoformat(value)
        moment = parsed.astimezone(UTC) if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    except (TypeError, ValueError, OverflowError):
        return None
    return moment if EARLIEST <= moment <= LATEST else None
