"""A few files of one image, read from its layers as a stream, never unpacked to disk.

When no SBOM tells an image's components, its own package databases do; they are a
handful of small files somewhere in layers that may hold gigabytes. So each layer is
read the way the registry serves it: one pass over the digest-verified blob, gunzipped
as it arrives in bounded steps, the tar walked in stream mode (no seek), only wanted
files kept. Overlay rules apply across layers (later layers win, ``.wh.NAME`` deletes,
``.wh..wh..opq`` hides a lower directory's contents) so a deleted file never counts.

A wrong fact is worse than an unknown one: a broken layer raises :class:`LayerError`,
and whatever was not read but might matter (a zstd or foreign layer, a wanted file too
big to hold) is a note in :attr:`LayerFiles.notes`, so the caller can call it unknown.
"""

from __future__ import annotations

import posixpath
import tarfile
import zlib
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from tarfile import HeaderError, TarFile, TarInfo
from typing import IO, Any, Self, cast

from hoister.errors import HoisterError
from hoister.registry import Descriptor, RegistryClient, RegistryError

MiB = 1024 * 1024
DEFAULT_MAX_FILE = 64 * MiB
#: Everything kept at once; a layer rewriting every wanted file holds two copies briefly.
DEFAULT_MAX_TOTAL = 128 * MiB
#: gzip packs a gigabyte of zeros into about a megabyte, so zlib output is drawn in steps
#: of this size instead of inflating a whole network chunk at once. Steps, tar reads and
#: network chunks are the same size, so pieces pass through whole; 256 KiB measured twice
#: as fast as 1 MiB in a fresh process (glibc maps and unmaps bigger blocks every time).
INFLATE_STEP = TAR_BUFSIZE = 256 * 1024
#: tarfile reads PAX and GNU long-name headers whole; real ones are a few hundred bytes.
MAX_META_HEADER = MiB
_META_TYPES = {tarfile.XHDTYPE, tarfile.XGLTYPE, tarfile.SOLARIS_XHDTYPE}
_META_TYPES |= {tarfile.GNUTYPE_LONGNAME, tarfile.GNUTYPE_LONGLINK}
# tarfile has had these since Python 3.2; typeshed leaves them out (not in __all__).
EmptyHeaderError: type[HeaderError] = tarfile.EmptyHeaderError  # type: ignore[attr-defined]
EOFHeaderError: type[HeaderError] = tarfile.EOFHeaderError  # type: ignore[attr-defined]

GZIP_MAGIC = b"\x1f\x8b"
ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
WHITEOUT = ".wh."
OPAQUE = ".wh..wh..opq"

OCI_TAR = "application/vnd.oci.image.layer.v1.tar"
DOCKER_TAR = "application/vnd.docker.image.rootfs.diff.tar"
DOCKER_FOREIGN = "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip"
#: Compression is sniffed from the bytes, so any of these may be plain or gzip.
TAR_TYPES = frozenset({"", OCI_TAR, OCI_TAR + "+gzip", DOCKER_TAR, DOCKER_TAR + ".gzip"})
ZSTD_UNREAD = "zstd layers are not read (Python's standard library has no zstd before 3.14)"


class LayerError(HoisterError):
    """A layer could not be read to its end; any fact drawn from the image is unknown."""

    def __init__(self, digest: str, reason: str) -> None:
        super().__init__(f"layer {digest} could not be read: {reason}")
        self.digest = digest
        self.reason = reason


@dataclass(frozen=True)
class LayerFiles:
    """Wanted files as the image's filesystem shows them, and what could not be read.

    Each note names a layer or a wanted file that was not read and so might change
    ``files``; without notes, ``files`` is the whole truth.
    """

    files: dict[str, bytes]
    notes: tuple[str, ...] = ()

    @property
    def complete(self) -> bool:
        return not self.notes


class _Broken(Exception):
    """Raised inside the reading of one layer; turned into a LayerError with its digest."""


def normalize(name: str) -> str | None:
    """``./a/b``, ``/a/b`` and ``a//b/`` are all ``a/b``; None for the root itself."""
    return posixpath.normpath("/" + name).lstrip("/") or None


def layer_files(
    client: RegistryClient,
    repository: str,
    manifest_layers: Sequence[Descriptor],
    wanted: Callable[[str], bool],
    max_file: int = DEFAULT_MAX_FILE,
    *,
    max_total: int = DEFAULT_MAX_TOTAL,
) -> LayerFiles:
    """Read ``manifest_layers`` bottom to top; keep regular files whose path is ``wanted``.

    Paths are normalized (no leading ``./`` or ``/``). A wanted file over ``max_file`` is
    streamed past, never held, and listed as unread. Raises :class:`LayerError` for a
    layer that is corrupt, truncated, fails its digest or cannot be fetched.
    """
    overlay = _Overlay(max_total)
    for layer in manifest_layers:
        kind = _layer_kind(layer.media_type)
        if kind != "tar":
            overlay.notes.append(f"layer {layer.digest} was not read: {kind}")
            continue
        try:
            with client.open_blob(repository, layer.digest, TAR_BUFSIZE) as reader:
                stream = _Inflater(reader)
                try:
                    if stream.zstd:
                        overlay.notes.append(f"layer {layer.digest} was not read: {ZSTD_UNREAD}")
                        continue
                    overlay.read_layer(stream, layer.digest, wanted, max_file)
                    stream.drain()  # the digest and the gzip CRC are checked at the very end
                finally:
                    stream.close()
        except _Broken as exc:
            raise LayerError(layer.digest, str(exc)) from exc
        except tarfile.TarError as exc:
            raise LayerError(layer.digest, f"it is not a whole, valid tar archive ({exc})") from exc
        except RegistryError as exc:
            raise LayerError(layer.digest, str(exc)) from exc
    return overlay.result()


def _layer_kind(media_type: str) -> str:
    """``tar`` for a readable layer, else the reason it is not read."""
    if "nondistributable" in media_type or media_type == DOCKER_FOREIGN:
        return "it is a foreign (non-distributable) layer, which registries do not serve"
    if media_type.endswith("zstd"):
        return ZSTD_UNREAD
    if media_type in TAR_TYPES:
        return "tar"
    return f"its media type {media_type} is not an image layer Hoister reads"


class _StrictInfo(TarInfo):
    """Header parsing that tells a proper end of archive from a cut-off or damaged one.

    In stream mode tarfile takes a missing or garbled header after the first for the
    end of the archive, which would silently drop the rest of a truncated layer.
    """

    @classmethod
    def frombuf(cls, buf: bytes | bytearray, encoding: str, errors: str) -> Self:
        info = super().frombuf(buf, encoding, errors)
        if info.type in _META_TYPES and info.size > MAX_META_HEADER:
            raise _Broken(f"a tar extension header claims {info.size} bytes")
        return info

    @classmethod
    def fromtarfile(cls, tarfile: TarFile) -> Self:
        try:
            return super().fromtarfile(tarfile)
        except EmptyHeaderError as exc:
            if tarfile.offset == 0:  # an empty stream: an empty layer, not a broken one
                raise EOFHeaderError("empty layer") from exc
            raise _Broken(f"the tar archive stops at byte {tarfile.offset} without an end") from exc
        except EOFHeaderError:
            raise
        except HeaderError as exc:
            raise _Broken(f"the tar header at byte {tarfile.offset} is damaged ({exc})") from exc


class _Inflater:
    """``read(n)`` over a blob's chunks, gunzipped on the fly when the blob is gzip."""

    def __init__(self, chunks: Iterable[bytes]) -> None:
        self._chunks: Iterator[bytes] = iter(chunks)
        self._parts: deque[bytes] = deque()  # inflated, not yet read
        self._held = 0
        self._decoder: Any = None  # a zlib decompressor while inside a gzip member
        self._feed = b""  # compressed bytes not yet given to a decoder
        head = b""
        while len(head) < len(ZSTD_MAGIC) and (chunk := self._pull()) is not None:
            head += chunk
        self.zstd = head.startswith(ZSTD_MAGIC)
        self.gzip = head.startswith(GZIP_MAGIC)
        if self.gzip:
            self._feed = head
        else:
            self._add(head)

    def read(self, size: int) -> bytes:
        while self._held < size and self._more():
            pass
        if self._parts and len(self._parts[0]) == size:  # the usual case: no copy at all
            self._held -= size
            return self._parts.popleft()
        joined = b"".join(self._parts)
        self._parts.clear()
        self._held = 0
        self._add(joined[size:])
        return joined[:size]

    def _add(self, data: bytes) -> None:
        if data:
            self._parts.append(data)
            self._held += len(data)

    def drain(self) -> None:
        """Read to the end, keeping nothing, so the blob's digest and CRC get checked."""
        more = True
        while more:
            self._parts.clear()
            self._held = 0
            more = self._more()

    def close(self) -> None:
        close = getattr(self._chunks, "close", None)
        if close is not None:
            close()

    def _pull(self) -> bytes | None:
        for chunk in self._chunks:
            if chunk:
                return chunk
        return None

    def _more(self) -> bool:
        """Add bytes to the buffer; False once the blob has ended where it may end."""
        if not self.gzip:
            chunk = self._pull()
            if chunk is None:
                return False
            self._add(chunk)
            return True
        while True:
            if self._decoder is None:  # between gzip members: padding or another member
                data, self._feed = self._feed.lstrip(b"\0"), b""
                if not data:
                    chunk = self._pull()
                    if chunk is None:
                        return False
                    self._feed = chunk
                    continue
                if len(data) < len(GZIP_MAGIC):
                    data += self._pull() or b""
                if not data.startswith(GZIP_MAGIC):
                    raise _Broken("there is data after the end of the gzip stream")
                self._decoder = zlib.decompressobj(zlib.MAX_WBITS | 16)
                self._feed = data
            decoder = self._decoder
            data, self._feed = decoder.unconsumed_tail or self._feed or self._pull() or b"", b""
            if not data:
                raise _Broken("the gzip stream ends early: the layer is truncated")
            try:
                out = decoder.decompress(data, INFLATE_STEP)
            except zlib.error as exc:
                raise _Broken(f"the gzip data is corrupt ({exc})") from exc
            if decoder.eof:
                self._feed, self._decoder = decoder.unused_data, None
            if out:
                self._add(out)
                return True


class _Overlay:
    """The layers read so far, merged as an overlay filesystem would show them."""

    def __init__(self, max_total: int) -> None:
        self.files: dict[str, bytes] = {}
        self.doubtful: dict[str, str] = {}  # wanted paths whose content was not read: why
        self.notes: list[str] = []
        self.max_total = max_total

    def result(self) -> LayerFiles:
        return LayerFiles(dict(self.files), (*self.notes, *self.doubtful.values()))

    def read_layer(
        self, stream: _Inflater, digest: str, wanted: Callable[[str], bool], max_file: int
    ) -> None:
        lower = [*self.files, *self.doubtful]
        lower_dirs = {p[:i] for p in lower for i, c in enumerate(p) if c == "/"}
        upper: dict[str, bytes] = {}
        upper_doubtful: dict[str, str] = {}
        hidden: list[str] = []  # lower paths (with their trees) this layer deletes
        opaque: list[str] = []  # directories whose lower contents this layer hides
        archive = cast(IO[bytes], stream)  # all stream mode calls is read(n)
        with tarfile.open(
            fileobj=archive, mode="r|", bufsize=TAR_BUFSIZE, tarinfo=_StrictInfo
        ) as tar:
            while (member := tar.next()) is not None:
                # Stream mode would otherwise keep every header of the layer in memory.
                tar.members.clear()  # type: ignore[attr-defined]
                path = normalize(member.name)
                if path is None:
                    continue
                parent, base = posixpath.split(path)
                if base.startswith(WHITEOUT):
                    if base == OPAQUE:
                        opaque.append(parent)
                    elif not base.startswith(WHITEOUT + WHITEOUT):  # AUFS bookkeeping
                        hidden.append(posixpath.join(parent, base[len(WHITEOUT) :]))
                    continue
                # Whatever this layer puts at a path replaces what was there before.
                for held in (self.files, self.doubtful, upper, upper_doubtful):
                    held.pop(path, None)
                if not member.isdir() and path in lower_dirs:
                    hidden.append(path)
                if not wanted(path):
                    continue
                if member.isreg() and member.size > max_file:
                    upper_doubtful[path] = (
                        f"{path} in layer {digest} was not read: its {member.size} bytes are "
                        f"more than the {max_file} Hoister reads from one file"
                    )
                elif member.isreg():
                    extracted = tar.extractfile(member)
                    upper[path] = extracted.read() if extracted else b""
                    self._check_total(upper)
                elif member.islnk() and (target := normalize(member.linkname)) in upper:
                    upper[path] = upper[target or ""]
                elif not member.isdir():
                    what = "a hard link" if member.islnk() else "a special file"
                    what = "a symbolic link" if member.issym() else what
                    upper_doubtful[path] = (
                        f"{path} in layer {digest} was not read: it is {what} "
                        f"(to {member.linkname or '-'}), not a regular file"
                    )
        for directory in opaque:
            self._drop(directory, itself=False)
        for gone in hidden:
            self._drop(gone, itself=True)
        self.files.update(upper)
        self.doubtful.update(upper_doubtful)

    def _drop(self, directory: str, *, itself: bool) -> None:
        """Forget lower files under ``directory`` (and the path itself, for a whiteout)."""
        prefix = directory + "/" if directory else ""
        for held in (self.files, self.doubtful):
            for path in [p for p in held if p.startswith(prefix) or (itself and p == directory)]:
                del held[path]

    def _check_total(self, upper: dict[str, bytes]) -> None:
        total = sum(map(len, self.files.values())) + sum(map(len, upper.values()))
        if total > self.max_total:
            raise _Broken(f"the files wanted from this image pass {self.max_total} bytes")
