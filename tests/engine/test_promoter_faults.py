"""Promotions when things go wrong: a flaky target, a cancel, a registry that lies about
digests. In every case the target tag is either right or untouched."""

from __future__ import annotations

import threading

import httpx
import pytest

from hoister.engine.promoter import Cancelled, ProgressEvent, Promoter, PromotionRequest
from hoister.registry import DigestMismatch, RegistryClient
from tests.registry.conftest import ClientFactory
from tests.registry.faults import FaultyTransport, partial_then_reset, unavailable
from tests.support.fixtures import RegistryFactory
from tests.support.images import Image, build_image, push_image, skopeo_inspect
from tests.support.registry import RegistryServer

KiB = 1024
FAKE_DIGEST = "sha256:" + "0" * 64


def request(source: RegistryClient, target: RegistryClient) -> PromotionRequest:
    return PromotionRequest(source, "dev/website", "1.0", target, "qa/website", "1.0")


def rewrite_digest(request: httpx.Request, inner: httpx.BaseTransport) -> httpx.Response:
    """Let the registry store the manifest, then report another digest for it."""
    response = inner.handle_request(request)
    body = response.read()
    response.close()
    headers = dict(response.headers)
    headers["docker-content-digest"] = FAKE_DIGEST
    return httpx.Response(response.status_code, headers=headers, content=body)


def _cross(
    registry_factory: RegistryFactory, seed: int, layers: int = 2, layer_size: int = 1024
) -> tuple[RegistryServer, RegistryServer, Image]:
    image = build_image(seed=seed, layers=layers, layer_size=layer_size)
    src, dst = registry_factory(), registry_factory()
    push_image(src.url, "dev/website", "1.0", image)
    return src, dst, image


def test_a_503_in_the_middle_of_an_upload_is_retried(
    registry_factory: RegistryFactory, make_client: ClientFactory, sleeps: list[float]
) -> None:
    src, dst, image = _cross(registry_factory, 201, layers=2, layer_size=300 * KiB)
    transport = FaultyTransport()
    transport.add("PATCH", "/blobs/uploads/", unavailable(), skip=1)
    promoter = Promoter(chunk_size=64 * KiB)
    outcome = promoter.promote(request(make_client(src), make_client(dst, transport=transport)))
    assert transport.rules[0].hits == 1 and sleeps
    assert outcome.stats.bytes_moved == sum(blob.size for blob in image.blobs)
    assert skopeo_inspect(dst.host, "qa/website", "1.0", raw=True) == image.manifest


def test_a_connection_reset_mid_patch_restarts_from_a_fresh_download(
    registry_factory: RegistryFactory, make_client: ClientFactory
) -> None:
    src, dst, image = _cross(registry_factory, 202, layers=2, layer_size=300 * KiB)
    reads = FaultyTransport()
    transport = FaultyTransport()
    transport.add("PATCH", "/blobs/uploads/", partial_then_reset(1000), skip=2)
    promoter = Promoter(chunk_size=64 * KiB)
    source = make_client(src, transport=reads)
    outcome = promoter.promote(request(source, make_client(dst, transport=transport)))
    assert transport.rules[0].hits == 1
    downloads = [path for method, path, _ in reads.log if method == "GET" and "/blobs/" in path]
    assert len(downloads) == len(image.blobs) + 1  # the broken blob was read twice
    assert outcome.stats.bytes_moved == sum(blob.size for blob in image.blobs)
    assert skopeo_inspect(dst.host, "qa/website", "1.0", raw=True) == image.manifest


def test_cancel_between_blobs_never_writes_the_tag(
    registry: RegistryServer, make_client: ClientFactory
) -> None:
    image = build_image(layers=3, seed=203)
    push_image(registry.url, "dev/website", "1.0", image)
    cancel = threading.Event()

    def progress(event: ProgressEvent) -> None:
        if event.kind == "blob-done":
            cancel.set()

    client = make_client(registry)
    promoter = Promoter(cancel=cancel, progress=progress)
    with pytest.raises(Cancelled, match=r"cancelled before the tag was written.*qa/website:1\.0"):
        promoter.promote(request(client, client))
    assert client.head_manifest("qa/website", "1.0") is None
    # blobs already in flight may land (harmless, unreferenced); the image itself never does
    assert client.head_manifest("qa/website", image.digest) is None


def test_cancel_inside_a_streamed_layer_stops_the_upload(
    registry_factory: RegistryFactory, make_client: ClientFactory
) -> None:
    src, dst, image = _cross(registry_factory, 204, layers=1, layer_size=600 * KiB)
    cancel = threading.Event()

    def progress(event: ProgressEvent) -> None:
        if event.kind == "blob-progress":
            cancel.set()

    target = make_client(dst)
    promoter = Promoter(chunk_size=64 * KiB, cancel=cancel, progress=progress)
    with pytest.raises(Cancelled):
        promoter.promote(request(make_client(src), target))
    assert target.head_manifest("qa/website", "1.0") is None
    assert target.head_blob("qa/website", image.blobs[1].digest) is None


def test_a_digest_rewritten_before_tagging_stops_the_promotion(
    registry_factory: RegistryFactory, make_client: ClientFactory
) -> None:
    src, dst, image = _cross(registry_factory, 205)
    transport = FaultyTransport()
    transport.add("PUT", f"/manifests/{image.digest}", rewrite_digest)
    target = make_client(dst, transport=transport)
    with pytest.raises(DigestMismatch, match="was stopped and nothing was tagged") as caught:
        Promoter().promote(request(make_client(src), target))
    assert FAKE_DIGEST in str(caught.value)
    assert target.head_manifest("qa/website", "1.0") is None


def test_a_digest_rewritten_on_the_tag_put_fails_loudly(
    registry_factory: RegistryFactory, make_client: ClientFactory
) -> None:
    src, dst, image = _cross(registry_factory, 206)
    transport = FaultyTransport()
    transport.add("PUT", "/manifests/1.0", rewrite_digest)
    with pytest.raises(DigestMismatch) as caught:
        Promoter().promote(request(make_client(src), make_client(dst, transport=transport)))
    message = str(caught.value)
    assert "dev/website:1.0 to qa/website:1.0 failed at the last step" in message
    assert image.digest in message and FAKE_DIGEST in message


def mount_from_elsewhere(request: httpx.Request, inner: httpx.BaseTransport) -> httpx.Response:
    """Ask the real registry to mount from a repository without the blob: it answers 202."""
    url = request.url.copy_set_param("from", "nowhere/empty")
    return inner.handle_request(httpx.Request(request.method, url, headers=request.headers))


def test_a_mount_answered_with_an_upload_session_streams_that_blob(
    registry: RegistryServer, make_client: ClientFactory
) -> None:
    image = build_image(layers=3, seed=207)
    push_image(registry.url, "dev/website", "1.0", image)
    transport = FaultyTransport()
    transport.add("POST", "/blobs/uploads/", mount_from_elsewhere)
    client = make_client(registry, transport=transport)
    outcome = Promoter().promote(request(client, client))
    assert ("POST", "/v2/qa/website/blobs/uploads/", 202) in transport.log
    assert (outcome.stats.blobs_mounted, outcome.stats.blobs_uploaded) == (3, 1)
    assert not [m for m, path, _ in transport.log if m == "HEAD" and "/blobs/" in path]
    assert skopeo_inspect(registry.host, "qa/website", "1.0", raw=True) == image.manifest
