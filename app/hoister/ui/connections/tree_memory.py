"""The sidebar's tree as the user arranged it: which connections and namespaces are open.

Remembered in the settings, so a refresh, a reconnect or the next start show the tree as
it was left (a filter shows its matches in a tree of its own and leaves this one alone).
Where the user has not said, connections open and so do the namespaces of a small
registry (the sandbox, a team's): ``dev/website`` is one click away, not three; a
registry of thousands of repositories keeps its groups closed.
"""

from __future__ import annotations

from PySide6.QtCore import (
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QSortFilterProxyModel,
    QTimer,
    Slot,
)
from PySide6.QtWidgets import QTreeView

from hoister.settings import Settings
from hoister.ui.connections.connections_model import (
    ConnectionsModel,
    Kind,
    KindRole,
    ObjectRole,
    ProfileNameRole,
)

#: A namespace opens by itself while its connection lists no more repositories than this.
AUTO_EXPAND = 50
#: Settings key: {"profile" or "profile/namespace": expanded?} for what the user changed.
TREE_SETTING = "sidebar_tree"


def tree_key(index: QModelIndex) -> str | None:
    """``profile`` for a connection, ``profile/namespace`` for a namespace, else None."""
    kind = index.data(KindRole)
    name = index.data(ProfileNameRole)
    if kind == Kind.CONNECTION:
        return str(name)
    if kind == Kind.NAMESPACE:
        return f"{name}/{index.data(ObjectRole)}"
    return None


class TreeMemory(QObject):
    """Follows the tree's expansions and opens new rows as remembered."""

    def __init__(
        self,
        tree: QTreeView,
        proxy: QSortFilterProxyModel,
        model: ConnectionsModel,
        settings: Settings,
    ) -> None:
        super().__init__(tree)
        self.tree, self.proxy, self.model = tree, proxy, model
        self.settings = settings
        saved = settings.get(TREE_SETTING)
        self.state: dict[str, bool] = dict(saved) if isinstance(saved, dict) else {}
        self._arranging = False  # expansions made here, not by the user
        self._pending: list[QPersistentModelIndex] = []
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(0)
        self._timer.timeout.connect(self._arrange)
        tree.expanded.connect(lambda index: self._remember(index, True))
        tree.collapsed.connect(lambda index: self._remember(index, False))
        proxy.rowsInserted.connect(self._rows_shown)

    def _remember(self, index: QModelIndex, expanded: bool) -> None:
        key = tree_key(index)
        if key is None or self._arranging:
            return
        self.state[key] = expanded
        self.settings.set(TREE_SETTING, dict(self.state))

    def should_expand(self, index: QModelIndex) -> bool:
        key = tree_key(index)
        if key is None:
            return False
        if key in self.state:
            return self.state[key]
        if index.data(KindRole) == Kind.CONNECTION:
            return True
        return self.model.repository_count(index.data(ProfileNameRole)) <= AUTO_EXPAND

    @Slot(QModelIndex, int, int)
    def _rows_shown(self, parent: QModelIndex, first: int, last: int) -> None:
        """Decided once the page is in, when the connection's size is known."""
        if parent.data(KindRole) == Kind.NAMESPACE:
            return  # rows of repositories: nothing to open (the common, large case)
        for row in range(first, last + 1):
            index = self.proxy.index(row, 0, parent)
            if index.data(KindRole) in (Kind.CONNECTION, Kind.NAMESPACE):
                self._pending.append(QPersistentModelIndex(index))
        self._timer.start()

    @Slot()
    def _arrange(self) -> None:
        pending, self._pending = self._pending, []
        self._arranging = True
        try:
            for persistent in pending:
                index = QModelIndex(persistent)
                if index.isValid() and self.should_expand(index):
                    self.tree.expand(index)  # a connection loads when it opens
        finally:
            self._arranging = False
