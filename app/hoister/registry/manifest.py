"""Manifests kept as the exact bytes the registry served.

The digest of an image is the sha256 of its manifest bytes, so re-serialising JSON
would change it; :class:`Manifest` keeps ``data`` untouched and parses it only to read
fields. Parsing is tolerant of unknown fields (artifacts, future versions) and strict
about the fields a copy depends on: every descriptor needs a digest in the OCI grammar
(it becomes part of a URL) and a size that is a non-negative integer, and an index may
not list itself.

Indexes nest rarely more than twice (an index of per-platform indexes); whoever walks
children follows at most :data:`MAX_INDEX_DEPTH` manifests from the top one down, so a
registry that serves an endless or circular chain is refused instead of followed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from hoister import jsonlimits
from hoister.registry import mediatypes
from hoister.registry.errors import ProtocolError

#: Manifests on one path from the top manifest down, the top one included: an index of
#: indexes of images is 3. OCI puts no limit; real images use 2, attestation layouts 3.
MAX_INDEX_DEPTH = 8
#: The OCI image-spec digest grammar, with sha256's encoded part fixed at 64 hex digits.
DESCRIPTOR_DIGEST_RE = re.compile(r"[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+")
_SHA256_RE = re.compile(r"sha256:[a-f0-9]{64}")
MAX_DIGEST_LENGTH = 255


def valid_descriptor_digest(digest: str) -> bool:
    """Whether ``digest`` follows the OCI grammar (and sha256's exact form)."""
    if len(digest) > MAX_DIGEST_LENGTH or DESCRIPTOR_DIGEST_RE.fullmatch(digest) is None:
        return False
    return not digest.startswith("sha256:") or _SHA256_RE.fullmatch(digest) is not None


@dataclass(frozen=True)
class Platform:
    os: str
    architecture: str
    variant: str | None = None
    os_version: str | None = None

    def __str__(self) -> str:
        text = f"{self.os}/{self.architecture}"
        return f"{text}/{self.variant}" if self.variant else text

    @classmethod
    def from_json(cls, value: Any) -> Platform | None:
        if not isinstance(value, dict) or not value.get("os") or not value.get("architecture"):
            return None
        return cls(
            str(value["os"]),
            str(value["architecture"]),
            value.get("variant") or None,
            value.get("os.version") or None,
        )


@dataclass(frozen=True)
class Descriptor:
    """A pointer to content: media type, digest and size, plus optional metadata."""

    media_type: str
    digest: str
    size: int
    platform: Platform | None = None
    annotations: dict[str, str] = field(default_factory=dict)
    artifact_type: str | None = None

    @classmethod
    def from_json(cls, value: Any, where: str = "manifest") -> Descriptor:
        if not isinstance(value, dict):
            raise ProtocolError(f"a descriptor in the {where} is not an object")
        digest, size = value.get("digest"), value.get("size")
        if not isinstance(digest, str) or not isinstance(size, int) or isinstance(size, bool):
            raise ProtocolError(f"a descriptor in the {where} lacks a digest or a size")
        if not valid_descriptor_digest(digest):
            raise ProtocolError(
                f"a descriptor in the {where} has an invalid digest {digest[:80]!r}"
            )
        if size < 0:
            raise ProtocolError(f"a descriptor in the {where} has a negative size {size}")
        annotations = value.get("annotations") if isinstance(value.get("annotations"), dict) else {}
        return cls(
            media_type=str(value.get("mediaType") or ""),
            digest=digest,
            size=size,
            platform=Platform.from_json(value.get("platform")),
            annotations={str(k): str(v) for k, v in annotations.items()},
            artifact_type=value.get("artifactType") or None,
        )

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "mediaType": self.media_type,
            "digest": self.digest,
            "size": self.size,
        }
        if self.artifact_type:
            out["artifactType"] = self.artifact_type
        if self.annotations:
            out["annotations"] = dict(self.annotations)
        if self.platform:
            out["platform"] = {"os": self.platform.os, "architecture": self.platform.architecture}
            if self.platform.variant:
                out["platform"]["variant"] = self.platform.variant
        return out


def infer_media_type(body: dict[str, Any], content_type: str | None) -> str:
    """The manifest's type: header first, then the ``mediaType`` field, then its shape."""
    header = (content_type or "").split(";")[0].strip()
    if header in mediatypes.MANIFEST_TYPES:
        return header
    field_type = body.get("mediaType")
    if isinstance(field_type, str) and field_type:
        return field_type
    if "manifests" in body:
        return mediatypes.OCI_INDEX
    return mediatypes.OCI_MANIFEST


@dataclass(frozen=True)
class Manifest:
    """One manifest or index: exact bytes, media type and digest."""

    data: bytes = field(repr=False)
    media_type: str
    digest: str

    @classmethod
    def parse(cls, data: bytes, digest: str, content_type: str | None = None) -> Manifest:
        try:
            body = jsonlimits.loads(data, what=f"manifest {digest}")
        except jsonlimits.InvalidJSON as exc:
            raise ProtocolError(str(exc)) from exc
        if not isinstance(body, dict):
            raise ProtocolError(f"manifest {digest} is not a JSON object")
        manifest = cls(data, infer_media_type(body, content_type), digest)
        manifest.__dict__["json"] = body
        # Parse the descriptors now so a malformed manifest fails here, in one place.
        _ = manifest.config, manifest.layers, manifest.manifests
        if any(child.digest == digest for child in manifest.manifests):
            raise ProtocolError(f"index {digest} lists itself as one of its manifests")
        return manifest

    @cached_property
    def json(self) -> dict[str, Any]:
        value = jsonlimits.loads(self.data, what=f"manifest {self.digest}")
        if not isinstance(value, dict):
            raise ProtocolError(f"manifest {self.digest} is not a JSON object")
        return value

    @property
    def is_index(self) -> bool:
        return mediatypes.is_index(self.media_type) or "manifests" in self.json

    @cached_property
    def config(self) -> Descriptor | None:
        value = self.json.get("config")
        return Descriptor.from_json(value, f"config of {self.digest}") if value else None

    @cached_property
    def layers(self) -> list[Descriptor]:
        return self._descriptors("layers")

    @cached_property
    def manifests(self) -> list[Descriptor]:
        """The children of an index (empty for an image)."""
        return self._descriptors("manifests")

    @cached_property
    def subject(self) -> Descriptor | None:
        value = self.json.get("subject")
        return Descriptor.from_json(value, f"subject of {self.digest}") if value else None

    @property
    def artifact_type(self) -> str | None:
        value = self.json.get("artifactType")
        if value:
            return str(value)
        if self.config and self.config.media_type not in (
            mediatypes.OCI_CONFIG,
            mediatypes.DOCKER_CONFIG,
            mediatypes.OCI_EMPTY,
        ):
            return self.config.media_type
        return None

    @property
    def annotations(self) -> dict[str, str]:
        value = self.json.get("annotations")
        return {str(k): str(v) for k, v in value.items()} if isinstance(value, dict) else {}

    @property
    def blobs(self) -> list[Descriptor]:
        """Config and layers: what must exist in a repository before this manifest."""
        return ([self.config] if self.config else []) + self.layers

    @property
    def size(self) -> int:
        """Bytes of the image itself: manifest, config and layers (not children)."""
        return len(self.data) + sum(d.size for d in self.blobs)

    @property
    def platforms(self) -> list[Platform]:
        return [d.platform for d in self.manifests if d.platform is not None]

    def descriptor(self) -> Descriptor:
        return Descriptor(self.media_type, self.digest, len(self.data))

    def _descriptors(self, key: str) -> list[Descriptor]:
        value = self.json.get(key)
        if value is None:
            return []
        if not isinstance(value, list):
            raise ProtocolError(f"'{key}' of manifest {self.digest} is not a list")
        return [Descriptor.from_json(v, f"{key} of {self.digest}") for v in value]
