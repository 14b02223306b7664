"""The sidebar: registry connections and their repositories, filterable as one types.

Each connection loads its catalog page by page in the background when it is first
expanded (or refreshed); a registry that forbids the catalog shows the repositories
a user added by name instead, with the registry's reason.

A refresh merges: new repositories are added, gone ones removed, and everything else,
expanded groups and the selection included, stays where the user left it; which groups
are open is remembered (:mod:`.tree_memory`).
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable

from PySide6.QtCore import (
    QModelIndex,
    QSortFilterProxyModel,
    Qt,
    QTimer,
    Signal,
    Slot,
)
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView,
    QApplication,
    QLineEdit,
    QMenu,
    QStackedWidget,
    QStyle,
    QToolButton,
    QTreeView,
    QVBoxLayout,
    QWidget,
)

from hoister.registry import ApiInfo, Denied, NotFound, Page, Unauthorized, Unsupported
from hoister.ui.connections.connections_model import (
    ConnectionsModel,
    Kind,
    KindRole,
    ObjectRole,
    ProfileNameRole,
    State,
    StateRole,
)
from hoister.ui.connections.filter_results import FilterResults
from hoister.ui.connections.password_dialog import PasswordNeeded, PasswordPrompts, require_login
from hoister.ui.connections.tree_memory import TreeMemory
from hoister.ui.context import AppContext
from hoister.ui.shared import heap
from hoister.ui.shared.workers import Requester

log = logging.getLogger(__name__)

CATALOG_REFUSED = (Unauthorized, Denied, NotFound, Unsupported)
#: Repositories added to the tree per turn of the event loop: a catalog page of
#: thousands of names, added at once, held the GUI thread for a tenth of a second.
ADD_CHUNK = 250


def load_catalog_page(
    ctx: AppContext, name: str, next_url: str | None
) -> tuple[str, ApiInfo | None, Page | Exception]:
    """Runs in a worker: ping on the first page (to say who we are), then one page.

    A ping that fails is a connection problem and raises; a catalog the registry refuses
    to a user it accepted (GHCR, Harbor projects...) is returned as the reason instead.
    """
    if next_url is None:
        require_login(ctx, ctx.profiles.get(name))  # a user without a password: ask
    client = ctx.client(name)
    info = client.ping() if next_url is None else None
    try:
        return name, info, client.catalog_page(next_url)
    except CATALOG_REFUSED as refused:
        return name, info, refused


class Sidebar(QWidget):
    repository_selected = Signal(str, str)  # profile, repository
    connection_selected = Signal(str)
    add_requested = Signal()
    edit_requested = Signal(str)
    remove_requested = Signal(str)
    add_by_name_requested = Signal(str)
    activity = Signal(str)  # a line for the status bar

    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.model = ConnectionsModel()
        self.proxy = QSortFilterProxyModel(self)
        self.proxy.setSourceModel(self.model)
        self.proxy.setSortRole(self.model.sortRole())
        self.proxy.setDynamicSortFilter(True)
        self.results = FilterResults(self.model)  # shown instead while filtering
        self._loaders: dict[str, Requester] = {}
        self._loaded: set[str] = set()
        self.passwords = PasswordPrompts(ctx, self)
        self.passwords.entered.connect(self.reconnect)
        self._seen: dict[str, set[str]] = {}  # names listed so far by a load in progress
        #: Catalog pages being added a chunk per turn: (connection, load number, job).
        self._feed: deque[tuple[str, int, Callable[[], None]]] = deque()
        self._loads: dict[str, int] = {}
        self._build()
        self.reload_profiles()

    # -- layout ------------------------------------------------------------------------

    def _build(self) -> None:
        self.filter_edit = QLineEdit()
        self.filter_edit.setPlaceholderText("Filter repositories")
        self.filter_edit.setClearButtonEnabled(True)
        self.tree = QTreeView()
        self.tree.setModel(self.proxy)
        self.tree.setHeaderHidden(True)
        self.tree.setUniformRowHeights(True)  # keeps 10,000 rows fast
        self.tree.setSortingEnabled(True)
        self.tree.sortByColumn(0, Qt.SortOrder.AscendingOrder)
        self.tree.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.tree.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.add_button = QToolButton()
        self.add_button.setText("Add registry…")
        self.add_button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        self.add_button.setIcon(
            self.style().standardIcon(QStyle.StandardPixmap.SP_FileDialogNewFolder)
        )
        self.results_tree = QTreeView()
        self.results_tree.setModel(self.results)
        self.results_tree.setHeaderHidden(True)
        self.results_tree.setUniformRowHeights(True)
        self.results_tree.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.results_tree.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.trees = QStackedWidget()
        self.trees.addWidget(self.tree)
        self.trees.addWidget(self.results_tree)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 0, 6)
        layout.addWidget(self.filter_edit)
        layout.addWidget(self.trees, 1)
        layout.addWidget(self.add_button)
        self._feed_timer = QTimer(self)
        self._feed_timer.setInterval(0)  # one chunk per turn of the event loop
        self._feed_timer.timeout.connect(self._feed_one)

        self._filter_timer = QTimer(self)
        self._filter_timer.setSingleShot(True)
        self._filter_timer.setInterval(150)  # one refilter per pause in typing
        self.filter_edit.textChanged.connect(self._filter_timer.start)
        self._filter_timer.timeout.connect(self._apply_filter)
        self.tree.expanded.connect(self._expanded)
        # before the first profile is listed, so connections open (and load) by themselves
        self.memory = TreeMemory(self.tree, self.proxy, self.model, self.ctx.settings)
        self.tree.selectionModel().currentChanged.connect(self._current_changed)
        self.tree.customContextMenuRequested.connect(self._context_menu)
        self.results_tree.selectionModel().currentChanged.connect(self._current_changed)
        self.results_tree.customContextMenuRequested.connect(self._context_menu)
        self.model.rowsInserted.connect(self._refilter_later)
        self.add_button.clicked.connect(self.add_requested)

    # -- profiles ----------------------------------------------------------------------

    def reload_profiles(self) -> None:
        profiles = self.ctx.profiles.list()
        self.model.set_profiles(profiles)
        self._loaded &= {p.name for p in profiles}
        for name in list(self._loaders):
            if name not in self._loaded and self.model.connection_item(name) is None:
                self._loaders.pop(name).cancel()
        self._refresh_icons()

    def load(self, name: str) -> None:
        """(Re)load a connection's repositories from the first page, merged into the tree."""
        loader = self._loaders.get(name)
        if loader is None:
            loader = Requester(self.ctx.pool, self)
            loader.ready.connect(self._page_ready)
            loader.error.connect(self._page_failed)
            self._loaders[name] = loader
            loader.setObjectName(name)
        self._loaded.add(name)
        self._loads[name] = self._loads.get(name, 0) + 1  # chunks of an older load: dropped
        self._seen[name] = set()
        listed = self.model.repository_count(name)
        self.model.show_message(name, "Refreshing…" if listed else "Loading repositories…")
        self.model.set_state(name, State.LOADING)
        self._refresh_icons()
        self.activity.emit(f"Connecting to {name}…")
        loader.submit(load_catalog_page, self.ctx, name, None)

    def reconnect(self, name: str) -> None:
        self.ctx.forget_client(name)
        self.load(name)

    def current_profile(self) -> str | None:
        """The connection of the selected row, if any."""
        tree = self.results_tree if self.filtering() else self.tree
        name = tree.currentIndex().data(ProfileNameRole)
        return name if isinstance(name, str) else None

    @Slot()
    def refresh(self, name: str | None = None) -> None:
        """F5 in the sidebar: list the selected connection again (every loaded one if none
        is selected), keeping what is expanded and selected."""
        name = name or self.current_profile()
        names = [name] if name else sorted(self._loaded)
        for each in names:
            self.load(each)

    def repository_appeared(self, name: str, repository: str) -> None:
        """The engine wrote into a repository (a promotion): list it if it is new, with
        its namespace, without reading the catalog again."""
        if name not in self._loaded or self.model.find_repository(name, repository).isValid():
            return
        self.model.add_repositories(name, [repository])
        seen = self._seen.get(name)
        if seen is not None:
            seen.add(repository)  # a load under way must not remove it
        elif self.model.repository_count(name) == 1:
            self.model.clear_message(name)  # "No repositories yet" no longer holds

    def select_repository(self, name: str, repository: str) -> None:
        if self.filtering():
            match = self.results.item_of(name, repository)
            if match is not None:
                self.results_tree.setCurrentIndex(match.index())
                return
            self.filter_edit.clear()  # not among the matches: show it in the whole tree
            self._apply_filter()
        source = self.model.find_repository(name, repository)
        if source.isValid():
            index = self.proxy.mapFromSource(source)
            self.tree.expand(index.parent())
            self.tree.setCurrentIndex(index)

    # -- slots -------------------------------------------------------------------------

    def filtering(self) -> bool:
        return self.trees.currentWidget() is self.results_tree

    def applied_filter(self) -> str:
        """The filter text the tree shows the result of ("" for the whole tree)."""
        return self.results.text if self.filtering() else ""

    @Slot()
    def _apply_filter(self) -> None:
        """Matches on the whole path, in their own tree, namespaces expanded."""
        text = self.filter_edit.text().strip()
        if not text:
            self.results.text = ""
            self.trees.setCurrentWidget(self.tree)
            return
        self.results.show_matches(text)
        self.results_tree.expandAll()
        self.trees.setCurrentWidget(self.results_tree)

    @Slot()
    def _refilter_later(self) -> None:
        """Repositories arrived while filtering: the matches are looked for again."""
        if self.filtering() and not self._filter_timer.isActive():
            self._filter_timer.start()

    @Slot(QModelIndex)
    def _expanded(self, index: QModelIndex) -> None:
        name = index.data(ProfileNameRole)
        if index.data(KindRole) == Kind.CONNECTION and name not in self._loaded:
            self.load(name)

    @Slot(QModelIndex, QModelIndex)
    def _current_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        kind = current.data(KindRole)
        name = current.data(ProfileNameRole)
        if kind == Kind.REPOSITORY:
            self.repository_selected.emit(name, current.data(ObjectRole))
        elif kind == Kind.CONNECTION:
            if name not in self._loaded:
                self.load(name)
            self.connection_selected.emit(name)

    @Slot(object)
    def _page_ready(self, result: object) -> None:
        name, info, page = result  # type: ignore[misc]
        if self.model.connection_item(name) is None:
            return
        if info is not None:
            self.model.set_state(name, State.CONNECTED, f"connected as {info.user}")
            self._add_remembered(name)
        seen = self._seen.setdefault(name, set())
        seen.update(getattr(self.model.connection_item(name).data(ObjectRole), "repositories", []))
        if isinstance(page, Exception):
            self._drop_unseen(name)
            self.model.set_state(name, State.CONNECTED, f"catalog not available: {page}")
            self.model.show_message(
                name, "This registry does not list its repositories; add them by name (right-click)"
            )
            self.activity.emit(f"{name}: catalog not available ({page})")
            self._refresh_icons()
            return
        seen.update(page.items)
        load = self._loads.get(name, 0)
        items = list(page.items)
        for start in range(0, len(items), ADD_CHUNK):
            chunk = items[start : start + ADD_CHUNK]
            self._feed.append((name, load, lambda c=chunk: self.model.add_repositories(name, c)))
        self._feed.append((name, load, lambda: self._page_added(name, page)))
        self._feed_timer.start()

    @Slot()
    def _feed_one(self) -> None:
        """Add one chunk of a catalog page (or finish the page), then yield to the loop."""
        while self._feed:
            name, load, job = self._feed.popleft()
            if load == self._loads.get(name) and self.model.connection_item(name) is not None:
                job()
                return
        self._feed_timer.stop()

    def _page_added(self, name: str, page: Page) -> None:
        heap.settle()  # the page's items live as long as the tree
        if page.next_url:
            self.model.show_message(name, f"Loading… {self.model.repository_count(name):,} so far")
            self._loaders[name].submit(load_catalog_page, self.ctx, name, page.next_url)
            return
        self._drop_unseen(name)
        self.model.clear_message(name)
        count = self.model.repository_count(name)
        if count == 0:
            self.model.show_message(name, "No repositories yet")
        self.activity.emit(f"{name}: {count:,} {'repository' if count == 1 else 'repositories'}")
        self._refresh_icons()

    @Slot(object)
    def _page_failed(self, error: object) -> None:
        loader = self.sender()
        name = loader.objectName() if loader is not None else ""
        if self.model.connection_item(name) is None:
            return
        self._seen.pop(name, None)  # the last listing stays, with the reason beneath it
        if isinstance(error, PasswordNeeded):
            self.model.set_state(name, State.FAILED, str(error))
            self.model.show_message(
                name,
                f"Enter the password for user {error.username} (right-click → Enter password…)",
            )
            self.activity.emit(f"{name}: {error}")
            self._refresh_icons()
            self.passwords.ask(name)
            return
        self.model.set_state(name, State.FAILED, str(error))
        self.model.show_message(name, f"Cannot connect: {error}")
        self.activity.emit(f"{name}: {error}")
        self._refresh_icons()

    def _drop_unseen(self, name: str) -> None:
        """The listing is complete: what it no longer names is gone from the registry."""
        seen = self._seen.pop(name, set())
        gone = set(self.model.repositories(name)) - seen
        self.model.remove_repositories(name, gone)

    def _add_remembered(self, name: str) -> bool:
        item = self.model.connection_item(name)
        profile = item.data(ObjectRole) if item is not None else None
        names = list(getattr(profile, "repositories", []) or [])
        if names:
            self.model.add_repositories(name, names)
        return bool(names)

    def _refresh_icons(self) -> None:
        style = QApplication.style()
        icons = {
            State.IDLE: style.standardIcon(QStyle.StandardPixmap.SP_DriveNetIcon),
            State.LOADING: style.standardIcon(QStyle.StandardPixmap.SP_BrowserReload),
            State.CONNECTED: style.standardIcon(QStyle.StandardPixmap.SP_DialogApplyButton),
            State.FAILED: style.standardIcon(QStyle.StandardPixmap.SP_MessageBoxWarning),
        }
        for row in range(self.model.rowCount()):
            item = self.model.item(row)
            item.setIcon(icons[State(item.data(StateRole) or 0)])

    @Slot("QPoint")
    def _context_menu(self, point: object) -> None:
        tree = self.results_tree if self.filtering() else self.tree
        menu = self.context_menu(tree.indexAt(point))  # type: ignore[arg-type]
        menu.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        menu.popup(tree.viewport().mapToGlobal(point))  # type: ignore[arg-type]

    def context_menu(self, index: QModelIndex) -> QMenu:
        """The right-click menu of a row (of the empty space for an invalid index)."""
        name = index.data(ProfileNameRole)
        menu = QMenu(self)
        if name:
            menu.addAction("Refresh", lambda: self.refresh(name))
            menu.addAction("Reconnect", lambda: self.reconnect(name))
            item = self.model.connection_item(name)
            if item is not None and getattr(item.data(ObjectRole), "username", None):
                menu.addAction("Enter password…", lambda: self.passwords.ask(name))
            menu.addAction("Add repository by name…", lambda: self.add_by_name_requested.emit(name))
            menu.addSeparator()
            menu.addAction("Edit connection…", lambda: self.edit_requested.emit(name))
            menu.addAction("Remove connection…", lambda: self.remove_requested.emit(name))
        else:
            menu.addAction("Add registry…", self.add_requested.emit)
        return menu

    def focus_filter(self) -> None:
        self.filter_edit.setFocus()
        self.filter_edit.selectAll()

    def filter_action(self) -> QAction:
        action = QAction("Filter repositories", self)
        action.setShortcut(QKeySequence("Ctrl+Shift+F"))
        action.triggered.connect(self.focus_filter)
        return action
