"""What a copy across registries asks the target before it streams a blob: once the
registry is known to honour mounts, one request (a mount of the blob from the target
repository into itself: 201 there, 202 a session to upload into) instead of a HEAD and a
POST; a registry that ignores mounts keeps the HEAD, so no blob it has is sent again."""

from __future__ import annotations

import hashlib

import httpx

from hoister.engine.promoter import Promoter, PromotionOutcome, PromotionRequest
from hoister.registry import RegistryClient
from tests.engine.transferwire import KiB
from tests.registry.conftest import ClientFactory
from tests.support.fixtures import RegistryFactory
from tests.support.images import Image, build_image, push_blob, push_image
from tests.support.registry import RegistryServer


class Wire(httpx.BaseTransport):
    """The real transport, noting each blob request: method, mount source, status."""

    def __init__(self, ignore_mounts: bool = False, refuse_mounts: bool = False) -> None:
        self.inner = httpx.HTTPTransport()
        self.ignore_mounts = ignore_mounts
        self.refuse_mounts = refuse_mounts
        self.asked: list[tuple[str, str | None, int]] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        mount = request.url.params.get("from") if request.method == "POST" else None
        if mount is not None and self.refuse_mounts:
            response = httpx.Response(405, json={"errors": [{"code": "UNSUPPORTED"}]})
        else:
            if mount is not None and self.ignore_mounts:
                # a registry without mounts: every mount POST opens a plain session
                request.url = request.url.copy_with(query=None)
            response = self.inner.handle_request(request)
        if "/blobs/" in path:
            self.asked.append((request.method, mount, response.status_code))
        return response

    def count(self, method: str, *, mount: bool | None = None, status: int | None = None) -> int:
        return sum(
            1
            for asked_method, source, asked_status in self.asked
            if asked_method == method
            and (mount is None or (source is not None) == mount)
            and (status is None or asked_status == status)
        )

    def close(self) -> None:
        self.inner.close()


def _images(src: RegistryServer) -> tuple[Image, Image]:
    first = build_image(layers=2, layer_size=100 * KiB, seed=371)
    second = build_image(layers=2, layer_size=100 * KiB, seed=372)
    push_image(src.url, "dev/app", "1.0", first)
    push_image(src.url, "dev/app", "2.0", second)
    return first, second


def _promote(source: RegistryClient, target: RegistryClient, tag: str) -> PromotionOutcome:
    outcome = Promoter().promote(
        PromotionRequest(source, "dev/app", tag, target, "qa/app", tag, copy_referrers=False)
    )
    assert outcome.status == "promoted"
    return outcome


def _check(dst: RegistryServer, tag: str, image: Image) -> None:
    accept = {"Accept": image.media_type}
    got = httpx.get(f"{dst.url}/v2/qa/app/manifests/{tag}", headers=accept)
    assert got.content == image.manifest
    for blob in image.blobs:
        data = httpx.get(f"{dst.url}/v2/qa/app/blobs/{blob.digest}").content
        assert "sha256:" + hashlib.sha256(data).hexdigest() == blob.digest


def test_a_registry_that_honours_mounts_is_asked_once_per_blob(
    registry_factory: RegistryFactory, make_client: ClientFactory
) -> None:
    src, dst = registry_factory(), registry_factory()
    first, second = _images(src)
    there = second.blobs[1]  # put into the target by someone else: unknown to the client
    with httpx.Client() as pusher:
        push_blob(pusher, dst.url, "qa/app", there)
    wire = Wire()
    source, target = make_client(src), make_client(dst, transport=wire)
    _promote(source, target, "1.0")
    # not known yet: HEAD first; the first upload then asks once (a mount of that blob),
    # and a copy that starts only after that answer asks with the mount alone
    asked_once = wire.count("HEAD") + wire.count("POST", mount=True, status=202)
    assert asked_once == len(first.blobs)
    assert wire.count("HEAD") >= 1
    assert wire.count("POST", mount=True, status=201) == 1
    assert target.cache.honours_mounts is True
    wire.asked.clear()
    outcome = _promote(source, target, "2.0")
    assert wire.count("HEAD") == 0
    assert wire.count("POST", mount=False) == 0
    assert wire.count("POST", mount=True, status=201) == 1  # the blob already there
    assert wire.count("POST", mount=True, status=202) == len(second.blobs) - 1
    assert wire.count("PUT") == len(second.blobs) - 1
    assert outcome.stats.blobs_present == 1
    assert outcome.stats.bytes_moved == sum(b.size for b in second.blobs) - there.size
    _check(dst, "1.0", first)
    _check(dst, "2.0", second)


def test_a_registry_that_ignores_mounts_keeps_the_head_and_gets_no_blob_twice(
    registry_factory: RegistryFactory, make_client: ClientFactory
) -> None:
    src, dst = registry_factory(), registry_factory()
    _, second = _images(src)
    there = second.blobs[1]
    with httpx.Client() as pusher:
        push_blob(pusher, dst.url, "qa/app", there)
    wire = Wire(ignore_mounts=True)
    source, target = make_client(src), make_client(dst, transport=wire)
    _promote(source, target, "1.0")
    assert target.cache.honours_mounts is False  # the mount of a blob it has opened a session
    assert wire.count("DELETE") == 1  # and that session was given back
    wire.asked.clear()
    outcome = _promote(source, target, "2.0")
    assert wire.count("HEAD") == len(second.blobs)
    assert wire.count("POST", mount=True) == 0
    assert outcome.stats.blobs_present == 1
    assert outcome.stats.bytes_moved == sum(b.size for b in second.blobs) - there.size
    _check(dst, "2.0", second)


def test_a_refused_mount_falls_back_to_the_head(
    registry_factory: RegistryFactory, make_client: ClientFactory
) -> None:
    src, dst = registry_factory(), registry_factory()
    _, second = _images(src)
    wire = Wire(refuse_mounts=True)
    source, target = make_client(src), make_client(dst, transport=wire)
    target.cache.honours_mounts = True  # as a registry that took mounts until now
    outcome = _promote(source, target, "2.0")
    assert target.cache.honours_mounts is False
    # refused (by the copies that asked before the first refusal), then the plain way
    assert 1 <= wire.count("POST", mount=True) <= len(second.blobs)
    assert wire.count("HEAD") == len(second.blobs)
    assert outcome.stats.blobs_uploaded == len(second.blobs)
    _check(dst, "2.0", second)


def test_a_blob_this_client_put_into_a_repository_is_not_asked_about_again(
    registry_factory: RegistryFactory, make_client: ClientFactory
) -> None:
    src, dst = registry_factory(), registry_factory()
    first, _ = _images(src)
    wire = Wire()
    source, target = make_client(src), make_client(dst, transport=wire)
    _promote(source, target, "1.0")
    wire.asked.clear()
    # the same image under another tag of the same repository: every blob is known there
    outcome = Promoter().promote(
        PromotionRequest(source, "dev/app", "1.0", target, "qa/app", "1.0-again")
    )
    assert outcome.status == "promoted"
    assert [asked for asked in wire.asked if asked[0] != "GET"] == []
    assert outcome.stats.blobs_present == len(first.blobs)
    assert outcome.stats.bytes_moved == 0
