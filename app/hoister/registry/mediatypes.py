"""Media types of the manifests and blobs a registry serves.

Listing every manifest type in ``Accept`` matters: a registry that is not told a client
understands indexes may convert them (Docker Hub used to serve a single platform), and
then the digest a user sees differs from the one that was pushed.
"""

from __future__ import annotations

OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"

OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"
OCI_EMPTY = "application/vnd.oci.empty.v1+json"

INDEX_TYPES = frozenset({OCI_INDEX, DOCKER_LIST})
IMAGE_TYPES = frozenset({OCI_MANIFEST, DOCKER_MANIFEST})
MANIFEST_TYPES = INDEX_TYPES | IMAGE_TYPES

#: Sent with every manifest request, most specific first.
MANIFEST_ACCEPT = ", ".join([OCI_INDEX, OCI_MANIFEST, DOCKER_LIST, DOCKER_MANIFEST])


def is_index(media_type: str) -> bool:
    """True for multi-platform indexes and Docker manifest lists."""
    return media_type in INDEX_TYPES


def is_image(media_type: str) -> bool:
    """True for single-platform image manifests (OCI or Docker schema 2)."""
    return media_type in IMAGE_TYPES


def short_name(media_type: str) -> str:
    """A word for people: 'OCI index', 'Docker manifest', ..."""
    return {
        OCI_INDEX: "OCI index",
        OCI_MANIFEST: "OCI manifest",
        DOCKER_LIST: "Docker manifest list",
        DOCKER_MANIFEST: "Docker manifest",
    }.get(media_type, media_type or "unknown")
