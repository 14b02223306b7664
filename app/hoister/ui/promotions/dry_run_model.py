"""The rows of a dry run: each existing tag, its verdict per criterion, and its new name.

A dry run is how someone decides whether to let a policy loose on a repository's past,
so every cell explains itself: the verdict of each criterion with the reason the rule
gave, and the tag the image would get. One column per rule, headed by the rule in words,
mirrors how the policy was written ("PROMOTE TO TARGET IF ...").

A tag the policy matched before is not a new promotion: the queue's "promote once" key
refuses it, so the row says what became of it then ("already promoted → qa/website:x")
and it is neither counted nor offered among the tags that would be promoted.
"""

from __future__ import annotations

import re
from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QSortFilterProxyModel,
    Qt,
)
from PySide6.QtGui import QColor, QFont, QIcon, QPainter, QPixmap

from hoister.engine.dryrun import DryRunRow
from hoister.engine.earlier import EARLIER_WORDS, Earlier, earlier_entry, earlier_text
from hoister.policies import Outcome, Policy, Verdict, describe_rule
from hoister.store.queue import QueueEntry

TAG, VERDICT, FIRST_CRITERION = 0, 1, 2

RowRole = Qt.ItemDataRole.UserRole + 1
SortRole = Qt.ItemDataRole.UserRole + 2

Index = QModelIndex | QPersistentModelIndex

PROMOTE, NO, UNKNOWN, ERROR = "promote", "no", "unknown", "error"
EARLIER = "earlier"  # matched, and this policy already queued it once
#: Mid-tone colours, readable on the light and the dark palette alike.
COLOURS = {
    PROMOTE: "#2e9d4c",
    NO: "#d0453a",
    UNKNOWN: "#c27c0e",
    ERROR: "#d0453a",
    EARLIER: "#6f7f94",
}
_OUTCOME_WORDS = {Outcome.HELD: ("yes", PROMOTE), Outcome.FAILED: ("no", NO)}
_OUTCOME_WORDS[Outcome.UNKNOWN] = ("unknown", UNKNOWN)
#: Sort order of verdicts: what would happen first, what will never happen last.
_VERDICT_ORDER = {PROMOTE: 0, UNKNOWN: 1, ERROR: 2, EARLIER: 3, NO: 4}
_NUMBER = re.compile(r"\d+")
_icons: dict[str, QIcon] = {}


def verdict_of(row: DryRunRow) -> str:
    """``promote`` only when the tag could really be promoted: a digest and a new name."""
    if row.error or (row.evaluation.matched and (row.digest is None or row.target_tag is None)):
        return ERROR
    if row.evaluation.matched:
        return PROMOTE
    return UNKNOWN if row.evaluation.outcome is Outcome.UNKNOWN else NO


def dot(colour: str) -> QIcon:
    """A coloured disc: the verdict at a glance, beside the words that say it."""
    icon = _icons.get(colour)
    if icon is None:
        pixmap = QPixmap(12, 12)
        pixmap.fill(Qt.GlobalColor.transparent)
        painter = QPainter(pixmap)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(QColor(colour))
        painter.drawEllipse(1, 1, 10, 10)
        painter.end()
        icon = _icons[colour] = QIcon(pixmap)
    return icon


def natural_key(tag: str) -> str:
    """Numbers padded so ``1.10`` sorts after ``1.9``, as people read versions."""
    return _NUMBER.sub(lambda m: m.group().zfill(12), tag.lower())


def reason_in_cell(verdict: Verdict) -> str:
    """The reason without the rule's own name, which already heads the column."""
    reason = verdict.reason.removeprefix("unknown: ")
    label, sep, rest = reason.partition(": ")
    if sep and describe_rule(verdict.rule).startswith(label):
        reason = rest
    word = _OUTCOME_WORDS[verdict.outcome][0]
    # "critical = 0, from Trivy report attached 2026-11-30": where the fact came from
    source = f", from {verdict.source}" if verdict.source and verdict.source != "registry" else ""
    return f"{word}: {reason}{source}"


class DryRunModel(QAbstractTableModel):
    """One row per tag; the criterion columns follow the policy's rules."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._policy: Policy | None = None
        self._rows: list[DryRunRow] = []
        self._earlier: Earlier = {}

    def set_rows(
        self, policy: Policy, rows: list[DryRunRow], earlier: Earlier | None = None
    ) -> None:
        """``earlier``: this policy's queue entries, so matches it queued before say so."""
        self.beginResetModel()
        self._policy, self._rows, self._earlier = policy, list(rows), dict(earlier or {})
        self.endResetModel()

    @property
    def rule_count(self) -> int:
        return len(self._policy.rules) if self._policy is not None else 0

    @property
    def target_column(self) -> int:
        """The "Would become" column follows the criteria, as many as the policy has rules."""
        return FIRST_CRITERION + self.rule_count

    def row(self, number: int) -> DryRunRow:
        return self._rows[number]

    def verdict(self, row: DryRunRow) -> str:
        """:func:`verdict_of`, except that a match promoted (or queued) before is EARLIER."""
        verdict = verdict_of(row)
        if verdict == PROMOTE and earlier_entry(row, self._earlier) is not None:
            return EARLIER
        return verdict

    def would_promote(self, row: DryRunRow) -> bool:
        return self.verdict(row) == PROMOTE

    def promotable(self) -> list[DryRunRow]:
        return [row for row in self._rows if self.would_promote(row)]

    def earlier(self) -> list[tuple[DryRunRow, QueueEntry]]:
        """The matches this policy queued before, with their entries."""
        found = ((row, earlier_entry(row, self._earlier)) for row in self._rows)
        return [(row, entry) for row, entry in found if entry is not None and not row.error]

    # -- Qt model API ----------------------------------------------------------------

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else self.target_column + 1

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if orientation != Qt.Orientation.Horizontal or not 0 <= section <= self.target_column:
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            if section == TAG:
                return "Tag"
            if section == VERDICT:
                return "Verdict"
            if section == self.target_column:
                return "Would become"
            return describe_rule(self._rule_policy().rules[section - FIRST_CRITERION])
        if role == Qt.ItemDataRole.ToolTipRole and section == self.target_column:
            return (
                "The target repository and tag; a template with a time in it is "
                "rendered again at the moment of promotion"
            )
        return None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._rows):
            return None
        row, column = self._rows[index.row()], index.column()
        if role == RowRole:
            return row
        if FIRST_CRITERION <= column < self.target_column:
            return self._criterion(row, column - FIRST_CRITERION, role)
        if role == SortRole:
            return self._sort_key(row, column)
        if role == Qt.ItemDataRole.DisplayRole:
            return self._display(row, column)
        if role == Qt.ItemDataRole.DecorationRole and column == VERDICT:
            return dot(COLOURS[self.verdict(row)])
        if role == Qt.ItemDataRole.ToolTipRole:
            if column == VERDICT:
                return row.error or row.evaluation.summary()
            if column == TAG and row.digest:
                return row.digest
            if column == self.target_column:
                return self._display(row, column)
        if role == Qt.ItemDataRole.ForegroundRole and column == self.target_column and row.error:
            return QColor(COLOURS[ERROR])
        if role == Qt.ItemDataRole.FontRole and column == VERDICT and self.would_promote(row):
            font = QFont()
            font.setBold(True)
            return font
        return None

    # -- cells -----------------------------------------------------------------------

    def _rule_policy(self) -> Policy:
        assert self._policy is not None  # criterion columns exist only with a policy
        return self._policy

    def _criterion(self, row: DryRunRow, number: int, role: int) -> Any:
        verdicts = row.evaluation.verdicts
        if number >= len(verdicts):
            return None  # a row from another version of the policy: nothing to say
        verdict = verdicts[number]
        if role == Qt.ItemDataRole.DisplayRole:
            return reason_in_cell(verdict)
        if role == Qt.ItemDataRole.ToolTipRole:
            source = f"\n(from {verdict.source})" if verdict.source else ""
            return verdict.reason + source
        if role == Qt.ItemDataRole.DecorationRole:
            return dot(COLOURS[_OUTCOME_WORDS[verdict.outcome][1]])
        if role == SortRole:
            order = {Outcome.HELD: 0, Outcome.UNKNOWN: 1, Outcome.FAILED: 2}[verdict.outcome]
            return f"{order} {natural_key(row.tag)}"
        return None

    def _display(self, row: DryRunRow, column: int) -> str:
        if column == TAG:
            return row.tag
        verdict = self.verdict(row)
        if column == VERDICT:
            if verdict == EARLIER:
                entry = earlier_entry(row, self._earlier)
                return EARLIER_WORDS[entry.state] if entry else verdict
            return verdict
        if row.error:
            return row.error
        if verdict == EARLIER:
            entry = earlier_entry(row, self._earlier)
            assert entry is not None
            return earlier_text(entry, row.target_tag)
        if row.target_tag is not None and row.evaluation.matched:
            return f"{self._rule_policy().target_repository}:{row.target_tag}"
        if row.evaluation.matched:
            return "the tag could not be read"
        return ""

    def _sort_key(self, row: DryRunRow, column: int) -> str:
        if column == TAG:
            return natural_key(row.tag)
        if column == VERDICT:
            return f"{_VERDICT_ORDER[self.verdict(row)]} {natural_key(row.tag)}"
        return self._display(row, column).lower()


class DryRunFilter(QSortFilterProxyModel):
    """Sorts by :data:`SortRole`; hides the tags that would stay, when asked to."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._only_promoted = False
        self.setSortRole(SortRole)

    @property
    def only_promoted(self) -> bool:
        return self._only_promoted

    def set_only_promoted(self, only: bool) -> None:
        self.beginFilterChange()
        self._only_promoted = only
        self.endFilterChange(QSortFilterProxyModel.Direction.Rows)

    def filterAcceptsRow(self, source_row: int, source_parent: Index) -> bool:
        if not self._only_promoted:
            return True
        model = self.sourceModel()
        row = model.index(source_row, TAG, source_parent).data(RowRole)
        return (
            isinstance(model, DryRunModel)
            and isinstance(row, DryRunRow)
            and model.would_promote(row)
        )
