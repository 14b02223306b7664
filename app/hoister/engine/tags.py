"""Tags that are bookkeeping, not pushes: never promoted, never shown as images.

Registries without the referrers API keep an index of an image's signatures, SBOMs and
provenance under ``sha256-<hex>``, and cosign stores its artifacts under
``sha256-<hex>.sig``/``.att``/``.sbom``. The watcher must not mistake them for new
images, or every signature would be promoted as if a developer had pushed it.
"""

from __future__ import annotations

import re

_REFERRER_TAG = re.compile(r"sha256-[0-9a-f]{64}(?:\.(?:sig|att|sbom|[a-z0-9]+))?")
#: Where the backup-then-overwrite mode keeps the replaced image.
BACKUP_MARK = ".hoister-backup-"


def is_referrer_tag(tag: str) -> bool:
    return _REFERRER_TAG.fullmatch(tag) is not None


def is_backup_tag(tag: str) -> bool:
    return BACKUP_MARK in tag


def is_internal_tag(tag: str) -> bool:
    """True for referrer indexes, cosign artifacts and Hoister's own backup tags."""
    return is_referrer_tag(tag) or is_backup_tag(tag)


def backup_tag(tag: str, stamp: str) -> str:
    """``1.4`` + ``20261130T090503`` -> ``1.4.hoister-backup-20261130T090503`` (max 128)."""
    suffix = f"{BACKUP_MARK}{stamp}"
    return tag[: 128 - len(suffix)] + suffix
