"""A blob read from a given byte on, handed out in exact byte counts.

:mod:`hoister.engine.transfer` slices one download into upload parts and, after a break,
reads on from the offset the target acknowledged (``Range: bytes=N-``; distribution
answers 206 with ``Content-Range``). Unlike :class:`~hoister.registry.blobs.BlobReader`
this does not hash: a read that starts in the middle cannot check a digest by itself, so
the caller carries the hash across reads.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import TYPE_CHECKING

import httpx

from hoister.registry.auth import repository_scope
from hoister.registry.errors import DigestMismatch, ProtocolError, Unreachable

if TYPE_CHECKING:
    from hoister.registry.client import RegistryClient

_CONTENT_RANGE = re.compile(r"^\s*bytes\s+(\d+)-(\d+)/(\d+|\*)\s*$")


class BlobPieces:
    """The body of one blob GET as exact byte counts, read ``piece_size`` at a time.

    Holds at most one piece left over from a split plus what httpx buffers for one read,
    so a blob of any size costs a few pieces of memory. ``start`` is the offset of the
    first byte: the one asked for, or 0 from a registry that ignored ``Range``.
    """

    def __init__(
        self, response: httpx.Response, start: int, host: str, digest: str, piece_size: int
    ) -> None:
        self.start = start
        self._response = response
        # A body without a content coding is read as the socket delivers it (at most
        # httpcore's 64 KiB a read): httpx's re-chunking to ``piece_size`` would copy
        # every byte once more through a buffer of its own. A coded one is decoded, and
        # one already read (a transport that built it whole) handed out in pieces.
        coded = response.headers.get("content-encoding", "identity").lower() != "identity"
        raw = not coded and not response.is_stream_consumed
        self._iterator = response.iter_raw() if raw else response.iter_bytes(piece_size)
        self._rest = b""
        self._host = host
        self._digest = digest

    def _next(self) -> bytes | None:
        try:
            return next(self._iterator, None)
        except (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError) as exc:
            # a dropped line, also as a body shorter than its Content-Length: read on later
            raise Unreachable(
                f"the download of blob {self._digest} from {self._host} was cut off: {exc}",
                host=self._host,
            ) from exc
        except httpx.HTTPError as exc:
            raise ProtocolError(
                f"the download of blob {self._digest} from {self._host} broke: {exc}",
                host=self._host,
            ) from exc

    def take(self, count: int) -> Iterator[bytes]:
        """Exactly ``count`` bytes, in pieces; a source that ends sooner is an error."""
        while count > 0:
            piece = self._rest or self._next()
            self._rest = b""
            if not piece:
                raise DigestMismatch(
                    f"blob {self._digest} from {self._host} ended before its declared size; "
                    "it was cut short",
                    host=self._host,
                )
            if len(piece) > count:
                piece, self._rest = piece[:count], piece[count:]
            count -= len(piece)
            yield piece

    def at_end(self) -> bool:
        """Whether the body has no byte left (reads on to find out)."""
        if self._rest:
            return False
        while (piece := self._next()) is not None:
            if piece:
                self._rest = piece
                return False
        return True

    def close(self) -> None:
        self._response.close()


def open_range(
    client: RegistryClient, repository: str, digest: str, start: int, piece_size: int
) -> BlobPieces:
    """Read ``digest`` of ``repository`` from byte ``start`` on.

    A registry that ignores ``Range`` answers 200 with the whole blob: that is read from
    0 (the caller hashes the bytes before ``start`` again), not refused.
    """
    session = client.session
    response = session.send(
        "GET",
        f"/v2/{repository}/blobs/{digest}",
        scopes=[repository_scope(repository, "pull")],
        what=f"reading blob {digest} of {repository}",
        # identity: a coded body cannot be read on from a byte offset, and a blob is
        # compressed already; a registry (or proxy) that codes it anyway is decoded
        headers={"Accept-Encoding": "identity", **({"Range": f"bytes={start}-"} if start else {})},
        ok=(200, 206),
        stream=True,
        follow_redirects=True,
    )
    if response.status_code == 200:
        return BlobPieces(response, 0, session.host, digest, piece_size)
    match = _CONTENT_RANGE.match(response.headers.get("content-range", ""))
    if match is None or int(match.group(1)) != start:
        response.close()
        raise ProtocolError(
            f"{session.host} answered a read of blob {digest} from byte {start} with the "
            f"range {response.headers.get('content-range')!r}",
            host=session.host,
        )
    return BlobPieces(response, start, session.host, digest, piece_size)
