"""The two ways of copying being compared, each timed over a whole set of images.

Only the copying is inside the timed section. Checking the result (a HEAD per copy,
comparing digests) happens afterwards with plain httpx, a client independent of both
tools, so a tool cannot be fast by being wrong.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import httpx
from tests.support.images import MANIFEST_TYPES, skopeo
from tests.support.registry import RegistryServer

from hoister.engine.promoter import Promoter, PromotionRequest
from hoister.registry import RegistryClient

TAG = "1.0"


@dataclass(frozen=True)
class Job:
    """Copy ``source`` (in the source registry) to ``target`` (in the target registry)."""

    source: str
    target: str


@dataclass(frozen=True)
class Timed:
    """One tool over every job: wall time and, for Hoister, its own copy counters."""

    seconds: float
    bytes_moved: int | None = None
    blobs_mounted: int | None = None


def hoister_copy(source: RegistryServer, target: RegistryServer, jobs: list[Job]) -> Timed:
    """``Promoter().promote`` per image, sequentially, one client per registry.

    Creating the clients is inside the timed section: it is part of what a promotion
    costs the first time, as starting the process is for skopeo. Within one registry
    the single client serves as both source and target, so blobs are mounted.
    """
    started = time.perf_counter()
    source_client = RegistryClient(source.url)
    target_client = source_client if target is source else RegistryClient(target.url)
    promoter = Promoter()
    moved = mounted = 0
    try:
        for job in jobs:
            outcome = promoter.promote(
                PromotionRequest(
                    source=source_client,
                    source_repository=job.source,
                    source_reference=TAG,
                    target=target_client,
                    target_repository=job.target,
                    target_tag=TAG,
                )
            )
            if outcome.status != "promoted":
                raise RuntimeError(f"{job.target}: {outcome.status}: {outcome.reason}")
            moved += outcome.stats.bytes_moved
            mounted += outcome.stats.blobs_mounted
    finally:
        if target_client is not source_client:
            target_client.close()
        source_client.close()
    return Timed(time.perf_counter() - started, moved, mounted)


def skopeo_copy(source: RegistryServer, target: RegistryServer, jobs: list[Job]) -> Timed:
    """One ``skopeo copy`` process per image, as a user would script a promotion."""
    started = time.perf_counter()
    for job in jobs:
        skopeo(
            "copy",
            "--src-tls-verify=false",
            "--dest-tls-verify=false",
            "--preserve-digests",
            f"docker://{source.host}/{job.source}:{TAG}",
            f"docker://{target.host}/{job.target}:{TAG}",
        )
    return Timed(time.perf_counter() - started)


def skopeo_version(times: int) -> Timed:
    """``skopeo --version`` ``times`` times: what starting the process alone costs."""
    started = time.perf_counter()
    for _ in range(times):
        skopeo("--version")
    return Timed(time.perf_counter() - started)


def manifest_digests(server: RegistryServer, repositories: list[str]) -> dict[str, str | None]:
    """The digest each ``repository`` (its tag 1.0) or ``repository:tag`` resolves to
    (HEAD), None where it is missing."""
    found: dict[str, str | None] = {}
    headers = {"Accept": ", ".join(MANIFEST_TYPES)}
    with httpx.Client(base_url=server.url, timeout=30.0) as client:
        for repository in repositories:
            name, colon, tag = repository.rpartition(":")
            name, tag = (name, tag) if colon and "/" not in tag else (repository, TAG)
            response = client.head(f"/v2/{name}/manifests/{tag}", headers=headers)
            ok = response.status_code == 200
            found[repository] = response.headers.get("Docker-Content-Digest") if ok else None
    return found


def verify(
    source: RegistryServer, target: RegistryServer, jobs: list[Job], expected: dict[str, str]
) -> None:
    """Every copy resolves to its source's digest, which is the digest that was built."""
    sources = manifest_digests(source, [job.source for job in jobs])
    targets = manifest_digests(target, [job.target for job in jobs])
    wrong = [
        f"{job.target}: {targets[job.target]} (source {sources[job.source]}, built "
        f"{expected[job.source]})"
        for job in jobs
        if not (targets[job.target] == sources[job.source] == expected[job.source])
    ]
    if wrong:
        raise RuntimeError(f"{len(wrong)} copies do not match their source:\n" + "\n".join(wrong))
