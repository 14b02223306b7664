"""Copy an image from a source repository to a target tag, so that a reader never sees a
tag whose content is missing.

Order is the safety property: every blob first (mounted inside one registry, streamed
between registries), then each child of an index by digest, then the image by digest
(across registries, or before referrers that name it as their subject), then its
referrers, and only then the tag. Anything that fails or is cancelled before the last
step leaves the target tag exactly as it was. Manifest bytes are PUT as read, because
the digest *is* the identity of the image: a registry that stores anything else stops
the promotion. Within one registry the image goes up by tag only: that registry already
serves these exact bytes under this digest, so a PUT by digest first would be a request
that proves nothing.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Literal, TypeVar

from hoister.engine.referrers import copy_referrers, put_manifest_indexed
from hoister.engine.tags import backup_tag as make_backup_tag
from hoister.engine.target_check import target_tag_now, verdict
from hoister.engine.transfer import copy_blob_across, stream_blob
from hoister.errors import HoisterError
from hoister.policies.model import OverwriteMode
from hoister.registry import (
    BeyondLimits,
    Denied,
    Descriptor,
    DigestMismatch,
    Manifest,
    RegistryClient,
    RegistryError,
    Unauthorized,
)
from hoister.registry.manifest import MAX_INDEX_DEPTH

log = logging.getLogger(__name__)

_T = TypeVar("_T")
#: A manifest PUT refused for a blob the repository does not have (distribution's codes).
MISSING_BLOB_CODES = frozenset({"BLOB_UNKNOWN", "MANIFEST_BLOB_UNKNOWN"})

DEFAULT_CHUNK_SIZE = 8 * 1024 * 1024
Status = Literal["promoted", "unchanged", "skipped"]
EventKind = Literal["blob-start", "blob-progress", "blob-done", "manifest"]


class Cancelled(HoisterError):
    """The user or the engine asked to stop; raised only before the tag is written."""


#: Blobs of one image copied at once (per promotion; the engine runs one at a time).
BLOB_CONCURRENCY = 4


@dataclass
class CopyStats:
    """What a promotion did, for history rows and for people wondering where time went."""

    bytes_moved: int = 0
    blobs_mounted: int = 0
    blobs_uploaded: int = 0
    blobs_present: int = 0
    manifests_written: int = 0
    seconds: float = 0.0


@dataclass(frozen=True)
class ProgressEvent:
    """One step of a copy; ``total_bytes`` is the blob's (or manifest's) declared size."""

    kind: EventKind
    digest: str
    done_bytes: int
    total_bytes: int


ProgressCallback = Callable[[ProgressEvent], None]


@dataclass(frozen=True)
class PromotionRequest:
    """Where from, where to, and what the policy says about existing tags and referrers."""

    source: RegistryClient
    source_repository: str
    source_reference: str
    target: RegistryClient
    target_repository: str
    target_tag: str
    overwrite: OverwriteMode = OverwriteMode.SKIP
    copy_referrers: bool = True
    same_registry: bool | None = None

    @property
    def source_name(self) -> str:
        separator = "@" if self.source_reference.startswith("sha256:") else ":"
        return f"{self.source_repository}{separator}{self.source_reference}"

    @property
    def target_name(self) -> str:
        return f"{self.target_repository}:{self.target_tag}"

    @property
    def mountable(self) -> bool:
        """Mounting is only meaningful when both repositories live in one registry."""
        if self.same_registry is not None:
            return self.same_registry
        return self.source.host == self.target.host


@dataclass
class PromotionOutcome:
    """The result of one promotion; ``reason`` is the sentence the history shows."""

    status: Status
    digest: str
    media_type: str
    stats: CopyStats = field(default_factory=CopyStats)
    backup_tag: str | None = None
    reason: str = ""
    referrers_copied: int = 0


def utc_stamp() -> str:
    """Backup tags sort by time and stay inside the tag grammar (no colons)."""
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%S")


class Promoter:
    """Promotes images one at a time; the same object serves many requests."""

    def __init__(
        self,
        *,
        chunk_size: int = DEFAULT_CHUNK_SIZE,
        clock: Callable[[], float] = time.monotonic,
        cancel: threading.Event | None = None,
        progress: ProgressCallback | None = None,
        stamp: Callable[[], str] = utc_stamp,
    ) -> None:
        self.chunk_size = chunk_size
        self.clock = clock
        self.cancel = cancel
        self.progress = progress
        self.stamp = stamp

    def promote(self, request: PromotionRequest) -> PromotionOutcome:
        """Copy the source image to the target tag as the request's policy says."""
        started = self.clock()
        stats = CopyStats()
        source = request.source.get_manifest(request.source_repository, request.source_reference)

        def outcome(status: Status, reason: str, backup: str | None = None) -> PromotionOutcome:
            stats.seconds = self.clock() - started
            return PromotionOutcome(
                status, source.digest, source.media_type, stats, backup, reason, referrers
            )

        referrers = 0
        existing = target_tag_now(request)
        decided = verdict(request, source.digest, existing)
        if decided is not None:
            return outcome(*decided)
        job = _Copy(self, request, stats)
        try:
            job.copy_image(source)
            if request.copy_referrers:
                referrers = job.copy_all_referrers(source)
        except DigestMismatch as exc:
            raise DigestMismatch(
                f"promotion of {request.source_name} to {request.target_name} was stopped and "
                f"nothing was tagged: {exc}",
                host=exc.host,
            ) from exc
        if stats.bytes_moved:
            # Moving bytes takes time in which the tag may have moved (a push, another
            # tool): decide again. A copy of mounts takes milliseconds; one check serves.
            existing = target_tag_now(request)
            decided = verdict(request, source.digest, existing)
            if decided is not None:
                return outcome(*decided)
        job.check_cancel()
        backup = None
        if existing is not None and request.overwrite == OverwriteMode.BACKUP:
            backup = job.backup(existing.digest)
        job.put_tag(source)
        done = (
            f"promoted {request.source_name} ({source.digest}) to {request.target_name}: "
            f"{stats.blobs_mounted} blobs mounted, {stats.blobs_uploaded} uploaded "
            f"({stats.bytes_moved} bytes), {stats.blobs_present} already there"
        )
        if request.copy_referrers:
            done += f"; {referrers} referrers copied"
        if backup is not None and existing is not None:
            done += f"; the previous {existing.digest} is kept as {backup}"
        return outcome("promoted", done, backup)


class _Copy:
    """The state of one promotion: its request, its counters, and the writes it makes."""

    def __init__(self, promoter: Promoter, request: PromotionRequest, stats: CopyStats) -> None:
        self.promoter = promoter
        self.request = request
        self.stats = stats
        self.source, self.from_repo = request.source, request.source_repository
        self.target, self.to_repo = request.target, request.target_repository
        self.mountable = request.mountable
        self.lock = threading.Lock()
        self.image: Manifest | None = None
        self.image_in_place = False
        #: Blobs not mounted because the client remembers them in the target repository.
        self.remembered: set[str] = set()

    def emit(self, kind: EventKind, digest: str, done: int, total: int) -> None:
        if self.promoter.progress is not None:
            self.promoter.progress(ProgressEvent(kind, digest, done, total))

    def check_cancel(self) -> None:
        cancel = self.promoter.cancel
        if cancel is not None and cancel.is_set():
            raise Cancelled(
                f"promotion of {self.request.source_name} cancelled before the tag was written; "
                f"nothing is visible under {self.request.target_name}"
            )

    def copy_image(self, manifest: Manifest) -> None:
        """Everything the image needs in the target, short of the image itself when the
        tag PUT will carry it.

        Across registries the image is PUT by digest first, so a registry that stores
        other bytes is caught before anything is tagged. Within one registry that very
        registry already serves these bytes under this digest (they were read and
        verified so): the tag PUT alone writes the image, one request fewer. Referrers
        need their subject first (some registries index only what exists), so copying
        one PUTs the image by digest then (:meth:`subject_in_place`).
        """
        if not self.mountable:
            self.copy_tree(manifest)
            self.image_in_place = True
            return
        self.copy_tree(manifest, put=False)
        self.image = manifest

    def subject_in_place(self) -> None:
        if not self.image_in_place and self.image is not None:
            self.check_cancel()
            self.put_by_digest(self.image)
            self.image_in_place = True

    def copy_tree(
        self, manifest: Manifest, parents: tuple[str, ...] = (), *, put: bool = True
    ) -> bool:
        """Children and blobs, then the manifest by digest; True if its subject was indexed.

        The by-digest PUT makes the content complete in the target without a tag a
        reader would follow, and checks the digest before anything is tagged. ``parents``
        are the indexes above ``manifest``: a chain deeper than MAX_INDEX_DEPTH or one
        that leads back to itself is refused before anything of it is written.
        """
        path = (*parents, manifest.digest)
        if manifest.manifests and len(path) >= MAX_INDEX_DEPTH:
            raise BeyondLimits(
                f"{self.request.source_name} nests indexes more than {MAX_INDEX_DEPTH} deep "
                f"on {self.source.host}; not copied",
                host=self.source.host,
            )
        for child in manifest.manifests:
            if child.digest in path:
                raise BeyondLimits(
                    f"index {manifest.digest} of {self.request.source_name} on "
                    f"{self.source.host} leads back to {child.digest}; not copied",
                    host=self.source.host,
                )
            if self.target.head_manifest(self.to_repo, child.digest) is None:
                self.copy_tree(self.source.get_manifest(self.from_repo, child.digest), path)
        self.copy_blobs(manifest.blobs)
        self.check_cancel()
        return self.put_by_digest(manifest) if put else False

    def put_by_digest(self, manifest: Manifest) -> bool:
        digest, indexed = self.with_blobs(
            manifest,
            lambda: put_manifest_indexed(
                self.target, self.to_repo, manifest.digest, manifest.data, manifest.media_type
            ),
        )
        self.wrote(manifest, digest)
        return indexed

    def with_blobs(self, manifest: Manifest, write: Callable[[], _T]) -> _T:
        """A manifest PUT that survives the client's memory of blobs being out of date.

        Blobs the client remembers in the target repository are not mounted again (see
        :meth:`copy_blob`). If one was deleted since (a retention job, garbage collection
        after a delete), the registry refuses the manifest for a blob it lacks: the
        repository's remembered blobs are forgotten, this manifest's blobs are put there
        again, and the PUT is made once more. Without this, every later promotion sharing
        that layer would fail for as long as the process lives.
        """
        try:
            return write()
        except RegistryError as exc:
            skipped = self.remembered & {blob.digest for blob in manifest.blobs}
            if exc.code not in MISSING_BLOB_CODES or not skipped:
                raise
            log.warning(
                "%s: %s lacks %d blob(s) last known to be there (deleted since?); "
                "putting them there again",
                self.request.target_name,
                self.target.host,
                len(skipped),
            )
        forgotten = self.target.cache.forget_repository_blobs(self.to_repo)
        log.info("forgot %d remembered blob(s) of %s", forgotten, self.to_repo)
        self.remembered.clear()
        self.copy_blobs(manifest.blobs)
        self.check_cancel()
        return write()

    def wrote(self, manifest: Manifest, digest: str) -> None:
        if digest != manifest.digest:
            raise DigestMismatch(
                f"{self.target.host} stored {manifest.digest} as {digest}", host=self.target.host
            )
        self.count(manifests_written=1)
        self.emit("manifest", digest, len(manifest.data), len(manifest.data))

    def copy_blobs(self, blobs: list[Descriptor]) -> None:
        """Copy an image's blobs a few at a time: each costs several round trips, and a
        registry serves parallel requests about as fast as one."""
        if len(blobs) <= 1:
            for blob in blobs:
                self.copy_blob(blob)
            return
        with ThreadPoolExecutor(
            min(BLOB_CONCURRENCY, len(blobs)), thread_name_prefix="hoister-copy"
        ) as pool:
            futures = [pool.submit(self.copy_blob, blob) for blob in blobs]
            wait(futures)
        for future in futures:
            future.result()  # the first failure, now that no copy is still running

    def copy_blob(self, blob: Descriptor) -> None:
        self.check_cancel()
        self.emit("blob-start", blob.digest, 0, blob.size)
        # Within one registry the mount is the check: 201 means the blob is there (it
        # was already, or now is), 202 that it is not mountable and gets streamed.
        # Across registries the copy first asks whether the target has it, with one
        # request (see :func:`~hoister.engine.transfer.copy_blob_across`).
        if self.mountable:
            # One mount of a blob per repository and client: each mount re-links the
            # blob in the registry, and a manifest PUT reading the link meanwhile is
            # refused (the base layers of images promoted together, the empty blob of
            # provenance records).
            cache = self.target.cache
            with cache.blob_turn(self.to_repo, blob.digest):
                if cache.has_blob(self.to_repo, blob.digest):
                    with self.lock:
                        self.remembered.add(blob.digest)
                    self.count(blobs_present=1)
                    self.emit("blob-done", blob.digest, blob.size, blob.size)
                    return
                mounted = self._mount(blob)
                if mounted:
                    cache.keep_blob(self.to_repo, blob.digest)
        else:
            mounted = False
        moved = None if mounted else self._stream(blob, across=not self.mountable)
        if mounted:
            self.count(blobs_mounted=1)
        elif moved is None:  # there already, or remembered there: see with_blobs
            with self.lock:
                self.remembered.add(blob.digest)
            self.count(blobs_present=1)
        else:
            self.count(bytes_moved=moved, blobs_uploaded=1)
        self.emit("blob-done", blob.digest, blob.size, blob.size)

    def count(self, **increments: int) -> None:
        with self.lock:
            for name, value in increments.items():
                setattr(self.stats, name, getattr(self.stats, name) + value)

    def _mount(self, blob: Descriptor) -> bool:
        try:
            return self.target.mount_blob(self.to_repo, blob.digest, self.from_repo)
        except (Unauthorized, Denied) as exc:
            # A token may allow push here without pull there; the source client may still read.
            log.info("mount of %s refused (%s); streaming it instead", blob.digest, exc)
            return False

    def _stream(self, blob: Descriptor, *, across: bool = False) -> int | None:
        """Download and upload at once (see :mod:`hoister.engine.transfer`); across
        registries, None when the target has the blob already."""

        def progress(done: int) -> None:
            self.emit("blob-progress", blob.digest, done, blob.size)

        return (copy_blob_across if across else stream_blob)(
            self.source,
            self.from_repo,
            self.target,
            self.to_repo,
            blob,
            part_size=self.promoter.chunk_size,
            check_cancel=self.check_cancel,
            progress=progress,
        )

    def copy_all_referrers(self, manifest: Manifest) -> int:
        """Referrers of the image and, for an index, of each child (cosign --recursive)."""
        subjects = [manifest.digest, *(child.digest for child in manifest.manifests)]

        def copy_referrer(referrer: Manifest) -> bool:
            self.subject_in_place()
            return self.copy_tree(referrer)

        return sum(
            copy_referrers(
                self.source, self.from_repo, self.target, self.to_repo, subject, copy_referrer
            )
            for subject in subjects
        )

    def backup(self, old_digest: str) -> str:
        """Keep the image the tag pointed at under a derived tag (exact bytes, by digest)."""
        old = self.target.get_manifest(self.to_repo, old_digest)
        name = make_backup_tag(self.request.target_tag, self.promoter.stamp())
        self.wrote(old, self.target.put_manifest(self.to_repo, name, old.data, old.media_type))
        return name

    def put_tag(self, manifest: Manifest) -> None:
        """The last write: from here on readers of the tag see the promoted image."""
        tag = self.request.target_tag
        try:
            digest = self.with_blobs(
                manifest,
                lambda: self.target.put_manifest(
                    self.to_repo, tag, manifest.data, manifest.media_type
                ),
            )
            self.wrote(manifest, digest)
        except DigestMismatch as exc:
            raise DigestMismatch(
                f"promotion of {self.request.source_name} to {self.request.target_name} failed "
                f"at the last step: the source is {manifest.digest}, but {exc}. The tag was "
                f"written; check {self.request.target_name} before anyone uses it",
                host=exc.host,
            ) from exc
