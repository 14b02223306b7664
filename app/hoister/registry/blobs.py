"""Blob transfer: existence checks, verified streaming reads, mounts and uploads.

Reads are verified against their digest as they stream, so a corrupt or truncated blob
is noticed before anything is written from it. Uploads are monolithic for data already
in memory and chunked (bounded memory) for streams; an upload that fails part-way is
started again in a fresh session when its source can be read again.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
from collections.abc import Callable, Iterable, Iterator
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

if TYPE_CHECKING:
    from hoister.registry.session import RegistrySession

log = logging.getLogger(__name__)

DEFAULT_CHUNK_SIZE = 8 * 1024 * 1024
Progress = Callable[[int], None]


def cancel_upload(session: RegistrySession, repository: str, location: str, what: str) -> None:
    """Best effort: an abandoned session is garbage-collected by the registry anyway."""
    with contextlib.suppress(RegistryError):
        session.send(
            "DELETE",
            location,
            scopes=[repository_scope(repository, "pull", "push")],
            what=what,
            ok=(200, 202, 204, 404),
        )


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


class BlobOps:
    """Blob operations, mixed into :class:`~hoister.registry.client.RegistryClient`."""

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

    def upload_blob(
        self,
        repository: str,
        digest: str,
        data: bytes | Iterable[bytes] | Callable[[], Iterable[bytes]],
        *,
        chunk_size: int | None = None,
        progress: Progress | None = None,
    ) -> str:
        """Upload a blob and return its digest as the registry stored it.

        ``bytes`` go up in one PUT unless ``chunk_size`` is given; chunks (a stream from
        another registry) go up in PATCHes of ``chunk_size``. A registry cannot resume a
        session that lost part of a chunk (distribution cancels it), so a failed upload is
        started again from the first byte — which needs ``bytes`` or a callable that
        reopens the stream; a plain iterator is tried once.
        """
        restartable = isinstance(data, bytes) or callable(data)
        attempts = self.session.retry.attempts if restartable else 1
        for attempt in range(attempts):
            source = data() if callable(data) else data
            try:
                return self._upload_once(repository, digest, source, chunk_size, progress)
            except RegistryError as exc:
                if attempt + 1 >= attempts or not _restart_helps(exc):
                    raise
                delay = self.session.retry.delay(attempt)
                log.info(
                    "upload of %s to %s failed (%s); again in %.1fs", digest, repository, exc, delay
                )
                self.session.sleep(delay)
        raise AssertionError("unreachable")  # pragma: no cover

    def _upload_once(
        self,
        repository: str,
        digest: str,
        data: bytes | Iterable[bytes],
        chunk_size: int | None,
        progress: Progress | None,
    ) -> str:
        location = self._start_upload(repository, digest)
        try:
            if isinstance(data, bytes) and chunk_size is None:
                return self._finish_upload(repository, location, digest, data, progress, len(data))
            pieces = [data] if isinstance(data, bytes) else data
            offset = 0
            for chunk in _rechunk(pieces, chunk_size or DEFAULT_CHUNK_SIZE):
                location = self._patch(repository, location, chunk, offset)
                offset += len(chunk)
                if progress:
                    progress(offset)
            return self._finish_upload(repository, location, digest, b"", None, offset)
        except BaseException:
            self._cancel_upload(repository, location)
            raise

    # -- upload internals --------------------------------------------------------------

    def _start_upload(self, repository: str, digest: str) -> str:
        response = self.session.send(
            "POST",
            f"/v2/{repository}/blobs/uploads/",
            scopes=[repository_scope(repository, "pull", "push")],
            what=f"starting the upload of {digest} to {repository}",
            ok=(202,),
        )
        location = response.headers.get("location")
        if not location:
            raise ProtocolError(
                f"{self.session.host} started an upload without a Location header",
                host=self.session.host,
            )
        return self.session.url(location)

    def _patch(self, repository: str, location: str, chunk: bytes, start: int) -> str:
        """Send one chunk and return the location for the next request."""
        response = self.session.send(
            "PATCH",
            location,
            scopes=[repository_scope(repository, "pull", "push")],
            what=f"uploading to {repository}",
            ok=(202, 204),
            headers={
                "Content-Type": "application/octet-stream",
                "Content-Range": f"{start}-{start + len(chunk) - 1}",
            },
            content=chunk,
        )
        return self.session.url(response.headers.get("location") or location)

    def _finish_upload(
        self,
        repository: str,
        location: str,
        digest: str,
        body: bytes,
        progress: Progress | None,
        size: int,
    ) -> str:
        url = httpx.URL(location).copy_merge_params({"digest": digest})
        response = self.session.send(
            "PUT",
            str(url),
            scopes=[repository_scope(repository, "pull", "push")],
            what=f"finishing the upload of {digest} to {repository}",
            ok=(201, 204),
            headers={"Content-Type": "application/octet-stream"},
            content=body,
        )
        if progress:
            progress(size)
        stored = response.headers.get("docker-content-digest") or digest
        if stored != digest:
            raise DigestMismatch(
                f"{self.session.host} stored the upload as {stored}, not {digest}",
                host=self.session.host,
            )
        return stored

    def _cancel_upload(self, repository: str, location: str) -> None:
        cancel_upload(self.session, repository, location, f"cancelling an upload to {repository}")


def _restart_helps(exc: RegistryError) -> bool:
    """Failures a fresh upload session can get past (not a wrong digest or a refusal)."""
    return (
        isinstance(exc, (Unreachable, ServerError, TooManyRequests))
        or exc.code in ("BLOB_UPLOAD_INVALID", "BLOB_UPLOAD_UNKNOWN")
        or exc.status == 416
    )


def _rechunk(parts: Iterable[bytes], size: int) -> Iterator[bytes]:
    """Regroup arbitrary pieces into chunks of ``size`` (the last one may be shorter)."""
    buffer = bytearray()
    for part in parts:
        buffer.extend(part)
        while len(buffer) >= size:
            yield bytes(buffer[:size])
            del buffer[:size]
    if buffer:
        yield bytes(buffer)
