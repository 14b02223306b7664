"""Manifests kept as the exact bytes the registry served.

The digest of an image is the sha256 of its manifest bytes, so re-serialising JSON
would change it; :class:`Manifest` keeps ``data`` untouched and parses it only to read
fields. Parsing is tolerant of unknown fields (artifacts, future versions) and strict
about the fields a copy depends on.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from hoister.registry import mediatypes
from hoister.registry.errors import ProtocolError


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
        if not isinstance(digest, str) or not isinstance(size, int):
            raise ProtocolError(f"a descriptor in the {where} lacks a digest or a size")
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
            body = json.loads(data)
        except (ValueError, UnicodeDecodeError) as exc:
            raise ProtocolError(f"manifest {digest} is not valid JSON") from exc
        if not isinstance(body, dict):
            raise ProtocolError(f"manifest {digest} is not a JSON object")
        manifest = cls(data, infer_media_type(body, content_type), digest)
        manifest.__dict__["json"] = body
        # Parse the descriptors now so a malformed manifest fails here, in one place.
        _ = manifest.config, manifest.layers, manifest.manifests
        return manifest

    @cached_property
    def json(self) -> dict[str, Any]:
        value = json.loads(self.data)
        assert isinstance(value, dict)
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
