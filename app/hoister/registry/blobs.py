"""Blob transfer: existence checks, verified streaming reads, mounts and uploads.

Reads are verified against their digest as they stream, so a corrupt or truncated blob
is noticed before anything is written from it. Uploads live in
:mod:`hoister.registry.upload`.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Iterator
from typing import TYPE_CHECKING

import httpx

from hoister.registry.auth import repository_scope
from hoister.registry.errors import (
    DigestMismatch,
    NotFound,
    ProtocolError,
    RegistryError,
    ServerError,
    TooManyRequests,
    Unreachable,
    body_error,
    content_length,
)
from hoister.registry.upload import DEFAULT_CHUNK_SIZE, Progress, UploadOps, cancel_upload

if TYPE_CHECKING:
    from hoister.registry.cache import RegistryCache
    from hoister.registry.session import RegistrySession

log = logging.getLogger(__name__)

_PROBES = threading.Lock()

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
    cache: RegistryCache

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

    def upload_unless_present(self, repository: str, digest: str) -> str | None:
        """An upload session for ``digest`` in ``repository``, or None if it is there.

        Where the registry is known to honour mounts, one request answers both: a mount
        of the blob from ``repository`` into itself is 201 when the blob is there and
        202 with a fresh upload session when it is not, so the copy needs no HEAD first.
        Elsewhere (not known yet, or a registry that opens a session for every mount
        and would have the bytes sent again) it is a HEAD, then the POST.
        """
        if self.cache.honours_mounts:
            try:
                response = self.session.send(
                    "POST",
                    f"/v2/{repository}/blobs/uploads/",
                    scopes=[repository_scope(repository, "pull", "push")],
                    what=f"starting the upload of {digest} to {repository}",
                    params={"mount": digest, "from": repository},
                    ok=(201, 202),
                )
            except (Unreachable, ServerError, TooManyRequests):
                raise  # retried by the session already; the upload would meet it too
            except RegistryError as exc:
                # a registry that refuses this mount instead of opening a session:
                # ask the plain way from now on
                log.info("mount of %s into %s refused (%s); HEAD first", digest, repository, exc)
                self.cache.honours_mounts = False
            else:
                if response.status_code == 201:
                    return None
                return self._location(response)
        if self.head_blob(repository, digest) is not None:
            return None
        return self.start_upload(repository, digest)

    def learn_mounts(self, repository: str, digest: str) -> None:
        """Find out once whether this registry honours mounts, with a blob it holds.

        A mount of ``digest`` (just uploaded to ``repository``) from there into itself
        is 201 where mounts work; a registry that ignores them opens a session (202,
        cancelled here). The answer lets :meth:`upload_unless_present` ask with one
        request instead of two. A failure counts as "no": the HEAD first is always right.
        """
        with _PROBES:  # one probe per client: copies in flight meanwhile HEAD first
            if self.cache.honours_mounts is not None:
                return
            self.cache.honours_mounts = False
        try:
            mounted = self.mount_blob(repository, digest, repository)
        except RegistryError as exc:
            log.debug("no answer on mounts from %s: %s", self.session.host, exc)
            return
        self.cache.honours_mounts = mounted
