"""Filling the Tags table: the tag list page by page, then details on demand.

A registry lists tag names only. Digests, sizes and creation times are read lazily,
first for the rows on screen, and for every row once someone sorts by a column that
needs them. Reads go through a bounded queue so a repository of thousands of tags never
floods the pool that the details pane and other views share.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

from PySide6.QtCore import QObject, QTimer, Signal, Slot

from hoister.engine.provenance import PROVENANCE_ARTIFACT_TYPE, ProvenanceRecord, read_provenance
from hoister.facts.details import ImageDetails
from hoister.registry import Descriptor, NotFound, Page, RegistryError
from hoister.ui.browsing.tag_loading import RowReferrers, read_row_referrers
from hoister.ui.browsing.tags_model import (
    TagsModel,
)
from hoister.ui.context import AppContext
from hoister.ui.shared import heap
from hoister.ui.shared.workers import Fanout, Requester

#: Detail reads in flight at once: leaves pool threads for the pane and other views.
#: Two, not four: a read is mostly Python (HTTP parsing), and every busy pool thread is
#: one more the GUI thread waits behind for the interpreter while it paints. Measured
#: on 10,001 tags sorted by Created (2 cores, local registry): 4 in flight, longest GUI
#: gap 66 ms and 60.5 s to read them all; 2 in flight, 51-53 ms and 53.7-67.5 s.
MAX_IN_FLIGHT = 2
#: Rows above and below the visible ones read ahead, so scrolling finds them filled.
READ_AHEAD = 30
#: How long answers are gathered before they are merged into the table, in ms.
FLUSH_MS = 100
ORDER_MS = 1000
#: Tags added to the table per turn of the event loop: a page of 10,000 names added
#: (and sorted) in one go held the GUI thread for over a second.
INSERT_CHUNK = 500


@dataclass(frozen=True)
class RowDetails:
    details: ImageDetails
    referrers: list[Descriptor] | None  # read only when a fallback index names the digest
    provenance: list[ProvenanceRecord] = field(default_factory=list)


def list_tags_page(ctx: AppContext, profile: str, repository: str, next_url: str | None) -> Page:
    """Worker: one page of tag names."""
    return ctx.client(profile).tags_page(repository, next_url)


def fetch_row(
    ctx: AppContext, profile: str, repository: str, tag: str, indexed: frozenset[str]
) -> RowDetails:
    """Worker: the tag's manifest (its digest with it), then the configs unless cached.

    One GET by tag rather than a HEAD and then a GET by digest: two requests a row
    instead of three when a whole repository is read (a sort by Created), which is also
    a third less work for every thread the GUI thread shares the interpreter with.
    """
    client = ctx.client(profile)
    try:
        manifest = client.get_manifest(repository, tag)
    except NotFound:
        raise NotFound(
            f"{repository}:{tag} no longer exists on {client.host}", host=client.host
        ) from None
    details = ctx.details.fetch_manifest(client, repository, manifest)
    referrers = None
    if manifest.digest in indexed:
        try:
            referrers = client.referrers(repository, manifest.digest)
        except RegistryError:
            referrers = None  # a badge less; the pane says why when the tag is opened
    provenance: list[ProvenanceRecord] = []
    if referrers and any(r.artifact_type == PROVENANCE_ARTIFACT_TYPE for r in referrers):
        try:
            provenance = read_provenance(client, repository, manifest.digest)
        except RegistryError:
            provenance = []
    return RowDetails(details, referrers, provenance)


class TagsLoader(QObject):
    """Fills a :class:`TagsModel`: the tag list page by page, then details on demand.

    Detail reads go through a bounded queue (visible rows jump ahead) and their answers
    are merged in batches, ten a second; while every row is read (a sort by a detail)
    the table re-sorts once a second, not once per batch or per answer.
    """

    loaded = Signal()  # the tag list is complete
    list_failed = Signal(str)  # why the list (or its rest) could not be read
    details_progress = Signal(int, int)  # rows with details (or an error), rows
    changed = Signal()  # anything a status line shows

    def __init__(
        self, ctx: AppContext, profile: str, repository: str, model: TagsModel, parent: QObject
    ) -> None:
        super().__init__(parent)
        self.ctx, self.profile, self.repository, self.model = ctx, profile, repository, model
        self.host = ctx.profiles.get(profile).host
        self.listing = False
        self.fetch_all = False
        self.failures: list[str] = []
        self._lister = Requester(ctx.pool, self)
        self._lister.ready.connect(self._page)
        self._lister.error.connect(self._list_error)
        self._fetcher = Fanout(ctx.pool, self)
        self._fetcher.ready.connect(self._arrived_one)
        self._fetcher.error.connect(self._arrived_one)
        self._queue: deque[str] = deque()
        self._requested: set[str] = set()
        self._arrived: list[tuple[str, object]] = []
        self._in_flight = 0
        self._links: set[str] = set()
        self._flush_timer = QTimer(self)
        self._flush_timer.setSingleShot(True)
        self._flush_timer.timeout.connect(self._flush)
        self._late = Fanout(ctx.pool, self)
        self._late.ready.connect(self._late_arrived)
        self._late_requested: set[str] = set()
        self._chunks: deque[list[str]] = deque()  # a page's names not in the table yet
        self._page_read: Page | None = None
        self._insert_timer = QTimer(self)
        self._insert_timer.setSingleShot(True)
        self._insert_timer.setInterval(0)  # the next turn, after what is already queued
        self._insert_timer.timeout.connect(self._insert_chunk)
        #: While every row is read, the table re-sorts on this beat, not on each batch:
        #: each re-sort repaints the whole table, 30 ms on a loaded machine.
        self._order_timer = QTimer(self)
        self._order_timer.setInterval(ORDER_MS)
        self._order_timer.timeout.connect(self.model.apply_order)

    @property
    def reading(self) -> bool:
        """True while details are being read (or wait for a free worker)."""
        return bool(self._queue) or self._in_flight > 0

    def refresh(self) -> None:
        """Start again from the first page (details stay cached by digest)."""
        self._fetcher.reset()
        self._queue.clear()
        self._requested.clear()
        self._arrived.clear()
        self.failures.clear()
        self._in_flight = 0
        self._links.clear()
        self._late.reset()
        self._late_requested.clear()
        self._chunks.clear()
        self._page_read = None
        self._insert_timer.stop()
        self._hold_order(False)
        self.listing = True
        self.model.clear()
        self._lister.submit(list_tags_page, self.ctx, self.profile, self.repository, None)
        self.changed.emit()

    @Slot(object)
    def _page(self, page: object) -> None:
        assert isinstance(page, Page)
        items = list(page.items)
        self._chunks.extend(items[i : i + INSERT_CHUNK] for i in range(0, len(items), INSERT_CHUNK))
        self._page_read = page
        self._insert_chunk()

    @Slot()
    def _insert_chunk(self) -> None:
        """One chunk of the page into the table; the rest on later turns of the loop."""
        if self._chunks:
            self.model.append_tags(self._chunks.popleft())
        if self._chunks:
            self._insert_timer.start()
            self.changed.emit()
            return
        page, self._page_read = self._page_read, None
        if page is not None:
            self._page_done(page)

    def _page_done(self, page: Page) -> None:
        heap.settle()  # the rows live as long as the view
        self._read_late_referrers(set(self.model.known_digests().values()))
        if page.next_url and page.next_url not in self._links:
            self._links.add(page.next_url)
            self._lister.submit(
                list_tags_page, self.ctx, self.profile, self.repository, page.next_url
            )
        else:
            self.listing = False
            if page.next_url:
                self.list_failed.emit(f"{self.host} sent a Link header back to a page already read")
            self.loaded.emit()
        if self.fetch_all:
            self.want(self.model.tags())
            self._hold_order(self.reading)
        self.changed.emit()

    @Slot(object)
    def _list_error(self, error: object) -> None:
        self.listing = False
        what = "The tag list is incomplete" if self.model.rowCount() else "Could not list tags"
        self.list_failed.emit(f"{what}: {error}")
        self.changed.emit()

    def set_fetch_all(self, fetch_all: bool) -> None:
        """Read every row (a sort needs them all), or only what is wanted from now on."""
        self.fetch_all = fetch_all
        if fetch_all:
            self.want(self.model.tags())
        else:
            self._queue.clear()
        self._hold_order(fetch_all and self.reading)
        self.changed.emit()

    def _hold_order(self, hold: bool) -> None:
        self.model.hold_order(hold)  # released: the rows are put in order at once
        if hold:
            self._order_timer.start()
        else:
            self._order_timer.stop()

    def retry_failed(self) -> None:
        self.failures.clear()
        failed = self.model.clear_errors()
        self._requested.difference_update(failed)
        self.want(failed, front=True)

    def forget(self, tags: list[str]) -> None:
        """Read these tags' details again when next wanted (they point elsewhere now)."""
        self._requested.difference_update(tags)
        if self.fetch_all:
            self.want(tags)

    def want(self, tags: list[str], front: bool = False) -> None:
        """Queue detail reads; ``front`` for the rows on screen."""
        fresh = [t for t in tags if t not in self._requested]
        if front:
            self._queue.extendleft(reversed(fresh))
        else:
            self._queue.extend(fresh)
        self._pump()

    def _pump(self) -> None:
        while self._in_flight < MAX_IN_FLIGHT and self._queue:
            tag = self._queue.popleft()
            number = self.model.row_of(tag)
            if tag in self._requested or number is None:
                continue
            row = self.model.row(number)
            if row.details is not None or row.error:
                continue
            self._requested.add(tag)
            self._in_flight += 1
            indexed = self.model.indexed_digests()
            self._fetcher.submit(
                tag, fetch_row, self.ctx, self.profile, self.repository, tag, indexed
            )

    @Slot(object, object)
    def _arrived_one(self, tag: object, result: object) -> None:
        self._in_flight = max(0, self._in_flight - 1)
        self._arrived.append((str(tag), result))
        if not self._flush_timer.isActive():
            self._flush_timer.start(FLUSH_MS)
        self._pump()

    @Slot()
    def _flush(self) -> None:
        arrived, self._arrived = self._arrived, []
        good = [(t, r) for t, r in arrived if isinstance(r, RowDetails)]
        with self.model.batch():  # a sorted table re-sorts once for the whole batch
            self.model.update_many((t, r.details) for t, r in good)
            for _, found in good:
                if found.referrers is not None:
                    self.model.add_referrers(found.details.digest, found.referrers)
                if found.provenance:
                    self.model.set_provenance_records(found.details.digest, found.provenance)
            for tag, error in arrived:
                if not isinstance(error, RowDetails):
                    self.model.set_error(tag, str(error))
                    self.failures.append(str(error))
        self._read_late_referrers({r.details.digest for _, r in good if r.referrers is None})
        if not self.reading:
            self._hold_order(False)  # every row read: in order now, not at the next beat
        heap.settle()  # so do the details
        self.details_progress.emit(self.model.details_count(), self.model.rowCount())
        self.changed.emit()

    def _read_late_referrers(self, digests: set[str]) -> None:
        """Referrers of read images whose fallback index turned up after their row was
        read (tags are listed in pages): without them a promoted row never says so."""
        for digest in (digests & self.model.indexed_digests()) - self._late_requested:
            self._late_requested.add(digest)
            self._late.submit(
                digest, read_row_referrers, self.ctx, self.profile, self.repository, digest
            )

    @Slot(object, object)
    def _late_arrived(self, _digest: object, found: object) -> None:
        assert isinstance(found, RowReferrers)
        self.model.add_referrers(found.digest, found.referrers)
        if found.provenance:
            self.model.set_provenance_records(found.digest, found.provenance)
