"""What one client remembers between requests, so a promotion asks only what it must.

Manifests are kept by (repository, digest): content-addressed, so a copy can never be
wrong, only absent; the bound is on their bytes. A tag listing is kept with the
monotonic time it was read: whoever uses it says how old it may be for its purpose,
and Hoister's own writes keep it truthful (a tag PUT adds the tag, a delete forgets the
listing, since a delete by digest removes tags it cannot name). Writes by others are
what the age bounds. Blobs known to be in a repository and whether the registry has the
referrers API are remembered too; both only save requests, and a wrong memory shows
up as a refusal that the caller answers by asking again.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from hoister.registry.manifest import Manifest

#: Manifests are small (distribution caps them at 4 MiB, most are a few KiB).
DEFAULT_MANIFEST_BYTES = 8 * 1024 * 1024
#: Listings are bounded by the names they hold (about 10 MiB): 1,000 watched
#: repositories of a hundred tags each fit; the oldest listing goes first.
DEFAULT_LISTED_NAMES = 100_000
DEFAULT_BLOBS = 10_000
#: Locks shared out among (repository, blob) pairs: enough that unrelated blobs rarely
#: wait for each other, few enough to keep no table of them.
BLOB_TURNS = 64


@dataclass(frozen=True)
class Listing:
    """Every tag of a repository as read at ``at`` (monotonic), plus Hoister's writes."""

    tags: frozenset[str]
    at: float


class RegistryCache:
    """Bounded, thread-safe memory of one client; every entry may be dropped at any time."""

    def __init__(
        self,
        *,
        manifest_bytes: int = DEFAULT_MANIFEST_BYTES,
        listed_names: int = DEFAULT_LISTED_NAMES,
        blobs: int = DEFAULT_BLOBS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.clock = clock
        self._lock = threading.Lock()
        self._blob_turns = [threading.Lock() for _ in range(BLOB_TURNS)]
        self._manifest_limit = manifest_bytes
        self._manifest_bytes = 0
        self._manifests: OrderedDict[tuple[str, str], Manifest] = OrderedDict()
        self._names_limit = listed_names
        self._names = 0
        self._listings: OrderedDict[str, Listing] = OrderedDict()
        self._blob_limit = blobs
        self._blobs: OrderedDict[tuple[str, str], None] = OrderedDict()
        #: None until the registry answered a referrers request: a 404 there means none.
        self.referrers_api: bool | None = None
        #: None until a manifest with a subject was PUT: whether ``OCI-Subject`` came back,
        #: i.e. whether a referrer written here needs the fallback index.
        self.indexes_subjects: bool | None = None
        #: None until a mount of a blob known to be there was answered: whether a 202 to
        #: a mount means "not there" (see ``BlobOps.upload_unless_present``).
        self.honours_mounts: bool | None = None

    # -- manifests ------------------------------------------------------------------------

    def manifest(self, repository: str, digest: str) -> Manifest | None:
        with self._lock:
            found = self._manifests.get((repository, digest))
            if found is not None:
                self._manifests.move_to_end((repository, digest))
            return found

    def keep_manifest(self, repository: str, manifest: Manifest) -> None:
        size = len(manifest.data)
        if size > self._manifest_limit // 4:
            return  # one huge index must not push out everything else
        key = (repository, manifest.digest)
        with self._lock:
            if key in self._manifests:
                self._manifests.move_to_end(key)
                return
            self._manifests[key] = manifest
            self._manifest_bytes += size
            while self._manifest_bytes > self._manifest_limit:
                _, dropped = self._manifests.popitem(last=False)
                self._manifest_bytes -= len(dropped.data)

    def forget_manifest(self, repository: str, digest: str) -> None:
        with self._lock:
            dropped = self._manifests.pop((repository, digest), None)
            if dropped is not None:
                self._manifest_bytes -= len(dropped.data)

    # -- tag listings ---------------------------------------------------------------------

    def keep_tags(self, repository: str, tags: Iterable[str], at: float) -> None:
        """Remember a complete listing read at ``at`` (when its first page was asked for)."""
        listing = Listing(frozenset(tags), at)
        if len(listing.tags) > self._names_limit:
            return
        with self._lock:
            self._drop_listing(repository)
            self._listings[repository] = listing
            self._names += len(listing.tags)
            while self._names > self._names_limit:
                _, dropped = self._listings.popitem(last=False)
                self._names -= len(dropped.tags)

    def recent_tags(self, repository: str, max_age: float) -> frozenset[str] | None:
        """The listing if it was read less than ``max_age`` seconds ago, else None."""
        with self._lock:
            listing = self._listings.get(repository)
        if listing is None or self.clock() - listing.at >= max_age:
            return None
        return listing.tags

    def tag_written(self, repository: str, tag: str) -> None:
        """Hoister PUT ``tag``: a listing that lacked it would now be wrong."""
        with self._lock:
            listing = self._listings.get(repository)
            if listing is not None and tag not in listing.tags:
                self._listings[repository] = Listing(listing.tags | {tag}, listing.at)
                self._names += 1

    def forget_tags(self, repository: str) -> None:
        with self._lock:
            self._drop_listing(repository)

    def _drop_listing(self, repository: str) -> None:
        dropped = self._listings.pop(repository, None)
        if dropped is not None:
            self._names -= len(dropped.tags)

    # -- blobs ----------------------------------------------------------------------------

    def has_blob(self, repository: str, digest: str) -> bool:
        with self._lock:
            return (repository, digest) in self._blobs

    def repository_with_blob(self, digest: str) -> str | None:
        """Some repository known to hold ``digest``: a mount source for a small blob."""
        with self._lock:
            for repository, known in reversed(self._blobs):
                if known == digest:
                    return repository
        return None

    def blob_turn(self, repository: str, digest: str) -> threading.Lock:
        """Held while one blob is put into one repository, so promotions in flight at
        once do not mount the same blob there together (see ``RELINK_CODES``)."""
        return self._blob_turns[hash((repository, digest)) % BLOB_TURNS]

    def keep_blob(self, repository: str, digest: str) -> None:
        with self._lock:
            self._blobs[(repository, digest)] = None
            self._blobs.move_to_end((repository, digest))
            while len(self._blobs) > self._blob_limit:
                self._blobs.popitem(last=False)

    def forget_blob(self, repository: str, digest: str) -> None:
        with self._lock:
            self._blobs.pop((repository, digest), None)

    def forget_repository_blobs(self, repository: str) -> int:
        """Forget every blob remembered in ``repository`` (one was found missing: the
        others may be too); how many were forgotten."""
        with self._lock:
            stale = [key for key in self._blobs if key[0] == repository]
            for key in stale:
                del self._blobs[key]
            return len(stale)
