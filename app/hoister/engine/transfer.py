"""Stream one blob from one registry to another: download and upload at once, memory
bounded, resumed where the upload session allows it, verified end to end.

The upload body *is* the download: each part of the upload is an iterator that pulls
``PIECE_SIZE`` reads from the source GET as the socket takes them, so the first bytes
reach the target while the rest are still arriving, for a blob of any size. A blob that
fits in one part goes up as POST + one streamed PUT; a larger one as PATCHes of
``part_size`` (each with ``Content-Length`` and ``Content-Range``) and a closing PUT.
Parts bound what a break costs, not memory: at most a few pieces are held per blob,
whatever the part or blob size.

When an upload breaks, the session is asked where it stands (GET of its Location,
``Range: 0-N``) and the copy carries on from byte N+1 with a ranged download of the
source (``Range: bytes=B-``). Hoister's hash must cover the whole blob, so the hash state
(a ``sha256`` copy, a few hundred bytes) is kept at the last offset the registry
acknowledged: a resume takes the state at that boundary B (or at 0 if the registry
reports less), hashes bytes B..N of the ranged download without sending them, and sends
from N on. Where the session cannot tell (distribution cancels one that received part of a
body; a registry without the status GET), a fresh session starts from byte 0, as a
restart always did. The last bytes of the blob are released only after the hash of
everything read matched the digest, so a registry never completes a blob from a source
that lied; the registry checks its own bytes against the digest on the closing PUT.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

from hoister.engine.arenas import cap_malloc_arenas
from hoister.registry import DigestMismatch, RegistryError, Unreachable
from hoister.registry.ranged import BlobPieces, open_range
from hoister.registry.upload import BodySpent, OnceBody, restart_helps

if TYPE_CHECKING:
    from hashlib import _Hash

    from hoister.registry import Descriptor, RegistryClient

log = logging.getLogger(__name__)

#: The size of one read from the download and so of one write to the upload. Memory per
#: blob in flight is a small multiple of it (see :class:`BlobPieces`), whatever the sizes.
PIECE_SIZE = 64 * 1024


def copy_blob_across(
    source: RegistryClient,
    from_repository: str,
    target: RegistryClient,
    to_repository: str,
    blob: Descriptor,
    *,
    part_size: int,
    check_cancel: Callable[[], None],
    progress: Callable[[int], None],
) -> int | None:
    """Put ``blob`` into the target repository unless it is there: None if it was, else
    the bytes streamed.

    Whether it is there is one request: where the registry is known to honour mounts,
    the POST that opens the upload session (a mount of the blob from the repository into
    itself: 201 there, 202 a session), else a HEAD first. A blob this client put or
    found there is remembered (``RegistryCache.keep_blob``) and costs nothing the next
    time, and one promotion at a time asks about it (``blob_turn``): a mount that finds
    the blob re-links it, so it is asked at most once per repository and client, as
    within one registry. The first upload to a registry learns whether it honours mounts.
    """
    cache = target.cache
    with cache.blob_turn(to_repository, blob.digest):
        if cache.has_blob(to_repository, blob.digest):
            return None
        location = target.upload_unless_present(to_repository, blob.digest)
        if location is None:
            cache.keep_blob(to_repository, blob.digest)
            return None
    moved = stream_blob(
        source,
        from_repository,
        target,
        to_repository,
        blob,
        part_size=part_size,
        check_cancel=check_cancel,
        progress=progress,
        location=location,
    )
    cache.keep_blob(to_repository, blob.digest)
    target.learn_mounts(to_repository, blob.digest)
    return moved


def stream_blob(
    source: RegistryClient,
    from_repository: str,
    target: RegistryClient,
    to_repository: str,
    blob: Descriptor,
    *,
    part_size: int,
    check_cancel: Callable[[], None],
    progress: Callable[[int], None],
    location: str | None = None,
) -> int:
    """Copy ``blob`` across registries; return the bytes the target now holds of it.

    ``location``: an upload session already open for it (else one is started).
    """
    copy = _Transfer(source, from_repository, target, to_repository, blob, part_size)
    copy.location = location
    return copy.run(check_cancel, progress)


class _Transfer:
    """One blob's copy: its upload session, and the hash state at acknowledged offsets."""

    def __init__(
        self,
        source: RegistryClient,
        from_repository: str,
        target: RegistryClient,
        to_repository: str,
        blob: Descriptor,
        part_size: int,
    ) -> None:
        self.source, self.from_repo = source, from_repository
        self.target, self.to_repo = target, to_repository
        self.blob = blob
        self.part_size = max(1, part_size)
        self.location: str | None = None
        self.hashes: dict[int, _Hash] = {0: hashlib.sha256()}
        self.resumed = False

    def run(self, check_cancel: Callable[[], None], progress: Callable[[int], None]) -> int:
        retry = self.target.session.retry
        failures = 0
        offset = 0
        while True:
            try:
                if self.location is None:
                    self.location = self.target.start_upload(self.to_repo, self.blob.digest)
                    offset = 0
                self._send_from(offset, check_cancel, progress)
                return self.blob.size
            except BaseException as exc:
                failures += 1
                if self.resumed and _spliced_wrong(exc) and failures < retry.attempts:
                    # The registry's bytes are not the blob although the bytes read were:
                    # the session took more than it said (a cut body it finished writing
                    # after the status was asked). Once more, whole, in a fresh session.
                    log.info("resumed upload of %s was refused (%s); again", self.blob.digest, exc)
                    self._abandon()
                    self.resumed, offset = False, 0
                    continue
                if not _worth_resuming(exc) or failures >= retry.attempts:
                    self._abandon()
                    if isinstance(exc, BodySpent):
                        raise Unreachable(
                            f"the upload of {self.blob.digest} to {self.target.host} kept "
                            f"breaking off; gave up after {failures} attempts",
                            host=self.target.host,
                        ) from exc
                    raise
                if not isinstance(exc, BodySpent):  # the session has waited already
                    self.target.session.sleep(retry.delay(failures - 1))
                offset = self._where_it_stands()
                self.resumed = self.resumed or offset > 0
                log.info(
                    "upload of %s to %s broke (%s); going on from byte %d",
                    self.blob.digest,
                    self.target.host,
                    exc,
                    offset,
                )

    def _where_it_stands(self) -> int:
        """The offset to go on from; 0 (and a fresh session) when the session cannot say."""
        if self.location is None:
            return 0
        try:
            status = self.target.upload_offset(self.to_repo, self.location)
        except RegistryError:
            status = None
        if status is None or status[0] > self.blob.size:
            self._abandon()
            return 0
        offset, self.location = status
        return offset

    def _abandon(self) -> None:
        if self.location is not None:
            self.target.cancel_upload_session(self.to_repo, self.location)
            self.location = None

    def _send_from(
        self, offset: int, check_cancel: Callable[[], None], progress: Callable[[int], None]
    ) -> None:
        base = max(known for known in self.hashes if known <= offset)
        if base == self.blob.size:  # every byte acknowledged and hashed; only the PUT is left
            self._check(self.hashes[base])
            self._send(b"", base, 0, self.blob.digest)
            return
        pieces = open_range(self.source, self.from_repo, self.blob.digest, base, PIECE_SIZE)
        try:
            start = pieces.start
            hasher = (self.hashes[base] if start == base else self.hashes[0]).copy()
            for piece in pieces.take(offset - start):  # already in the target: hash only
                hasher.update(piece)
            size = self.blob.size
            if offset == 0 and size <= self.part_size:
                body = self._body(pieces, hasher, 0, size, check_cancel)
                self._send(body, 0, size, self.blob.digest)
                progress(size)
                return
            position = offset
            while position < size:
                length = min(self.part_size, size - position)
                body = self._body(pieces, hasher, position, length, check_cancel)
                self.location = self._send(body, position, length, None)
                position += length
                # 0 and the last acknowledged offset: a registry keeps what it acknowledged,
                # so nothing between is ever needed, and memory stays flat for any size
                self.hashes = {0: self.hashes[0], position: hasher.copy()}
                progress(position)
            if size == offset:  # resumed with every byte there: verify what was read
                self._verify(pieces, hasher)
            self._send(b"", position, 0, self.blob.digest)
        finally:
            pieces.close()

    def _send(self, body: bytes | OnceBody, start: int, length: int, digest: str | None) -> str:
        assert self.location is not None
        return self.target.send_part(self.to_repo, self.location, body, start, length, digest)

    def _body(
        self,
        pieces: BlobPieces,
        hasher: _Hash,
        position: int,
        length: int,
        check_cancel: Callable[[], None],
    ) -> OnceBody:
        """The part at ``position`` as the download delivers it; the blob's last piece
        waits until everything read hashes to the digest."""

        def chunks() -> Iterator[bytes]:
            left = length
            for piece in pieces.take(length):
                check_cancel()
                hasher.update(piece)
                left -= len(piece)
                if left == 0 and position + length == self.blob.size:
                    self._verify(pieces, hasher)
                yield piece
            if length == 0 and position == self.blob.size:
                self._verify(pieces, hasher)

        return OnceBody(chunks())

    def _verify(self, pieces: BlobPieces, hasher: _Hash) -> None:
        host, digest = self.source.host, self.blob.digest
        if not pieces.at_end():
            raise DigestMismatch(
                f"blob {digest} from {host} is longer than the {self.blob.size} bytes its "
                "manifest declares",
                host=host,
            )
        self._check(hasher)

    def _check(self, hasher: _Hash) -> None:
        host, digest = self.source.host, self.blob.digest
        actual = "sha256:" + hasher.hexdigest()
        if actual != digest:
            raise DigestMismatch(
                f"blob {digest} from {host} hashes to {actual}; it is corrupt or was cut short",
                host=host,
            )


def _worth_resuming(exc: BaseException) -> bool:
    """A break another attempt can get past: the line, a 5xx, a session the registry lost.
    Not a wrong digest, a refusal, or a cancel."""
    if isinstance(exc, BodySpent):
        return True
    return (
        isinstance(exc, RegistryError)
        and not isinstance(exc, DigestMismatch)
        and (restart_helps(exc))
    )


def _spliced_wrong(exc: BaseException) -> bool:
    """The registry refused the digest of what it holds (not Hoister's own check)."""
    return (
        isinstance(exc, RegistryError)
        and not isinstance(exc, DigestMismatch)
        and exc.code in ("DIGEST_INVALID", "SIZE_INVALID")
    )


cap_malloc_arenas()  # at import, before the engine starts a thread
