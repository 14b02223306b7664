"""Promotions on real registries: mounts inside one registry, streaming between two,
indexes children first, overwrite modes, and the exact bytes checked with skopeo."""

from __future__ import annotations

from collections.abc import Callable

import httpx

from hoister.engine.promoter import ProgressEvent, Promoter, PromotionRequest
from hoister.engine.tags import backup_tag
from hoister.policies.model import OverwriteMode
from hoister.registry import RegistryClient
from tests.registry.conftest import ClientFactory
from tests.registry.faults import FaultyTransport
from tests.support.fixtures import RegistryFactory
from tests.support.images import build_image, build_index, push_image, skopeo_inspect
from tests.support.registry import RegistryServer

MiB = 1024 * 1024
WRITES = ("PUT", "POST", "PATCH", "DELETE")


def recording(sizes: list[int]) -> Callable[[httpx.Request, httpx.BaseTransport], httpx.Response]:
    """A rule action that notes each request body's size and forwards it untouched."""

    def act(request: httpx.Request, inner: httpx.BaseTransport) -> httpx.Response:
        sizes.append(len(request.read()))
        return inner.handle_request(request)

    return act


def request(
    source: RegistryClient, target: RegistryClient, overwrite: OverwriteMode = OverwriteMode.SKIP
) -> PromotionRequest:
    return PromotionRequest(
        source, "dev/website", "1.0", target, "qa/website", "1.0", overwrite=overwrite
    )


def test_same_registry_docker_image_is_mounted_not_copied(
    registry: RegistryServer, make_client: ClientFactory
) -> None:
    image = build_image(layers=3, fmt="docker", seed=101)
    push_image(registry.url, "dev/website", "1.0", image)
    transport = FaultyTransport()
    client = make_client(registry, transport=transport)
    outcome = Promoter().promote(request(client, client))
    assert (outcome.status, outcome.digest) == ("promoted", image.digest)
    assert outcome.media_type == image.media_type
    stats = outcome.stats
    assert (stats.blobs_mounted, stats.blobs_uploaded, stats.bytes_moved) == (4, 0, 0)
    assert not [m for m, _, _ in transport.log if m == "PATCH"]
    assert skopeo_inspect(registry.host, "qa/website", "1.0", raw=True) == image.manifest
    assert "4 blobs mounted" in outcome.reason


def test_same_registry_index_copies_children_first_by_digest(
    registry: RegistryServer, make_client: ClientFactory
) -> None:
    amd = build_image(seed=102, platform=("linux", "amd64"))
    arm = build_image(seed=103, platform=("linux", "arm64", "v8"))
    index = build_index([amd, arm])
    push_image(registry.url, "dev/website", "1.0", index)
    transport = FaultyTransport()
    client = make_client(registry, transport=transport)
    outcome = Promoter().promote(request(client, client))
    assert outcome.digest == index.digest
    assert outcome.stats.blobs_mounted == len(index.all_blobs())
    assert outcome.stats.bytes_moved == 0
    for child in (amd, arm):
        found = client.head_manifest("qa/website", child.digest)
        assert found is not None and found.digest == child.digest
    puts = [path for method, path, _ in transport.log if method == "PUT" and "/manifests/" in path]
    assert puts[-1] == "/v2/qa/website/manifests/1.0"  # the tag is the very last write
    assert puts.index(f"/v2/qa/website/manifests/{amd.digest}") < len(puts) - 1
    assert skopeo_inspect(registry.host, "qa/website", "1.0", raw=True) == index.manifest


def test_cross_registry_index_is_streamed_in_bounded_chunks(
    registry_factory: RegistryFactory, make_client: ClientFactory
) -> None:
    big = build_image(layers=5, layer_size=3 * MiB, seed=104)
    small = build_image(layers=5, layer_size=8192, seed=105, platform=("linux", "arm64"))
    index = build_index([big, small])
    src, dst = registry_factory(), registry_factory()
    push_image(src.url, "dev/website", "1.0", index)
    patches: list[int] = []
    transport = FaultyTransport()
    transport.add("PATCH", "/blobs/uploads/", recording(patches), times=10**6)
    events: list[ProgressEvent] = []
    promoter = Promoter(chunk_size=MiB, progress=events.append)
    outcome = promoter.promote(request(make_client(src), make_client(dst, transport=transport)))
    blobs = index.all_blobs()
    assert outcome.stats.bytes_moved == sum(blob.size for blob in blobs)
    assert (outcome.stats.blobs_uploaded, outcome.stats.blobs_mounted) == (len(blobs), 0)
    assert max(patches) <= MiB  # memory is bounded by the chunk, not the layer
    assert len(patches) >= 5 * 4  # every 3 MiB layer went up in four PATCHes
    layer = big.blobs[1]
    done = [e.done_bytes for e in events if e.kind == "blob-progress" and e.digest == layer.digest]
    assert done == [MiB, 2 * MiB, 3 * MiB, layer.size]
    kinds = {e.kind for e in events}
    assert kinds == {"blob-start", "blob-progress", "blob-done", "manifest"}
    assert skopeo_inspect(dst.host, "qa/website", "1.0", raw=True) == index.manifest
    assert skopeo_inspect(dst.host, "qa/website", big.digest, raw=True) == big.manifest


def test_blobs_already_in_the_target_are_not_sent_again(
    registry_factory: RegistryFactory, make_client: ClientFactory
) -> None:
    old = build_image(layers=3, seed=106, labels={"build": "1"})
    new = build_image(layers=3, seed=106, labels={"build": "2"})  # same layers, new config
    src, dst = registry_factory(), registry_factory()
    push_image(src.url, "dev/website", "1.0", new)
    push_image(dst.url, "qa/website", "0.9", old)
    outcome = Promoter().promote(request(make_client(src), make_client(dst)))
    assert (outcome.stats.blobs_present, outcome.stats.blobs_uploaded) == (3, 1)
    assert outcome.stats.bytes_moved == new.blobs[0].size


def _two_versions(server: RegistryServer) -> tuple[str, str]:
    old, new = build_image(seed=107), build_image(seed=108)
    push_image(server.url, "qa/website", "1.0", old)
    push_image(server.url, "dev/website", "1.0", new)
    return old.digest, new.digest


def test_skip_mode_leaves_an_existing_tag_alone(
    registry: RegistryServer, make_client: ClientFactory
) -> None:
    old, _ = _two_versions(registry)
    transport = FaultyTransport()
    client = make_client(registry, transport=transport)
    outcome = Promoter().promote(request(client, client, overwrite=OverwriteMode.SKIP))
    assert outcome.status == "skipped"
    assert outcome.reason == (
        f"target tag qa/website:1.0 exists and points to {old}; the policy skips existing tags"
    )
    assert client.head_manifest("qa/website", "1.0").digest == old  # type: ignore[union-attr]
    assert not [m for m, _, _ in transport.log if m in WRITES]


def test_overwrite_mode_moves_the_tag(registry: RegistryServer, make_client: ClientFactory) -> None:
    _, new = _two_versions(registry)
    client = make_client(registry)
    outcome = Promoter().promote(request(client, client, overwrite=OverwriteMode.OVERWRITE))
    assert (outcome.status, outcome.backup_tag) == ("promoted", None)
    assert client.head_manifest("qa/website", "1.0").digest == new  # type: ignore[union-attr]


def test_backup_mode_keeps_the_old_image_under_a_derived_tag(
    registry: RegistryServer, make_client: ClientFactory
) -> None:
    old, new = _two_versions(registry)
    client = make_client(registry)
    promoter = Promoter(stamp=lambda: "20261130T090503")
    outcome = promoter.promote(request(client, client, overwrite=OverwriteMode.BACKUP))
    assert outcome.backup_tag == backup_tag("1.0", "20261130T090503")
    assert client.head_manifest("qa/website", outcome.backup_tag).digest == old  # type: ignore[union-attr]
    assert client.head_manifest("qa/website", "1.0").digest == new  # type: ignore[union-attr]
    assert f"the previous {old} is kept as {outcome.backup_tag}" in outcome.reason


def test_same_digest_is_unchanged_and_writes_nothing(
    registry: RegistryServer, make_client: ClientFactory
) -> None:
    image = build_image(seed=109)
    push_image(registry.url, "dev/website", "1.0", image)
    push_image(registry.url, "qa/website", "1.0", image)
    transport = FaultyTransport()
    client = make_client(registry, transport=transport)
    outcome = Promoter().promote(request(client, client, overwrite=OverwriteMode.BACKUP))
    assert (outcome.status, outcome.digest, outcome.backup_tag) == ("unchanged", image.digest, None)
    assert not [m for m, _, _ in transport.log if m in WRITES]


def test_a_blob_deleted_from_the_target_since_the_client_saw_it_is_put_there_again(
    registry: RegistryServer, make_client: ClientFactory
) -> None:
    """The client remembers the blobs it mounted into a repository and does not mount
    them again; a blob deleted there since (a retention job) must not fail every later
    promotion sharing it: the PUT's refusal sends the blobs again, once."""
    image = build_image(layers=2, seed=211)
    push_image(registry.url, "dev/website", "1.0", image)
    client = make_client(registry)
    promoter = Promoter()
    assert promoter.promote(request(client, client)).status == "promoted"
    layer = image.blobs[1].digest
    deleted = httpx.delete(f"{registry.url}/v2/qa/website/blobs/{layer}", timeout=30)
    assert deleted.status_code == 202
    gone = httpx.head(f"{registry.url}/v2/qa/website/blobs/{layer}", timeout=30)
    assert gone.status_code == 404

    again = PromotionRequest(client, "dev/website", "1.0", client, "qa/website", "2.0")
    outcome = promoter.promote(again)

    assert (outcome.status, outcome.digest) == ("promoted", image.digest)
    assert outcome.stats.blobs_mounted == len(image.blobs)  # all of them, after the refusal
    assert skopeo_inspect(registry.host, "qa/website", "2.0", raw=True) == image.manifest
    back = httpx.get(f"{registry.url}/v2/qa/website/blobs/{layer}", timeout=30)
    assert back.status_code == 200 and back.content == image.blobs[1].data


def test_across_registries_a_blob_deleted_from_the_target_is_sent_again(
    registry_factory: RegistryFactory, make_client: ClientFactory
) -> None:
    """The same memory across registries (``copy_blob_across``): a blob deleted from the
    target since this client put it there is sent again when the PUT is refused."""
    one, two = registry_factory(), registry_factory()
    image = build_image(layers=2, seed=212)
    push_image(one.url, "dev/website", "1.0", image)
    source, target = make_client(one), make_client(two)
    promoter = Promoter()
    assert promoter.promote(request(source, target)).status == "promoted"
    layer = image.blobs[1].digest
    deleted = httpx.delete(f"{two.url}/v2/qa/website/blobs/{layer}", timeout=30)
    assert deleted.status_code == 202

    again = PromotionRequest(source, "dev/website", "1.0", target, "qa/website", "2.0")
    outcome = promoter.promote(again)

    assert (outcome.status, outcome.digest) == ("promoted", image.digest)
    assert skopeo_inspect(two.host, "qa/website", "2.0", raw=True) == image.manifest
    back = httpx.get(f"{two.url}/v2/qa/website/blobs/{layer}", timeout=30)
    assert back.status_code == 200 and back.content == image.blobs[1].data
