"""The soak's flaky proxy: a fault tool is only useful if it forwards faithfully otherwise.

Without faults, a push through the proxy must land in the real registry byte for byte
(uploads, redirects to upload locations, manifests, HEADs), and each configured fault
must reach the client as the failure it stands for and be counted.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from bench.flakyproxy import FaultRates, FlakyProxy

from tests.support.images import MANIFEST_TYPES, build_image, push_image
from tests.support.registry import RegistryServer


@pytest.fixture
def proxy_for(registry: RegistryServer) -> Iterator[list[FlakyProxy]]:
    started: list[FlakyProxy] = []
    yield started
    for proxy in started:
        proxy.stop()


def _proxy(started: list[FlakyProxy], registry: RegistryServer, rates: FaultRates) -> FlakyProxy:
    proxy = FlakyProxy(registry.url, rates, seed=1).start()
    started.append(proxy)
    return proxy


def test_forwards_a_push_and_pull_unchanged(
    registry: RegistryServer, proxy_for: list[FlakyProxy]
) -> None:
    proxy = _proxy(proxy_for, registry, FaultRates())
    image = build_image(layers=2, layer_size=32 * 1024, seed=7)
    push_image(proxy.url, "dev/app", "1.0", image)
    with httpx.Client(base_url=registry.url) as direct:
        head = direct.head(
            "/v2/dev/app/manifests/1.0", headers={"Accept": ", ".join(MANIFEST_TYPES)}
        )
        assert head.headers["Docker-Content-Digest"] == image.digest
    with httpx.Client(base_url=proxy.url) as through:
        manifest = through.get(
            "/v2/dev/app/manifests/1.0", headers={"Accept": ", ".join(MANIFEST_TYPES)}
        )
        assert manifest.content == image.manifest
        layer = image.blobs[1]
        assert through.get(f"/v2/dev/app/blobs/{layer.digest}").content == layer.data
        head = through.head(f"/v2/dev/app/blobs/{layer.digest}")
        assert head.status_code == 200
        assert int(head.headers["Content-Length"]) == len(layer.data)
        chunked = through.post("/v2/dev/app/blobs/uploads/")
        assert chunked.status_code == 202
        location = httpx.URL(proxy.url).join(chunked.headers["Location"])
        assert location.port == httpx.URL(proxy.url).port  # uploads stay on the proxy
        done = through.put(
            location.copy_merge_params({"digest": layer.digest}),
            content=iter([layer.data[:1000], layer.data[1000:]]),  # sent chunked
        )
        assert done.status_code == 201
    assert proxy.counts.requests > 0
    assert sum(proxy.counts.faults.values()) == 0


@pytest.mark.parametrize(
    ("rates", "fault"),
    [
        (FaultRates(unavailable=1.0), "503"),
        (FaultRates(upload_reset=1.0), "upload reset"),
        (FaultRates(download_reset=1.0), "download reset"),
        (FaultRates(drop_answer=1.0), "drop answer"),
    ],
)
def test_injects_the_fault_asked_for(
    registry: RegistryServer, proxy_for: list[FlakyProxy], rates: FaultRates, fault: str
) -> None:
    image = build_image(layers=1, layer_size=4096, seed=8)
    push_image(registry.url, "dev/app", "1.0", image)
    layer = image.blobs[1]
    proxy = _proxy(proxy_for, registry, rates)
    with httpx.Client(base_url=proxy.url) as client:
        if fault == "503":
            assert client.get(f"/v2/dev/app/blobs/{layer.digest}").status_code == 503
        elif fault == "upload reset":
            with pytest.raises(httpx.TransportError):
                client.post("/v2/dev/app/blobs/uploads/", content=b"x" * 100_000)
        else:
            with pytest.raises(httpx.TransportError):
                client.get(f"/v2/dev/app/blobs/{layer.digest}")
    assert proxy.counts.faults[fault] == 1
    assert sum(proxy.counts.faults.values()) == 1


def test_a_dropped_answer_was_applied(
    registry: RegistryServer, proxy_for: list[FlakyProxy]
) -> None:
    """The point of this fault: the registry did the work, the client never heard."""
    image = build_image(layers=1, layer_size=4096, seed=9)
    push_image(registry.url, "dev/app", "1.0", image)
    proxy = _proxy(proxy_for, registry, FaultRates(drop_answer=1.0))
    with httpx.Client(base_url=proxy.url) as client, pytest.raises(httpx.TransportError):
        client.put(
            "/v2/dev/app/manifests/again",
            content=image.manifest,
            headers={"Content-Type": image.media_type},
        )
    with httpx.Client(base_url=registry.url) as direct:
        head = direct.head(
            "/v2/dev/app/manifests/again", headers={"Accept": ", ".join(MANIFEST_TYPES)}
        )
    assert head.headers["Docker-Content-Digest"] == image.digest


def test_refuses_rates_outside_zero_to_one() -> None:
    with pytest.raises(ValueError, match="between 0 and 1"):
        FaultRates(unavailable=1.5)
