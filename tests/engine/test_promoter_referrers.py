"""Signatures, SBOMs and attestations travel with the image they refer to, and end up
discoverable in the target the way distribution 2.8 allows: the ``sha256-<hex>`` index."""

from __future__ import annotations

import json

from hoister.engine.promoter import Promoter, PromotionRequest
from hoister.registry import RegistryClient, fallback_tag
from tests.registry.conftest import ClientFactory
from tests.registry.faults import FaultyTransport
from tests.support.fixtures import RegistryFactory
from tests.support.images import (
    OCI_INDEX,
    Image,
    build_artifact,
    build_image,
    build_index,
    push_image,
)
from tests.support.registry import RegistryServer

SPDX = "application/spdx+json"


def request(
    source: RegistryClient, target: RegistryClient, copy_referrers: bool = True
) -> PromotionRequest:
    return PromotionRequest(
        source, "dev/website", "1.0", target, "qa/website", "1.0", copy_referrers=copy_referrers
    )


def fallback_index(*entries: dict[str, object]) -> Image:
    body = {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": list(entries)}
    return Image(json.dumps(body).encode(), OCI_INDEX, [], {}, [])


def push_signed(server: RegistryServer, seed: int) -> tuple[Image, Image, Image]:
    """An image, an SBOM listed in its fallback index, and a cosign-style ``.sig`` tag."""
    image = build_image(seed=seed)
    push_image(server.url, "dev/website", "1.0", image)
    sbom = build_artifact(image, SPDX, b'{"spdxVersion":"SPDX-2.3"}', SPDX)
    push_image(server.url, "dev/website", sbom.digest, sbom)
    entry = {**sbom.descriptor(), "artifactType": SPDX}
    push_image(server.url, "dev/website", fallback_tag(image.digest), fallback_index(entry))
    signature = build_image(layers=1, layer_size=200, seed=seed + 1)
    push_image(server.url, "dev/website", fallback_tag(image.digest) + ".sig", signature)
    return image, sbom, signature


def test_referrers_and_cosign_tags_are_copied_across_registries(
    registry_factory: RegistryFactory, make_client: ClientFactory
) -> None:
    src, dst = registry_factory(), registry_factory()
    image, sbom, signature = push_signed(src, 301)
    transport = FaultyTransport()
    target = make_client(dst, transport=transport)
    outcome = Promoter().promote(request(make_client(src), target))
    assert outcome.referrers_copied == 2
    assert target.head_manifest("qa/website", sbom.digest) is not None
    found = target.referrers("qa/website", image.digest)
    assert [(d.digest, d.artifact_type) for d in found] == [(sbom.digest, SPDX)]
    sig = target.head_manifest("qa/website", fallback_tag(image.digest) + ".sig")
    assert sig is not None and sig.digest == signature.digest
    puts = [path for method, path, _ in transport.log if method == "PUT" and "/manifests/" in path]
    assert puts[-1] == "/v2/qa/website/manifests/1.0"  # signatures are there before the tag


def test_referrers_stay_behind_when_the_policy_says_so(
    registry_factory: RegistryFactory, make_client: ClientFactory
) -> None:
    src, dst = registry_factory(), registry_factory()
    image, sbom, _ = push_signed(src, 303)
    target = make_client(dst)
    outcome = Promoter().promote(request(make_client(src), target, copy_referrers=False))
    assert (outcome.status, outcome.referrers_copied) == ("promoted", 0)
    assert target.head_manifest("qa/website", sbom.digest) is None
    assert target.referrers_tag_index("qa/website", image.digest) is None
    assert target.head_manifest("qa/website", fallback_tag(image.digest) + ".sig") is None


def test_an_existing_fallback_index_is_merged_not_replaced(
    registry: RegistryServer, make_client: ClientFactory
) -> None:
    image, sbom, _ = push_signed(registry, 305)
    other = build_artifact(image, "application/vnd.example+json", b"{}", "application/json")
    push_image(registry.url, "qa/website", other.digest, other)
    mine = {**other.descriptor(), "artifactType": "application/vnd.example+json", "x-keep": 1}
    push_image(registry.url, "qa/website", fallback_tag(image.digest), fallback_index(mine))
    client = make_client(registry)
    Promoter().promote(request(client, client))
    merged = client.referrers_tag_index("qa/website", image.digest)
    assert merged is not None
    assert [d.digest for d in merged.manifests] == [other.digest, sbom.digest]
    assert merged.json["manifests"][0]["x-keep"] == 1


def test_promoting_again_to_another_tag_does_not_rewrite_the_index(
    registry: RegistryServer, make_client: ClientFactory
) -> None:
    image, _, _ = push_signed(registry, 307)
    client = make_client(registry)
    Promoter().promote(request(client, client))
    transport = FaultyTransport()
    again = make_client(registry, transport=transport)
    second = PromotionRequest(again, "dev/website", "1.0", again, "qa/website", "latest")
    assert Promoter().promote(second).referrers_copied == 2
    index_tag = fallback_tag(image.digest)
    assert not [p for m, p, _ in transport.log if m == "PUT" and p.endswith(index_tag)]


def test_referrers_of_index_children_are_copied_too(
    registry_factory: RegistryFactory, make_client: ClientFactory
) -> None:
    child = build_image(seed=309)
    index = build_index([child, build_image(seed=310, platform=("linux", "arm64"))])
    src, dst = registry_factory(), registry_factory()
    push_image(src.url, "dev/website", "1.0", index)
    signature = build_image(layers=1, layer_size=100, seed=311)
    push_image(src.url, "dev/website", fallback_tag(child.digest) + ".sig", signature)
    target = make_client(dst)
    outcome = Promoter().promote(request(make_client(src), target))
    assert outcome.referrers_copied == 1
    sig = target.head_manifest("qa/website", fallback_tag(child.digest) + ".sig")
    assert sig is not None and sig.digest == signature.digest


def test_referrers_are_found_from_one_listing_and_only_existing_tags_are_read(
    registry: RegistryServer, make_client: ClientFactory
) -> None:
    image, sbom, signature = push_signed(registry, 313)
    transport = FaultyTransport()
    client = make_client(registry, transport=transport)
    client.cache.referrers_api = False  # learned by an earlier probe (distribution 2.8)
    client.list_tags("dev/website")  # the poll's listing
    before = len(transport.log)
    outcome = Promoter().promote(request(client, client))
    assert outcome.referrers_copied == 2
    reads = [p for m, p, _ in transport.log[before:] if m == "GET" and p.startswith("/v2/dev/")]
    tag = fallback_tag(image.digest)
    assert sorted(reads) == sorted(
        [
            "/v2/dev/website/manifests/1.0",
            f"/v2/dev/website/manifests/{tag}",
            f"/v2/dev/website/manifests/{sbom.digest}",
            f"/v2/dev/website/manifests/{tag}.sig",
        ]
    )  # no .att, no .sbom, no second listing, no referrers API probe
    found = client.referrers("qa/website", image.digest)
    assert [d.digest for d in found] == [sbom.digest]
    sig = client.head_manifest("qa/website", f"{tag}.sig")
    assert sig is not None and sig.digest == signature.digest
