"""The Queue view (View → Queue): what waits and why, with Retry for failed promotions.

It shows the rows of :mod:`hoister.engine.waiting` — images waiting for facts (a scan
report not there yet), promotions retrying after a failed attempt, pending, running and
failed ones — each with its reason. The store is read on the pool, never on the GUI
thread (a team database may be far away): every few seconds while the view is shown,
and at once when the window tells it the engine moved (a cycle, a promotion started or
ended). Retry (the button, the context menu) queues the selected failed promotions
again on the pool too; ``retried`` tells the window, which wakes the engine.
"""

from __future__ import annotations

from PySide6.QtCore import (
    QItemSelectionModel,
    QPoint,
    QSortFilterProxyModel,
    Qt,
    QTimer,
    Signal,
    Slot,
)
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMenu,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from hoister.engine.waiting import RetryResult, WaitingRow, load, retry
from hoister.errors import HoisterError
from hoister.store import Database
from hoister.ui.context import AppContext
from hoister.ui.queue.queue_model import QueueModel, RowRole, SortRole, row_key
from hoister.ui.shared.column_fit import Column, ColumnFitter
from hoister.ui.shared.workers import Requester


def read_queue(database: Database) -> list[WaitingRow]:
    """Worker: the rows, on connections of the worker's own."""
    return load(database)


def retry_entries(database: Database, ids: list[int]) -> RetryResult:
    """Worker: queue the failed entries ``ids`` again."""
    return retry(database, ids)


class QueueView(QWidget):
    REFRESH_MS = 3000
    retried = Signal(int)  # how many entries went back in the queue
    message = Signal(str)
    loaded = Signal()  # the table shows a fresh read

    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.model = QueueModel()
        self._again = False
        self.proxy = QSortFilterProxyModel(self)
        self.proxy.setSourceModel(self.model)
        self.proxy.setSortRole(SortRole)
        self.table = QTableView()
        self.table.setModel(self.proxy)
        self.table.setSortingEnabled(True)
        self.table.sortByColumn(QueueModel.STATE, Qt.SortOrder.AscendingOrder)
        self.table.setSelectionBehavior(QTableView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QTableView.SelectionMode.ExtendedSelection)
        self.table.setAlternatingRowColors(True)
        self.table.verticalHeader().setVisible(False)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        self.fitter = ColumnFitter(self.table, self._columns())
        self.empty = QLabel("Nothing waiting, running or failed.")
        self.empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.summary = QLabel("Reading the queue…")
        self.retry_action = QAction("Retry", self)
        self.retry_action.setToolTip(
            "Queue the selected failed promotions again, with their tags rendered anew"
        )
        self.retry_action.triggered.connect(self.retry_selected)
        self.table.addAction(self.retry_action)
        self.retry_button = QPushButton("Retry")
        self.retry_button.setToolTip(self.retry_action.toolTip())
        self.retry_button.clicked.connect(self.retry_action.trigger)
        bar = QHBoxLayout()
        bar.addWidget(self.summary, 1)
        bar.addWidget(self.retry_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(bar)
        layout.addWidget(self.empty)
        layout.addWidget(self.table, 1)
        self.table.hide()
        self._reader = Requester(ctx.pool, self)
        self._reader.ready.connect(self._loaded)
        self._reader.error.connect(self._read_failed)
        self._retrier = Requester(ctx.pool, self)
        self._retrier.ready.connect(self._retry_done)
        self._retrier.error.connect(self._read_failed)
        self.table.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.table.customContextMenuRequested.connect(self._context_menu)
        self.table.selectionModel().selectionChanged.connect(self._selection_changed)
        self._selection_changed()
        self._timer = QTimer(self)
        self._timer.setInterval(self.REFRESH_MS)
        self._timer.timeout.connect(self._tick)
        self._timer.start()  # reads nothing until the view is shown (showEvent)

    def _columns(self) -> list[Column]:
        def width(sample: str) -> int:
            return self.fontMetrics().horizontalAdvance(sample) + 12

        m = QueueModel
        return [
            Column(m.STATE, width("waiting for facts"), width("waiting…")),
            Column(m.POLICY, width("Stable builds to QA"), width("Stable…"), drop=3),
            Column(m.SOURCE, width("dev/website:1.4-stable"), width("dev/web…"), grow=1),
            Column(m.TARGET, width("qa/website:1.4-stable"), width("qa/web…"), grow=1),
            Column(m.DIGEST, width("sha256:0123456789ab"), width("sha256:0123456789ab"), drop=1),
            Column(m.TRIES, width("Tries"), width("Tries"), drop=2),
            Column(m.WHEN, width("next 2026-12-31 23:59:59"), width("next …"), drop=4),
            Column(m.REASON, width("no scan report for this image yet"), width("reason…"), grow=2),
        ]

    # -- reading ---------------------------------------------------------------------------

    @Slot()
    def _tick(self) -> None:
        if self.isVisible():  # a closed dock reads nothing; it reads when opened
            self.refresh()

    def showEvent(self, event) -> None:  # type: ignore[no-untyped-def]
        super().showEvent(event)
        self.refresh()

    @Slot(object)
    def engine_moved(self, _what: object) -> None:
        """The engine finished a cycle or started or ended a promotion: read again."""
        if self.isVisible():
            self.refresh()

    @Slot()
    def refresh(self) -> None:
        """Read the rows again; asked while a read is under way, read once more after it,
        so what the engine just did is never left for the next tick."""
        if self._reader.busy:
            self._again = True
            return
        self._again = False
        self._reader.submit(read_queue, self.ctx.database)

    @Slot(object)
    def _loaded(self, rows: object) -> None:
        assert isinstance(rows, list)
        selected = {row_key(r) for r in self.selected_rows()}
        self.model.set_rows(rows)
        flags = QItemSelectionModel.SelectionFlag.Select | QItemSelectionModel.SelectionFlag.Rows
        for r in range(self.proxy.rowCount() if selected else 0):
            index = self.proxy.index(r, 0)
            if row_key(index.data(RowRole)) in selected:
                self.table.selectionModel().select(index, flags)
        counts: dict[str, int] = {}
        for row in rows:
            counts[row.status] = counts.get(row.status, 0) + 1
        words = [f"{n} {status}" for status, n in counts.items()]
        self.summary.setText(", ".join(words) if words else "The queue is empty.")
        self.empty.setVisible(not rows)
        self.table.setVisible(bool(rows))
        self._selection_changed()
        self.loaded.emit()
        if self._again:
            self.refresh()

    @Slot(object)
    def _read_failed(self, error: object) -> None:
        text = str(error) if isinstance(error, HoisterError) else repr(error)
        self.summary.setText(f"The queue could not be read: {text}")

    # -- retrying --------------------------------------------------------------------------

    def selected_rows(self) -> list[WaitingRow]:
        rows = [index.data(RowRole) for index in self.table.selectionModel().selectedRows()]
        return [r for r in rows if isinstance(r, WaitingRow)]

    def _failed_ids(self) -> list[int]:
        return [r.entry_id for r in self.selected_rows() if r.status == "failed" and r.entry_id]

    @Slot()
    def _selection_changed(self) -> None:
        enabled = bool(self._failed_ids())
        self.retry_action.setEnabled(enabled)
        self.retry_button.setEnabled(enabled)

    def context_menu(self, point: QPoint) -> QMenu | None:
        """The menu for a right click at ``point`` (viewport coordinates): the row under
        the cursor joins the selection's place if it was not in it."""
        index = self.table.indexAt(point)
        if not index.isValid():
            return None
        if not self.table.selectionModel().isRowSelected(index.row(), index.parent()):
            self.table.selectRow(index.row())
        menu = QMenu(self)
        menu.addAction(self.retry_action)
        return menu

    @Slot(QPoint)
    def _context_menu(self, point: QPoint) -> None:
        menu = self.context_menu(point)
        if menu is not None:
            menu.popup(self.table.viewport().mapToGlobal(point))

    @Slot()
    def retry_selected(self) -> None:
        ids = self._failed_ids()
        if ids:
            self._retrier.submit(retry_entries, self.ctx.database, ids)

    @Slot(object)
    def _retry_done(self, result: object) -> None:
        assert isinstance(result, RetryResult)
        done = [str(e.id) for e in result.requeued]
        if done:
            noun = "Promotion" if len(done) == 1 else "Promotions"
            text = f"{noun} {', '.join(done)} queued again"
        else:
            text = "Nothing to retry"
        if result.problems:
            text += f" ({'; '.join(result.problems)})"
        self.message.emit(text)
        if done:
            self.retried.emit(len(done))
        self.refresh()
