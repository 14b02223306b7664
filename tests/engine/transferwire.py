"""What the streaming tests share: recording transports and the copy they check.

The recording transport forwards every request to the real registry untouched; it only
notes, as events, when a blob download ended and when an upload body was first read
from, so a test can tell that the two overlapped without measuring time."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterator

import httpx

from hoister.engine.promoter import Promoter, PromotionRequest
from hoister.registry import RegistryClient
from tests.support.cutproxy import CutProxy, Exchange
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


def promote(source: RegistryClient, target: RegistryClient, repo: str, part: int) -> None:
    outcome = Promoter(chunk_size=part).promote(
        PromotionRequest(source, f"dev/{repo}", "1.0", target, f"qa/{repo}", "1.0")
    )
    assert outcome.status == "promoted"


def check_from_outside(url: str, host: str, repo: str, image: Image) -> None:
    """skopeo reads the manifest; an independent GET re-hashes every blob."""
    assert skopeo_inspect(host, f"qa/{repo}", "1.0", raw=True) == image.manifest
    for blob in image.blobs:
        data = httpx.get(f"{url}/v2/qa/{repo}/blobs/{blob.digest}", follow_redirects=True).content
        assert "sha256:" + hashlib.sha256(data).hexdigest() == blob.digest


def pushed(registry: RegistryServer, repo: str, seed: int, layers: int, size: int) -> Image:
    image = build_image(layers=layers, layer_size=size, seed=seed)
    push_image(registry.url, f"dev/{repo}", "1.0", image)
    return image


def uploads(proxy: CutProxy, method: str) -> list[Exchange]:
    """Upload requests of ``method``; for POST the upload sessions opened (202): a POST
    answered 201 is a mount (the copy's one question whether the registry honours
    mounts) and opens none."""
    return [
        e
        for e in proxy.log
        if e.method == method
        and "/blobs/uploads/" in e.path
        and (method != "POST" or e.status == 202)
    ]
