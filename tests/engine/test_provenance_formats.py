"""Records written the way Hoister writes them now (in the artifact's annotations, over
the empty blob) and the way it wrote them before (JSON in the artifact's one layer):
registries hold both, and both are read, by this client and by a fresh one."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import httpx

from hoister.engine.provenance import (
    EMPTY_DIGEST,
    PROVENANCE_ARTIFACT_TYPE,
    RECORD_ANNOTATION,
    ProvenanceRecord,
    attach_provenance,
    read_provenance,
)
from hoister.registry import Descriptor, fallback_tag
from hoister.registry.client import RELINK_PAUSES
from tests.registry.conftest import ClientFactory
from tests.registry.faults import FaultyTransport
from tests.support.images import OCI_INDEX, Image, build_artifact, build_image, push_image
from tests.support.registry import RegistryServer

WHEN = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)


def record(digest: str, when: datetime, tag: str) -> ProvenanceRecord:
    return ProvenanceRecord(
        policy_id=3,
        policy_name="dev to qa",
        source_registry="registry.example:5000",
        source_repository="dev/website",
        source_tag="1.0",
        source_digest=digest,
        target_repository="qa/website",
        target_tag=tag,
        promoted_at=when,
        promoted_by="bob@desk",
    )


def push_old_record(server: RegistryServer, image: Image, old: ProvenanceRecord) -> None:
    """What Hoister wrote until now: the record as the one layer, listed in the index."""
    artifact = build_artifact(
        image,
        PROVENANCE_ARTIFACT_TYPE,
        old.to_json().encode(),
        PROVENANCE_ARTIFACT_TYPE,
        {"org.opencontainers.image.created": "2026-12-01T08:00:00Z"},
    )
    push_image(server.url, "qa/website", artifact.digest, artifact)
    entry = {**artifact.descriptor(), "artifactType": PROVENANCE_ARTIFACT_TYPE}
    body = {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": [entry]}
    index = Image(json.dumps(body).encode(), OCI_INDEX)
    push_image(server.url, "qa/website", fallback_tag(image.digest), index)


def test_old_and_new_records_are_both_read_newest_first(
    registry: RegistryServer, make_client: ClientFactory
) -> None:
    image = build_image(seed=801)
    push_image(registry.url, "qa/website", "1.0", image)
    old = record(image.digest, WHEN, "1.0")
    push_old_record(registry, image, old)
    client = make_client(registry)
    assert read_provenance(client, "qa/website", image.digest) == [old]
    new = record(image.digest, WHEN + timedelta(hours=1), "1.0-again")
    subject = Descriptor(image.media_type, image.digest, len(image.manifest))
    artifact = attach_provenance(client, "qa/website", subject, new)
    assert json.loads(artifact.annotations[RECORD_ANNOTATION]) == json.loads(new.to_json())
    for reader in (client, make_client(registry)):
        assert read_provenance(reader, "qa/website", image.digest) == [new, old]
    # The index kept the old entry and gained the new one with its record inline.
    listed = make_client(registry).referrers_tag_index("qa/website", image.digest)
    assert listed is not None and len(listed.manifests) == 2


def test_the_new_artifact_is_the_empty_descriptor_twice_and_carries_no_blob_of_its_own(
    registry: RegistryServer, make_client: ClientFactory
) -> None:
    image = build_image(seed=802)
    push_image(registry.url, "qa/website", "1.0", image)
    client = make_client(registry)
    subject = Descriptor(image.media_type, image.digest, len(image.manifest))
    written = record(image.digest, WHEN, "1.0")
    artifact = attach_provenance(client, "qa/website", subject, written)
    url = f"{registry.url}/v2/qa/website/manifests/{artifact.digest}"
    body = httpx.get(url, headers={"Accept": "application/vnd.oci.image.manifest.v1+json"}).json()
    assert body["config"]["digest"] == EMPTY_DIGEST and body["config"]["data"] == "e30="
    assert [layer["digest"] for layer in body["layers"]] == [EMPTY_DIGEST]
    assert body["artifactType"] == PROVENANCE_ARTIFACT_TYPE
    # A fresh reader, who never saw the write, gets the record from the manifest too.
    reader = make_client(registry)
    assert read_provenance(reader, "qa/website", image.digest) == [written]


def test_an_empty_blob_remembered_wrongly_is_put_again(
    registry: RegistryServer, make_client: ClientFactory
) -> None:
    image = build_image(seed=803)
    push_image(registry.url, "qa/website", "1.0", image)
    transport = FaultyTransport()
    client = make_client(registry, transport=transport)
    client.cache.keep_blob("qa/website", EMPTY_DIGEST)  # as if; the registry lacks it
    subject = Descriptor(image.media_type, image.digest, len(image.manifest))
    written = record(image.digest, WHEN, "1.0")
    attach_provenance(client, "qa/website", subject, written)
    puts = [(m, status) for m, path, status in transport.log if "/manifests/sha256:" in path]
    # Refused for the missing blob (asked again after each pause, in case it was being
    # re-linked), then the blob is put and the record stored.
    refused = [("PUT", 400)] * (1 + len(RELINK_PAUSES))
    assert puts == [*refused, ("PUT", 201)]
    assert read_provenance(make_client(registry), "qa/website", image.digest) == [written]
