"""Provenance kept in the registry: who promoted what, from where, by which policy.

A record stored in one workstation's database helps nobody at the next desk, so every
promotion attaches a small OCI artifact to the promoted digest in the target repository.
Anyone with pull access (another Hoister, ``oras discover``, a CI job) can then ask the
registry how an image got there. A record is JSON in the annotation
:data:`RECORD_ANNOTATION` of an artifact manifest whose ``subject`` is the image, found
through the referrers API or the tag fallback. Its config and only layer are the OCI 1.1
empty descriptor (with its ``data``), so writing one costs the manifest PUT and, without
the referrers API, the fallback index PUT: the empty blob goes into a repository once.
Records written before (JSON in the artifact's one layer blob) are still read.
"""

from __future__ import annotations

import contextlib
import json
import logging
import threading
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
    RegistryError,
)
from hoister.registry.client import RELINK_CODES
from hoister.registry.identity import registry_identity
from hoister.registry.mediatypes import OCI_EMPTY, OCI_MANIFEST
from hoister.registry.reference import sha256_digest

log = logging.getLogger(__name__)

PROVENANCE_ARTIFACT_TYPE = "application/vnd.hoister.promotion.v1+json"
EMPTY_CONFIG = b"{}"
EMPTY_DIGEST = "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"
CREATED_ANNOTATION = "org.opencontainers.image.created"
#: The record itself, on the artifact manifest (and so on its referrers descriptor).
RECORD_ANNOTATION = "dev.hoister.promotion.record"
#: The OCI 1.1 empty descriptor, carrying its two bytes so readers need not fetch them.
EMPTY_DESCRIPTOR = {"mediaType": OCI_EMPTY, "digest": EMPTY_DIGEST, "size": 2, "data": "e30="}
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
    document = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "artifactType": PROVENANCE_ARTIFACT_TYPE,
        "config": EMPTY_DESCRIPTOR,
        "layers": [EMPTY_DESCRIPTOR],
        # Only the three fields a subject needs: platform or annotations would be noise.
        "subject": Descriptor(subject.media_type, subject.digest, subject.size).to_json(),
        "annotations": {
            CREATED_ANNOTATION: format_time(record.promoted_at),
            RECORD_ANNOTATION: record.to_json(),
        },
    }
    data = json.dumps(document, separators=(",", ":")).encode("utf-8")
    ensure_empty_blob(client, repository)
    try:
        digest, indexed = put_manifest_indexed(
            client, repository, sha256_digest(data), data, OCI_MANIFEST
        )
    except RegistryError as exc:
        if exc.code not in RELINK_CODES:
            raise
        # Remembered wrongly (garbage-collected since, or another client's memory).
        client.cache.forget_blob(repository, EMPTY_DIGEST)
        ensure_empty_blob(client, repository, check=True)
        digest, indexed = put_manifest_indexed(
            client, repository, sha256_digest(data), data, OCI_MANIFEST
        )
    manifest = Manifest.parse(data, digest, OCI_MANIFEST)
    publish_referrers(client, repository, subject.digest, [(manifest, indexed)])
    return referrer_descriptor(manifest)


#: Promotions in flight at once put the empty blob one at a time: distribution rewrites a
#: blob's link on each upload, and a record PUT checking it meanwhile finds it missing.
_EMPTY_BLOB_LOCK = threading.Lock()


def ensure_empty_blob(client: RegistryClient, repository: str, *, check: bool = False) -> None:
    """Put the empty blob in ``repository`` once per client (registries check that a
    manifest's blobs exist): mounted from a repository known to hold it, else uploaded."""
    with _EMPTY_BLOB_LOCK:
        _ensure_empty_blob(client, repository, check=check)


def _ensure_empty_blob(client: RegistryClient, repository: str, *, check: bool) -> None:
    if not check and client.cache.has_blob(repository, EMPTY_DIGEST):
        return
    source = None if check else client.cache.repository_with_blob(EMPTY_DIGEST)
    mounted = False
    if source is not None:
        with contextlib.suppress(RegistryError):
            mounted = client.mount_blob(repository, EMPTY_DIGEST, source)
    if not mounted and client.head_blob(repository, EMPTY_DIGEST) is None:
        client.upload_blob(repository, EMPTY_DIGEST, EMPTY_CONFIG)
    client.cache.keep_blob(repository, EMPTY_DIGEST)


def read_provenance(
    client: RegistryClient, repository: str, digest: str, listing_age: float = 0.0
) -> list[ProvenanceRecord]:
    """Every readable record attached to ``digest``, newest first.

    A record someone else wrote badly is skipped with a warning: one broken artifact must
    not hide the history of an image. Registry failures other than a missing artifact
    still raise, since then the answer would be incomplete without saying so. Where the
    registry has no referrers API, a listing of ``repository`` younger than
    ``listing_age`` seconds without the image's fallback tag means no records, without
    a request (see :meth:`RegistryClient.referrers`).
    """
    records: list[ProvenanceRecord] = []
    found_all = client.referrers(
        repository, digest, artifact_type=PROVENANCE_ARTIFACT_TYPE, listing_age=listing_age
    )
    for found in found_all:
        try:
            records.append(_read_record(client, repository, found))
        except (ValueError, ProtocolError, DigestMismatch, NotFound) as exc:
            log.warning(
                "skipping provenance %s of %s@%s: %s", found.digest, repository, digest, exc
            )
    records.sort(key=lambda record: record.promoted_at, reverse=True)
    return records


def _read_record(client: RegistryClient, repository: str, found: Descriptor) -> ProvenanceRecord:
    """From the descriptor's annotations when they carry it (no request), else from the
    artifact: its annotation (current records) or its one layer (older records)."""
    inline = _annotated(found.annotations)
    if inline is not None:
        return ProvenanceRecord.from_json(inline)
    if found.size > MAX_RECORD_BYTES:
        raise ValueError(f"the artifact manifest is {found.size} bytes, too large for a record")
    manifest = client.get_manifest(repository, found.digest)
    inline = _annotated(manifest.annotations)
    if inline is not None:
        return ProvenanceRecord.from_json(inline)
    layers = [d for d in manifest.layers if d.media_type == PROVENANCE_ARTIFACT_TYPE]
    if not layers:
        raise ValueError("the artifact has no provenance layer")
    if layers[0].size > MAX_RECORD_BYTES:
        raise ValueError(f"the record is {layers[0].size} bytes, more than a record can be")
    data = client.get_blob(repository, layers[0].digest, max_size=MAX_RECORD_BYTES)
    return ProvenanceRecord.from_json(data)


def _annotated(annotations: dict[str, str] | None) -> str | None:
    value = (annotations or {}).get(RECORD_ANNOTATION)
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > MAX_RECORD_BYTES:
        raise ValueError("the record annotation is not a string of a record's size")
    return value


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
    client: RegistryClient,
    repository: str,
    digest: str,
    tag: str | None = None,
    listing_age: float = 0.0,
) -> int | None:
    """:func:`chain_hop` for ``digest`` in ``repository`` as its registry records it.

    This is how an image found by polling, a notification or another engine's promotion
    tells its place in a chain; registry failures raise as in :func:`read_provenance`.
    """
    records = read_provenance(client, repository, digest, listing_age)
    return chain_hop(records, repository, tag)
