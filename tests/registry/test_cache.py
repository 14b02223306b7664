"""The client's memory: manifests by digest (no request the second time), tag listings
with their age, and Hoister's own writes keeping a listing truthful."""

from __future__ import annotations

import pytest

from hoister.registry import Manifest, NotFound
from hoister.registry.cache import RegistryCache
from tests.registry.conftest import ClientFactory
from tests.registry.faults import FaultyTransport
from tests.support.images import build_image, push_image
from tests.support.registry import RegistryServer


def manifest(seed: int, padding: int = 0) -> Manifest:
    data = b'{"schemaVersion":2,"layers":[],"n":%d,"p":"%s"}' % (seed, b"x" * padding)
    return Manifest.parse(data, f"sha256:{seed:064x}", "application/vnd.oci.image.manifest.v1+json")


def test_manifests_are_bounded_by_bytes_oldest_first() -> None:
    cache = RegistryCache(manifest_bytes=4000)
    kept = [manifest(n, 900) for n in range(5)]
    for item in kept:
        cache.keep_manifest("qa/website", item)
    assert cache.manifest("qa/website", kept[0].digest) is None  # pushed out
    assert cache.manifest("qa/website", kept[4].digest) is kept[4]
    assert cache.manifest("dev/website", kept[4].digest) is None  # per repository
    cache.keep_manifest("qa/website", manifest(9, 2000))  # over a quarter: not kept
    assert cache.manifest("qa/website", f"sha256:{9:064x}") is None


def test_a_listing_is_recent_for_its_age_and_learns_hoisters_writes() -> None:
    now = [100.0]
    cache = RegistryCache(clock=lambda: now[0])
    cache.keep_tags("qa/website", ["1.0"], at=now[0])
    now[0] = 104.0
    assert cache.recent_tags("qa/website", 5.0) == {"1.0"}
    assert cache.recent_tags("qa/website", 4.0) is None
    cache.tag_written("qa/website", "1.1")
    assert cache.recent_tags("qa/website", 5.0) == {"1.0", "1.1"}
    cache.forget_tags("qa/website")
    assert cache.recent_tags("qa/website", 1e9) is None


def test_listings_are_bounded_by_names() -> None:
    cache = RegistryCache(listed_names=5)
    cache.keep_tags("a", ["1", "2", "3"], at=0.0)
    cache.keep_tags("b", ["1", "2", "3"], at=0.0)
    assert cache.recent_tags("a", 1e9) is None
    assert cache.recent_tags("b", 1e9) == {"1", "2", "3"}


def test_a_get_by_digest_already_read_makes_no_request(
    registry: RegistryServer, make_client: ClientFactory
) -> None:
    image = build_image(seed=701)
    push_image(registry.url, "dev/website", "1.0", image)
    transport = FaultyTransport()
    client = make_client(registry, transport=transport)
    by_tag = client.get_manifest("dev/website", "1.0")
    assert client.get_manifest("dev/website", image.digest) is by_tag
    assert client.cached_manifest("dev/website", image.digest) is by_tag
    assert client.cached_manifest("qa/website", image.digest) is None
    assert [m for m, _, _ in transport.log] == ["GET"]
    client.get_manifest("dev/website", "1.0")  # a tag may have moved: always asked
    assert len(transport.log) == 2


def test_tags_are_remembered_and_writes_keep_the_listing_true(
    registry: RegistryServer, make_client: ClientFactory
) -> None:
    image = build_image(seed=702)
    push_image(registry.url, "qa/website", "1.0", image)
    client = make_client(registry)
    now = [50.0]
    client.cache.clock = lambda: now[0]
    assert client.recent_tags("qa/website", 10.0) is None
    assert list(client.tags("qa/website")) == ["1.0"]
    now[0] = 55.0
    assert client.recent_tags("qa/website", 10.0) == ["1.0"]
    assert client.listed("qa/website", "2.0", 10.0) is False
    client.put_manifest("qa/website", "2.0", image.manifest, image.media_type)
    assert client.recent_tags("qa/website", 10.0) == ["1.0", "2.0"]
    assert client.cached_manifest("qa/website", image.digest) is not None
    now[0] = 61.0
    assert client.recent_tags("qa/website", 10.0) is None  # too old now
    assert client.listed("qa/website", "2.0", 10.0) is None
    list(client.tags("qa/website"))
    client.delete_manifest("qa/website", image.digest)
    assert client.recent_tags("qa/website", 10.0) is None  # its tags went with it
    assert client.cached_manifest("qa/website", image.digest) is None


def test_a_repository_that_does_not_exist_is_listed_as_empty(
    registry: RegistryServer, make_client: ClientFactory
) -> None:
    client = make_client(registry)
    assert client.list_tags("nowhere/at-all") == []
    assert client.recent_tags("nowhere/at-all", 10.0) == []
    with pytest.raises(NotFound):
        list(client.tags("nowhere/at-all"))  # still an error for those who list directly


def test_a_single_page_of_tags_is_a_whole_listing(
    registry: RegistryServer, make_client: ClientFactory
) -> None:
    image = build_image(seed=703)
    for tag in ("1.0", "1.1", "1.2"):
        push_image(registry.url, "qa/website", tag, image)
    client = make_client(registry)
    later = client.tags_page("qa/website", "/v2/qa/website/tags/list?n=10")
    assert later.next_url is None  # a page named by a cursor is never a whole listing
    assert client.recent_tags("qa/website", 10.0) is None
    client.tags_page("qa/website")
    assert client.recent_tags("qa/website", 10.0) == ["1.0", "1.1", "1.2"]
