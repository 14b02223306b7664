"""Count what each tool made the registry store, from the registry's own access log.

skopeo says nothing about whether it uploaded or mounted a blob (it prints "Copying blob"
either way when its output is not a terminal), and Hoister's counters are what is being
compared. The registry's access log is the neutral witness: a completed upload is a
``PUT``/``POST`` with ``digest=`` answered 201, a mount a ``POST`` with ``mount=`` answered
201. Lines are attributed by the first component of the repository name, which is why
every tool writes into its own namespace (``hoister/...``, ``skopeo/...``).
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

_UPLOAD_LINE = re.compile(
    r'"(?P<method>POST|PUT) /v2/(?P<repository>\S+?)/blobs/uploads/(?P<rest>\S*) HTTP/[\d.]+" '
    r"(?P<status>\d{3}) "
)


@dataclass
class BlobTraffic:
    """Blobs one namespace received: uploaded (bytes crossed the wire) or mounted (none did)."""

    uploads: int = 0
    uploaded_bytes: int = 0
    mounts: int = 0


def blob_traffic(log_path: Path, sizes: Mapping[str, int]) -> dict[str, BlobTraffic]:
    """Per namespace, the blobs written into it; ``sizes`` maps digests to byte counts.

    Read after the registry stopped: a line is written once the request handler returns,
    which may be a moment after the client already has its answer.
    """
    traffic: dict[str, BlobTraffic] = defaultdict(BlobTraffic)
    with log_path.open(errors="replace") as log:
        for line in log:
            match = _UPLOAD_LINE.search(line)
            if match is None or match["status"] != "201":
                continue
            namespace = match["repository"].split("/", 1)[0]
            query = parse_qs(urlsplit(match["rest"]).query)
            if "mount" in query:
                traffic[namespace].mounts += 1
            elif "digest" in query:
                digest = query["digest"][0]
                traffic[namespace].uploads += 1
                traffic[namespace].uploaded_bytes += sizes.get(digest, 0)
    return dict(traffic)


_MANIFEST_HEAD = re.compile(
    r'"HEAD /v2/(?P<repository>\S+?)/manifests/(?P<reference>[^\s/?]+) HTTP/[\d.]+" '
    r'(?P<status>\d{3}) \S+ "[^"]*" "(?P<agent>[^"]*)"'
)


def manifest_heads(log_path: Path, repository: str, agent_prefix: str) -> dict[str, list[int]]:
    """Statuses of the HEADs a client (by user agent) sent for each tag of ``repository``.

    This is how a lost notification is told apart from a slow one: the engine answers a
    notification by asking for the tag's current digest, and a 404 there means it looked
    before the registry had written the tag.
    """
    heads: dict[str, list[int]] = defaultdict(list)
    with log_path.open(errors="replace") as log:
        for line in log:
            match = _MANIFEST_HEAD.search(line)
            if (
                match is not None
                and match["repository"] == repository
                and match["agent"].startswith(agent_prefix)
            ):
                heads[match["reference"]].append(int(match["status"]))
    return dict(heads)
