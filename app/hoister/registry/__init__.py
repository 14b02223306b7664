"""OCI Distribution client on httpx: auth, pagination, manifests, blobs, referrers."""

from hoister.registry.client import ApiInfo, Page, RegistryClient, fallback_tag
from hoister.registry.errors import (
    BeyondLimits,
    Denied,
    DigestMismatch,
    NotFound,
    PaginationLoop,
    ProtocolError,
    RegistryError,
    ServerError,
    TooManyRequests,
    Unauthorized,
    Unreachable,
    Unsupported,
)
from hoister.registry.manifest import Descriptor, Manifest, Platform
from hoister.registry.session import RetryPolicy

__all__ = [
    "ApiInfo",
    "BeyondLimits",
    "Denied",
    "Descriptor",
    "DigestMismatch",
    "Manifest",
    "NotFound",
    "Page",
    "PaginationLoop",
    "Platform",
    "ProtocolError",
    "RegistryClient",
    "RegistryError",
    "RetryPolicy",
    "ServerError",
    "TooManyRequests",
    "Unauthorized",
    "Unreachable",
    "Unsupported",
    "fallback_tag",
]
