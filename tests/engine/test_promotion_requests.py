"""Requests per promotion, counted exactly, on a real registry (distribution 2.8).

Within one registry the floor is one mount per blob (config included) and one manifest
PUT, plus the check of the target tag; the source manifest comes from the client's
cache when the poll read it by tag (the promotion names it by digest). Each count is
taken twice: from the client's own transport and from the registry's access log, read
after the registry stopped (it writes a line once a handler returns). A regression of
one request fails these tests.
"""

from __future__ import annotations

import re
from collections import Counter
from datetime import UTC, datetime

import pytest

from hoister.engine.promoter import Promoter, PromotionRequest
from hoister.engine.provenance import (
    PROVENANCE_ARTIFACT_TYPE,
    ProvenanceRecord,
    read_provenance,
)
from hoister.engine.record_once import record_once
from hoister.registry import RegistryClient, fallback_tag
from tests.registry.conftest import ClientFactory
from tests.registry.faults import FaultyTransport
from tests.support.images import Image, build_image, push_image, skopeo_inspect
from tests.support.registry import RegistryServer

LAYERS = 5
_ACCESS = re.compile(r'"(?P<method>[A-Z]+) (?P<path>/v2/\S*) HTTP/[\d.]+" \d{3} .*"hoister/')


def request(
    client: RegistryClient, source: str, target: str, tag: str = "1.0", *, referrers: bool = True
) -> PromotionRequest:
    return PromotionRequest(client, source, "1.0", client, target, tag, copy_referrers=referrers)


def polled(server: RegistryServer, client: RegistryClient, repository: str, seed: int) -> Image:
    """Push an image and do what the poll does: list the repository, GET the new tag."""
    image = build_image(layers=LAYERS, seed=seed)
    push_image(server.url, repository, "1.0", image)
    client.list_tags(repository)
    client.get_manifest(repository, "1.0")
    return image


def promote_counted(
    transport: FaultyTransport, promotion: PromotionRequest, digest: str
) -> tuple[list[tuple[str, str]], str]:
    """Promote ``digest`` (as the runner does: by digest); the requests it made."""
    before = len(transport.log)
    outcome = Promoter().promote(
        PromotionRequest(
            promotion.source,
            promotion.source_repository,
            digest,
            promotion.target,
            promotion.target_repository,
            promotion.target_tag,
            copy_referrers=promotion.copy_referrers,
        )
    )
    assert outcome.status == "promoted", outcome.reason
    assert outcome.stats.bytes_moved == 0
    return [(method, path) for method, path, _ in transport.log[before:]], outcome.digest


def kinds(requests: list[tuple[str, str]]) -> Counter[str]:
    """Requests by kind, e.g. ``POST mount`` or ``HEAD manifest``."""
    out: Counter[str] = Counter()
    for method, path in requests:
        kind = path.split("/")[-2] if "/blobs/uploads/" not in path else "upload"
        out[f"{method} {'referrers' if '/referrers/' in path else kind}"] += 1
    return out


def access_log(server: RegistryServer) -> list[tuple[str, str]]:
    server.stop()
    lines = server.log_path.read_text(errors="replace").splitlines()
    return [(m["method"], m["path"].split("?")[0]) for m in map(_ACCESS.search, lines) if m]


def test_same_registry_promotion_costs_layers_plus_three(
    registry: RegistryServer, make_client: ClientFactory
) -> None:
    transport = FaultyTransport()
    client = make_client(registry, transport=transport)
    image = polled(registry, client, "dev/website", 601)
    start = len(transport.log)
    requests, _ = promote_counted(
        transport, request(client, "dev/website", "qa/website", referrers=False), image.digest
    )
    assert kinds(requests) == {"POST upload": LAYERS + 1, "HEAD manifests": 1, "PUT manifests": 1}
    assert len(requests) == LAYERS + 3
    assert requests[-1] == ("PUT", "/v2/qa/website/manifests/1.0")  # the tag, written last
    served = access_log(registry)
    assert sorted(served[start:]) == sorted(requests)  # the mounts run in parallel
    registry.start()
    assert skopeo_inspect(registry.host, "qa/website", "1.0", raw=True) == image.manifest


def test_unread_source_adds_its_get_and_the_referrer_probe_is_asked_once(
    registry: RegistryServer, make_client: ClientFactory
) -> None:
    transport = FaultyTransport()
    client = make_client(registry, transport=transport)
    first = build_image(layers=LAYERS, seed=602)
    push_image(registry.url, "dev/one", "1.0", first)
    requests, _ = promote_counted(transport, request(client, "dev/one", "qa/one"), first.digest)
    # GET of the source, the referrers probe (404 on 2.8, remembered), one listing of
    # the source for the fallback and cosign tags: nothing there, nothing more fetched.
    assert kinds(requests) == {
        "GET manifests": 1,
        "HEAD manifests": 1,
        "GET referrers": 1,
        "GET tags": 1,
        "POST upload": LAYERS + 1,
        "PUT manifests": 1,
    }
    assert client.has_referrers_api is False
    second = polled(registry, client, "dev/two", 603)
    requests, _ = promote_counted(transport, request(client, "dev/two", "qa/two"), second.digest)
    # The poll's listing serves the referrer lookup; the target is checked by a listing
    # (which will also tell provenance that no fallback index exists yet).
    assert kinds(requests) == {"GET tags": 1, "POST upload": LAYERS + 1, "PUT manifests": 1}
    assert len(requests) == LAYERS + 3


def record_for(digest: str, target: str) -> ProvenanceRecord:
    return ProvenanceRecord(
        policy_id=1,
        policy_name="dev to qa",
        source_registry="registry.example:5000",
        source_repository="dev/website",
        source_tag="1.0",
        source_digest=digest,
        target_repository=target,
        target_tag="1.0",
        promoted_at=datetime(2026, 12, 2, 6, 0, tzinfo=UTC),
        promoted_by="alice@workstation",
    )


@pytest.mark.parametrize("referrers", [True, False], ids=["referrers", "no-referrers"])
def test_provenance_adds_two_requests_once_the_repository_holds_the_empty_blob(
    registry: RegistryServer, make_client: ClientFactory, referrers: bool
) -> None:
    transport = FaultyTransport()
    client = make_client(registry, transport=transport)
    counts: list[Counter[str]] = []
    for seed, source in ((604, "dev/a"), (605, "dev/b"), (606, "dev/c")):
        image = polled(registry, client, source, seed)
        target = "qa/website" if source != "dev/c" else "qa/other"
        promotion = request(client, source, target, f"1.{seed}", referrers=referrers)
        requests, digest = promote_counted(transport, promotion, image.digest)
        before = len(transport.log)
        assert record_once(client, target, digest, record_for(digest, target), False) == []
        requests += [(m, p) for m, p, _ in transport.log[before:]]
        counts.append(kinds(requests))
        found = read_provenance(make_client(registry), target, digest)
        assert [r.source_digest for r in found] == [digest]
    # The first promotion learns that 2.8 has no referrers API (from the probe, or from
    # the record's PUT answered without OCI-Subject) and puts the empty blob.
    assert counts[0]["GET referrers"] == int(referrers)
    assert counts[0]["POST upload"] == LAYERS + 1 + 1
    # Steady: listing the target (the check), mounts, the tag, the record, the index.
    assert counts[1] == {"GET tags": 1, "POST upload": LAYERS + 1, "PUT manifests": 3}
    assert sum(counts[1].values()) == LAYERS + 5
    # A new repository: the empty blob is mounted from one known to hold it, once.
    assert counts[2] == {"GET tags": 1, "POST upload": LAYERS + 2, "PUT manifests": 3}


def test_a_new_record_is_read_from_the_index_without_fetching_the_artifact(
    registry: RegistryServer, make_client: ClientFactory
) -> None:
    client = make_client(registry)
    image = polled(registry, client, "dev/website", 607)
    promote_counted(FaultyTransport(), request(client, "dev/website", "qa/website"), image.digest)
    record = record_for(image.digest, "qa/website")
    assert record_once(client, "qa/website", image.digest, record, False) == []
    transport = FaultyTransport()
    reader = make_client(registry, transport=transport)
    reader.cache.referrers_api = False  # as after its first probe
    assert read_provenance(reader, "qa/website", image.digest) == [record]
    assert [(m, p) for m, p, _ in transport.log] == [
        ("GET", f"/v2/qa/website/manifests/{fallback_tag(image.digest)}")
    ]
    index = reader.referrers("qa/website", image.digest, PROVENANCE_ARTIFACT_TYPE)
    assert len(index) == 1 and index[0].artifact_type == PROVENANCE_ARTIFACT_TYPE
