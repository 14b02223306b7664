"""The rows of a repository's Tags tab: one per tag, filled in as details arrive.

A registry lists tags without digests, so a row starts as a bare name and gains its
digest, size, creation time and platforms when the view's workers have read them.
Referrer indexes and cosign artifacts are tags too, but they describe another image:
they never become rows, they become badges ("signed", "SBOM") on the rows whose
digest they name, so the table shows images, not bookkeeping.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QSortFilterProxyModel,
    Qt,
    Signal,
)
from PySide6.QtGui import QColor

from hoister.engine.provenance import PROVENANCE_ARTIFACT_TYPE, ProvenanceRecord
from hoister.engine.tags import is_internal_tag, is_referrer_tag
from hoister.facts.details import ImageDetails
from hoister.registry import Descriptor
from hoister.ui.browsing.fade import Fade
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
    text = f"from {newest.source_repository}:{newest.source_tag}"
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
        if not index.isValid() or not 0 <= index.row() < len(self._rows):
            return None
        row, column = self._rows[index.row()], index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return self._display(row, column)
        if role == SortRole:
            return self.sort_key(index.row(), column)
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
        row = self._rows[row_number]
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

    def row_of(self, tag: str) -> int | None:
        return self._by_tag.get(tag)

    def tags(self) -> list[str]:
        return [row.tag for row in self._rows]

    def known_digests(self) -> dict[str, str]:
        """Tag -> digest for every row read so far (the delete dialog starts from these)."""
        return {row.tag: row.digest for row in self._rows if row.digest}

    def details_count(self) -> int:
        """Rows whose details were read (or could not be): the progress of a full fetch."""
        return sum(1 for row in self._rows if row.details is not None or row.error)

    @property
    def hidden_count(self) -> int:
        """Internal tags (referrer indexes, cosign artifacts, backups) not shown as rows."""
        return self._hidden

    # -- filling ---------------------------------------------------------------------

    def append_tags(self, tags: Iterable[str]) -> None:
        """Add a page of tags; internal ones become badges, repeats are ignored."""
        fresh: list[str] = []
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
            fresh.append(tag)
        if fresh:
            first = len(self._rows)
            self.beginInsertRows(QModelIndex(), first, first + len(fresh) - 1)
            for offset, tag in enumerate(fresh):
                self._rows.append(TagRow(tag, natural_key(tag)))
                self._by_tag[tag] = first + offset
            self.endInsertRows()
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
            row.details, row.error = details, None
            row.badges = self._badges_of(details.digest)
            changed.append(number)
        self._changed(changed)

    def set_error(self, tag: str, message: str) -> None:
        """The details of a tag could not be read: the row says so instead of staying blank."""
        number = self._by_tag.get(tag)
        if number is not None:
            self._rows[number].error = message
            self._changed([number])

    def clear_errors(self) -> list[str]:
        """Forget failed reads (before a retry); returns the tags concerned."""
        failed = [n for n, row in enumerate(self._rows) if row.error]
        for number in failed:
            self._rows[number].error = None
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

    def add_promoted(self, tag: str, provenance: str, source: str = "") -> None:
        """A promotion wrote ``tag`` here: list it (if new) with where it came from, and
        highlight it for a few seconds so the person watching notices it. ``source`` is
        the repository it came from, so the promoted-only and source filters keep it."""
        self.append_tags([tag])
        number = self._by_tag.get(tag)
        if number is None:
            return
        row = self._rows[number]
        row.provenance = provenance
        row.source = source or row.source
        self._changed([number])
        if source and source not in self._sources:
            self._sources.add(source)
            self.sources_changed.emit()
        self.fade.start([tag])

    def _faded(self, tags: list[str]) -> None:
        numbers = [n for n in (self._by_tag.get(t) for t in tags) if n is not None]
        for number in numbers:
            self._changed([number])

    def remove_tags(self, tags: Iterable[str]) -> None:
        """Drop rows of deleted tags, one contiguous block at a time (highest first)."""
        numbers = sorted((self._by_tag[t] for t in set(tags) if t in self._by_tag), reverse=True)
        while numbers:
            last = first = numbers.pop(0)
            while numbers and numbers[0] == first - 1:
                first = numbers.pop(0)
            self.beginRemoveRows(QModelIndex(), first, last)
            del self._rows[first : last + 1]
            self.endRemoveRows()
        self._by_tag = {row.tag: n for n, row in enumerate(self._rows)}

    def clear(self) -> None:
        self.fade.forget()
        self.beginResetModel()
        self._rows, self._by_tag, self._badges, self._hidden = [], {}, {}, 0
        self._indexed = set()
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

    def _changed(self, numbers: list[int], first: int = 0, last: int = len(HEADERS) - 1) -> None:
        if numbers:
            top, bottom = min(numbers), max(numbers)
            self.dataChanged.emit(self.index(top, first), self.index(bottom, last))


class TagsProxy(QSortFilterProxyModel):
    """Filters on the tag and sorts on :data:`SortRole`, unknown values last either way.

    Rows whose details are still on their way would otherwise crowd the top of a table
    sorted newest first, hiding exactly the rows someone sorted to find.
    """

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.setSortRole(SortRole)
        self.setFilterKeyColumn(TAG)
        self.setFilterCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.promoted_only = False
        self.source = ""  # only tags promoted from exactly this repository
        self.source_text = ""  # ... or from one whose name contains this ("from:dev/web")

    def set_promoted_only(self, promoted_only: bool) -> None:
        """Only tags that carry a provenance record (what QA looks for in a target)."""
        self.beginFilterChange()
        self.promoted_only = promoted_only
        self.endFilterChange()

    def set_source(self, source: str = "", text: str = "") -> None:
        """Only tags promoted from ``source`` (exactly) and from a name containing ``text``."""
        if (source, text.lower()) == (self.source, self.source_text):
            return
        self.beginFilterChange()
        self.source, self.source_text = source, text.lower()
        self.endFilterChange()

    @property
    def provenance_filtered(self) -> bool:
        """True when rows are chosen by where they came from (known only once read)."""
        return self.promoted_only or bool(self.source or self.source_text)

    def filterAcceptsRow(self, source_row: int, source_parent: Index) -> bool:
        source = self.sourceModel()
        if isinstance(source, TagsModel) and not self._accepts_provenance(source.row(source_row)):
            return False
        return super().filterAcceptsRow(source_row, source_parent)

    def _accepts_provenance(self, row: TagRow) -> bool:
        if self.promoted_only and not row.provenance:
            return False
        if self.source and row.source != self.source:
            return False
        return not self.source_text or self.source_text in row.source.lower()

    def lessThan(self, left: Index, right: Index) -> bool:
        source = self.sourceModel()
        if not isinstance(source, TagsModel):
            return super().lessThan(left, right)
        column = left.column()
        a, b = source.sort_key(left.row(), column), source.sort_key(right.row(), column)
        # Qt sorts descending by asking lessThan(right, left): whatever must stay the
        # same in both directions (unknowns last, ties by tag name) is flipped back.
        ascending = self.sortOrder() == Qt.SortOrder.AscendingOrder
        if a is None or b is None or a == b:
            if (a is None) != (b is None):
                return (b is None) == ascending
            x, y = source.row(left.row()).name_key, source.row(right.row()).name_key
            return x != y and (x < y) == ascending
        return a < b  # type: ignore[operator]
