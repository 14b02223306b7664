"""Streaming between two real registries: download and upload overlap for blobs smaller
and larger than a part, and memory stays bounded whatever the blob size."""

from __future__ import annotations

import tracemalloc

from hoister.registry import RegistryClient
from tests.engine.transferwire import (
    Events,
    KiB,
    MiB,
    Recording,
    check_from_outside,
    promote,
    pushed,
)
from tests.registry.conftest import ClientFactory
from tests.support.fixtures import RegistryFactory


def test_upload_begins_before_the_download_ends_for_small_and_large_blobs(
    registry_factory: RegistryFactory, make_client: ClientFactory
) -> None:
    src, dst = registry_factory(), registry_factory()
    part = 1 * MiB
    large = pushed(src, "large", 301, layers=2, size=3 * MiB)  # three parts each
    small = pushed(src, "small", 302, layers=2, size=300 * KiB)  # one streamed PUT each
    events = Events()
    source = make_client(src, transport=Recording(events))
    target = make_client(dst, transport=Recording(events))
    promote(source, target, "large", part)
    promote(source, target, "small", part)
    sessions = dict(key.split(" ") for kind, key in events.items if kind == "session-of")
    by_digest = {digest: session for session, digest in sessions.items()}
    for image in (large, small):
        for layer in image.blobs[1:]:
            assert layer.size > 64 * KiB
            began = events.index("upload-begins", by_digest[layer.digest])
            assert began < events.index("download-ends", layer.digest), layer.digest
    check_from_outside(dst.url, dst.host, "large", large)
    check_from_outside(dst.url, dst.host, "small", small)


#: What one copy may hold at its peak, in Python allocations: far below one part (2 MiB
#: here) and the same for a blob of 1.5 MiB as for one of 12 MiB.
MEMORY_BOUND = 1 * MiB


def _peak_of_copy(source: RegistryClient, target: RegistryClient, repo: str) -> int:
    tracemalloc.start()
    try:
        promote(source, target, repo, 2 * MiB)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_peak_memory_of_a_copy_is_bounded_whatever_the_blob_size(
    registry_factory: RegistryFactory, make_client: ClientFactory
) -> None:
    src, dst = registry_factory(), registry_factory()
    one_part = pushed(src, "one-part", 311, layers=1, size=3 * MiB // 2)
    six_parts = pushed(src, "six-parts", 312, layers=1, size=12 * MiB)
    source, target = make_client(src), make_client(dst)
    source.ping(), target.ping()  # connections and auth set up outside the measurement
    peaks = {repo: _peak_of_copy(source, target, repo) for repo in ("one-part", "six-parts")}
    assert all(peak < MEMORY_BOUND for peak in peaks.values()), peaks
    check_from_outside(dst.url, dst.host, "one-part", one_part)
    check_from_outside(dst.url, dst.host, "six-parts", six_parts)
