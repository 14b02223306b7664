"""Counting, from outside, whether every push was promoted once and only once.

Everything is read straight from the registries with plain httpx (never through a
proxy, never with Hoister's client, which is what is under test) and from ``hoister
history --json``; the database is only opened read-only for ``PRAGMA integrity_check``.

- **promoted**: pushes whose digest sits under at least one target tag.
- **lost**: expected promotions that are not promoted.
- **doubled tags**: target tags beyond the first for the same source digest (every
  push has a digest of its own, so a second tag for it is a second promotion).
- **doubled history**: history rows with outcome ``promoted`` beyond the first per
  (policy, source digest, source tag).
- **doubled provenance**: provenance records in the target beyond the first per
  (policy, source digest, source tag); **no provenance**: promoted digests without any.
- **half-copied**: target tags whose manifest or any of its blobs is missing.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import httpx

from bench.soakhome import HoisterHome
from hoister.engine.provenance import PROVENANCE_ARTIFACT_TYPE
from hoister.engine.tags import is_internal_tag

ACCEPT = ", ".join(
    (
        "application/vnd.oci.image.index.v1+json",
        "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
        "application/vnd.docker.distribution.manifest.v2+json",
    )
)


@dataclass(frozen=True)
class Push:
    """One pushed tag and the digest the registry stored for it."""

    repository: str
    tag: str
    digest: str


@dataclass(frozen=True)
class Target:
    """Where a scenario's promotions land: a registry (reached directly) and a repository."""

    registry_url: str
    repository: str


@dataclass
class Figures:
    """One line of the soak's table."""

    scenario: str
    pushes: int = 0
    expected: int = 0
    promoted: int = 0
    lost: int = 0
    doubled_tags: int = 0
    doubled_history: int = 0
    doubled_provenance: int = 0
    no_provenance: int = 0
    half_copied: int = 0
    integrity: str = "-"
    agent_running: str = "-"
    target_tags: int = 0
    notes: list[str] = field(default_factory=list)
    #: target tag -> digest, for scenario-specific checks
    tags: dict[str, str] = field(default_factory=dict)
    history: list[dict[str, Any]] = field(default_factory=list)


class RegistryReader:
    """Plain HTTP reads of one registry: tags, manifests, blobs, referrers."""

    def __init__(self, url: str) -> None:
        self.client = httpx.Client(base_url=url, timeout=30.0)

    def close(self) -> None:
        self.client.close()

    def tags(self, repository: str) -> list[str]:
        response = self.client.get(f"/v2/{repository}/tags/list", params={"n": 100_000})
        if response.status_code == 404:
            return []
        response.raise_for_status()
        return list(response.json().get("tags") or [])

    def manifest(self, repository: str, reference: str) -> tuple[str, dict[str, Any]] | None:
        """``(digest, document)``, or None when the registry does not have it."""
        response = self.client.get(
            f"/v2/{repository}/manifests/{reference}", headers={"Accept": ACCEPT}
        )
        if response.status_code == 404:
            return None
        response.raise_for_status()
        return response.headers["Docker-Content-Digest"], json.loads(response.content)

    def has_blob(self, repository: str, digest: str) -> bool:
        return self.client.head(f"/v2/{repository}/blobs/{digest}").status_code == 200

    def blob(self, repository: str, digest: str) -> bytes:
        response = self.client.get(f"/v2/{repository}/blobs/{digest}", follow_redirects=True)
        response.raise_for_status()
        return response.content

    def promoted_tags(self, repository: str) -> dict[str, str]:
        """Target tag -> digest, without referrer indexes and backups."""
        found: dict[str, str] = {}
        for tag in self.tags(repository):
            if is_internal_tag(tag):
                continue
            manifest = self.manifest(repository, tag)
            if manifest is not None:
                found[tag] = manifest[0]
        return found

    def is_complete(self, repository: str, tag: str) -> bool:
        """The tag's manifest and every blob it names (children of an index too) exist."""
        manifest = self.manifest(repository, tag)
        if manifest is None:
            return False
        document = manifest[1]
        for child in document.get("manifests") or []:
            if not self.is_complete(repository, child["digest"]):
                return False
        blobs = [document["config"]] if "config" in document else []
        blobs += document.get("layers") or []
        return all(self.has_blob(repository, blob["digest"]) for blob in blobs)

    def provenance(self, repository: str, digest: str) -> list[dict[str, Any]]:
        """Every provenance record attached to ``digest``: referrers API or fallback tag."""
        response = self.client.get(
            f"/v2/{repository}/referrers/{digest}", headers={"Accept": ACCEPT}
        )
        if response.status_code == 200 and "json" in response.headers.get("content-type", ""):
            index: dict[str, Any] | None = response.json()
        else:
            found = self.manifest(repository, digest.replace(":", "-", 1))
            index = found[1] if found else None
        records = []
        for entry in (index or {}).get("manifests") or []:
            if entry.get("artifactType") != PROVENANCE_ARTIFACT_TYPE:
                continue
            artifact = self.manifest(repository, entry["digest"])
            if artifact is None:
                continue
            for layer in artifact[1].get("layers") or []:
                if layer.get("mediaType") == PROVENANCE_ARTIFACT_TYPE:
                    records.append(json.loads(self.blob(repository, layer["digest"])))
        return records


class Arrivals:
    """Which digests have arrived in a target, read cheaply enough to ask twice a second.

    In these scenarios a tag never changes its digest (policies skip existing tags), so
    each tag's manifest is read once; only the tag list is read every time.
    """

    def __init__(self, target: Target) -> None:
        self.target = target
        self._reader = RegistryReader(target.registry_url)
        self._digests: dict[str, str] = {}

    def close(self) -> None:
        self._reader.close()

    def digests(self) -> set[str]:
        for tag in self._reader.tags(self.target.repository):
            if tag not in self._digests and not is_internal_tag(tag):
                manifest = self._reader.manifest(self.target.repository, tag)
                if manifest is not None:
                    self._digests[tag] = manifest[0]
        return set(self._digests.values())


def _extra(counts: Counter[Any]) -> int:
    """How many beyond the first, summed over every key."""
    return sum(count - 1 for count in counts.values() if count > 1)


def count(
    scenario: str,
    pushes: list[Push],
    expected: list[Push],
    target: Target,
    home: HoisterHome,
    policy_id: int | None = None,
) -> Figures:
    """The figures of one scenario (of one policy, if given), once the queue has drained."""
    figures = Figures(scenario, pushes=len(pushes), expected=len(expected))
    reader = RegistryReader(target.registry_url)
    try:
        tags = reader.promoted_tags(target.repository)
        figures.tags = tags
        figures.target_tags = len(tags)
        by_digest = Counter(tags.values())
        wanted = {push.digest for push in expected}
        figures.promoted = sum(1 for push in expected if by_digest[push.digest] > 0)
        figures.lost = figures.expected - figures.promoted
        figures.doubled_tags = _extra(Counter({d: n for d, n in by_digest.items() if d in wanted}))
        figures.half_copied = sum(
            1 for tag in tags if not reader.is_complete(target.repository, tag)
        )
        records: Counter[tuple[Any, ...]] = Counter()
        for digest in by_digest:
            found = [
                record
                for record in reader.provenance(target.repository, digest)
                if policy_id is None or record.get("policyId") == policy_id
            ]
            figures.no_provenance += not found
            records.update(
                (r.get("policyId"), r.get("sourceDigest"), r.get("sourceTag")) for r in found
            )
        figures.doubled_provenance = _extra(records)
    finally:
        reader.close()
    history = home.history()
    figures.history = history
    promoted_rows = Counter(
        (row["policy_id"], row["source_digest"], row["source_tag"])
        for row in history
        if row["outcome"] == "promoted" and policy_id in (None, row["policy_id"])
    )
    figures.doubled_history = _extra(promoted_rows)
    figures.integrity = home.integrity()
    return figures


def merge(scenario: str, parts: list[Figures]) -> Figures:
    """Several sub-runs (same- and cross-registry) as one line."""
    total = Figures(scenario)
    for part in parts:
        for name in (
            "pushes",
            "expected",
            "promoted",
            "lost",
            "doubled_tags",
            "doubled_history",
            "doubled_provenance",
            "no_provenance",
            "half_copied",
            "target_tags",
        ):
            setattr(total, name, getattr(total, name) + getattr(part, name))
        total.notes += part.notes
    integrities = {part.integrity for part in parts}
    total.integrity = "ok" if integrities == {"ok"} else "; ".join(sorted(integrities))
    running = {part.agent_running for part in parts}
    total.agent_running = running.pop() if len(running) == 1 else "/".join(sorted(running))
    return total
