"""Requests counted in the registry's own access log, split into windows by markers.

The registry is the one witness both tools share: what it logged is what a tool asked
of it, whatever the tool thinks it did. A benchmark runs its lanes one after another
against the same registries, so before a lane it sends a **marker**, a GET of
``/v2/hoister-bench-marker/<label>/tags/list`` (the registry answers 404 and logs it),
and after the lane a marker ``idle``; every request logged between a marker and the
next belongs to that marker's label. Checks made with plain httpx between lanes fall
under ``idle`` and are not counted.

A line is written when the request's handler returns, a moment after the client may
already have its answer, so the log is read after the registry has stopped, and a
marker is sent only after the lane's processes have exited (nothing of theirs is still
in flight).
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx

MARKER_AGENT = "hoister-bench-marker"
MARKER_REPOSITORY = "hoister-bench-marker"
IDLE = "idle"

_ACCESS = re.compile(
    r'^\S+ \S+ \S+ \[[^\]]*\] "(?P<method>[A-Z]+) (?P<path>\S+) HTTP/[\d.]+" '
    r'(?P<status>\d{3}) \S+ "[^"]*" "(?P<agent>[^"]*)"'
)
_MARKER_PATH = re.compile(rf"^/v2/{MARKER_REPOSITORY}/(?P<label>[^/]+)/tags/list$")


@dataclass(frozen=True)
class Request:
    """One access-log line: what was asked, and how the registry answered."""

    method: str
    path: str
    status: int
    agent: str

    @property
    def repository(self) -> str:
        """The repository the path names ('' for ``/v2/`` and the catalog)."""
        rest = urlsplit(self.path).path.removeprefix("/v2/")
        for part in ("/manifests/", "/blobs/", "/tags/", "/referrers/"):
            if part in rest:
                return rest.split(part, 1)[0]
        return ""

    @property
    def kind(self) -> str:
        """A short name for what the request does, for a breakdown per kind."""
        path = urlsplit(self.path)
        query = parse_qs(path.query)
        if path.path in ("/v2/", "/v2"):
            return f"{self.method} /v2/"
        if "/blobs/uploads/" in path.path:
            if self.method == "POST" and "mount" in query:
                return "POST blob mount"
            if self.method == "POST":
                return "POST blob upload start"
            return f"{self.method} blob upload"
        for part, name in (
            ("/manifests/", "manifest"),
            ("/blobs/", "blob"),
            ("/tags/list", "tags list"),
            ("/referrers/", "referrers"),
        ):
            if part in path.path:
                return f"{self.method} {name}"
        return f"{self.method} other"


def parse(lines: Iterable[str]) -> list[Request]:
    """The access lines among the registry's output (its error lines are left out)."""
    found = []
    for line in lines:
        match = _ACCESS.match(line)
        if match is not None:
            found.append(
                Request(match["method"], match["path"], int(match["status"]), match["agent"])
            )
    return found


def read(log_path: Path) -> list[Request]:
    with log_path.open(errors="replace") as log:
        return parse(log)


def marker_label(request: Request) -> str | None:
    """The label of a marker request, None for any other request."""
    if request.agent != MARKER_AGENT:
        return None
    match = _MARKER_PATH.match(urlsplit(request.path).path)
    return match["label"] if match else None


def windows(requests: Iterable[Request]) -> dict[str, list[Request]]:
    """Requests per marker label; before the first marker they fall under ``idle``.

    A label used twice collects both windows (the caller keeps labels unique when it
    wants them apart).
    """
    found: dict[str, list[Request]] = defaultdict(list)
    label = IDLE
    for request in requests:
        marked = marker_label(request)
        if marked is not None:
            label = marked
            continue
        found[label].append(request)
    found.pop(IDLE, None)
    return dict(found)


def mark(base_url: str, label: str) -> None:
    """Send a marker; ``label`` must be a valid path segment (lower case, digits, -)."""
    if not re.fullmatch(r"[a-z0-9][a-z0-9._-]*", label):
        raise ValueError(f"a marker label must be a lower-case path segment, not {label!r}")
    with httpx.Client(base_url=base_url, timeout=30.0) as client:
        client.get(
            f"/v2/{MARKER_REPOSITORY}/{label}/tags/list",
            headers={"User-Agent": MARKER_AGENT},
        )


@dataclass
class Traffic:
    """What a window holds: requests, and blob writes (uploaded bytes, mounts)."""

    requests: int = 0
    uploads: int = 0
    uploaded_bytes: int = 0
    unknown_uploads: int = 0  # blobs of digests not in ``sizes`` (provenance, say)
    mounts: int = 0
    failed_mounts: int = 0  # a mount answered 202: the registry started an upload instead

    def __iadd__(self, other: Traffic) -> Traffic:
        for name in vars(self):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        return self


def traffic(requests: Iterable[Request], sizes: Mapping[str, int]) -> Traffic:
    """Count a window; ``sizes`` maps the digests of known blobs to their byte counts.

    A blob is stored by a 201 to a PUT (or a monolithic POST) carrying ``digest=``: its
    bytes crossed the wire. A 201 to a POST carrying ``mount=`` stored it with no bytes.
    """
    counted = Traffic()
    for request in requests:
        counted.requests += 1
        if "/blobs/uploads/" not in request.path or request.method not in ("POST", "PUT"):
            continue
        query = parse_qs(urlsplit(request.path).query)
        if "mount" in query and request.method == "POST":
            if request.status == 201:
                counted.mounts += 1
            elif request.status == 202:
                counted.failed_mounts += 1
        elif "digest" in query and request.status == 201:
            digest = query["digest"][0]
            counted.uploads += 1
            if digest in sizes:
                counted.uploaded_bytes += sizes[digest]
            else:
                counted.unknown_uploads += 1
    return counted


def kinds(requests: Iterable[Request]) -> Counter[str]:
    """How many requests of each :attr:`Request.kind`."""
    return Counter(request.kind for request in requests)
