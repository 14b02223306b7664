"""The rows of a repository's Tags tab: one per tag, filled in as details arrive.

A registry lists tags without digests, so a row starts as a bare name and gains its
digest, size, creation time and platforms when the view's workers have read them.
Referrer indexes and cosign artifacts are tags too, but they describe another image:
they never become rows, they become badges ("signed", "SBOM") on the rows whose
digest they name, so the table shows images, not bookkeeping.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    Qt,
    Signal,
)
from PySide6.QtGui import QColor

from hoister.engine.provenance import PROVENANCE_ARTIFACT_TYPE, ProvenanceRecord
from hoister.engine.tags import is_internal_tag, is_referrer_tag
from hoister.facts.details import ImageDetails
from hoister.registry import Descriptor
from hoister.ui.browsing.fade import Fade
from hoister.ui.browsing.tags_order import RowOrder
from hoister.ui.shared.format import human_size, local_time, short_digest

#: Where a tag came from sits next to the tag: it is what QA reads first in a target
#: repository, and the columns on the right are the first to give way on a narrow window.
TAG, PROVENANCE, CREATED, DIGEST, SIZE, PLATFORMS = range(6)
HEADERS = ("Tag", "Provenance", "Created", "Digest", "Size", "Platforms")
#: Columns whose values come from details: sorting by one needs every row's details.
DETAIL_COLUMNS = frozenset({DIGEST, SIZE, CREATED, PLATFORMS, PROVENANCE})

RowRole = Qt.ItemDataRole.UserRole + 1
SortRole = Qt.ItemDataRole.UserRole + 2

Index = QModelIndex | QPersistentModelIndex
COSIGN_BADGES = {"sig": "signed", "att": "attestation", "sbom": "SBOM"}
_NUMBER = re.compile(r"\d+")
_RIGHT = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
_ERROR_COLOUR = QColor("#b3261e")
_PENDING_COLOUR = QColor("#8c8f94")


def natural_key(tag: str) -> str:
    """Numbers padded so ``1.10`` sorts after ``1.9``, as people read versions."""
    return _NUMBER.sub(lambda m: m.group().zfill(12), tag.lower())


def compact_platforms(platforms: list[str]) -> str:
    """``amd64, arm64/v8``: Linux goes without saying; other systems are named."""
    return ", ".join(p.removeprefix("linux/") for p in platforms)


def badge_for_artifact(artifact_type: str | None) -> str:
    """A word for what a referrer is, from its artifact type."""
    kind = (artifact_type or "").lower()
    if artifact_type == PROVENANCE_ARTIFACT_TYPE or "provenance" in kind or "slsa" in kind:
        return "provenance"
    if any(word in kind for word in ("sbom", "spdx", "cyclonedx", "syft")):
        return "SBOM"
    if any(word in kind for word in ("signature", "cosign.artifact.sig", "notary")):
        return "signed"
    if any(word in kind for word in ("attestation", "in-toto", "intoto", "dsse")):
        return "attestation"
    return "artifact"


def referrer_subject(tag: str) -> tuple[str, str | None] | None:
    """``(subject digest, badge or None)`` for a referrer tag, else None."""
    if not is_referrer_tag(tag):
        return None
    name, _, suffix = tag.partition(".")
    digest = "sha256:" + name.removeprefix("sha256-")
    return digest, COSIGN_BADGES.get(suffix) if suffix else None


def provenance_text(source_repository: str, source_tag: str) -> str:
    """The Provenance cell: ``from dev/website:1.9-stable``."""
    return f"from {source_repository}:{source_tag}"


def provenance_cell(records: list[ProvenanceRecord]) -> tuple[str, str, str]:
    """``(cell text, source repository, tooltip)`` of the newest promotion (newest first)."""
    if not records:
        return "", "", ""
    newest = records[0]
    policy = f"policy '{newest.policy_name}'" if newest.policy_name else "a manual promotion"
    lines = [
        f"Promoted from {newest.source_registry}/{newest.source_repository}:{newest.source_tag}",
        f"by {policy} on {local_time(newest.promoted_at)} ({newest.promoted_by})",
    ]
    if len(records) > 1:
        lines.append(f"({len(records) - 1} earlier promotion{'s' if len(records) > 2 else ''})")
    text = provenance_text(newest.source_repository, newest.source_tag)
    return text, newest.source_repository, "\n".join(lines)


@dataclass
class TagRow:
    """What the table knows about one tag; ``details`` stays None until read."""

    tag: str
    name_key: str = ""  # natural sort key of the tag, computed once
    details: ImageDetails | None = None
    error: str | None = None
    provenance: str = ""
    badges: tuple[str, ...] = field(default=())
    source: str = ""  # the repository it was promoted from ("" when not promoted)
    provenance_tip: str = ""  # the whole promotion in words, for the tooltip
    #: The row's key in the current order until the row changes: see :class:`RowOrder`.
    sort_cache: tuple[tuple[int, bool], tuple[Any, ...]] | None = field(
        default=None, repr=False, compare=False
    )

    @property
    def digest(self) -> str | None:
        return self.details.digest if self.details else None

    @property
    def size(self) -> int | None:
        return self.details.size if self.details else None

    @property
    def created(self) -> datetime | None:
        return self.details.created if self.details else None

    @property
    def platforms(self) -> list[str]:
        return self.details.platforms if self.details else []


class TagsModel(QAbstractTableModel):
    """Tags of one repository, appended page by page; details merged in as they come."""

    sources_changed = Signal()  # a repository tags were promoted from was seen first

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._sources: set[str] = set()
        self._rows: list[TagRow] = []
        self._by_tag: dict[str, int] = {}
        self._badges: dict[str, set[str]] = {}  # subject digest -> badges
        #: Digests with a referrers fallback index: something refers to them, the index
        #: says what (the view reads it and calls :meth:`add_referrers`).
        self._indexed: set[str] = set()
        self._hidden = 0
        self.fade = Fade(self)  # rows a promotion just brought, highlighted for a while
        self.fade.stepped.connect(self._faded)
        self._detailed = 0  # rows with details or an error, kept so progress is O(1)
        #: The model keeps its rows in the order the view shows (see :meth:`sort`).
        self._order = RowOrder(self.sort_value, TAG)
        self._batch_depth, self._order_stale, self._held = 0, False, False
        self._moved: dict[int, TagRow] = {}  # changed since the last reorder, by id

    # -- reading ---------------------------------------------------------------------

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008 - Qt's signature
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(HEADERS)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> object:
        if orientation == Qt.Orientation.Horizontal and 0 <= section < len(HEADERS):
            if role == Qt.ItemDataRole.DisplayRole:
                return HEADERS[section]
            if role == Qt.ItemDataRole.TextAlignmentRole and section == SIZE:
                return _RIGHT
        return None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> object:
        return self.cell(index.row(), index.column(), role) if index.isValid() else None

    def cell(self, number: int, column: int, role: int) -> object:
        """:meth:`data` by row number: the proxy asks without building an index per cell."""
        if not 0 <= number < len(self._rows):
            return None
        row = self._rows[number]
        if role == Qt.ItemDataRole.DisplayRole:
            return self._display(row, column)
        if role == SortRole:
            return self.sort_key(number, column)
        if role == RowRole:
            return row
        if role == Qt.ItemDataRole.ToolTipRole:
            return self._tooltip(row, column)
        if role == Qt.ItemDataRole.TextAlignmentRole and column == SIZE:
            return _RIGHT
        if role == Qt.ItemDataRole.BackgroundRole:
            return self.fade.colour(row.tag)
        if role == Qt.ItemDataRole.ForegroundRole and column == DIGEST and row.details is None:
            return _ERROR_COLOUR if row.error else _PENDING_COLOUR
        return None

    def _display(self, row: TagRow, column: int) -> str:
        if column == TAG:
            return row.tag
        if row.details is None:
            if column != DIGEST:
                return ""
            return "unreadable" if row.error else "…"  # not read yet
        if column == DIGEST:
            return short_digest(row.details.digest)
        if column == SIZE:
            return human_size(row.details.size)
        if column == CREATED:
            return local_time(row.created) if row.created else "—"
        if column == PLATFORMS:
            return compact_platforms(row.platforms) or "—"
        # "from dev/website:1.9-stable" says what the "provenance" badge would
        badges = [b for b in row.badges if not (row.provenance and b == "provenance")]
        return " · ".join([p for p in (row.provenance, *badges) if p])

    def _tooltip(self, row: TagRow, column: int) -> str | None:
        """The whole text of every cell, since a narrow column elides it."""
        if row.error:
            return row.error
        if column == TAG:
            return "\n".join(t for t in (row.tag, row.provenance_tip) if t)
        if column == PROVENANCE:
            attached = f"Attached: {', '.join(row.badges)}" if row.badges else ""
            return "\n".join(t for t in (row.provenance_tip, attached) if t) or None
        if row.details is None:
            return None
        if column == DIGEST:
            return row.details.digest
        if column == SIZE:
            return f"{row.details.size:,} bytes"
        if column == CREATED and row.created:
            return row.created.isoformat()
        if column == PLATFORMS:
            return "\n".join(row.platforms) or None
        return None

    def sort_key(self, row_number: int, column: int) -> object:
        """The value a column sorts by; None when not known yet (sorted after the rest)."""
        return self.sort_value(self._rows[row_number], column)

    def sort_value(self, row: TagRow, column: int) -> object:
        """:meth:`sort_key` of a row itself."""
        if column == TAG:
            return row.name_key
        if row.details is None:
            return None
        if column == DIGEST:
            return row.details.digest
        if column == SIZE:
            return row.details.size
        if column == CREATED:
            return row.created.timestamp() if row.created else None
        if column == PLATFORMS:
            return ", ".join(row.platforms)
        return self._display(row, column) or None

    def row(self, row_number: int) -> TagRow:
        return self._rows[row_number]

    def rows(self) -> list[TagRow]:
        """Every row in the model's order (read-only: the proxy filters it in one loop)."""
        return self._rows

    def row_of(self, tag: str) -> int | None:
        return self._by_tag.get(tag)

    def tags(self) -> list[str]:
        return [row.tag for row in self._rows]

    def known_digests(self) -> dict[str, str]:
        """Tag -> digest for every row read so far (the delete dialog starts from these)."""
        return {row.tag: row.digest for row in self._rows if row.digest}

    def details_count(self) -> int:
        """Rows whose details were read (or could not be): the progress of a full fetch."""
        return self._detailed

    @property
    def hidden_count(self) -> int:
        """Internal tags (referrer indexes, cosign artifacts, backups) not shown as rows."""
        return self._hidden

    # -- filling ---------------------------------------------------------------------

    def append_tags(self, tags: Iterable[str]) -> None:
        """Add a page of tags; internal ones become badges, repeats are ignored."""
        fresh: dict[str, None] = {}  # ordered, and a set: a page may repeat a name
        touched: set[str] = set()
        for tag in tags:
            if tag in self._by_tag or tag in fresh:
                continue
            if is_internal_tag(tag):
                self._hidden += 1
                subject = referrer_subject(tag)
                if subject is not None:
                    digest, badge = subject
                    if badge is None:
                        self._indexed.add(digest)
                    else:
                        self._badges.setdefault(digest, set()).add(badge)
                    touched.add(digest)
                continue
            fresh[tag] = None
        if fresh:
            first = len(self._rows)
            self.beginInsertRows(QModelIndex(), first, first + len(fresh) - 1)
            for offset, tag in enumerate(fresh):
                self._rows.append(TagRow(tag, natural_key(tag)))
                self._by_tag[tag] = first + offset
            self._moved.update((id(row), row) for row in self._rows[first:])
            self.endInsertRows()
            self._reorder()  # new rows go where the order puts them
        self._refresh_badges(touched)

    def update_details(self, tag: str, details: ImageDetails) -> None:
        """Merge the details read for one tag."""
        self.update_many([(tag, details)])

    def update_many(self, updates: Iterable[tuple[str, ImageDetails]]) -> None:
        """Merge many answers with one ``dataChanged``, so a sorted view re-sorts once."""
        changed = []
        for tag, details in updates:
            number = self._by_tag.get(tag)
            if number is None:
                continue
            row = self._rows[number]
            self._detailed += not _counted(row)
            row.details, row.error = details, None
            row.badges = self._badges_of(details.digest)
            changed.append(number)
        self._changed(changed)

    def set_error(self, tag: str, message: str) -> None:
        """The details of a tag could not be read: the row says so instead of staying blank."""
        number = self._by_tag.get(tag)
        if number is not None:
            row = self._rows[number]
            self._detailed += not _counted(row)
            row.error = message
            self._changed([number])

    def clear_errors(self) -> list[str]:
        """Forget failed reads (before a retry); returns the tags concerned."""
        failed = [n for n, row in enumerate(self._rows) if row.error]
        for number in failed:
            self._rows[number].error = None
            self._detailed -= not _counted(self._rows[number])
        self._changed(failed)
        return [self._rows[n].tag for n in failed]

    def add_referrers(self, digest: str, referrers: Iterable[Descriptor]) -> None:
        """Badges learnt from the referrers API (artifact types) for an image."""
        badges = self._badges.setdefault(digest, set())
        badges.update(badge_for_artifact(r.artifact_type) for r in referrers)
        self._refresh_badges({digest})

    def set_provenance(self, digest: str, text: str, *, source: str = "", tip: str = "") -> None:
        """Where an image was promoted from (filled by the provenance reader)."""
        changed = [n for n, row in enumerate(self._rows) if row.digest == digest]
        for number in changed:
            row = self._rows[number]
            row.provenance, row.source, row.provenance_tip = text, source, tip
        self._changed(changed)
        self._seen_source(source)

    def _seen_source(self, source: str) -> None:
        if source and source not in self._sources:
            self._sources.add(source)
            self.sources_changed.emit()

    def set_provenance_records(self, digest: str, records: list[ProvenanceRecord]) -> None:
        """The provenance records read for an image, newest first."""
        text, source, tip = provenance_cell(records)
        self.set_provenance(digest, text, source=source, tip=tip)

    def sources(self) -> list[str]:
        """Repositories the tags shown so far were promoted from, sorted."""
        return sorted(self._sources)

    def add_promoted(self, tag: str, source_repository: str, source_tag: str) -> None:
        """A promotion wrote ``tag`` here: list it (if new) with where it came from, and
        highlight it for a few seconds so the person watching notices it. The source is
        kept too, so the promoted-only and source filters keep the row."""
        self.append_tags([tag])
        number = self._by_tag.get(tag)
        if number is None:
            return
        row = self._rows[number]
        row.provenance = provenance_text(source_repository, source_tag)
        row.source = source_repository
        self._changed([number])
        self._seen_source(source_repository)
        self.fade.start([tag])

    def _faded(self, tags: list[str]) -> None:
        """Only the tint changed: repaint those rows, their place in the order stays."""
        last = self.columnCount() - 1
        for number in (n for n in (self._by_tag.get(t) for t in tags) if n is not None):
            self.dataChanged.emit(
                self.index(number, 0), self.index(number, last), [Qt.ItemDataRole.BackgroundRole]
            )

    def remove_tags(self, tags: Iterable[str]) -> None:
        """Drop rows of deleted tags, one contiguous block at a time (highest first)."""
        numbers = sorted((self._by_tag[t] for t in set(tags) if t in self._by_tag), reverse=True)
        while numbers:
            last = first = numbers.pop(0)
            while numbers and numbers[0] == first - 1:
                first = numbers.pop(0)
            self.beginRemoveRows(QModelIndex(), first, last)
            self._detailed -= sum(map(_counted, self._rows[first : last + 1]))
            for row in self._rows[first : last + 1]:
                self._moved.pop(id(row), None)
            del self._rows[first : last + 1]
            self.endRemoveRows()
        self._by_tag = {row.tag: n for n, row in enumerate(self._rows)}

    def clear(self) -> None:
        self.fade.forget()
        self.beginResetModel()
        self._rows, self._by_tag, self._badges, self._hidden = [], {}, {}, 0
        self._detailed = 0
        self._indexed, self._moved = set(), {}
        self.endResetModel()
        if self._sources:
            self._sources = set()
            self.sources_changed.emit()

    def indexed_digests(self) -> frozenset[str]:
        """Digests whose referrers sit in a fallback index not read yet."""
        return frozenset(self._indexed - self._badges.keys())

    def _badges_of(self, digest: str) -> tuple[str, ...]:
        badges = self._badges.get(digest)
        if badges is None:
            return ("referrers",) if digest in self._indexed else ()
        return tuple(sorted(badges, key=str.lower))

    def _refresh_badges(self, digests: set[str]) -> None:
        if not digests:
            return
        changed = []
        for number, row in enumerate(self._rows):
            if row.digest in digests:
                badges = self._badges_of(row.digest or "")
                if badges != row.badges:
                    row.badges = badges
                    changed.append(number)
        self._changed(changed, PROVENANCE, PROVENANCE)

    def _changed(self, numbers: list[int], first: int = 0, last: int = -1) -> None:
        """One ``dataChanged`` per run of adjacent rows, never one spanning the rows between.

        A signal from the lowest to the highest changed row made the proxy and the view
        revisit every row in between: with details arriving for rows far apart, that was
        most of a 10,000-row table on every batch.
        """
        last = self.columnCount() - 1 if last < 0 else last
        ordered = sorted(set(numbers))
        moves = first <= self._order.column <= last
        for number in ordered:
            row = self._rows[number]
            row.sort_cache = None
            if moves:
                self._moved[id(row)] = row
        start = 0
        for position in range(1, len(ordered) + 1):
            if position == len(ordered) or ordered[position] != ordered[position - 1] + 1:
                top, bottom = ordered[start], ordered[position - 1]
                self.dataChanged.emit(self.index(top, first), self.index(bottom, last))
                start = position
        self._reorder()

    # -- order -----------------------------------------------------------------------

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        """Keep the rows in this order from now on; ``column`` -1 keeps arrival order.

        The model sorts itself (:class:`RowOrder`): a proxy sorting through a Python
        ``lessThan`` crossed into Python twice per comparison, hundreds of thousands of
        times for 10,000 rows, and again on every batch of details.
        """
        self._order.column, self._order.order = column, order
        self._order_stale = True
        self._reorder()

    @property
    def sort_column(self) -> int:
        return self._order.column

    @property
    def sort_order(self) -> Qt.SortOrder:
        return self._order.order

    @contextmanager
    def batch(self) -> Iterator[None]:
        """Changes inside re-sort once, at the end (a loader's batch of answers)."""
        self._batch_depth += 1
        try:
            yield
        finally:
            self._batch_depth -= 1
            self._reorder()

    def hold_order(self, hold: bool) -> None:
        """While held, changed rows stay where they are until :meth:`apply_order` or the
        release: a loader reading every row re-sorts (and so repaints) once a second
        instead of on each batch of answers."""
        self._held = hold
        if not hold:
            self._reorder()

    def apply_order(self) -> None:
        """Put the rows changed so far where they belong (also while held)."""
        held, self._held = self._held, False
        try:
            self._reorder()
        finally:
            self._held = held

    def _reorder(self) -> None:
        if self._batch_depth or self._held:
            return
        if self._order.column < 0:
            self._moved.clear()
            return
        if self._order_stale:
            ordered = self._order.sorted(self._rows)
        elif self._moved:
            moved = list(self._moved.values())
            positions = [self._by_tag[row.tag] for row in moved]
            ordered = self._order.placed(self._rows, moved, positions)
        else:
            return
        self._order_stale, self._moved = False, {}
        if not any(map(operator.is_not, ordered, self._rows)):
            return  # the same order (all C loops: this runs on every batch)
        self.layoutAboutToBeChanged.emit()
        before = self.persistentIndexList()
        moved_from = [self._rows[i.row()].tag for i in before]
        self._rows = ordered
        self._by_tag = dict(zip(map(_tag_of, ordered), range(len(ordered)), strict=True))
        if before:
            pairs = zip(moved_from, before, strict=True)
            after = [self.index(self._by_tag[tag], i.column()) for tag, i in pairs]
            self.changePersistentIndexList(before, after)
        self.layoutChanged.emit()


_tag_of = operator.attrgetter("tag")


def _counted(row: TagRow) -> bool:
    """Whether a row counts as read for :meth:`TagsModel.details_count`."""
    return row.details is not None or bool(row.error)
