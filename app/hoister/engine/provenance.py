"""Provenance kept in the registry: who promoted what, from where, by which policy.

A record stored in one workstation's database helps nobody at the next desk, so every
promotion attaches a small OCI artifact to the promoted digest in the target repository.
Anyone with pull access (another Hoister, ``oras discover``, a CI job) can then ask the
registry how an image got there. Records are JSON in one layer of an artifact manifest
whose ``subject`` is the image, found through the referrers API or the tag fallback.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from hoister import jsonlimits
from hoister.engine.referrers import publish_referrers, put_manifest_indexed, referrer_descriptor
from hoister.registry import (
    Descriptor,
    DigestMismatch,
    Manifest,
    NotFound,
    ProtocolError,
    RegistryClient,
)
from hoister.registry.identity import registry_identity
from hoister.registry.mediatypes import OCI_EMPTY, OCI_MANIFEST
from hoister.registry.reference import sha256_digest

log = logging.getLogger(__name__)

PROVENANCE_ARTIFACT_TYPE = "application/vnd.hoister.promotion.v1+json"
EMPTY_CONFIG = b"{}"
EMPTY_DIGEST = "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"
CREATED_ANNOTATION = "org.opencontainers.image.created"
#: A record is a few hundred bytes; anything far larger is not ours and is not read.
MAX_RECORD_BYTES = 64 * 1024

#: JSON key -> attribute; camelCase because every other OCI document is camelCase.
_KEYS = {
    "policyId": "policy_id",
    "policyName": "policy_name",
    "sourceRegistry": "source_registry",
    "sourceRepository": "source_repository",
    "sourceTag": "source_tag",
    "sourceDigest": "source_digest",
    "targetRepository": "target_repository",
    "targetTag": "target_tag",
    "promotedAt": "promoted_at",
    "promotedBy": "promoted_by",
}


def format_time(when: datetime) -> str:
    """ISO 8601 in UTC with a ``Z``, microseconds kept so two quick promotions still sort."""
    return when.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _check_hop(hop: object) -> int:
    if not isinstance(hop, int) or isinstance(hop, bool) or hop < 0:
        raise ValueError(f"hop of a provenance record must be a count from 0, not {hop!r}")
    return hop


@dataclass(frozen=True)
class ProvenanceRecord:
    """One promotion as seen from the target: enough to answer "where did this come from?".

    ``source_registry`` is the source's registry identity
    (:func:`hoister.registry.identity.registry_identity`), normalised on the way in so a
    record written with another spelling of the same registry reads the same. ``hop`` is
    the promotion's place in its chain (0: the direct promotion of a push; see
    :mod:`hoister.engine.hops`), so whoever finds the image in the target can continue
    the count; records written before it existed read as 0.
    """

    policy_id: int | None
    policy_name: str
    source_registry: str
    source_repository: str
    source_tag: str
    source_digest: str
    target_repository: str
    target_tag: str
    promoted_at: datetime
    promoted_by: str
    hop: int = 0

    def __post_init__(self) -> None:
        if self.promoted_at.tzinfo is None:
            raise ValueError("promoted_at must be an aware time; a naive one is ambiguous")
        object.__setattr__(self, "promoted_at", self.promoted_at.astimezone(UTC))
        object.__setattr__(self, "source_registry", registry_identity(self.source_registry))
        _check_hop(self.hop)

    def to_json(self) -> str:
        body: dict[str, Any] = {key: getattr(self, name) for key, name in _KEYS.items()}
        body["promotedAt"] = format_time(self.promoted_at)
        body["hop"] = self.hop
        return json.dumps(body, sort_keys=True, separators=(",", ":"))

    @classmethod
    def from_json(cls, data: str | bytes) -> ProvenanceRecord:
        """Parse a record; unknown keys are ignored (newer writers), missing ones refused
        (but ``policyId`` and ``hop``, which older writers left out)."""
        try:
            body = jsonlimits.loads(data, what="a provenance record")
        except jsonlimits.InvalidJSON as exc:
            raise ValueError(str(exc)) from exc
        if not isinstance(body, dict):
            raise ValueError("a provenance record is not a JSON object")
        missing = [key for key in _KEYS if key not in body and key != "policyId"]
        if missing:
            raise ValueError(f"a provenance record lacks {', '.join(missing)}")
        values: dict[str, Any] = {}
        for key, name in _KEYS.items():
            value = body.get(key)
            if key == "policyId":
                if value is not None and (not isinstance(value, int) or isinstance(value, bool)):
                    raise ValueError("policyId of a provenance record is not a number")
            elif not isinstance(value, str):
                raise ValueError(f"{key} of a provenance record is not a string")
            values[name] = value
        values["hop"] = _check_hop(body.get("hop", 0))
        when = datetime.fromisoformat(values["promoted_at"])
        if when.tzinfo is None:
            raise ValueError("promotedAt of a provenance record has no time zone")
        values["promoted_at"] = when
        return cls(**values)


def attach_provenance(
    client: RegistryClient, repository: str, subject: Descriptor, record: ProvenanceRecord
) -> Descriptor:
    """Store ``record`` as an artifact referring to ``subject``; return its descriptor."""
    payload = record.to_json().encode("utf-8")
    layer = Descriptor(PROVENANCE_ARTIFACT_TYPE, sha256_digest(payload), len(payload))
    document = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "artifactType": PROVENANCE_ARTIFACT_TYPE,
        "config": Descriptor(OCI_EMPTY, EMPTY_DIGEST, len(EMPTY_CONFIG)).to_json(),
        "layers": [layer.to_json()],
        # Only the three fields a subject needs: platform or annotations would be noise.
        "subject": Descriptor(subject.media_type, subject.digest, subject.size).to_json(),
        "annotations": {CREATED_ANNOTATION: format_time(record.promoted_at)},
    }
    for digest, data in ((EMPTY_DIGEST, EMPTY_CONFIG), (layer.digest, payload)):
        if client.head_blob(repository, digest) is None:
            client.upload_blob(repository, digest, data)
    data = json.dumps(document, separators=(",", ":")).encode("utf-8")
    digest, indexed = put_manifest_indexed(
        client, repository, sha256_digest(data), data, OCI_MANIFEST
    )
    manifest = Manifest.parse(data, digest, OCI_MANIFEST)
    publish_referrers(client, repository, subject.digest, [(manifest, indexed)])
    return referrer_descriptor(manifest)


def read_provenance(client: RegistryClient, repository: str, digest: str) -> list[ProvenanceRecord]:
    """Every readable record attached to ``digest``, newest first.

    A record someone else wrote badly is skipped with a warning: one broken artifact must
    not hide the history of an image. Registry failures other than a missing artifact
    still raise, since then the answer would be incomplete without saying so.
    """
    records: list[ProvenanceRecord] = []
    for found in client.referrers(repository, digest, artifact_type=PROVENANCE_ARTIFACT_TYPE):
        try:
            records.append(_read_record(client, repository, found))
        except (ValueError, ProtocolError, DigestMismatch, NotFound) as exc:
            log.warning(
                "skipping provenance %s of %s@%s: %s", found.digest, repository, digest, exc
            )
    records.sort(key=lambda record: record.promoted_at, reverse=True)
    return records


def _read_record(client: RegistryClient, repository: str, found: Descriptor) -> ProvenanceRecord:
    if found.size > MAX_RECORD_BYTES:
        raise ValueError(f"the artifact manifest is {found.size} bytes, too large for a record")
    manifest = client.get_manifest(repository, found.digest)
    layers = [d for d in manifest.layers if d.media_type == PROVENANCE_ARTIFACT_TYPE]
    if not layers:
        raise ValueError("the artifact has no provenance layer")
    if layers[0].size > MAX_RECORD_BYTES:
        raise ValueError(f"the record is {layers[0].size} bytes, more than a record can be")
    data = client.get_blob(repository, layers[0].digest, max_size=MAX_RECORD_BYTES)
    return ProvenanceRecord.from_json(data)


def chain_hop(
    records: Iterable[ProvenanceRecord], target_repository: str, target_tag: str | None = None
) -> int | None:
    """The hop an image arrived in ``target_repository`` with, or None if it was not
    promoted there (optionally: under ``target_tag``).

    Records travel with the image (they are referrers), so those of earlier links name
    other repositories and are left out. The highest hop wins: when two chains brought
    one digest, the longer one is the one that must stop in time. The next promotion of
    the image continues the chain as ``hop + 1``.
    """
    hops = [
        record.hop
        for record in records
        if record.target_repository == target_repository
        and (target_tag is None or record.target_tag == target_tag)
    ]
    return max(hops) if hops else None


def hop_of_promoted(
    client: RegistryClient, repository: str, digest: str, tag: str | None = None
) -> int | None:
    """:func:`chain_hop` for ``digest`` in ``repository`` as its registry records it.

    This is how an image found by polling, a notification or another engine's promotion
    tells its place in a chain; registry failures raise as in :func:`read_provenance`.
    """
    return chain_hop(read_provenance(client, repository, digest), repository, tag)
