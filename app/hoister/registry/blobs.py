"""Blob transfer: existence checks, verified streaming reads, mounts and uploads.

Reads are verified against their digest as they stream, so a corrupt or truncated blob
is noticed before anything is written from it. Uploads live in
:mod:`hoister.registry.upload`.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterator
from typing import TYPE_CHECKING

import httpx

from hoister.registry.auth import repository_scope
from hoister.registry.errors import (
    DigestMismatch,
    NotFound,
    ProtocolError,
    body_error,
    content_length,
)
from hoister.registry.upload import DEFAULT_CHUNK_SIZE, Progress, UploadOps, cancel_upload

if TYPE_CHECKING:
    from hoister.registry.session import RegistrySession

log = logging.getLogger(__name__)

__all__ = ["DEFAULT_CHUNK_SIZE", "BlobOps", "BlobReader", "Progress", "cancel_upload"]


class BlobReader:
    """Chunks of one blob; raises :class:`DigestMismatch` at the end if the bytes differ."""

    def __init__(self, response: httpx.Response, digest: str, host: str, chunk_size: int) -> None:
        self._response = response
        self.digest = digest
        self._host = host
        self._chunk_size = chunk_size
        self.size: int | None = content_length(response)

    def __iter__(self) -> Iterator[bytes]:
        hasher = hashlib.sha256()
        try:
            for chunk in self._response.iter_bytes(self._chunk_size):
                hasher.update(chunk)
                yield chunk
        except httpx.HTTPError as exc:
            raise body_error(
                exc, f"the download of blob {self.digest} from {self._host} was cut off", self._host
            ) from exc
        actual = "sha256:" + hasher.hexdigest()
        if actual != self.digest:
            raise DigestMismatch(
                f"blob {self.digest} from {self._host} hashes to {actual}; it is corrupt or "
                "was cut short",
                host=self._host,
            )

    def close(self) -> None:
        self._response.close()

    def __enter__(self) -> BlobReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class BlobOps(UploadOps):
    """Blob operations, mixed into :class:`~hoister.registry.client.RegistryClient`.

    Uploads come from :class:`~hoister.registry.upload.UploadOps`.
    """

    session: RegistrySession

    def head_blob(self, repository: str, digest: str) -> int | None:
        """The blob's size if ``repository`` has it, else None."""
        try:
            response = self.session.send(
                "HEAD",
                f"/v2/{repository}/blobs/{digest}",
                scopes=[repository_scope(repository, "pull")],
                what=f"checking blob {digest} in {repository}",
                follow_redirects=True,
            )
        except NotFound:
            return None
        return content_length(response) or 0

    def open_blob(self, repository: str, digest: str, chunk_size: int = 1024 * 1024) -> BlobReader:
        """Start a streaming, verified download; use as a context manager."""
        response = self.session.send(
            "GET",
            f"/v2/{repository}/blobs/{digest}",
            scopes=[repository_scope(repository, "pull")],
            what=f"reading blob {digest} of {repository}",
            stream=True,
            follow_redirects=True,
        )
        return BlobReader(response, digest, self.session.host, chunk_size)

    def get_blob(self, repository: str, digest: str, max_size: int = 64 * 1024 * 1024) -> bytes:
        """A whole (small) blob in memory, verified; for configs and metadata."""
        with self.open_blob(repository, digest) as reader:
            if reader.size is not None and reader.size > max_size:
                raise ProtocolError(
                    f"blob {digest} of {repository} is {reader.size} bytes, more than the "
                    f"{max_size} expected here",
                    host=self.session.host,
                )
            parts: list[bytes] = []
            total = 0
            for chunk in reader:
                total += len(chunk)
                if total > max_size:
                    raise ProtocolError(
                        f"blob {digest} of {repository} exceeds {max_size} bytes",
                        host=self.session.host,
                    )
                parts.append(chunk)
        return b"".join(parts)

    def mount_blob(self, repository: str, digest: str, from_repository: str) -> bool:
        """Link a blob from another repository of the same registry without moving bytes.

        True when mounted; False when the registry declined (then nothing was left
        behind: the upload session it opened instead is cancelled).
        """
        response = self.session.send(
            "POST",
            f"/v2/{repository}/blobs/uploads/",
            scopes=[
                repository_scope(repository, "pull", "push"),
                repository_scope(from_repository, "pull"),
            ],
            what=f"mounting blob {digest} from {from_repository} into {repository}",
            params={"mount": digest, "from": from_repository},
            ok=(201, 202),
        )
        if response.status_code == 201:
            return True
        location = response.headers.get("location")
        if location:
            self._cancel_upload(repository, location)
        return False
