"""Streaming between two real registries: download and upload overlap for blobs smaller
and larger than a part, memory stays bounded whatever the blob size, and an upload cut
part-way goes on from the registry's offset with a ranged read of the source.

The recording transports below forward every request to the real registry untouched;
they only note, as events, when a download ended and when an upload body was first read
from. Cuts come from a real proxy (``tests/support/cutproxy.py``)."""

from __future__ import annotations

import hashlib
import threading
import tracemalloc
from collections.abc import Iterator

import httpx
import pytest

from hoister.engine.promoter import Promoter, PromotionRequest
from hoister.registry import DigestMismatch, RegistryClient
from tests.registry.conftest import ClientFactory
from tests.registry.faults import FaultyTransport
from tests.support.cutproxy import Cut, CutProxy, Exchange
from tests.support.fixtures import RegistryFactory
from tests.support.images import Image, build_image, push_image, skopeo_inspect
from tests.support.registry import RegistryServer

KiB = 1024
MiB = 1024 * KiB


class Events:
    """An ordered log of what happened on the wire, shared by both transports."""

    def __init__(self) -> None:
        self.items: list[tuple[str, str]] = []
        self.lock = threading.Lock()

    def add(self, kind: str, key: str) -> None:
        with self.lock:
            self.items.append((kind, key))

    def index(self, kind: str, key: str) -> int:
        return self.items.index((kind, key))


class _Noting(httpx.SyncByteStream):
    """A stream passed through as is, noting its first chunk and its end."""

    def __init__(self, inner: httpx.SyncByteStream, first: object, end: object) -> None:
        self.inner, self.first, self.end = inner, first, end

    def __iter__(self) -> Iterator[bytes]:
        started = False
        for chunk in self.inner:
            if not started and chunk:
                started = True
                self.first()  # type: ignore[operator]
            yield chunk
        self.end()  # type: ignore[operator]

    def close(self) -> None:
        self.inner.close()


class Recording(httpx.BaseTransport):
    """The real transport, noting blob download ends and upload body starts."""

    def __init__(self, events: Events) -> None:
        self.inner = httpx.HTTPTransport()
        self.events = events
        self.requests: list[httpx.Request] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        path = request.url.path
        if "/blobs/uploads/" in path and request.method in ("PATCH", "PUT"):
            session = path.rsplit("/", 1)[-1]
            request.stream = _Noting(
                request.stream,  # type: ignore[arg-type]
                lambda: self.events.add("upload-begins", session),
                lambda: None,
            )
            if request.method == "PUT":
                self.events.add("session-of", f"{session} {request.url.params['digest']}")
        response = self.inner.handle_request(request)
        if request.method == "GET" and "/blobs/sha256:" in path:
            digest = path.rsplit("/", 1)[-1]
            response.stream = _Noting(
                response.stream,  # type: ignore[arg-type]
                lambda: None,
                lambda: self.events.add("download-ends", digest),
            )
        return response

    def close(self) -> None:
        self.inner.close()


def _promote(source: RegistryClient, target: RegistryClient, repo: str, part: int) -> None:
    outcome = Promoter(chunk_size=part).promote(
        PromotionRequest(source, f"dev/{repo}", "1.0", target, f"qa/{repo}", "1.0")
    )
    assert outcome.status == "promoted"


def _check_from_outside(url: str, host: str, repo: str, image: Image) -> None:
    """skopeo reads the manifest; an independent GET re-hashes every blob."""
    assert skopeo_inspect(host, f"qa/{repo}", "1.0", raw=True) == image.manifest
    for blob in image.blobs:
        data = httpx.get(f"{url}/v2/qa/{repo}/blobs/{blob.digest}", follow_redirects=True).content
        assert "sha256:" + hashlib.sha256(data).hexdigest() == blob.digest


def _pushed(registry: RegistryServer, repo: str, seed: int, layers: int, size: int) -> Image:
    image = build_image(layers=layers, layer_size=size, seed=seed)
    push_image(registry.url, f"dev/{repo}", "1.0", image)
    return image


def test_upload_begins_before_the_download_ends_for_small_and_large_blobs(
    registry_factory: RegistryFactory, make_client: ClientFactory
) -> None:
    src, dst = registry_factory(), registry_factory()
    part = 1 * MiB
    large = _pushed(src, "large", 301, layers=2, size=3 * MiB)  # three parts each
    small = _pushed(src, "small", 302, layers=2, size=300 * KiB)  # one streamed PUT each
    events = Events()
    source = make_client(src, transport=Recording(events))
    target = make_client(dst, transport=Recording(events))
    _promote(source, target, "large", part)
    _promote(source, target, "small", part)
    sessions = dict(key.split(" ") for kind, key in events.items if kind == "session-of")
    by_digest = {digest: session for session, digest in sessions.items()}
    for image in (large, small):
        for layer in image.blobs[1:]:
            assert layer.size > 64 * KiB
            began = events.index("upload-begins", by_digest[layer.digest])
            assert began < events.index("download-ends", layer.digest), layer.digest
    _check_from_outside(dst.url, dst.host, "large", large)
    _check_from_outside(dst.url, dst.host, "small", small)


#: What one copy may hold at its peak, in Python allocations: far below one part (2 MiB
#: here) and the same for a blob of 1.5 MiB as for one of 12 MiB.
MEMORY_BOUND = 1 * MiB


def _peak_of_copy(source: RegistryClient, target: RegistryClient, repo: str) -> int:
    tracemalloc.start()
    try:
        _promote(source, target, repo, 2 * MiB)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_peak_memory_of_a_copy_is_bounded_whatever_the_blob_size(
    registry_factory: RegistryFactory, make_client: ClientFactory
) -> None:
    src, dst = registry_factory(), registry_factory()
    one_part = _pushed(src, "one-part", 311, layers=1, size=3 * MiB // 2)
    six_parts = _pushed(src, "six-parts", 312, layers=1, size=12 * MiB)
    source, target = make_client(src), make_client(dst)
    source.ping(), target.ping()  # connections and auth set up outside the measurement
    peaks = {repo: _peak_of_copy(source, target, repo) for repo in ("one-part", "six-parts")}
    assert all(peak < MEMORY_BOUND for peak in peaks.values()), peaks
    _check_from_outside(dst.url, dst.host, "one-part", one_part)
    _check_from_outside(dst.url, dst.host, "six-parts", six_parts)


def _uploads(proxy: CutProxy, method: str) -> list[Exchange]:
    return [e for e in proxy.log if e.method == method and "/blobs/uploads/" in e.path]


def test_an_upload_cut_part_way_goes_on_from_the_registry_offset(
    registry_factory: RegistryFactory, make_client: ClientFactory
) -> None:
    src, dst = registry_factory(), registry_factory()
    part = 1 * MiB
    image = _pushed(src, "app", 321, layers=1, size=4 * MiB)  # four PATCHes
    reads = Recording(Events())
    with CutProxy(dst.url) as proxy:
        # the second PATCH dies halfway through its body; a buffering proxy (as nginx
        # is by default) forwards nothing of it, so the session holds exactly one part
        proxy.cut(Cut("PATCH", "/blobs/uploads/", "buffered", after_bytes=part // 2, skip=1))
        _promote(make_client(src, transport=reads), make_client(proxy.url), "app", part)
        assert len(proxy.cuts) == 1
        assert len(_uploads(proxy, "POST")) == 2  # the layer's session, the config's: no restart
        asked = [(e.status, e.response.get("Range")) for e in _uploads(proxy, "GET")]
        assert asked == [(204, f"0-{part - 1}")]
        ranges = [r.headers.get("range") for r in reads.requests if "/blobs/sha256:" in r.url.path]
        assert f"bytes={part}-" in ranges
        # every byte of the layer reached the registry once (the cut part never arrived)
        patched = sum(int(e.request["Content-Length"]) for e in _uploads(proxy, "PATCH"))
        assert patched == image.blobs[1].size
    _check_from_outside(dst.url, dst.host, "app", image)


def test_a_registry_that_got_part_of_a_cut_body_gets_a_fresh_session(
    registry_factory: RegistryFactory, make_client: ClientFactory
) -> None:
    src, dst = registry_factory(), registry_factory()
    part = 1 * MiB
    image = _pushed(src, "app", 331, layers=1, size=3 * MiB)
    with CutProxy(dst.url) as proxy:
        # half of the second PATCH reaches distribution, which then cancels the session
        # (its bytes no longer match its Location): nothing to resume, so start again
        proxy.cut(Cut("PATCH", "/blobs/uploads/", "forwarded", after_bytes=part // 2, skip=1))
        _promote(make_client(src), make_client(proxy.url), "app", part)
        assert len(proxy.cuts) == 1
        assert [e.status for e in _uploads(proxy, "GET")] == [404]  # BLOB_UPLOAD_INVALID
        assert len(_uploads(proxy, "POST")) == 3  # layer, config, and the layer once more
    _check_from_outside(dst.url, dst.host, "app", image)


def test_a_download_cut_part_way_goes_on_with_a_ranged_read(
    registry_factory: RegistryFactory, make_client: ClientFactory
) -> None:
    src, dst = registry_factory(), registry_factory()
    part = 1 * MiB
    image = _pushed(src, "app", 341, layers=1, size=3 * MiB)
    layer = image.blobs[1]
    with CutProxy(src.url) as reads, CutProxy(dst.url) as writes:
        # the source dies 1.5 parts into the layer; the target (behind a buffering proxy)
        # holds the one part it acknowledged, and the copy reads on from there
        reads.cut(Cut("GET", f"/blobs/{layer.digest}", "answer", after_bytes=part * 3 // 2))
        _promote(make_client(reads.url), make_client(writes.url), "app", part)
        assert len(reads.cuts) == 1
        ranged = [e.request.get("Range") for e in reads.log if layer.digest in e.path]
        assert ranged == [None, f"bytes={part}-"]
        assert [e.response.get("Range") for e in _uploads(writes, "GET")] == [f"0-{part - 1}"]
        assert len(_uploads(writes, "POST")) == 2
    _check_from_outside(dst.url, dst.host, "app", image)


def _serve_whole(request: httpx.Request, inner: httpx.BaseTransport) -> httpx.Response:
    """A registry that ignores ``Range``: the whole blob, 200 (distribution honours it)."""
    headers = {k: v for k, v in request.headers.items() if k.lower() != "range"}
    return inner.handle_request(httpx.Request(request.method, request.url, headers=headers))


def _flip_a_byte(request: httpx.Request, inner: httpx.BaseTransport) -> httpx.Response:
    """A source whose storage rotted: one byte of the blob differs (no registry does this)."""
    response = inner.handle_request(request)
    body = bytearray(response.read())
    response.close()
    body[len(body) // 2] ^= 0xFF
    return httpx.Response(response.status_code, headers=response.headers, content=bytes(body))


def test_a_source_that_ignores_range_is_read_again_from_the_start(
    registry_factory: RegistryFactory, make_client: ClientFactory
) -> None:
    src, dst = registry_factory(), registry_factory()
    part = 1 * MiB
    image = _pushed(src, "app", 351, layers=1, size=3 * MiB)
    reads = FaultyTransport()
    reads.add("GET", f"/blobs/{image.blobs[1].digest}", _serve_whole, skip=1)
    with CutProxy(dst.url) as proxy:
        proxy.cut(Cut("PATCH", "/blobs/uploads/", "buffered", after_bytes=part // 2, skip=1))
        _promote(make_client(src, transport=reads), make_client(proxy.url), "app", part)
        assert reads.rules[0].hits == 1  # the resumed read came back whole, from byte 0
        assert len(_uploads(proxy, "POST")) == 2  # and the session still went on
    _check_from_outside(dst.url, dst.host, "app", image)


@pytest.mark.parametrize("size", [300 * KiB, 3 * MiB], ids=["one part", "three parts"])
def test_a_corrupt_source_blob_never_lands_in_the_target(
    registry_factory: RegistryFactory, make_client: ClientFactory, size: int
) -> None:
    src, dst = registry_factory(), registry_factory()
    image = _pushed(src, "app", 361, layers=1, size=size)
    layer = image.blobs[1]
    reads = FaultyTransport()
    reads.add("GET", f"/blobs/{layer.digest}", _flip_a_byte)
    target = make_client(dst)
    with pytest.raises(DigestMismatch, match="corrupt or was cut short"):
        _promote(make_client(src, transport=reads), target, "app", 1 * MiB)
    assert target.head_blob("qa/app", layer.digest) is None
    assert target.head_manifest("qa/app", "1.0") is None
