"""Manifests of every type: read back byte for byte, written, checked, deleted."""

from __future__ import annotations

import json

import httpx
import pytest

from hoister.registry import DigestMismatch, NotFound, RegistryClient, Unsupported
from hoister.registry import mediatypes as mt
from hoister.registry.client import RELINK_PAUSES
from tests.registry.conftest import ClientFactory
from tests.registry.faults import FaultyTransport
from tests.support.fixtures import RegistryFactory
from tests.support.images import (
    Image,
    build_artifact,
    build_image,
    build_index,
    push_image,
    skopeo_inspect,
)
from tests.support.registry import RegistryServer


def _images() -> dict[str, Image]:
    amd = build_image(seed=20, labels={"org.opencontainers.image.title": "website"})
    arm = build_image(seed=21, platform=("linux", "arm64", "v8"))
    docker_amd = build_image(seed=22, fmt="docker")
    docker_arm = build_image(seed=23, fmt="docker", platform=("linux", "arm64"))
    return {
        mt.OCI_MANIFEST: amd,
        mt.DOCKER_MANIFEST: docker_amd,
        mt.OCI_INDEX: build_index([amd, arm]),
        mt.DOCKER_LIST: build_index([docker_amd, docker_arm], fmt="docker"),
    }


@pytest.mark.parametrize(
    "media_type", [mt.OCI_MANIFEST, mt.DOCKER_MANIFEST, mt.OCI_INDEX, mt.DOCKER_LIST]
)
def test_every_manifest_type_reads_back_exactly(
    registry: RegistryServer, make_client: ClientFactory, media_type: str
) -> None:
    image = _images()[media_type]
    push_image(registry.url, "dev/website", "1.0", image)
    client = make_client(registry)
    manifest = client.get_manifest("dev/website", "1.0")
    assert manifest.data == image.manifest
    assert manifest.digest == image.digest
    assert manifest.media_type == media_type
    head = client.head_manifest("dev/website", "1.0")
    assert head is not None
    assert (head.digest, head.media_type, head.size) == (
        image.digest,
        media_type,
        len(image.manifest),
    )
    if manifest.is_index:
        expected = ["linux/amd64", "linux/arm64/v8"] if media_type == mt.OCI_INDEX else []
        expected = expected or ["linux/amd64", "linux/arm64"]
        assert [str(p) for p in manifest.platforms] == expected
        child = client.get_manifest("dev/website", manifest.manifests[1].digest)
        assert child.data == image.children[1].manifest
    else:
        assert [layer.digest for layer in manifest.layers] == [b.digest for b in image.blobs[1:]]
        config = client.get_config("dev/website", manifest)
        assert config["architecture"] == "amd64"


def test_head_of_missing_manifest_is_none(
    registry: RegistryServer, make_client: ClientFactory
) -> None:
    push_image(registry.url, "dev/website", "1.0", build_image(seed=24))
    assert make_client(registry).head_manifest("dev/website", "2.0") is None


def _push_with_client(client: RegistryClient, repo: str, tag: str, image: Image) -> None:
    for child in image.children:
        _push_with_client(client, repo, child.digest, child)
    for blob in image.blobs:
        if client.head_blob(repo, blob.digest) is None:
            client.upload_blob(repo, blob.digest, blob.data)
    client.put_manifest(repo, tag, image.manifest, image.media_type)


@pytest.mark.parametrize("media_type", [mt.OCI_INDEX, mt.DOCKER_MANIFEST])
def test_skopeo_reads_what_hoister_pushed(
    registry: RegistryServer, make_client: ClientFactory, media_type: str
) -> None:
    image = _images()[media_type]
    _push_with_client(make_client(registry), "qa/website", "1.4-stable", image)
    raw = skopeo_inspect(registry.host, "qa/website", "1.4-stable", raw=True)
    assert raw == image.manifest
    if not image.is_index:
        info = skopeo_inspect(registry.host, "qa/website", "1.4-stable")
        assert isinstance(info, dict)
        assert info["Digest"] == image.digest
        assert info["Layers"] == [b.digest for b in image.blobs[1:]]


def test_manifest_put_with_missing_blob_is_refused(
    registry: RegistryServer, make_client: ClientFactory, sleeps: list[float]
) -> None:
    image = build_image(seed=25)
    with pytest.raises(Exception, match="MANIFEST_BLOB_UNKNOWN"):
        make_client(registry).put_manifest("dev/website", "1.0", image.manifest, image.media_type)
    assert sleeps == list(RELINK_PAUSES)  # asked again after each pause, then refused


def _relinked(request: httpx.Request, inner: httpx.BaseTransport) -> httpx.Response:
    """What distribution answers when it reads a blob's link while another request
    rewrites it (an empty link file)."""
    errors = [
        {"code": "DIGEST_INVALID", "message": "provided digest did not match uploaded content"},
        {"code": "BLOB_UNKNOWN", "message": "blob unknown to registry"},
    ]
    return httpx.Response(400, json={"errors": errors})


def test_a_put_refused_while_a_blob_is_relinked_is_asked_again(
    registry: RegistryServer, make_client: ClientFactory, sleeps: list[float]
) -> None:
    image = build_image(seed=27)
    push_image(registry.url, "dev/website", "1.0", image)
    faulty = FaultyTransport()
    faulty.add("PUT", "/manifests/1.1", _relinked)
    client = make_client(registry, transport=faulty)
    assert client.put_manifest("dev/website", "1.1", image.manifest, image.media_type) == (
        image.digest
    )
    puts = [status for method, path, status in faulty.log if method == "PUT"]
    assert puts == [400, 201]
    assert sleeps == [RELINK_PAUSES[0]]
    assert skopeo_inspect(registry.host, "dev/website", "1.1")["Digest"] == image.digest


def test_digest_mismatch_is_refused(make_client: ClientFactory) -> None:
    image = build_image(seed=26)
    tampered = image.manifest.replace(b'"schemaVersion": 2', b'"schemaVersion":2')
    assert tampered != image.manifest

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            200,
            content=tampered,
            headers={"Content-Type": image.media_type, "Docker-Content-Digest": image.digest},
        )

    client = make_client("https://registry.test", transport=httpx.MockTransport(handler))
    with pytest.raises(DigestMismatch, match="does not match its digest"):
        client.get_manifest("dev/website", "1.0")
    with pytest.raises(DigestMismatch):
        client.get_manifest("dev/website", image.digest)


def test_delete_removes_every_tag_of_the_digest(
    registry: RegistryServer, make_client: ClientFactory
) -> None:
    image = build_image(seed=27)
    push_image(registry.url, "dev/website", "1.0", image)
    push_image(registry.url, "dev/website", "latest", image)
    push_image(registry.url, "dev/website", "2.0", build_image(seed=28))
    client = make_client(registry)
    client.delete_manifest("dev/website", image.digest)
    assert list(client.tags("dev/website")) == ["2.0"]
    with pytest.raises(NotFound):
        client.get_manifest("dev/website", image.digest)


def test_delete_disabled_gives_the_registry_reason(
    registry_factory: RegistryFactory, make_client: ClientFactory
) -> None:
    server = registry_factory(delete_enabled=False)
    image = build_image(seed=29)
    push_image(server.url, "dev/website", "1.0", image)
    with pytest.raises(Unsupported, match=r"405 UNSUPPORTED .* while deleting dev/website@sha256:"):
        make_client(server).delete_manifest("dev/website", image.digest)


def test_referrers_fall_back_to_the_digest_tag(
    registry: RegistryServer, make_client: ClientFactory
) -> None:
    image = build_image(seed=30)
    push_image(registry.url, "dev/website", "1.0", image)
    sbom = build_artifact(
        image, "application/spdx+json", b'{"spdxVersion":"SPDX-2.3"}', "application/spdx+json"
    )
    push_image(registry.url, "dev/website", sbom.digest, sbom)
    client = make_client(registry)
    assert client.referrers("dev/website", image.digest) == []
    entry = {**sbom.descriptor(), "artifactType": "application/spdx+json"}
    body = {"schemaVersion": 2, "mediaType": mt.OCI_INDEX, "manifests": [entry]}
    fallback = Image(json.dumps(body).encode(), mt.OCI_INDEX, [], {}, [])
    push_image(
        registry.url, "dev/website", "sha256-" + image.digest.removeprefix("sha256:"), fallback
    )
    found = client.referrers("dev/website", image.digest)
    assert [(d.digest, d.artifact_type) for d in found] == [(sbom.digest, "application/spdx+json")]
    assert client.referrers("dev/website", image.digest, artifact_type="application/other") == []


def test_referrers_api_is_used_where_it_exists(make_client: ClientFactory) -> None:
    digest = "sha256:" + "a" * 64
    index = {
        "schemaVersion": 2,
        "mediaType": mt.OCI_INDEX,
        "manifests": [
            {
                "mediaType": mt.OCI_MANIFEST,
                "digest": "sha256:" + "b" * 64,
                "size": 500,
                "artifactType": "application/vnd.dev.cosign.artifact.sig.v1+json",
            }
        ],
    }

    def handler(request: httpx.Request) -> httpx.Response:
        assert request.url.path == f"/v2/dev/website/referrers/{digest}"
        return httpx.Response(200, json=index, headers={"Content-Type": mt.OCI_INDEX})

    client = make_client("https://registry.test", transport=httpx.MockTransport(handler))
    found = client.referrers("dev/website", digest)
    assert [d.artifact_type for d in found] == ["application/vnd.dev.cosign.artifact.sig.v1+json"]
