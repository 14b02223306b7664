"""Referrers (signatures, SBOMs, attestations, provenance): copying them and finding them.

A registry that implements the OCI 1.1 referrers API indexes a manifest's ``subject``
itself and says so with an ``OCI-Subject`` header on the PUT. Registries that do not
(distribution 2.8, still the core of many installations) leave it to clients to keep an
index under the tag ``sha256-<hex>``; cosign keeps its artifacts under
``sha256-<hex>.sig``/``.att``/``.sbom``. The promoter and the provenance writer both go
through this module so the two ways of being discoverable are handled in one place.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Callable, Iterable
from typing import Any

from hoister.registry import (
    Descriptor,
    Manifest,
    NotFound,
    RegistryClient,
    fallback_tag,
)
from hoister.registry.mediatypes import OCI_INDEX

log = logging.getLogger(__name__)

#: cosign stores its artifacts under tags derived from the subject digest.
COSIGN_SUFFIXES = (".sig", ".att", ".sbom")
#: Referrers of referrers (a signed SBOM) are followed this deep, no further: a cycle
#: cannot exist between content-addressed manifests, but a hostile index could be huge.
MAX_DEPTH = 3
#: Another client may rewrite the fallback index between our read and our write; the
#: merge is read again and retried this often before giving up.
MERGE_ATTEMPTS = 3

#: A listing of the source repository younger than this (the poll's, usually) is where
#: the fallback index and cosign's tags are looked for: a referrer pushed after that
#: listing was read is found by the next promotion of the image, not this one.
REFERRER_LISTING_AGE = 10.0
#: A listing of the target younger than this that lacks the fallback tag lets the index
#: be created without reading it first (the promoter lists the target moments before).
INDEX_LISTING_AGE = 5.0

#: Copies a manifest's blobs (and children) into the target and PUTs it by digest;
#: returns True when the registry indexed its subject itself (``OCI-Subject``).
CopyTree = Callable[[Manifest], bool]


def put_manifest_indexed(
    client: RegistryClient, repository: str, reference: str, data: bytes, media_type: str
) -> tuple[str, bool]:
    """PUT exact bytes; return the stored digest and whether the registry indexed the subject.

    When it did (``OCI-Subject``), writing the fallback tag would be wasted work and a
    second source of truth.
    """
    return client.put_manifest_indexed(repository, reference, data, media_type)


def referrer_descriptor(manifest: Manifest) -> Descriptor:
    """The descriptor an index entry needs so readers can filter without fetching."""
    return Descriptor(
        manifest.media_type,
        manifest.digest,
        len(manifest.data),
        annotations=manifest.annotations,
        artifact_type=manifest.artifact_type,
    )


def add_to_fallback_index(
    client: RegistryClient, repository: str, subject_digest: str, entries: Iterable[Descriptor]
) -> int:
    """Merge ``entries`` into the ``sha256-<hex>`` index; return how many were added.

    Entries already listed (by digest) are left as they are, so copying twice writes
    nothing. Unknown fields of an existing index are kept: it is shared with other tools.
    """
    wanted = {d.digest: d for d in entries}
    if not wanted:
        return 0
    tag = fallback_tag(subject_digest)
    # Absent from a listing read moments ago: create it without a read (and no re-read;
    # only a writer in those moments could race, and it would have to be another tool).
    absent = client.listed(repository, tag, INDEX_LISTING_AGE) is False
    for _ in range(MERGE_ATTEMPTS):
        current = None if absent else client.referrers_tag_index(repository, subject_digest)
        body: dict[str, Any] = (
            dict(current.json)
            if current is not None
            else {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": []}
        )
        listed = {d.digest for d in current.manifests} if current is not None else set()
        missing = [d for digest, d in wanted.items() if digest not in listed]
        if not missing:
            return 0
        body["manifests"] = list(body.get("manifests") or []) + [d.to_json() for d in missing]
        body.setdefault("mediaType", OCI_INDEX)
        data = json.dumps(body, separators=(",", ":")).encode("utf-8")
        client.put_manifest(repository, tag, data, OCI_INDEX)
        if absent:
            return len(missing)
        after = client.referrers_tag_index(repository, subject_digest)
        if after is not None and set(wanted) <= {d.digest for d in after.manifests}:
            return len(missing)
        log.info("referrers index %s:%s changed while merging; merging again", repository, tag)
    log.warning(
        "referrers index %s:%s kept changing; %d referrers may not be listed",
        repository,
        tag,
        len(wanted),
    )
    return 0


def publish_referrers(
    client: RegistryClient,
    repository: str,
    subject_digest: str,
    manifests: Iterable[tuple[Manifest, bool]],
) -> None:
    """Make referrers findable: list those the registry did not index in the fallback tag."""
    unindexed = [referrer_descriptor(m) for m, indexed in manifests if not indexed]
    add_to_fallback_index(client, repository, subject_digest, unindexed)


def copy_referrers(
    source: RegistryClient,
    source_repository: str,
    target: RegistryClient,
    target_repository: str,
    subject_digest: str,
    copy_tree: CopyTree,
    depth: int = MAX_DEPTH,
) -> int:
    """Copy every referrer of ``subject_digest`` and cosign's tags; return how many.

    Referrers found through the API or the source's fallback index are written by digest
    and published in the target; referrers of those (a signature on an SBOM) follow, up
    to :data:`MAX_DEPTH`. cosign tags are re-created under the same names, since cosign
    finds them only by name. The fallback index and cosign's tags are looked for in one
    listing of the source (:func:`source_tags`), and only those listed are fetched.
    """
    if depth <= 0:
        return 0
    tags = source_tags(source, source_repository)
    copied: list[tuple[Manifest, bool]] = []
    age = REFERRER_LISTING_AGE if tags is not None else 0.0
    for found in source.referrers(source_repository, subject_digest, listing_age=age):
        try:
            manifest = source.get_manifest(source_repository, found.digest)
        except NotFound:
            # A fallback index may list an artifact someone deleted since; not ours to fix.
            log.warning(
                "referrer %s of %s@%s is listed but missing; not copied",
                found.digest,
                source_repository,
                subject_digest,
            )
            continue
        copied.append((manifest, copy_tree(manifest)))
    publish_referrers(target, target_repository, subject_digest, copied)
    count = len(copied)
    for suffix in COSIGN_SUFFIXES:
        tag = fallback_tag(subject_digest) + suffix
        if tags is not None and tag not in tags:
            continue
        try:
            manifest = source.get_manifest(source_repository, tag)
        except NotFound:
            continue  # deleted since the listing
        copy_tree(manifest)
        target.put_manifest(target_repository, tag, manifest.data, manifest.media_type)
        copied.append((manifest, True))
        count += 1
    for manifest, _ in copied:
        count += copy_referrers(
            source,
            source_repository,
            target,
            target_repository,
            manifest.digest,
            copy_tree,
            depth - 1,
        )
    return count


def source_tags(client: RegistryClient, repository: str) -> frozenset[str] | None:
    """The tags of ``repository`` from one listing: a recent one, else one read now.

    None for a repository last seen with more than a page of tags and no recent listing:
    reading all its pages costs more than asking for the four tags that may exist.
    """
    recent = client.recent_tags(repository, REFERRER_LISTING_AGE)
    if recent is not None:
        return frozenset(recent)
    known = client.cache.recent_tags(repository, math.inf)
    if known is not None and len(known) >= (client.page_size or 100):
        return None
    return frozenset(client.list_tags(repository))
