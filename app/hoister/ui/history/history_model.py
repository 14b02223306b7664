"""Rows of the promotion history: time, result, policy, source, target, digest, size..."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt

from hoister.store.history import HistoryRow
from hoister.ui.shared.format import human_size, short_digest

RowRole = Qt.ItemDataRole.UserRole + 1
SortRole = Qt.ItemDataRole.UserRole + 2

Index = QModelIndex | QPersistentModelIndex


class HistoryModel(QAbstractTableModel):
    TIME, RESULT, POLICY, SOURCE, TARGET, DIGEST, DURATION, MOVED, BY, REASON = range(10)
    HEADERS = (
        "Time",
        "Result",
        "Policy",
        "Source",
        "Target",
        "Digest",
        "Duration",
        "Moved",
        "By",
        "Reason",
    )

    def __init__(self) -> None:
        super().__init__()
        self._rows: list[HistoryRow] = []

    def set_rows(self, rows: list[HistoryRow]) -> None:
        self.beginResetModel()
        self._rows = list(rows)
        self.endResetModel()

    def prepend(self, rows: list[HistoryRow]) -> None:
        """Newer rows (the history is shown newest first)."""
        known = {x.id for x in self._rows}
        fresh = [r for r in rows if r.id not in known]
        if not fresh:
            return
        self.beginInsertRows(QModelIndex(), 0, len(fresh) - 1)
        self._rows[0:0] = fresh
        self.endInsertRows()

    def rows(self) -> list[HistoryRow]:
        """The rows shown, newest first."""
        return list(self._rows)

    def newest_id(self) -> int:
        return max((r.id or 0 for r in self._rows), default=0)

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.HEADERS)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return self.HEADERS[section]
        return None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._rows):
            return None
        row = self._rows[index.row()]
        column = index.column()
        if role == RowRole:
            return row
        if role == SortRole:
            return self._sort_key(row, column)
        if role == Qt.ItemDataRole.DisplayRole:
            return self._display(row, column)
        if role == Qt.ItemDataRole.ToolTipRole:
            # the whole text of a cell a narrow window elides
            if column == self.DIGEST:
                return row.source_digest
            return self._display(row, column) or None
        if role == Qt.ItemDataRole.TextAlignmentRole and column in (self.DURATION, self.MOVED):
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None

    def _display(self, row: HistoryRow, column: int) -> str:
        if column == self.TIME:
            return row.finished_at.astimezone().strftime("%Y-%m-%d %H:%M:%S")
        if column == self.RESULT:
            return row.outcome
        if column == self.POLICY:
            return row.policy_name or ("manual" if row.policy_id is None else f"#{row.policy_id}")
        if column == self.SOURCE:
            return f"{row.source_repository}:{row.source_tag or '?'}"
        if column == self.TARGET:
            return f"{row.target_repository}:{row.target_tag or '…'}"
        if column == self.DIGEST:
            return short_digest(row.source_digest)
        if column == self.DURATION:
            return f"{row.duration_ms / 1000:.1f} s" if row.outcome == "promoted" else ""
        if column == self.MOVED:
            return human_size(row.bytes_moved) if row.outcome == "promoted" else ""
        if column == self.BY:
            # The engine that wrote the row (``agent@build-01:4242``): on a team database,
            # which agent or workstation did it. Older rows name only who started them.
            return row.agent or row.actor
        return row.reason

    def _sort_key(self, row: HistoryRow, column: int) -> Any:
        if column == self.TIME:
            return row.finished_at.timestamp()
        if column == self.DURATION:
            return row.duration_ms
        if column == self.MOVED:
            return row.bytes_moved
        return self._display(row, column).lower()
