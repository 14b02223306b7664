"""The Tags tab: every tag of a repository, filterable, sortable by what people ask.

A registry lists tag names only. The list arrives page by page; digests, sizes and
creation times are read lazily, first for the rows on screen, and for every row once
someone sorts by a column that needs them (newest first is the usual question). Reads
go through a bounded queue so a repository of thousands of tags never floods the pool
that the details pane and other views share.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QModelIndex, QObject, QPoint, Qt, QTimer, Signal, Slot
from PySide6.QtGui import QAction, QGuiApplication, QKeyEvent, QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFrame,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMenu,
    QProgressBar,
    QPushButton,
    QSplitter,
    QStackedWidget,
    QTableView,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from hoister.ui.browsing.tag_details import TagDetails
from hoister.ui.browsing.tag_loading import Referrers, TagInfo
from hoister.ui.browsing.tags_filter import TagsFilter
from hoister.ui.browsing.tags_loader import READ_AHEAD, TagsLoader
from hoister.ui.browsing.tags_model import (
    CREATED,
    DETAIL_COLUMNS,
    DIGEST,
    PLATFORMS,
    PROVENANCE,
    SIZE,
    TAG,
    TagsModel,
)
from hoister.ui.browsing.tags_proxy import TagsProxy
from hoister.ui.context import AppContext
from hoister.ui.shared.column_fit import Column, ColumnFitter

BANNER_STYLE = (  # light in both themes, so its text colour is fixed too
    "QFrame#banner { background: #fdecea; border: 1px solid #e6b0aa; border-radius: 3px; }"
    "QFrame#banner QLabel { color: #5f2120; }"
)


class TagsView(QWidget):
    """Filter line, sortable table, details pane, status line; see :class:`TagsLoader`."""

    loaded = Signal()  # the tag list is complete
    details_progress = Signal(int, int)  # rows with details (or an error), rows

    def __init__(
        self, ctx: AppContext, profile_name: str, repository: str, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.ctx, self.profile_name, self.repository = ctx, profile_name, repository
        self.model = TagsModel(self)
        self.proxy = TagsProxy(self)
        self.proxy.setSourceModel(self.model)
        self.loader = TagsLoader(ctx, profile_name, repository, self.model, self)
        self.host = self.loader.host
        self._list_error: str | None = None  # outranks detail failures in the banner
        self._reselect: str | None = None
        self._visible_timer = QTimer(self)
        self._visible_timer.setSingleShot(True)
        self._visible_timer.setInterval(150)
        self._build()
        self._connect()
        self.refresh()

    # -- layout ----------------------------------------------------------------------

    def _build(self) -> None:
        self.banner = QFrame()
        self.banner.setObjectName("banner")
        self.banner.setStyleSheet(BANNER_STYLE)
        self.banner_label = QLabel()
        self.banner_label.setTextFormat(Qt.TextFormat.PlainText)  # the registry's words
        self.banner_label.setWordWrap(True)
        self.banner_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.retry_button = QPushButton("Retry")
        banner_row = QHBoxLayout(self.banner)
        banner_row.addWidget(self.banner_label, 1)
        banner_row.addWidget(self.retry_button, 0, Qt.AlignmentFlag.AlignTop)
        self.banner.hide()

        self.filters = TagsFilter(self.model, self.proxy)
        self.filter_edit = self.filters.edit
        self.promoted_only = self.filters.promoted_only
        self.source_combo = self.filters.source_combo
        # F5 and Ctrl+F belong to the window (View menu), which hands them to the view
        # with focus: a second binding here made Qt call both "ambiguous" and run neither.
        self.refresh_action = QAction("Refresh", self)
        self.refresh_action.setToolTip("Read the tag list again (F5)")
        refresh_button = QToolButton()
        refresh_button.setDefaultAction(self.refresh_action)
        top = QHBoxLayout()
        top.addWidget(self.filters, 1)
        top.addWidget(refresh_button)

        self.table = QTableView()
        self.table.setModel(self.proxy)
        self.table.setSortingEnabled(True)
        self.table.sortByColumn(TAG, Qt.SortOrder.AscendingOrder)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setAlternatingRowColors(True)
        self.table.setShowGrid(False)
        self.table.setWordWrap(False)
        self.table.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        self.table.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        rows = self.table.verticalHeader()
        rows.hide()
        rows.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        rows.setDefaultSectionSize(self.fontMetrics().height() + 8)
        header = self.table.horizontalHeader()
        header.setHighlightSections(False)
        header.setMinimumSectionSize(self.fontMetrics().horizontalAdvance("Size…") + 16)
        self.fitter = ColumnFitter(self.table, self._columns())
        self.empty_label = QLabel()
        self.empty_label.setTextFormat(Qt.TextFormat.PlainText)
        self.empty_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty_label.setWordWrap(True)
        self.table_stack = QStackedWidget()
        self.table_stack.addWidget(self.table)
        self.table_stack.addWidget(self.empty_label)

        self.details = TagDetails(self.ctx, self.profile_name, self.repository)
        splitter = QSplitter()
        splitter.addWidget(self.table_stack)
        splitter.addWidget(self.details)
        splitter.setStretchFactor(0, 2)
        splitter.setStretchFactor(1, 1)
        splitter.setChildrenCollapsible(False)
        splitter.setSizes([640, 360])  # the table first; the pane scrolls

        self.status_label = QLabel()
        self.status_label.setToolTip(
            "Signatures, SBOMs and referrer indexes are tags too; they show as badges in the "
            "Provenance column of the image they describe. Backups Hoister kept are hidden."
        )
        self.progress = QProgressBar()
        self.progress.setMaximumWidth(200)
        self.progress.setMaximumHeight(self.fontMetrics().height() + 4)
        self.progress.hide()
        bottom = QHBoxLayout()
        bottom.addWidget(self.status_label, 1)
        bottom.addWidget(self.progress)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.banner)
        layout.addLayout(top)
        layout.addWidget(splitter, 1)
        layout.addLayout(bottom)

    def _columns(self) -> list[Column]:
        """Tag, where it came from and when it was built always show; the rest give way."""

        def width(sample: str) -> int:
            return self.fontMetrics().horizontalAdvance(sample) + 12  # the cell's margins

        return [
            Column(TAG, width("20261130-090503-rc1"), width("1.24-rc1"), grow=2),
            Column(PROVENANCE, width("from dev/website:1.24-stable"), width("from dev/…"), grow=3),
            Column(CREATED, width("2026-12-31 23:59"), width("2026-12-31 23:59")),
            Column(DIGEST, width("sha256:0123456789ab"), width("sha256:0123456789ab"), drop=3),
            Column(SIZE, width("999.9 MiB"), width("999.9 MiB"), drop=2),
            Column(PLATFORMS, width("amd64, arm64/v8"), width("amd64, …"), drop=1, grow=1),
        ]

    def _connect(self) -> None:
        self.refresh_action.triggered.connect(self.refresh)
        self.retry_button.clicked.connect(self._retry)
        self.filters.changed.connect(self._filters_changed)
        self.table.installEventFilter(self)
        self.table.customContextMenuRequested.connect(self._context_menu)
        self.table.verticalScrollBar().valueChanged.connect(self._schedule_visible)
        self.table.horizontalHeader().sortIndicatorChanged.connect(self._sorted)
        self.table.selectionModel().currentRowChanged.connect(self._current_changed)
        self.proxy.rowsInserted.connect(self._schedule_visible)
        self.proxy.layoutChanged.connect(self._schedule_visible)
        self._visible_timer.timeout.connect(self._fetch_visible)
        self.loader.loaded.connect(self.loaded)
        self.loader.loaded.connect(self._reselect_tag)
        self.loader.list_failed.connect(self._list_failed)
        self.loader.details_progress.connect(self.details_progress)
        self.loader.changed.connect(self._update_status)
        self.details.set_known_digests(self.model.known_digests)
        self.details.loaded.connect(self._pane_loaded)
        self.details.referrers_loaded.connect(self._pane_referrers)
        self.details.deleted.connect(self._deleted)
        self.details.promoted.connect(self._promoted)

    @property
    def reading(self) -> bool:
        return self.loader.reading

    # -- loading ---------------------------------------------------------------------

    @Slot()
    def refresh(self) -> None:
        """Read the tag list again; the selected tag is selected again once listed."""
        self._reselect = self.selected_tag() or self._reselect
        self._list_error = None
        self.banner.hide()
        self.loader.refresh()

    @Slot()
    def _reselect_tag(self) -> None:
        if self._reselect is not None:
            self.select_tag(self._reselect)
            self._reselect = None

    @Slot(str)
    def _list_failed(self, message: str) -> None:
        self._list_error = message
        self.banner_label.setText(message)
        self.banner.show()
        self._update_status()

    @Slot()
    def _retry(self) -> None:
        if self._list_error is not None or not self.loader.failures:
            self.refresh()
        else:
            self.banner.hide()
            self.loader.retry_failed()

    @Slot()
    def _schedule_visible(self) -> None:
        """Scrolling fires often: read once it pauses, not for every pixel."""
        self._visible_timer.start()

    @Slot()
    def _fetch_visible(self) -> None:
        count = self.proxy.rowCount()
        if not count:
            return
        top = max(self.table.rowAt(0), 0)
        bottom = self.table.rowAt(self.table.viewport().height() - 1)
        bottom = count - 1 if bottom < 0 else bottom
        rows = range(max(0, top - READ_AHEAD), min(count, bottom + READ_AHEAD + 1))
        tags = [self.proxy.index(r, TAG).data() for r in rows]
        self.loader.want([t for t in tags if isinstance(t, str)], front=True)

    @Slot()
    def _filters_changed(self) -> None:
        # provenance is read with the details: every row must be read to know which qualify
        self._update_fetch_all()
        self._schedule_visible()
        self._update_status()

    def _update_fetch_all(self) -> None:
        needed = self.proxy.sortColumn() in DETAIL_COLUMNS or self.proxy.provenance_filtered
        if needed != self.loader.fetch_all:
            self.loader.set_fetch_all(needed)

    @Slot(int, Qt.SortOrder)
    def _sorted(self, _column: int, _order: Qt.SortOrder) -> None:
        self._update_fetch_all()
        self._schedule_visible()

    # -- selection, clipboard, the pane ----------------------------------------------

    def selected_tag(self) -> str | None:
        index = self.table.currentIndex()
        if not index.isValid() or not self.table.selectionModel().isRowSelected(index.row()):
            return None
        value = index.siblingAtColumn(TAG).data()
        return value if isinstance(value, str) else None

    def select_tag(self, tag: str) -> None:
        number = self.model.row_of(tag)
        if number is None:
            return
        index = self.proxy.mapFromSource(self.model.index(number, TAG))
        if index.isValid():
            self.table.setCurrentIndex(index)
            self.table.scrollTo(index)

    def reference(self, tag: str) -> str:
        return f"{self.host}/{self.repository}:{tag}"

    def copy_reference(self) -> None:
        """Ctrl+C: ``host/repo:tag`` of the selected row, ready for docker or skopeo."""
        tag = self.selected_tag()
        if tag is not None:
            QGuiApplication.clipboard().setText(self.reference(tag))

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        # The table would copy the cell's text; a reference is what people paste.
        if (
            watched is self.table
            and event.type() == QEvent.Type.KeyPress
            and isinstance(event, QKeyEvent)
            and event.matches(QKeySequence.StandardKey.Copy)
        ):
            self.copy_reference()
            return True
        return super().eventFilter(watched, event)

    @Slot(QPoint)
    def _context_menu(self, position: QPoint) -> None:
        tag = self.selected_tag()
        if tag is None:
            return
        row = self.model.row(self.model.row_of(tag) or 0)
        menu = QMenu(self)
        menu.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        texts = [("Copy reference", self.reference(tag))]
        texts.append(("Copy pull command", f"docker pull {self.reference(tag)}"))
        if row.digest:
            texts.append(("Copy digest", row.digest))
        for label, text in texts:
            action = menu.addAction(label)
            action.setData(text)
        menu.triggered.connect(self._copy_action)
        menu.popup(self.table.viewport().mapToGlobal(position))

    @Slot(QAction)
    def _copy_action(self, action: QAction) -> None:
        QGuiApplication.clipboard().setText(str(action.data()))

    @Slot()
    def focus_filter(self) -> None:
        self.filter_edit.setFocus(Qt.FocusReason.ShortcutFocusReason)
        self.filter_edit.selectAll()

    @Slot(QModelIndex, QModelIndex)
    def _current_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        tag = current.siblingAtColumn(TAG).data() if current.isValid() else None
        if tag != self.details.tag:
            self.details.show_tag(tag if isinstance(tag, str) else None)

    @Slot(str, object)
    def _pane_loaded(self, tag: str, info: object) -> None:
        assert isinstance(info, TagInfo)
        self.model.update_details(tag, info.details)
        self._update_status()

    @Slot(object)
    def _pane_referrers(self, referrers: object) -> None:
        assert isinstance(referrers, Referrers)
        if not referrers.problem:
            self.model.add_referrers(referrers.digest, referrers.descriptors)
        if referrers.provenance:  # the pane read it: the row need not wait for the table
            self.model.set_provenance_records(referrers.digest, referrers.provenance)

    @Slot(str, list)
    def _deleted(self, _digest: str, tags: list[str]) -> None:
        self.model.remove_tags(tags)
        self._update_status()

    def show_promoted(self, tag: str, source_repository: str, source_tag: str) -> None:
        """The engine promoted into this repository: the tag shows at once, highlighted,
        with where it came from (its details are read as for any row)."""
        self.model.add_promoted(tag, source_repository, source_tag)
        self._update_status()

    def apply_changes(self, added: list[str], moved: list[str], removed: list[str]) -> None:
        """What the engine's poll found changed here, applied without reading the list
        again: the rows, their order and the selection stay as they are."""
        selected = self.selected_tag()
        self.model.remove_tags([*removed, *moved])
        self.model.append_tags([*moved, *added])
        self.loader.forget(moved)  # their details changed with their digest
        if selected in moved:
            self.select_tag(selected)
        self._schedule_visible()
        self._update_status()

    @Slot(str)
    def _promoted(self, reference: str) -> None:
        prefix = f"{self.host}/{self.repository}:"
        if reference.startswith(prefix):  # promoted into this very repository
            self.model.append_tags([reference.removeprefix(prefix)])
            self._update_status()

    # -- status ----------------------------------------------------------------------

    @Slot()
    def _update_status(self) -> None:
        total, shown = self.model.rowCount(), self.proxy.rowCount()
        done, listing = self.model.details_count(), self.loader.listing
        failures = self.loader.failures
        if failures and self._list_error is None:
            self.banner_label.setText(
                f"The details of {len(failures)} tag{'s' if len(failures) > 1 else ''} "
                f"could not be read: {failures[0]}"
            )
            self.banner.show()
        by_provenance = self.proxy.provenance_filtered
        checking = by_provenance and (listing or self.reading)
        filtered = by_provenance or bool(self.proxy.filterRegularExpression().pattern())
        noun = "tag" if total == 1 else "tags"
        parts = [f"{shown:,} of {total:,} {noun}" if filtered else f"{total:,} {noun}"]
        # whether a tag was promoted is known once it is read: say how far that got
        parts.append(f"{done:,} of {total:,} checked" if checking else f"{done:,} with details")
        hidden = self.model.hidden_count
        if hidden:
            parts.append(f"{hidden:,} internal tag{'s' if hidden > 1 else ''} hidden")
        if listing:
            parts.append("loading…")
        elif total == 0 and self._list_error is not None:
            parts = ["The tag list could not be read"]
        elif self.reading:
            parts.append("reading details…")
        self.status_label.setText(" · ".join(parts))
        bulk = self.loader.fetch_all and self.reading
        if listing:
            self.progress.setRange(0, 0)
        elif bulk:
            self.progress.setRange(0, max(total, 1))
            self.progress.setValue(done)
        self.progress.setVisible(listing or bulk)
        if total == 0:
            empty = "Reading the tag list…" if listing else "This repository has no tags."
            self.empty_label.setText("" if self._list_error else empty)
        elif shown == 0:
            self.empty_label.setText(self.filters.empty_text(checking, done, total))
        self.table_stack.setCurrentWidget(self.empty_label if shown == 0 else self.table)
