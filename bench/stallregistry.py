"""The large registry of the stall benchmark, written straight into distribution's storage.

Pushing 100,000 repositories over HTTP would take hours on two cores, so the files the
registry itself would have written are laid out directly in the filesystem driver's
layout (``registry/storage/paths.go`` of distribution): blobs under
``docker/registry/v2/blobs/sha256/<2 hex>/<hex>/data``, and per repository the
``_layers`` links, the manifest revision link and, per tag, ``current/link`` and the
tag's index entry. The tree is built once into a temp dir beside the cache and renamed
into place when complete, so an interrupted build is never taken for a finished one.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import random
import shutil
import tarfile
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench.common import progress

#: Bump when the layout below changes: an older cache is then rebuilt, not reused.
LAYOUT_VERSION = 1
REPOSITORIES = 100_000
BIG_REPOSITORY = "releases/website"
BIG_TAGS = 10_001
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"
_BASE_TIME = datetime(2026, 1, 1, tzinfo=UTC)


def small_repositories() -> list[str]:
    """``team-NNN/service-NN``: 1,000 namespaces of 100 (one slot is the big repository)."""
    names = [f"team-{i // 100:03d}/service-{i % 100:02d}" for i in range(REPOSITORIES)]
    return names[: REPOSITORIES - 1]


def big_tags() -> list[str]:
    """``1.N.M`` for 10,001 builds: version order is not creation order (see created_at)."""
    return [f"1.{i // 100}.{i % 100}" for i in range(BIG_TAGS)]


def created_order() -> list[int]:
    """Minute offset of each big tag's creation: a fixed shuffle, so sorting has work."""
    minutes = list(range(BIG_TAGS))
    random.Random(12).shuffle(minutes)
    return minutes


@dataclass(frozen=True)
class Blob:
    data: bytes
    media_type: str

    @property
    def hex(self) -> str:
        return hashlib.sha256(self.data).hexdigest()

    @property
    def digest(self) -> str:
        return f"sha256:{self.hex}"

    def descriptor(self) -> dict[str, object]:
        return {"mediaType": self.media_type, "digest": self.digest, "size": len(self.data)}


def _layer() -> Blob:
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as tar:
        info = tarfile.TarInfo("hello.txt")
        body = b"hello from the stall benchmark\n"
        info.size, info.mtime = len(body), 0
        tar.addfile(info, io.BytesIO(body))
    return Blob(gzip.compress(raw.getvalue(), mtime=0), OCI_LAYER)


def _image(layer: Blob, created: datetime) -> tuple[Blob, Blob]:
    """(config, manifest) of a one-layer linux/amd64 image created at ``created``."""
    diff_id = "sha256:" + hashlib.sha256(gzip.decompress(layer.data)).hexdigest()
    config = Blob(
        json.dumps(
            {
                "architecture": "amd64",
                "os": "linux",
                "created": created.isoformat().replace("+00:00", "Z"),
                "config": {"Labels": {"org.opencontainers.image.title": "stall bench"}},
                "rootfs": {"type": "layers", "diff_ids": [diff_id]},
            },
            sort_keys=True,
        ).encode(),
        OCI_CONFIG,
    )
    manifest = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": config.descriptor(),
        "layers": [layer.descriptor()],
    }
    return config, Blob(json.dumps(manifest, sort_keys=True).encode(), OCI_MANIFEST)


def _write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


class StorageWriter:
    """Writes blobs and repository links under ``<storage>/docker/registry/v2``."""

    def __init__(self, storage: Path) -> None:
        self.root = storage / "docker" / "registry" / "v2"
        self._blobs: set[str] = set()

    def blob(self, blob: Blob) -> None:
        if blob.hex not in self._blobs:
            _write(self.root / "blobs" / "sha256" / blob.hex[:2] / blob.hex / "data", blob.data)
            self._blobs.add(blob.hex)

    def tag(self, repository: str, tag: str, layer: Blob, config: Blob, manifest: Blob) -> None:
        """What a push of one image under ``tag`` leaves in the repository."""
        for blob in (layer, config, manifest):
            self.blob(blob)
        repo = self.root / "repositories" / repository
        link = manifest.digest.encode()
        for blob in (layer, config):
            _write(repo / "_layers" / "sha256" / blob.hex / "link", blob.digest.encode())
        _write(repo / "_manifests" / "revisions" / "sha256" / manifest.hex / "link", link)
        tag_dir = repo / "_manifests" / "tags" / tag
        _write(tag_dir / "current" / "link", link)
        _write(tag_dir / "index" / "sha256" / manifest.hex / "link", link)


def _build(storage: Path) -> None:
    writer = StorageWriter(storage)
    layer = _layer()
    config, manifest = _image(layer, _BASE_TIME)
    names = small_repositories()
    for number, repository in enumerate(names, 1):
        writer.tag(repository, "latest", layer, config, manifest)
        if number % 10_000 == 0:
            progress(f"stall registry: {number:,} of {len(names):,} repositories written")
    for tag, minutes in zip(big_tags(), created_order(), strict=True):
        config, manifest = _image(layer, _BASE_TIME + timedelta(minutes=minutes))
        writer.tag(BIG_REPOSITORY, tag, layer, config, manifest)
    progress(f"stall registry: {BIG_REPOSITORY} with {BIG_TAGS:,} tags written")


def cache_root() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "hoister-bench" / f"stall-v{LAYOUT_VERSION}"


def ensure_storage(root: Path | None = None) -> Path:
    """The registry's storage directory, built on the first run and reused after."""
    root = root or cache_root()
    storage = root / "storage"
    marker = root / "complete"
    if marker.exists() and storage.is_dir():
        progress(f"stall registry: reusing {storage}")
        return storage
    root.mkdir(parents=True, exist_ok=True)
    partial = root / "storage.partial"
    shutil.rmtree(partial, ignore_errors=True)
    shutil.rmtree(storage, ignore_errors=True)
    progress(f"stall registry: building {REPOSITORIES:,} repositories in {root} (once)")
    _build(partial)
    partial.rename(storage)
    marker.write_text(f"{REPOSITORIES} repositories, {BIG_TAGS} tags in {BIG_REPOSITORY}\n")
    return storage
