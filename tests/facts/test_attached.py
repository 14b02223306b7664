"""Finding SBOMs and scan reports next to an image in a real registry (distribution 2.8,
so referrers are listed in the ``sha256-<hex>`` fallback index) and under cosign's tags."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from hoister.engine.provenance import (
    PROVENANCE_ARTIFACT_TYPE,
    ProvenanceRecord,
    attach_provenance,
)
from hoister.facts.attached import (
    SKIPPED_TYPES,
    best_report,
    best_sbom,
    find_attached,
    load_report,
    load_sbom,
)
from hoister.facts.contents import LICENSE_LABEL, ContentsReader
from hoister.facts.model import Vulnerabilities
from hoister.facts.sbom import FactError
from hoister.registry import Descriptor, RegistryClient, fallback_tag
from tests.facts.test_reports import CYCLONEDX_VEX, TRIVY_WORDS, trivy, trivy_vuln
from tests.facts.test_sbom import CYCLONEDX, SPDX
from tests.support.images import (
    OCI_CONFIG,
    OCI_INDEX,
    OCI_MANIFEST,
    Blob,
    Image,
    build_artifact,
    build_image,
    push_image,
)
from tests.support.registry import RegistryServer

REPO = "dev/website"
SPDX_TYPE = "application/spdx+json"
TRIVY_TYPE = "application/vnd.aquasec.trivy.report.v1+json"
CREATED = "org.opencontainers.image.created"
DSSE = "application/vnd.dsse.envelope.v1+json"


@pytest.fixture
def client(registry: RegistryServer) -> Iterator[RegistryClient]:
    with RegistryClient(registry.url) as client:
        yield client


def encode(document: Any) -> bytes:
    return json.dumps(document).encode()


def push_image_at(server: RegistryServer, seed: int) -> Image:
    image = build_image(seed=seed, layers=1, layer_size=256)
    push_image(server.url, REPO, "1.0", image)
    return image


def attach(server: RegistryServer, subject: Image, *artifacts: tuple[Image, str | None]) -> None:
    """Push artifacts by digest and list them in the subject's fallback index."""
    entries = []
    for artifact, created in artifacts:
        push_image(server.url, REPO, artifact.digest, artifact)
        entry: dict[str, Any] = {
            **artifact.descriptor(),
            "artifactType": artifact.manifest_json["artifactType"],
        }
        if created:
            entry["annotations"] = {CREATED: created}
        entries.append(entry)
    body = {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": entries}
    index = Image(json.dumps(body).encode(), OCI_INDEX, [], {}, [])
    push_image(server.url, REPO, fallback_tag(subject.digest), index)


def artifact(
    subject: Image, kind: str, payload: bytes, layer_type: str, created: str | None = None
) -> tuple[Image, str | None]:
    annotations = {CREATED: created} if created else None
    return build_artifact(subject, kind, payload, layer_type, annotations), created


def cosign_manifest(layers: list[tuple[bytes, str, dict[str, str]]]) -> Image:
    """What cosign pushes under ``.sbom``/``.att``: an image manifest whose layers are files."""
    config = Blob(b'{"architecture":"","os":"","config":{},"rootfs":{"type":"layers"}}', OCI_CONFIG)
    blobs = [Blob(data, media_type) for data, media_type, _ in layers]
    descriptors = [
        {**blob.descriptor(), **({"annotations": notes} if notes else {})}
        for blob, (_, _, notes) in zip(blobs, layers, strict=True)
    ]
    body = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": config.descriptor(),
        "layers": descriptors,
    }
    return Image(json.dumps(body).encode(), OCI_MANIFEST, [config, *blobs], {}, [])


def dsse(predicate_type: str, predicate: Any) -> bytes:
    statement = {
        "_type": "https://in-toto.io/Statement/v0.1",
        "subject": [],
        "predicateType": predicate_type,
        "predicate": predicate,
    }
    payload = base64.b64encode(encode(statement)).decode()
    return encode({"payloadType": "application/vnd.in-toto+json", "payload": payload})


def test_sbom_and_report_referrers_are_found_loaded_and_described(
    registry: RegistryServer, client: RegistryClient
) -> None:
    image = push_image_at(registry, 11)
    report = trivy([trivy_vuln("CVE-1", "openssl", "HIGH", {"nvd": {"V3Score": 5.0}})])
    attach(
        registry,
        image,
        artifact(image, SPDX_TYPE, encode(SPDX), SPDX_TYPE, "2026-11-30T08:00:00Z"),
        artifact(image, TRIVY_TYPE, encode(report), "application/json", "2026-11-30T09:30:00Z"),
    )
    found = find_attached(client, REPO, image.digest)
    assert found.notes == []
    assert [(f.kind, f.via) for f in found.sboms] == [("spdx", "referrer")]
    assert [(f.kind, f.source_words) for f in found.reports] == [
        ("trivy", "Trivy report attached 2026-11-30")
    ]
    assert found.sboms[0].source_words == "SPDX SBOM attached 2026-11-30"

    sbom = load_sbom(client, REPO, found.sboms[0])
    assert "zlib" in sbom.components and "MIT" in sbom.licenses
    loaded = load_report(client, REPO, found.reports[0])
    assert loaded.vulnerabilities == Vulnerabilities(critical=0, major=1, minor=0, total=1)
    assert loaded.created == datetime(2026, 11, 30, 9, 30, tzinfo=UTC)

    best = best_report(client, REPO, found)
    assert best is not None and best[1] == "Trivy report attached 2026-11-30"
    best_bom = best_sbom(client, REPO, found)
    assert best_bom is not None and best_bom[1] == "SPDX SBOM attached 2026-11-30"


def test_cosign_sbom_and_attestation_tags(registry: RegistryServer, client: RegistryClient) -> None:
    image = push_image_at(registry, 12)
    sbom_tag = cosign_manifest([(encode(CYCLONEDX), "application/vnd.cyclonedx+json", {})])
    push_image(registry.url, REPO, fallback_tag(image.digest) + ".sbom", sbom_tag)
    vuln = {
        "scanner": {"uri": "pkg:github/aquasecurity/trivy@0.57.0", "result": TRIVY_WORDS},
        "metadata": {"scanFinishedOn": "2026-12-01T12:00:00Z"},
    }
    provenance = {"buildType": "x"}
    att_tag = cosign_manifest(
        [
            (dsse("https://slsa.dev/provenance/v0.2", provenance), DSSE, {"predicateType": "x"}),
            (
                dsse("https://cosign.sigstore.dev/attestation/vuln/v1", vuln),
                DSSE,
                {"predicateType": "https://cosign.sigstore.dev/attestation/vuln/v1"},
            ),
        ]
    )
    push_image(registry.url, REPO, fallback_tag(image.digest) + ".att", att_tag)

    found = find_attached(client, REPO, image.digest)
    assert [(f.kind, f.via) for f in found.sboms] == [("cyclonedx", "cosign .sbom tag")]
    # The CycloneDX SBOM may carry vulnerabilities too, so it is a report candidate as well.
    assert [(f.kind, f.via) for f in found.reports] == [
        ("cyclonedx", "cosign .sbom tag"),
        ("vuln", "cosign .att tag"),
    ]
    sbom = best_sbom(client, REPO, found)
    assert sbom is not None
    assert sbom[1] == "CycloneDX SBOM attached 2026-11-29"  # the SBOM's own timestamp (UTC)
    assert "deepest" in sbom[0].components
    report = best_report(client, REPO, found)
    assert report is not None
    assert report[1] == "Trivy report attached 2026-12-01"
    assert report[0].vulnerabilities == Vulnerabilities(critical=2, major=1, minor=1, total=5)
    assert found.notes == []  # the SBOM without vulnerabilities was passed over silently


def test_the_newest_report_wins(registry: RegistryServer, client: RegistryClient) -> None:
    image = push_image_at(registry, 13)
    old = trivy([trivy_vuln("CVE-1", "a", "CRITICAL")])
    new = trivy([trivy_vuln("CVE-2", "b", "LOW")])
    undated = encode(CYCLONEDX_VEX | {"metadata": {}})
    attach(
        registry,
        image,
        artifact(image, TRIVY_TYPE, encode(old), "application/json", "2026-11-01T00:00:00Z"),
        artifact(image, "application/vnd.cyclonedx+json", undated, "application/json"),
        artifact(image, TRIVY_TYPE, encode(new), "application/json", "2026-11-30T00:00:00Z"),
    )
    found = find_attached(client, REPO, image.digest)
    assert [f.source_words for f in found.reports] == [
        "Trivy report attached 2026-11-30",
        "Trivy report attached 2026-11-01",
        "CycloneDX report attached",
    ]
    best = best_report(client, REPO, found)
    assert best is not None
    assert best[0].vulnerabilities == Vulnerabilities(critical=0, major=0, minor=1, total=1)


def test_broken_attachments_make_the_fact_unknown_with_the_reason(
    registry: RegistryServer, client: RegistryClient
) -> None:
    image = push_image_at(registry, 14)
    attach(
        registry,
        image,
        artifact(image, SPDX_TYPE, b"{ this is not json", SPDX_TYPE, "2026-11-30T00:00:00Z"),
    )
    found = find_attached(client, REPO, image.digest)
    with pytest.raises(FactError, match=r"SPDX SBOM attached 2026-11-30.*not valid JSON"):
        best_sbom(client, REPO, found)
    with pytest.raises(FactError, match="more than the 10 bytes"):
        load_sbom(client, REPO, found.sboms[0], limit=10)
    assert best_report(client, REPO, found) is None


def test_a_bad_one_next_to_a_good_one_is_a_note(
    registry: RegistryServer, client: RegistryClient
) -> None:
    image = push_image_at(registry, 15)
    attach(
        registry,
        image,
        artifact(image, SPDX_TYPE, b"garbage", SPDX_TYPE, "2026-12-01T00:00:00Z"),
        artifact(image, SPDX_TYPE, encode(SPDX), SPDX_TYPE, "2026-11-30T00:00:00Z"),
    )
    found = find_attached(client, REPO, image.digest)
    best = best_sbom(client, REPO, found)
    assert best is not None and best[1] == "SPDX SBOM attached 2026-11-30"
    assert len(found.notes) == 1 and "not valid JSON" in found.notes[0]


def test_generic_json_is_sniffed_and_missing_referrers_are_skipped(
    registry: RegistryServer, client: RegistryClient
) -> None:
    image = push_image_at(registry, 16)
    signature_type = "application/vnd.dev.cosign.artifact.sig.v1+json"
    gone = artifact(image, SPDX_TYPE, encode(SPDX), SPDX_TYPE)
    attach(
        registry,
        image,
        artifact(image, "application/vnd.example.findings+json", encode(TRIVY_WORDS), "x"),
        artifact(image, signature_type, b"{}", "application/json"),
        gone,
    )
    # An index may list an artifact someone deleted since: it is not there, nothing more.
    client.delete_manifest(REPO, gone[0].digest)
    found = find_attached(client, REPO, image.digest)
    assert [f.kind for f in found.sboms] == [f.kind for f in found.reports] == ["json"]
    assert best_sbom(client, REPO, found) is None  # a report, not an SBOM: passed over
    best = best_report(client, REPO, found)
    assert best is not None and best[1] == "Trivy report attached"
    assert found.notes == []


def test_nothing_attached(registry: RegistryServer, client: RegistryClient) -> None:
    image = push_image_at(registry, 17)
    found = find_attached(client, REPO, image.digest)
    assert (found.sboms, found.reports, found.notes) == ([], [], [])
    assert best_sbom(client, REPO, found) is None and best_report(client, REPO, found) is None


def test_a_non_json_sbom_is_noted_not_read(
    registry: RegistryServer, client: RegistryClient
) -> None:
    image = push_image_at(registry, 18)
    tag_value = b"SPDXVersion: SPDX-2.3\nDataLicense: CC0-1.0\n"
    sbom_tag = cosign_manifest([(tag_value, "text/spdx", {})])
    push_image(registry.url, REPO, fallback_tag(image.digest) + ".sbom", sbom_tag)
    found = find_attached(client, REPO, image.digest)
    assert (found.sboms, found.reports) == ([], [])
    assert found.notes == ["an SBOM of type text/spdx (cosign .sbom tag) is not JSON; not read"]


def test_a_promotion_record_or_a_json_report_is_no_sbom(
    registry: RegistryServer, client: RegistryClient
) -> None:
    """The details pane said "SBOM attached" of every promoted image: Hoister's own
    record is JSON, and JSON was taken for a possible SBOM."""
    image = push_image_at(registry, 17)
    record = ProvenanceRecord(
        policy_id=1,
        policy_name="Stable builds to QA",
        source_registry=client.host,
        source_repository="dev/website",
        source_tag="1.9-stable",
        source_digest=image.digest,
        target_repository=REPO,
        target_tag="1.0",
        promoted_at=datetime(2026, 11, 30, 9, 5, tzinfo=UTC),
        promoted_by="engine@qa-box",
    )
    subject = Descriptor(image.media_type, image.digest, image.size)
    attach_provenance(client, REPO, subject, record)
    assert PROVENANCE_ARTIFACT_TYPE in SKIPPED_TYPES
    found = find_attached(client, REPO, image.digest)
    assert found.sboms == found.reports == [] and found.notes == []
    labels = {LICENSE_LABEL: "Apache-2.0"}
    contents = ContentsReader(client).read(REPO, image.digest, {"licenses"}, labels=labels)
    assert contents.has_sbom is False
    assert contents.licenses == ("Apache-2.0",)
    assert contents.sources["licenses"] == f"the {LICENSE_LABEL} label"

    # a JSON document that turns out to be a scan report is no SBOM either
    other = build_image(seed=18, layers=1, layer_size=256)
    push_image(registry.url, REPO, "2.0", other)
    findings = artifact(other, "application/vnd.example.findings+json", encode(TRIVY_WORDS), "x")
    attach(registry, other, findings)
    assert [f.kind for f in find_attached(client, REPO, other.digest).sboms] == ["json"]
    contents = ContentsReader(client).read(REPO, other.digest, {"licenses"})
    assert contents.has_sbom is False
    assert contents.missing["licenses"].startswith("no SBOM is attached, ")
