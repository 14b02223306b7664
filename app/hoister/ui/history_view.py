"""The History tab: promotions from or to a repository, newest first, updated live."""

from __future__ import annotations

from PySide6.QtCore import QSortFilterProxyModel, Qt, QTimer, Slot
from PySide6.QtWidgets import QHeaderView, QLabel, QTableView, QVBoxLayout, QWidget

from hoister.store import Database
from hoister.store.history import HistoryRow, HistoryStore
from hoister.ui.context import AppContext
from hoister.ui.models.history_model import HistoryModel, SortRole
from hoister.ui.workers import Requester


def read_history(database: Database, repository: str | None, since_id: int) -> list[HistoryRow]:
    """Worker: a short-lived connection of the worker's own (sqlite3 is per thread)."""
    store = HistoryStore(database)
    try:
        return store.recent(500, repository=repository, since_id=since_id)
    finally:
        store.close()


class HistoryView(QWidget):
    """``repository=None`` shows the whole app's activity."""

    REFRESH_MS = 3000

    def __init__(
        self, ctx: AppContext, repository: str | None = None, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.repository = repository
        self.model = HistoryModel()
        self.proxy = QSortFilterProxyModel(self)
        self.proxy.setSourceModel(self.model)
        self.proxy.setSortRole(SortRole)
        self.table = QTableView()
        self.table.setModel(self.proxy)
        self.table.setSortingEnabled(True)
        self.table.sortByColumn(HistoryModel.TIME, Qt.SortOrder.DescendingOrder)
        self.table.setSelectionBehavior(QTableView.SelectionBehavior.SelectRows)
        self.table.setAlternatingRowColors(True)
        self.table.verticalHeader().setVisible(False)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        self.empty = QLabel("No promotions yet.")
        self.empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.empty)
        layout.addWidget(self.table, 1)
        self._requester = Requester(ctx.pool, self)
        self._requester.ready.connect(self._loaded)
        self._timer = QTimer(self)
        self._timer.setInterval(self.REFRESH_MS)
        self._timer.timeout.connect(self.refresh)
        self._timer.start()
        self.refresh()

    @Slot()
    def refresh(self) -> None:
        if not self._requester.busy:
            self._requester.submit(
                read_history, self.ctx.database, self.repository, self.model.newest_id()
            )

    @Slot(object)
    def _loaded(self, rows: object) -> None:
        assert isinstance(rows, list)
        self.model.prepend(rows)
        has_rows = self.model.rowCount() > 0
        self.empty.setVisible(not has_rows)
        self.table.setVisible(has_rows)
        if rows:
            self.table.resizeColumnsToContents()
