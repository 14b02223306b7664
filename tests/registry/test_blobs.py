"""Blob transfer on a real registry: monolithic and chunked uploads, mounts, verified reads,
and retries when the line or the registry fails part-way."""

from __future__ import annotations

import hashlib
import os

import httpx
import pytest

from hoister.registry import DigestMismatch, TooManyRequests, Unreachable
from hoister.registry.session import RetryPolicy
from tests.registry.conftest import ClientFactory
from tests.registry.faults import FaultyTransport, partial_then_reset, reset, unavailable
from tests.support.images import build_image, push_image
from tests.support.registry import RegistryServer


def _blob(size: int) -> tuple[bytes, str]:
    data = os.urandom(size)
    return data, "sha256:" + hashlib.sha256(data).hexdigest()


def test_monolithic_upload_and_verified_read(
    registry: RegistryServer, make_client: ClientFactory
) -> None:
    data, digest = _blob(300_000)
    client = make_client(registry)
    assert client.head_blob("dev/website", digest) is None
    assert client.upload_blob("dev/website", digest, data) == digest
    assert client.head_blob("dev/website", digest) == len(data)
    with client.open_blob("dev/website", digest, chunk_size=65536) as reader:
        assert reader.size == len(data)
        assert b"".join(reader) == data


def test_chunked_upload_from_a_stream_reports_progress(
    registry: RegistryServer, make_client: ClientFactory
) -> None:
    data, digest = _blob(1_000_000)
    progress: list[int] = []
    pieces = (data[i : i + 70_000] for i in range(0, len(data), 70_000))
    client = make_client(registry)
    client.upload_blob(
        "dev/website", digest, pieces, chunk_size=256 * 1024, progress=progress.append
    )
    assert progress == [262144, 524288, 786432, 1_000_000]
    assert client.get_blob("dev/website", digest) == data


def test_wrong_digest_upload_is_refused_and_leaves_nothing(
    registry: RegistryServer, make_client: ClientFactory
) -> None:
    data, _ = _blob(1000)
    _, other = _blob(10)
    client = make_client(registry)
    with pytest.raises(Exception, match="DIGEST_INVALID"):
        client.upload_blob("dev/website", other, data)
    assert client.head_blob("dev/website", other) is None


def test_mount_within_a_registry_moves_no_bytes(
    registry: RegistryServer, make_client: ClientFactory
) -> None:
    image = build_image(seed=40)
    push_image(registry.url, "dev/website", "1.0", image)
    transport = FaultyTransport()
    client = make_client(registry, transport=transport)
    for blob in image.blobs:
        assert client.mount_blob("qa/website", blob.digest, "dev/website") is True
    client.put_manifest("qa/website", "1.0", image.manifest, image.media_type)
    assert client.get_manifest("qa/website", "1.0").digest == image.digest
    assert [m for m, _, _ in transport.log if m in ("PATCH", "PUT")] == ["PUT"]  # the manifest only


def test_declined_mount_leaves_no_upload_behind(
    registry: RegistryServer, make_client: ClientFactory
) -> None:
    _, digest = _blob(10)
    transport = FaultyTransport()
    client = make_client(registry, transport=transport)
    assert client.mount_blob("qa/website", digest, "dev/website") is False
    assert transport.log[-1][0] == "DELETE"  # the upload session the registry opened is cancelled


def test_corrupt_blob_is_detected(make_client: ClientFactory) -> None:
    data, digest = _blob(5000)

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=data[:-1] + b"x")

    client = make_client("https://registry.test", transport=httpx.MockTransport(handler))
    with pytest.raises(DigestMismatch, match="corrupt or was cut short"):
        client.get_blob("dev/website", digest)


def test_503_with_retry_after_is_retried(
    registry: RegistryServer, make_client: ClientFactory, sleeps: list[float]
) -> None:
    data, digest = _blob(10_000)
    transport = FaultyTransport()
    transport.add("PUT", "/blobs/uploads/", unavailable(retry_after="3"), times=2)
    client = make_client(registry, transport=transport)
    client.upload_blob("dev/website", digest, data)
    assert sleeps == [3.0, 3.0]
    assert client.get_blob("dev/website", digest) == data


def test_connection_reset_is_retried_with_backoff(
    registry: RegistryServer, make_client: ClientFactory, sleeps: list[float]
) -> None:
    image = build_image(seed=41)
    push_image(registry.url, "dev/website", "1.0", image)
    transport = FaultyTransport()
    transport.add("GET", "/manifests/", reset, times=2)
    client = make_client(registry, transport=transport)
    assert client.get_manifest("dev/website", "1.0").digest == image.digest
    assert sleeps == [0.5, 1.0]


def test_chunk_cut_off_midway_restarts_the_upload(
    registry: RegistryServer, make_client: ClientFactory
) -> None:
    data, digest = _blob(600_000)
    transport = FaultyTransport()
    # the second chunk reaches the registry only part-way, then the connection drops
    transport.add("PATCH", "/blobs/uploads/", partial_then_reset(100_000), skip=1)
    client = make_client(registry, transport=transport)
    client.upload_blob("dev/website", digest, data, chunk_size=256 * 1024)
    assert client.get_blob("dev/website", digest) == data
    # distribution cancels a session that lost part of a chunk (404 BLOB_UPLOAD_INVALID on
    # the resend); the client then starts a fresh session from the first byte.
    patches = [status for method, _, status in transport.log if method == "PATCH"]
    assert 404 in patches
    assert [m for m, path, _ in transport.log if m == "POST"] == ["POST", "POST"]


def test_retries_run_out_with_a_clear_error(
    make_client: ClientFactory, sleeps: list[float]
) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            429,
            headers={"Retry-After": "1"},
            json={"errors": [{"code": "TOOMANYREQUESTS", "message": "slow down"}]},
        )

    client = make_client(
        "https://registry.test",
        transport=httpx.MockTransport(handler),
        retry=RetryPolicy(attempts=3),
    )
    with pytest.raises(
        TooManyRequests,
        match=r"429 TOOMANYREQUESTS from registry.test while listing repositories: slow down",
    ):
        list(client.catalog())
    assert sleeps == [1.0, 1.0]


def test_unreachable_registry(make_client: ClientFactory, sleeps: list[float]) -> None:
    client = make_client("http://127.0.0.1:9", retry=RetryPolicy(attempts=2))
    with pytest.raises(
        Unreachable, match=r"^Nothing is listening on 127.0.0.1:9; is the registry running"
    ):
        client.ping()
    assert sleeps == [0.5]


def test_https_to_a_plain_http_registry_is_explained(
    registry: RegistryServer, make_client: ClientFactory
) -> None:
    client = make_client(f"https://{registry.host}", retry=RetryPolicy(attempts=1))
    with pytest.raises(
        Unreachable,
        match=r"TLS handshake with .* failed: the server may speak plain HTTP — try http://",
    ):
        client.ping()
