"""Reading what the details pane shows: plain workers that run in the pool.

Kept apart from the pane's widget so the HTML renderer can name these types without
importing the widget that imports it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from hoister.engine.provenance import PROVENANCE_ARTIFACT_TYPE, ProvenanceRecord, read_provenance
from hoister.errors import HoisterError
from hoister.facts.contents import DEFAULT_PLATFORM, Contents, ContentsReader
from hoister.facts.details import ImageDetails
from hoister.registry import Descriptor, NotFound, RegistryError, fallback_tag
from hoister.store.facts import FactsCache
from hoister.ui.browsing.tags_model import COSIGN_BADGES, badge_for_artifact
from hoister.ui.context import AppContext


@dataclass(frozen=True)
class TagInfo:
    tag: str
    details: ImageDetails


@dataclass(frozen=True)
class Referrers:
    """Artifacts about an image; ``rows`` are (badge, kind, digest) for the pane."""

    digest: str
    descriptors: list[Descriptor]  # from the referrers API or its fallback index
    rows: list[tuple[str, str, str]]
    problem: str = ""
    provenance: list[ProvenanceRecord] = field(default_factory=list)
    contents: Contents | None = None


@dataclass(frozen=True)
class RowReferrers:
    """Referrers of an image read after its row (see :func:`read_row_referrers`)."""

    digest: str
    referrers: list[Descriptor]
    provenance: list[ProvenanceRecord]


def read_row_referrers(ctx: AppContext, profile: str, repository: str, digest: str) -> RowReferrers:
    """Worker: the referrers (and provenance) of an image whose fallback index was listed
    after its row was read, on a later page: otherwise the row never learns it was promoted."""
    client = ctx.client(profile)
    referrers = client.referrers(repository, digest)
    provenance: list[ProvenanceRecord] = []
    if any(r.artifact_type == PROVENANCE_ARTIFACT_TYPE for r in referrers):
        provenance = read_provenance(client, repository, digest)
    return RowReferrers(digest, referrers, provenance)


def load_tag(ctx: AppContext, profile: str, repository: str, tag: str) -> TagInfo:
    """Worker: the tag's current digest (HEAD), then its details through the cache."""
    client = ctx.client(profile)
    head = client.head_manifest(repository, tag)
    if head is None:
        raise NotFound(f"{repository}:{tag} no longer exists on {client.host}", host=client.host)
    return TagInfo(tag, ctx.details.fetch(client, repository, tag, head.digest))


def policy_labels(details: ImageDetails) -> dict[str, str]:
    """The labels a policy reads (``licenses`` counts the licenses label): those of the
    image itself, or of an index's linux/amd64 image, else its first, as the engine does."""
    images = [i for i in details.images if i.config is not None]
    chosen = next((i for i in images if i.platform == DEFAULT_PLATFORM), None)
    chosen = chosen or (images[0] if images else None)
    return dict(chosen.config.labels) if chosen is not None and chosen.config else {}


def load_referrers(
    ctx: AppContext,
    profile: str,
    repository: str,
    digest: str,
    labels: dict[str, str] | None = None,
) -> Referrers:
    """Worker: the referrers API (or its fallback index), then cosign's tags, no index lists.

    Read after the details, so a slow registry shows the image first; a failure here
    costs the section, never the pane. ``labels`` are :func:`policy_labels`: without
    them the licenses label the Labels section shows would be ignored here.
    """
    client = ctx.client(profile)
    try:
        found = client.referrers(repository, digest)
        rows = [
            (badge_for_artifact(r.artifact_type), r.artifact_type or r.media_type, r.digest)
            for r in found
        ]
        for suffix, badge in COSIGN_BADGES.items():
            tag = f"{fallback_tag(digest)}.{suffix}"
            head = client.head_manifest(repository, tag)
            if head is not None:
                rows.append((badge, f"cosign tag {tag[:15]}….{suffix}", head.digest))
        provenance = []
        if any(r.artifact_type == PROVENANCE_ARTIFACT_TYPE for r in found):
            provenance = read_provenance(client, repository, digest)
    except RegistryError as exc:
        return Referrers(digest, [], [], f"referrers could not be listed: {exc}")
    return Referrers(
        digest,
        found,
        rows,
        provenance=provenance,
        contents=read_contents(ctx, profile, repository, digest, labels),
    )


def read_contents(
    ctx: AppContext,
    profile: str,
    repository: str,
    digest: str,
    labels: dict[str, str] | None = None,
) -> Contents | None:
    """Worker: components, licenses and vulnerabilities, as the policies would see them."""
    cache = FactsCache(ctx.database)
    wanted = {"components", "licenses", "vulnerabilities"}
    try:
        reader = ContentsReader(ctx.client(profile), cache, ctx.profiles.get(profile).scanner)
        return reader.read(repository, digest, wanted, labels=labels)
    except HoisterError as exc:
        return Contents(missing={"components": str(exc)})
    finally:
        cache.close()
