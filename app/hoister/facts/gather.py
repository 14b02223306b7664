"""Gathering the facts a policy needs from the registry, and only those.

Evaluating "tag ends with stable" needs no request at all; "label team = web" needs the
manifest and config; "signed" needs the referrers. Gathering lazily keeps polling cheap
for the common tag-only policies.
"""

from __future__ import annotations

import logging
from collections.abc import Collection
from datetime import UTC, datetime
from typing import Any

from hoister.facts.contents import ContentsReader
from hoister.facts.model import ImageFacts
from hoister.registry import Manifest, RegistryClient, RegistryError, fallback_tag
from hoister.store.facts import FactsCache

log = logging.getLogger(__name__)

SIGNATURE_TYPES = frozenset(
    {
        "application/vnd.dev.cosign.artifact.sig.v1+json",
        "application/vnd.dev.sigstore.bundle.v0.3+json",
        "application/vnd.cncf.notary.signature",
    }
)
#: Facts this module can read; the rest (components, licenses, vulnerabilities) come from
#: SBOMs and scan reports.
IMAGE_FACTS = frozenset({"created", "labels", "annotations", "platforms", "size"})
#: Facts read from what is attached to the image, its layers, or a scanner.
CONTENT_FACTS = frozenset({"components", "licenses", "vulnerabilities"})
NOT_YET = "nothing tells (no SBOM, package database or scan report was found)"


def _parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _pick_child(manifest: Manifest) -> str | None:
    """For an index, the image whose config answers: linux/amd64, else the first."""
    children = [d for d in manifest.manifests if d.platform is not None]
    for child in children:
        if str(child.platform) == "linux/amd64":
            return child.digest
    return children[0].digest if children else None


def _freeze(facts: dict[str, Any]) -> dict[str, Any]:
    """JSON for the cache: times as ISO text, tuples as lists."""
    out = dict(facts)
    if out.get("created") is not None:
        out["created"] = out["created"].isoformat()
    if out.get("platforms") is not None:
        out["platforms"] = list(out["platforms"])
    return out


def _thaw(value: dict[str, Any]) -> dict[str, Any]:
    out = dict(value)
    if out.get("created") is not None:
        out["created"] = _parse_time(out["created"])
    if out.get("platforms") is not None:
        out["platforms"] = tuple(out["platforms"])
    return out


class FactsGatherer:
    def __init__(
        self, client: RegistryClient, cache: FactsCache | None = None, scanner: str | None = None
    ) -> None:
        self.client = client
        self.contents = ContentsReader(client, cache, scanner)

    def gather(
        self,
        repository: str,
        tag: str,
        digest: str | None,
        needed: Collection[str],
        *,
        updated_at: datetime | None = None,
        platform: str | None = None,
    ) -> ImageFacts:
        values: dict[str, Any] = {"updated_at": updated_at}
        sources: dict[str, str] = {}
        missing: dict[str, str] = {}
        if updated_at is None:
            missing["updated_at"] = "Hoister has not seen when this tag was pushed"
        wanted = set(needed)
        contents_wanted = wanted & CONTENT_FACTS
        image_wanted = wanted & IMAGE_FACTS
        if "licenses" in contents_wanted:
            image_wanted.add("labels")  # the licenses label counts too
        try:
            if contents_wanted and digest is None:
                head = self.client.head_manifest(repository, tag)
                digest = head.digest if head is not None else None
            if image_wanted:
                values.update(self._image_facts(repository, digest or tag))
            if "signed" in wanted:
                values["signed"] = self._signed(repository, digest or tag)
            if contents_wanted and digest is not None:
                found = self.contents.read(
                    repository,
                    digest,
                    contents_wanted,
                    labels=values.get("labels"),
                    platform=platform,
                )
                for name in contents_wanted:
                    value = getattr(found, name)
                    if value is not None:
                        values[name] = value
                sources.update(found.sources)
                missing.update(found.missing)
        except RegistryError as exc:
            log.info("facts of %s:%s unknown: %s", repository, tag, exc)
            for name in wanted - {"tag", "updated_at"}:
                missing.setdefault(name, f"the registry could not be read: {exc}")
                values.pop(name, None)
        for name in CONTENT_FACTS:
            if values.get(name) is None:
                missing.setdefault(name, NOT_YET)
        for name, value in values.items():
            if value is not None:
                sources.setdefault(name, "registry")
        return ImageFacts(
            repository=repository,
            tag=tag,
            digest=digest,
            missing=missing,
            sources=sources,
            **values,
        )

    def _image_facts(self, repository: str, reference: str) -> dict[str, Any]:
        """Facts of the image itself: immutable for a digest, so cached by it in the store."""
        cache = self.contents.cache
        if cache is not None and reference.startswith("sha256:"):
            cached = cache.get(reference, "image")
            if cached is not None:
                return _thaw(cached[0])
        facts = self._read_image_facts(repository, reference)
        if cache is not None and reference.startswith("sha256:"):
            cache.put(reference, "image", _freeze(facts), "registry")
        return facts

    def _read_image_facts(self, repository: str, reference: str) -> dict[str, Any]:
        manifest = self.client.get_manifest(repository, reference)
        facts: dict[str, Any] = {"annotations": manifest.annotations}
        image = manifest
        if manifest.is_index:
            facts["platforms"] = tuple(str(p) for p in manifest.platforms)
            facts["size"] = len(manifest.data) + sum(d.size for d in manifest.manifests)
            child = _pick_child(manifest)
            if child is None:
                return facts
            image = self.client.get_manifest(repository, child)
            facts["size"] = len(manifest.data) + sum(
                self.client.get_manifest(repository, d.digest).size for d in manifest.manifests
            )
        else:
            facts["size"] = manifest.size
        if image.config is None or image.artifact_type:
            return facts
        config = self.client.get_config(repository, image)
        inner = config.get("config") if isinstance(config.get("config"), dict) else {}
        labels = inner.get("Labels") if isinstance(inner.get("Labels"), dict) else {}
        facts["labels"] = {str(k): str(v) for k, v in labels.items()}
        facts["created"] = _parse_time(config.get("created"))
        if not manifest.is_index:
            platform = f"{config.get('os', '')}/{config.get('architecture', '')}"
            if config.get("variant"):
                platform += f"/{config['variant']}"
            facts["platforms"] = (platform,)
        return facts

    def _signed(self, repository: str, digest: str) -> bool:
        if any(
            d.artifact_type in SIGNATURE_TYPES for d in self.client.referrers(repository, digest)
        ):
            return True
        return self.client.head_manifest(repository, fallback_tag(digest) + ".sig") is not None
