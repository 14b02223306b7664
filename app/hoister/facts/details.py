"""Everything the tag details pane shows about one image, read once and cached by digest.

A digest names immutable content, so details fetched for it never go stale: the cache
is keyed by digest and shared by every view, and a repository with thousands of tags
sharing a few images costs a few fetches, not thousands.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from hoister.registry import Descriptor, Manifest, RegistryClient


@dataclass(frozen=True)
class HistoryStep:
    created: str | None
    created_by: str
    empty_layer: bool


@dataclass(frozen=True)
class ImageConfig:
    """The parts of an image configuration people look at."""

    platform: str
    created: datetime | None
    labels: dict[str, str] = field(default_factory=dict)
    env: list[str] = field(default_factory=list)
    entrypoint: list[str] = field(default_factory=list)
    cmd: list[str] = field(default_factory=list)
    workdir: str = ""
    user: str = ""
    history: list[HistoryStep] = field(default_factory=list)


@dataclass(frozen=True)
class PlatformImage:
    """One image of an index (or the image itself): its manifest and config."""

    platform: str
    manifest: Manifest
    config: ImageConfig | None  # None for artifacts without an image config

    @property
    def layers(self) -> list[Descriptor]:
        return self.manifest.layers

    @property
    def size(self) -> int:
        return self.manifest.size


@dataclass(frozen=True)
class ImageDetails:
    repository: str
    digest: str
    manifest: Manifest
    images: list[PlatformImage]  # one for an image, one per platform for an index

    @property
    def media_type(self) -> str:
        return self.manifest.media_type

    @property
    def is_index(self) -> bool:
        return self.manifest.is_index

    @property
    def size(self) -> int:
        if self.is_index:
            return len(self.manifest.data) + sum(i.size for i in self.images)
        return self.manifest.size

    @property
    def platforms(self) -> list[str]:
        return [i.platform for i in self.images]

    @property
    def created(self) -> datetime | None:
        times = [i.config.created for i in self.images if i.config and i.config.created]
        return max(times) if times else None


def _strings(value: Any) -> list[str]:
    return [str(v) for v in value] if isinstance(value, list) else []


def _time(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def parse_config(config: dict[str, Any]) -> ImageConfig:
    inner = config.get("config") if isinstance(config.get("config"), dict) else {}
    labels = inner.get("Labels") if isinstance(inner.get("Labels"), dict) else {}
    platform = f"{config.get('os', '?')}/{config.get('architecture', '?')}"
    if config.get("variant"):
        platform += f"/{config['variant']}"
    history = [
        HistoryStep(h.get("created"), str(h.get("created_by") or ""), bool(h.get("empty_layer")))
        for h in config.get("history") or []
        if isinstance(h, dict)
    ]
    return ImageConfig(
        platform=platform,
        created=_time(config.get("created")),
        labels={str(k): str(v) for k, v in labels.items()},
        env=_strings(inner.get("Env")),
        entrypoint=_strings(inner.get("Entrypoint")),
        cmd=_strings(inner.get("Cmd")),
        workdir=str(inner.get("WorkingDir") or ""),
        user=str(inner.get("User") or ""),
        history=history,
    )


def _platform_image(
    client: RegistryClient, repository: str, manifest: Manifest, platform: str
) -> PlatformImage:
    if manifest.config is None or manifest.artifact_type:
        return PlatformImage(platform or "artifact", manifest, None)
    config = parse_config(client.get_config(repository, manifest))
    return PlatformImage(platform or config.platform, manifest, config)


def load_details(client: RegistryClient, repository: str, reference: str) -> ImageDetails:
    """Read an image or index with its configs (one request per manifest and config)."""
    return details_of(client, repository, client.get_manifest(repository, reference))


def details_of(client: RegistryClient, repository: str, manifest: Manifest) -> ImageDetails:
    """The details of a manifest already read: its configs (and children's) on top."""
    if not manifest.is_index:
        return ImageDetails(
            repository,
            manifest.digest,
            manifest,
            [_platform_image(client, repository, manifest, "")],
        )
    images = []
    for child in manifest.manifests:
        if child.media_type and "index" in child.media_type:
            continue  # nested indexes are rare; their own details are one click away
        child_manifest = client.get_manifest(repository, child.digest)
        images.append(
            _platform_image(
                client, repository, child_manifest, str(child.platform) if child.platform else ""
            )
        )
    return ImageDetails(repository, manifest.digest, manifest, images)


class DetailsCache:
    """Thread-safe LRU of :class:`ImageDetails` by (registry, digest)."""

    def __init__(self, capacity: int = 2000) -> None:
        self._capacity = capacity
        self._items: OrderedDict[tuple[str, str], ImageDetails] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, host: str, digest: str) -> ImageDetails | None:
        with self._lock:
            found = self._items.get((host, digest))
            if found is not None:
                self._items.move_to_end((host, digest))
            return found

    def put(self, host: str, details: ImageDetails) -> None:
        with self._lock:
            self._items[(host, details.digest)] = details
            self._items.move_to_end((host, details.digest))
            while len(self._items) > self._capacity:
                self._items.popitem(last=False)

    def fetch(
        self, client: RegistryClient, repository: str, reference: str, digest: str | None = None
    ) -> ImageDetails:
        """Cached details for ``digest`` (when known), else read and remember them."""
        if digest:
            cached = self.get(client.host, digest)
            if cached is not None:
                return cached
        details = load_details(client, repository, digest or reference)
        self.put(client.host, details)
        return details

    def fetch_manifest(
        self, client: RegistryClient, repository: str, manifest: Manifest
    ) -> ImageDetails:
        """Details of a manifest just read by tag: cached by its digest, else its configs
        are read on top of it (so a row costs a manifest GET and a config GET, no HEAD)."""
        cached = self.get(client.host, manifest.digest)
        if cached is not None:
            return cached
        details = details_of(client, repository, manifest)
        self.put(client.host, details)
        return details
