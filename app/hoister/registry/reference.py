"""Names, tags, digests and image references, checked against the registry grammar.

Checking locally gives a person a precise message ("tag '-x' must start with a letter,
digit or underscore") instead of a registry's terse 400, and keeps malformed names out
of URLs.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from hoister.errors import InvalidInput

_COMPONENT = r"[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*"
REPOSITORY_RE = re.compile(rf"{_COMPONENT}(?:/{_COMPONENT})*")
TAG_RE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._-]{0,127}")
DIGEST_RE = re.compile(r"sha256:[0-9a-f]{64}")
MAX_REPOSITORY_LENGTH = 255


def sha256_digest(data: bytes) -> str:
    """The content digest of ``data`` in the ``sha256:<hex>`` form registries use."""
    return "sha256:" + hashlib.sha256(data).hexdigest()


def is_digest(ref: str) -> bool:
    return DIGEST_RE.fullmatch(ref) is not None


def validate_repository(name: str) -> str:
    """Return ``name`` if it is a valid repository name, else raise :class:`InvalidInput`."""
    if not name:
        raise InvalidInput("a repository name is required (for example dev/website)")
    if len(name) > MAX_REPOSITORY_LENGTH:
        raise InvalidInput(f"repository name is {len(name)} characters; the limit is 255")
    if REPOSITORY_RE.fullmatch(name) is None:
        hint = " (repository names are lower case)" if name.lower() != name else ""
        raise InvalidInput(
            f"'{name}' is not a valid repository name{hint}: use lower-case letters, digits "
            "and separators '.', '_', '-' between them, with '/' between path components"
        )
    return name


def validate_tag(tag: str) -> str:
    """Return ``tag`` if it is a valid tag, else raise :class:`InvalidInput`."""
    if TAG_RE.fullmatch(tag) is not None:
        return tag
    if not tag:
        raise InvalidInput("a tag cannot be empty")
    if len(tag) > 128:
        raise InvalidInput(f"tag '{tag[:20]}...' is {len(tag)} characters; the limit is 128")
    for position, char in enumerate(tag, start=1):
        allowed = "A-Za-z0-9_" if position == 1 else "A-Za-z0-9._-"
        if re.fullmatch(f"[{allowed}]", char) is None:
            raise InvalidInput(
                f"tag '{tag}' has '{char}' at position {position}; "
                f"{'a tag must start with' if position == 1 else 'only'} letters, digits, "
                f"{'or underscore' if position == 1 else 'and . _ - are allowed'}"
            )
    raise InvalidInput(f"'{tag}' is not a valid tag")  # pragma: no cover - loop always finds it


def validate_digest(digest: str) -> str:
    if DIGEST_RE.fullmatch(digest) is None:
        raise InvalidInput(f"'{digest}' is not a sha256 digest (sha256: and 64 hex characters)")
    return digest


@dataclass(frozen=True)
class ImageReference:
    """``repository`` plus a tag or a digest (``reference``)."""

    repository: str
    reference: str

    @property
    def is_digest(self) -> bool:
        return is_digest(self.reference)

    def __str__(self) -> str:
        sep = "@" if self.is_digest else ":"
        return f"{self.repository}{sep}{self.reference}"


def parse_reference(text: str, default_tag: str | None = "latest") -> ImageReference:
    """Parse ``REPO:TAG`` or ``REPO@sha256:...`` (no host part: the profile gives it)."""
    text = text.strip()
    if "@" in text:
        repo, _, digest = text.partition("@")
        return ImageReference(validate_repository(repo), validate_digest(digest))
    repo, sep, tag = text.rpartition(":")
    if not sep or "/" in tag:
        repo, tag = text, ""
    if not tag:
        if default_tag is None:
            raise InvalidInput(f"'{text}' needs a tag or digest (REPO:TAG or REPO@sha256:...)")
        tag = default_tag
    return ImageReference(validate_repository(repo), validate_tag(tag))
