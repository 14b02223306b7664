"""SBOMs and scan reports attached to an image, found where tools put them.

Three places, because tools disagree: OCI referrers (the API, or the ``sha256-<hex>``
index clients keep where a registry lacks it), cosign's ``sha256-<hex>.sbom`` tag, and
cosign's ``sha256-<hex>.att`` tag of DSSE attestations. Finding reads manifests only;
the documents themselves (possibly tens of MiB) are fetched when a fact needs them, one
at a time and size-capped. What a descriptor says is a hint, not a promise: a generic
JSON layer or an attestation without a predicate annotation is offered both as an SBOM
and as a report, and the parser decides.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TypeVar

from hoister.facts.reports import MAX_REPORT_BYTES, ScanReport, parse_report
from hoister.facts.sbom import (
    CYCLONEDX_PREDICATE,
    MAX_SBOM_BYTES,
    SPDX_PREDICATE,
    VULN_PREDICATE,
    FactError,
    Sbom,
    WrongKind,
    human_size,
    parse_sbom,
    parse_time,
)
from hoister.registry import (
    Descriptor,
    Manifest,
    NotFound,
    RegistryClient,
    RegistryError,
    fallback_tag,
)

log = logging.getLogger(__name__)

CREATED = "org.opencontainers.image.created"
#: cosign writes the predicate type on each attestation layer; BuildKit uses the other key.
PREDICATE_KEYS = ("predicateType", "in-toto.io/predicate-type")
#: Artifacts that never hold a fact of this module: not worth fetching their manifest.
SKIPPED_TYPES = frozenset(
    {
        "application/vnd.dev.cosign.artifact.sig.v1+json",
        "application/vnd.dev.sigstore.bundle.v0.3+json",
        "application/vnd.cncf.notary.signature",
        # Hoister's own promotion record (engine.provenance): JSON, but never an SBOM or
        # a report; taken for a possible one, it made every promoted image "SBOM attached".
        "application/vnd.hoister.promotion.v1+json",
    }
)
#: A hostile or neglected index may list thousands of referrers; these many are read.
MAX_REFERRERS = 64
MAX_LAYERS = 32
#: How many candidates :func:`best_sbom` / :func:`best_report` load to find the newest.
MAX_CANDIDATES = 8

#: Kinds that can only be an SBOM, or only a report: a document of such a kind that
#: turns out to be something else is reported; a merely possible one is passed over.
DEFINITE_SBOMS = frozenset({"spdx", "cyclonedx"})
DEFINITE_REPORTS = frozenset({"trivy", "grype", "sarif", "vuln"})
SBOM_KINDS = DEFINITE_SBOMS | {"sbom", "attestation", "json"}
REPORT_KINDS = DEFINITE_REPORTS | {"cyclonedx", "report", "attestation", "json"}
#: The more specific hint wins when the artifact type and the layer type disagree.
_SPECIFICITY = {"json": 0, "attestation": 1, "sbom": 1, "report": 1}
_WORDS = {
    "spdx": "SPDX SBOM",
    "cyclonedx": "CycloneDX SBOM",
    "sbom": "SBOM",
    "trivy": "Trivy report",
    "grype": "Grype report",
    "sarif": "SARIF report",
    "vuln": "vulnerability attestation",
    "report": "scan report",
    "attestation": "attestation",
    "json": "JSON document",
}
T = TypeVar("T", Sbom, ScanReport)


@dataclass(frozen=True)
class Found:
    """One attached document: the blob to fetch and what its descriptors suggest it is."""

    descriptor: Descriptor
    kind: str
    source_words: str
    manifest_digest: str = ""
    via: str = "referrer"
    created: datetime | None = None


@dataclass
class Attached:
    """Candidates, newest first, and why some attachments were passed over."""

    sboms: list[Found] = field(default_factory=list)
    reports: list[Found] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def attached_words(what: str, when: datetime | None) -> str:
    """The phrase a dry run quotes as a fact's source: "SPDX SBOM attached 2026-11-30"."""
    if when is None:
        return f"{what} attached"
    return f"{what} attached {when.astimezone(UTC).date().isoformat()}"


def kind_of(media_type: str | None) -> str | None:
    """What a media type or artifact type suggests a document is; None for other things."""
    text = (media_type or "").lower()
    if not text or text in SKIPPED_TYPES:
        return None
    if "spdx" in text or "cyclonedx" in text:
        # Tag-value SPDX and XML CycloneDX are not read.
        return None if "json" not in text else "spdx" if "spdx" in text else "cyclonedx"
    for word in ("sarif", "trivy", "grype"):
        if word in text:
            return word
    if "in-toto" in text or "dsse" in text:
        return "attestation"
    if "sbom" in text:
        return "sbom"
    if "vuln" in text or "scan" in text:
        return "report"
    return "json" if text.endswith("json") else None


def kind_of_predicate(predicate_type: str) -> str | None:
    if predicate_type.startswith(SPDX_PREDICATE):
        return "spdx"
    if predicate_type.startswith(CYCLONEDX_PREDICATE):
        return "cyclonedx"
    return "vuln" if predicate_type.startswith(VULN_PREDICATE) else None


def _pick(*kinds: str | None) -> str | None:
    known = [k for k in kinds if k is not None]
    return max(known, key=lambda k: _SPECIFICITY.get(k, 2), default=None)


def find_attached(client: RegistryClient, repository: str, digest: str) -> Attached:
    """Every SBOM and scan report attached to ``repository@digest``, newest first.

    Registry failures on one attachment become notes; the rest are still found. Only
    ``digest`` itself is searched: for a multi-platform image, ask again per child.
    """
    attached = Attached()
    seen: set[str] = set()
    try:
        referrers = client.referrers(repository, digest)
    except RegistryError as exc:
        attached.notes.append(f"the referrers of the image could not be listed: {exc}")
        referrers = []
    if len(referrers) > MAX_REFERRERS:
        attached.notes.append(f"only the first {MAX_REFERRERS} of {len(referrers)} referrers read")
    for descriptor in referrers[:MAX_REFERRERS]:
        if descriptor.artifact_type in SKIPPED_TYPES:
            continue
        manifest = _manifest(client, repository, descriptor.digest, attached)
        if manifest is not None:
            when = parse_time(descriptor.annotations.get(CREATED))
            _add(attached, manifest, "referrer", when, None, seen)
    for suffix, default in ((".sbom", "sbom"), (".att", "attestation")):
        manifest = _manifest(client, repository, fallback_tag(digest) + suffix, attached)
        if manifest is not None:
            _add(attached, manifest, f"cosign {suffix} tag", None, default, seen)
    attached.sboms.sort(key=_newest_first)
    attached.reports.sort(key=_newest_first)
    return attached


def _newest_first(found: Found) -> tuple[bool, float]:
    return (found.created is None, -found.created.timestamp() if found.created else 0.0)


def _manifest(
    client: RegistryClient, repository: str, reference: str, attached: Attached
) -> Manifest | None:
    try:
        manifest = client.get_manifest(repository, reference)
    except NotFound:
        return None
    except RegistryError as exc:
        attached.notes.append(f"{reference} could not be read: {exc}")
        return None
    return None if manifest.is_index else manifest


def _add(
    attached: Attached,
    manifest: Manifest,
    via: str,
    when: datetime | None,
    default: str | None,
    seen: set[str],
) -> None:
    when = when or parse_time(manifest.annotations.get(CREATED))
    from_artifact = kind_of(manifest.artifact_type)
    for layer in manifest.layers[:MAX_LAYERS]:
        if layer.digest in seen:
            continue
        seen.add(layer.digest)
        media = layer.media_type.lower()
        if ("spdx" in media or "cyclonedx" in media) and "json" not in media:
            attached.notes.append(
                f"an SBOM of type {layer.media_type} ({via}) is not JSON; not read"
            )
            continue
        predicate = next(
            (layer.annotations[k] for k in PREDICATE_KEYS if k in layer.annotations), None
        )
        if predicate is not None:
            kind = kind_of_predicate(predicate)  # provenance and the like: not ours
        else:
            kind = _pick(kind_of(layer.media_type), from_artifact) or default
        if kind is None:
            continue
        created = when or parse_time(layer.annotations.get(CREATED))
        if kind in SBOM_KINDS:
            label = _WORDS[kind if kind in DEFINITE_SBOMS else "sbom"]
            words = attached_words(label, created)
            attached.sboms.append(Found(layer, kind, words, manifest.digest, via, created))
        if kind in REPORT_KINDS:
            label = "CycloneDX report" if kind == "cyclonedx" else _WORDS[kind]
            words = attached_words(label, created)
            attached.reports.append(Found(layer, kind, words, manifest.digest, via, created))


def _fetch(client: RegistryClient, repository: str, found: Found, limit: int) -> bytes:
    if found.descriptor.size > limit:
        raise FactError(
            f"the {found.source_words} is {found.descriptor.size} bytes, more than the "
            f"{human_size(limit)} Hoister reads"
        )
    try:
        return client.get_blob(repository, found.descriptor.digest, max_size=limit)
    except RegistryError as exc:
        raise FactError(f"the {found.source_words} could not be read: {exc}") from exc


def load_sbom(
    client: RegistryClient, repository: str, found: Found, *, limit: int = MAX_SBOM_BYTES
) -> Sbom:
    """Fetch and parse one attached SBOM; its date is the attachment's, else its own."""
    sbom = parse_sbom(_fetch(client, repository, found, limit), limit=limit)
    return dataclasses.replace(sbom, created=found.created or sbom.created)


def load_report(
    client: RegistryClient, repository: str, found: Found, *, limit: int = MAX_REPORT_BYTES
) -> ScanReport:
    """Fetch and parse one attached report; its date is the attachment's, else its own."""
    report = parse_report(_fetch(client, repository, found, limit), limit=limit)
    return dataclasses.replace(report, created=found.created or report.created)


def sbom_words(sbom: Sbom) -> str:
    return attached_words(f"{sbom.label} SBOM", sbom.created)


def report_words(report: ScanReport) -> str:
    return attached_words(f"{report.scanner} report", report.created)


def _best(
    candidates: list[Found],
    load: Callable[[Found], T],
    words: Callable[[T], str],
    definite: frozenset[str],
    notes: list[str],
) -> tuple[T, str] | None:
    loaded: list[T] = []
    failures: list[str] = []
    for found in candidates[:MAX_CANDIDATES]:
        try:
            loaded.append(load(found))
        except WrongKind as exc:
            if found.kind in definite:
                failures.append(f"{found.source_words} ({found.via}): {exc}")
            else:
                log.debug("%s (%s) passed over: %s", found.source_words, found.via, exc)
        except FactError as exc:
            failures.append(f"{found.source_words} ({found.via}): {exc}")
    notes.extend(failures)
    if not loaded:
        if failures:
            raise FactError("no attached document could be read: " + "; ".join(failures))
        return None
    epoch = datetime.min.replace(tzinfo=UTC)
    newest = max(loaded, key=lambda value: value.created or epoch)  # first wins a tie
    return newest, words(newest)


def best_sbom(
    client: RegistryClient, repository: str, attached: Attached
) -> tuple[Sbom, str] | None:
    """The newest readable attached SBOM and its source words; None when none is attached.

    Raises :class:`FactError` when SBOMs are attached but none can be read, so the fact is
    unknown *with the reason*; unreadable ones next to a good one become ``notes``.
    """
    return _best(
        attached.sboms,
        lambda f: load_sbom(client, repository, f),
        sbom_words,
        DEFINITE_SBOMS,
        attached.notes,
    )


def best_report(
    client: RegistryClient, repository: str, attached: Attached
) -> tuple[ScanReport, str] | None:
    """The newest readable attached scan report and its source words (see :func:`best_sbom`)."""
    return _best(
        attached.reports,
        lambda f: load_report(client, repository, f),
        report_words,
        DEFINITE_REPORTS,
        attached.notes,
    )
