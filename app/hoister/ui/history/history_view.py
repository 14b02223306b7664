"""The History tab: promotions from or to a repository, newest first, updated live."""

from __future__ import annotations

from PySide6.QtCore import QPoint, QSortFilterProxyModel, Qt, QTimer, Signal, Slot
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QHeaderView, QLabel, QMenu, QTableView, QVBoxLayout, QWidget

from hoister.store import Database
from hoister.store.history import HistoryRow, HistoryStore
from hoister.store.queue import QueueStore
from hoister.ui.context import AppContext
from hoister.ui.history.history_model import HistoryModel, RowRole, SortRole
from hoister.ui.shared.column_fit import Column, ColumnFitter
from hoister.ui.shared.workers import Requester


def read_history(database: Database, repository: str | None, since_id: int) -> list[HistoryRow]:
    """Worker: a short-lived connection of the worker's own (sqlite3 is per thread)."""
    store = HistoryStore(database)
    try:
        return store.recent(500, repository=repository, since_id=since_id)
    finally:
        store.close()


def retry_entry(database: Database, entry_id: int) -> tuple[int, bool]:
    """Worker: put a failed promotion back in the queue; (entry id, whether it was)."""
    store = QueueStore(database)
    try:
        return entry_id, store.retry(entry_id) is not None
    finally:
        store.close()


class HistoryView(QWidget):
    """``repository=None`` shows the whole app's activity.

    A failed promotion (a tag collision, a permission since fixed) can be retried from
    its row's context menu: ``retried`` tells the window, which wakes the engine.
    """

    REFRESH_MS = 3000
    retried = Signal(int)
    message = Signal(str)

    def __init__(
        self, ctx: AppContext, repository: str | None = None, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.repository = repository
        self.model = HistoryModel()
        self._again = False
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
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        self.fitter = ColumnFitter(self.table, self._columns())
        self.empty = QLabel("No promotions yet.")
        self.empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.empty)
        layout.addWidget(self.table, 1)
        self._requester = Requester(ctx.pool, self)
        self._requester.ready.connect(self._loaded)
        self._retrier = Requester(ctx.pool, self)
        self._retrier.ready.connect(self._retry_done)
        self.retry_action = QAction("Retry this promotion", self)
        self.retry_action.setToolTip("Queue the failed promotion again, with its tag rendered anew")
        self.retry_action.triggered.connect(self.retry_selected)
        self.table.addAction(self.retry_action)
        self.table.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.table.customContextMenuRequested.connect(self._context_menu)
        self.table.selectionModel().selectionChanged.connect(self._selection_changed)
        self._selection_changed()
        self._timer = QTimer(self)
        self._timer.setInterval(self.REFRESH_MS)
        self._timer.timeout.connect(self.refresh)
        self._timer.start()
        self.refresh()

    @Slot()
    def refresh(self) -> None:
        """Read the rows newer than those shown. Asked while a read is under way (the
        engine just finished a promotion), it reads once more when that one is in, so
        the newest row is never left for the next tick."""
        if self._requester.busy:
            self._again = True
            return
        self._again = False
        self._requester.submit(
            read_history, self.ctx.database, self.repository, self.model.newest_id()
        )

    def _columns(self) -> list[Column]:
        """When, what happened, from where to where and why always show (tooltips hold
        the whole text); who did it, digest, duration, size and policy give way, in that
        order, on a narrow window."""

        def width(sample: str) -> int:
            return self.fontMetrics().horizontalAdvance(sample) + 12  # the cell's margins

        m = HistoryModel
        return [
            Column(m.TIME, width("2026-12-31 23:59:59"), width("2026-12-31 23:59:59")),
            Column(m.RESULT, width("promoted"), width("promoted")),
            Column(m.POLICY, width("Stable builds to QA"), width("Stable…"), drop=5),
            Column(m.SOURCE, width("dev/website:1.4-stable"), width("dev/web…"), grow=1),
            Column(m.TARGET, width("qa/website:20261231-235959"), width("qa/web…"), grow=1),
            Column(m.DIGEST, width("sha256:0123456789ab"), width("sha256:0123456789ab"), drop=2),
            Column(m.DURATION, width("999.9 s"), width("999.9 s"), drop=3),
            Column(m.MOVED, width("999.9 MiB"), width("999.9 MiB"), drop=4),
            Column(m.BY, width("agent@build-01:42424"), width("agent@…"), drop=1),
            Column(m.REASON, width("the policy skips existing tags"), width("reason…"), grow=2),
        ]

    @Slot(object)
    def _loaded(self, rows: object) -> None:
        assert isinstance(rows, list)
        self.model.prepend(rows)
        has_rows = self.model.rowCount() > 0
        self.empty.setVisible(not has_rows)
        self.table.setVisible(has_rows)
        if self._again:
            self.refresh()  # the read asked for meanwhile

    def selected_row(self) -> HistoryRow | None:
        indexes = self.table.selectionModel().selectedRows()
        if not indexes:
            return None
        row = indexes[0].data(RowRole)
        return row if isinstance(row, HistoryRow) else None

    @Slot()
    def _selection_changed(self) -> None:
        row = self.selected_row()
        self.retry_action.setEnabled(
            row is not None and row.outcome == "failed" and row.entry_id is not None
        )

    @Slot(QPoint)
    def _context_menu(self, point: QPoint) -> None:
        index = self.table.indexAt(point)
        if not index.isValid():
            return
        self.table.selectRow(index.row())
        menu = QMenu(self)
        menu.addAction(self.retry_action)
        menu.popup(self.table.viewport().mapToGlobal(point))

    @Slot()
    def retry_selected(self) -> None:
        row = self.selected_row()
        if row is None or row.entry_id is None or row.outcome != "failed":
            return
        self._retrier.submit(retry_entry, self.ctx.database, row.entry_id)

    @Slot(object)
    def _retry_done(self, result: object) -> None:
        assert isinstance(result, tuple)
        entry_id, queued = result
        if queued:
            self.message.emit(f"Promotion {entry_id} queued again")
            self.retried.emit(entry_id)
        else:
            self.message.emit(f"Promotion {entry_id} is no longer failed; nothing to retry")
