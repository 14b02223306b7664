"""Provenance artifacts written to and read back from a real registry, by this client and
by a fresh one (another workstation), plus records that someone else wrote badly."""

from __future__ import annotations

import json
import logging
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone

import httpx
import pytest

from hoister.engine.promoter import Promoter, PromotionRequest
from hoister.engine.provenance import (
    PROVENANCE_ARTIFACT_TYPE,
    ProvenanceRecord,
    attach_provenance,
    chain_hop,
    hop_of_promoted,
    read_provenance,
)
from hoister.registry import Descriptor, RegistryClient, fallback_tag
from tests.registry.conftest import ClientFactory
from tests.registry.faults import FaultyTransport
from tests.support.images import OCI_INDEX, Image, build_artifact, build_image, push_image
from tests.support.registry import RegistryServer

WHEN = datetime(2026, 11, 30, 9, 5, 3, 123456, tzinfo=UTC)


def record(digest: str, when: datetime = WHEN, by: str = "alice@workstation") -> ProvenanceRecord:
    return ProvenanceRecord(
        policy_id=7,
        policy_name="stable to qa",
        source_registry="registry.example:5000",
        source_repository="dev/website",
        source_tag="1.0-stable",
        source_digest=digest,
        target_repository="qa/website",
        target_tag="1.0",
        promoted_at=when,
        promoted_by=by,
    )


def pushed(server: RegistryServer, seed: int) -> tuple[Image, Descriptor]:
    image = build_image(seed=seed)
    push_image(server.url, "qa/website", "1.0", image)
    return image, Descriptor(image.media_type, image.digest, image.size)


def test_record_json_round_trip_is_camel_case_and_tolerant() -> None:
    original = record("sha256:" + "a" * 64, WHEN.astimezone(timezone(timedelta(hours=2))))
    body = json.loads(original.to_json())
    assert body["promotedAt"] == "2026-11-30T09:05:03.123456Z"
    assert body["policyId"] == 7 and body["sourceTag"] == "1.0-stable"
    assert ProvenanceRecord.from_json(json.dumps({**body, "future": True})) == original
    assert ProvenanceRecord.from_json(json.dumps({**body, "policyId": None})).policy_id is None
    del body["promotedBy"]
    with pytest.raises(ValueError, match="lacks promotedBy"):
        ProvenanceRecord.from_json(json.dumps(body))
    with pytest.raises(ValueError, match="no time zone"):
        ProvenanceRecord.from_json(original.to_json().replace(".123456Z", ""))
    with pytest.raises(ValueError, match="aware"):
        replace(original, promoted_at=datetime(2026, 1, 1))


def test_attached_provenance_is_read_back_here_and_from_another_client(
    registry: RegistryServer, make_client: ClientFactory
) -> None:
    image, subject = pushed(registry, 401)
    client = make_client(registry)
    written = record(image.digest)
    artifact = attach_provenance(client, "qa/website", subject, written)
    assert artifact.artifact_type == PROVENANCE_ARTIFACT_TYPE
    assert artifact.annotations["org.opencontainers.image.created"] == (
        "2026-11-30T09:05:03.123456Z"
    )
    assert read_provenance(client, "qa/website", image.digest) == [written]
    elsewhere = make_client(registry.url)
    assert read_provenance(elsewhere, "qa/website", image.digest) == [written]
    listed = elsewhere.referrers_tag_index("qa/website", image.digest)
    assert listed is not None
    assert listed.manifests[0].artifact_type == PROVENANCE_ARTIFACT_TYPE
    manifest = elsewhere.get_manifest("qa/website", artifact.digest)
    assert manifest.subject is not None and manifest.subject.digest == image.digest
    assert manifest.config is not None and manifest.config.size == 2


def test_two_promotions_give_two_records_newest_first(
    registry: RegistryServer, make_client: ClientFactory
) -> None:
    image, subject = pushed(registry, 402)
    client = make_client(registry)
    first = record(image.digest, WHEN, "alice@workstation")
    second = record(image.digest, WHEN + timedelta(minutes=5), "hoister-agent@build-1")
    attach_provenance(client, "qa/website", subject, first)
    attach_provenance(client, "qa/website", subject, second)
    assert read_provenance(make_client(registry), "qa/website", image.digest) == [second, first]


def test_a_malformed_record_is_skipped_with_a_warning(
    registry: RegistryServer, make_client: ClientFactory, caplog: pytest.LogCaptureFixture
) -> None:
    image, subject = pushed(registry, 403)
    client = make_client(registry)
    good = record(image.digest)
    attach_provenance(client, "qa/website", subject, good)
    bad = build_artifact(image, PROVENANCE_ARTIFACT_TYPE, b"{not json", PROVENANCE_ARTIFACT_TYPE)
    push_image(registry.url, "qa/website", bad.digest, bad)
    index_url = f"{registry.url}/v2/qa/website/manifests/{fallback_tag(image.digest)}"
    body = httpx.get(index_url, headers={"Accept": OCI_INDEX}).json()
    body["manifests"].append({**bad.descriptor(), "artifactType": PROVENANCE_ARTIFACT_TYPE})
    index = json.dumps(body).encode()
    push_image(registry.url, "qa/website", fallback_tag(image.digest), Image(index, OCI_INDEX))
    with caplog.at_level(logging.WARNING, logger="hoister.engine.provenance"):
        assert read_provenance(client, "qa/website", image.digest) == [good]
    assert bad.digest in caplog.text and "not valid JSON" in caplog.text


def test_an_image_without_provenance_has_none(
    registry: RegistryServer, make_client: ClientFactory
) -> None:
    image, _ = pushed(registry, 404)
    assert read_provenance(make_client(registry), "qa/website", image.digest) == []


def test_a_registry_that_indexes_subjects_itself_gets_no_fallback_tag(
    registry: RegistryServer, make_client: ClientFactory
) -> None:
    image, subject = pushed(registry, 405)

    def announce_subject(request: httpx.Request, inner: httpx.BaseTransport) -> httpx.Response:
        response = inner.handle_request(request)
        body = response.read()
        response.close()
        headers = {**response.headers, "OCI-Subject": image.digest}
        return httpx.Response(response.status_code, headers=headers, content=body)

    transport = FaultyTransport()
    transport.add("PUT", "/manifests/sha256:", announce_subject)
    client: RegistryClient = make_client(registry, transport=transport)
    attach_provenance(client, "qa/website", subject, record(image.digest))
    assert transport.rules[0].hits == 1
    assert client.referrers_tag_index("qa/website", image.digest) is None


def test_provenance_of_an_earlier_hop_travels_with_the_promotion(
    registry: RegistryServer, make_client: ClientFactory
) -> None:
    image = build_image(seed=406)
    push_image(registry.url, "dev/website", "1.0", image)
    client = make_client(registry)
    subject = Descriptor(image.media_type, image.digest, image.size)
    earlier = replace(record(image.digest), target_repository="dev/website")
    attach_provenance(client, "dev/website", subject, earlier)
    request = PromotionRequest(client, "dev/website", "1.0", client, "qa/website", "1.0")
    assert Promoter().promote(request).referrers_copied == 1
    latest = record(image.digest, WHEN + timedelta(hours=1), "hoister-agent@build-1")
    attach_provenance(client, "qa/website", subject, latest)
    assert read_provenance(make_client(registry), "qa/website", image.digest) == [latest, earlier]


def test_the_hop_is_recorded_and_old_records_read_as_hop_zero() -> None:
    written = replace(record("sha256:" + "b" * 64), hop=3)
    body = json.loads(written.to_json())
    assert body["hop"] == 3
    assert ProvenanceRecord.from_json(written.to_json()) == written
    del body["hop"]  # a record from before the hop was kept
    assert ProvenanceRecord.from_json(json.dumps(body)).hop == 0
    assert record("sha256:" + "b" * 64).hop == 0


@pytest.mark.parametrize("hop", [-1, "2", 1.5, True, None])
def test_a_hop_that_is_not_a_count_is_refused(hop: object) -> None:
    body = json.loads(record("sha256:" + "c" * 64).to_json())
    with pytest.raises(ValueError, match="hop of a provenance record"):
        ProvenanceRecord.from_json(json.dumps({**body, "hop": hop}))
    with pytest.raises(ValueError, match="hop of a provenance record"):
        replace(record("sha256:" + "c" * 64), hop=hop)


def test_the_source_registry_is_kept_as_its_identity() -> None:
    spelt = replace(record("sha256:" + "d" * 64), source_registry="http://127.0.0.1:5000/")
    assert spelt.source_registry == "localhost:5000"
    body = json.loads(spelt.to_json())
    assert body["sourceRegistry"] == "localhost:5000"
    older = {**body, "sourceRegistry": "registry-1.docker.io"}  # Profile.host, as written before
    assert ProvenanceRecord.from_json(json.dumps(older)).source_registry == "docker.io"


def test_chain_hop_takes_the_records_of_this_repository_and_tag() -> None:
    digest = "sha256:" + "e" * 64
    first = replace(record(digest), target_repository="dev/website", hop=0)
    second = replace(record(digest), target_repository="qa/website", target_tag="1.0", hop=1)
    longer = replace(record(digest), target_repository="qa/website", target_tag="1.0-b", hop=5)
    records = [first, second, longer]
    assert chain_hop(records, "dev/website") == 0
    assert chain_hop(records, "qa/website") == 5
    assert chain_hop(records, "qa/website", "1.0") == 1
    assert chain_hop(records, "qa/website", "2.0") is None
    assert chain_hop(records, "prod/website") is None
    assert chain_hop([], "qa/website") is None


def test_hop_of_a_promoted_image_is_read_from_the_registry(
    registry: RegistryServer, make_client: ClientFactory
) -> None:
    """dev/website gets an image by a promotion at hop 0 and passes it to qa/website
    (records travel along as referrers); qa/website's own record says hop 1."""
    image = build_image(seed=407)
    push_image(registry.url, "dev/website", "1.0", image)
    client = make_client(registry)
    subject = Descriptor(image.media_type, image.digest, image.size)
    earlier = replace(record(image.digest), target_repository="dev/website", hop=0)
    attach_provenance(client, "dev/website", subject, earlier)
    request = PromotionRequest(client, "dev/website", "1.0", client, "qa/website", "1.0")
    assert Promoter().promote(request).referrers_copied == 1
    assert hop_of_promoted(client, "qa/website", image.digest) is None  # copied, not promoted
    attach_provenance(client, "qa/website", subject, replace(record(image.digest), hop=1))

    elsewhere = make_client(registry.url)  # another workstation, another engine
    assert hop_of_promoted(elsewhere, "qa/website", image.digest) == 1
    assert hop_of_promoted(elsewhere, "qa/website", image.digest, "1.0") == 1
    assert hop_of_promoted(elsewhere, "qa/website", image.digest, "other") is None
    assert hop_of_promoted(elsewhere, "dev/website", image.digest) == 0
    pushed_only = build_image(seed=408)
    push_image(registry.url, "qa/website", "2.0", pushed_only)
    assert hop_of_promoted(elsewhere, "qa/website", pushed_only.digest) is None
