"""The sidebar's tree: registry connections, their namespaces, their repositories.

Repositories arrive page by page from the catalog (or from the names a user added where
the catalog is forbidden) and are grouped by namespace — everything before the last
``/`` — so ten thousand repositories become a few hundred expandable groups.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QStandardItem, QStandardItemModel

from hoister.profiles import Profile

KindRole = Qt.ItemDataRole.UserRole + 1
ObjectRole = Qt.ItemDataRole.UserRole + 2  # Profile for connections, repository name for repos
SortRole = Qt.ItemDataRole.UserRole + 3
ProfileNameRole = Qt.ItemDataRole.UserRole + 4
StateRole = Qt.ItemDataRole.UserRole + 5
#: What the sidebar's filter matches: a repository's whole path, lower case.
FilterRole = Qt.ItemDataRole.UserRole + 6


class Kind(IntEnum):
    CONNECTION = 1
    NAMESPACE = 2
    REPOSITORY = 3
    MESSAGE = 4  # "loading…", "catalog not available", shown as a grey child


class State(IntEnum):
    IDLE = 0
    LOADING = 1
    CONNECTED = 2
    FAILED = 3


def split_repository(name: str) -> tuple[str, str]:
    namespace, _, leaf = name.rpartition("/")
    return namespace, leaf


@dataclass
class _Loaded:
    """A connection's namespaces and repository names, so a page is added in O(page)."""

    groups: dict[str, QStandardItem] = field(default_factory=dict)
    names: set[str] = field(default_factory=set)
    #: (lower-case name, name) in arrival order: what the sidebar's filter scans.
    lowered: list[tuple[str, str]] = field(default_factory=list)


class ConnectionsModel(QStandardItemModel):
    """One column; items carry their kind, profile name and raw object in roles.

    Each connection's namespaces and names are also indexed (:class:`_Loaded`): adding
    a catalog page used to rescan every repository loaded so far, which made loading
    100,000 repositories quadratic. The index is dropped whenever rows other than grey
    messages are removed, and rebuilt from the tree on the next page.
    """

    NAME = 0

    def __init__(self) -> None:
        super().__init__()
        self.setColumnCount(1)
        self.setSortRole(SortRole)
        self._loaded: dict[str, _Loaded] = {}
        self.rowsAboutToBeRemoved.connect(self._forget_removed)
        self.modelAboutToBeReset.connect(self._loaded.clear)

    # -- connections -------------------------------------------------------------------

    def set_profiles(self, profiles: list[Profile]) -> None:
        wanted = {p.name: p for p in profiles}
        for row in reversed(range(self.rowCount())):
            item = self.item(row)
            if item.data(ProfileNameRole) not in wanted:
                self.removeRow(row)
        for profile in profiles:
            item = self.connection_item(profile.name)
            if item is None:
                item = QStandardItem(profile.name)
                # Children get one column up front: otherwise the first child inserts a
                # column in the middle of a row insertion, which views (and the model
                # tester) rightly reject.
                item.setColumnCount(1)
                item.setEditable(False)
                item.setData(Kind.CONNECTION, KindRole)
                item.setData(profile.name, ProfileNameRole)
                item.setData(profile.name.lower(), SortRole)
                item.setData(State.IDLE, StateRole)
                self.appendRow(item)
            item.setData(profile, ObjectRole)
            item.setToolTip(profile.url)

    def connection_item(self, name: str) -> QStandardItem | None:
        for row in range(self.rowCount()):
            item = self.item(row)
            if item.data(ProfileNameRole) == name:
                return item
        return None

    def set_state(self, name: str, state: State, message: str = "") -> None:
        item = self.connection_item(name)
        if item is None:
            return
        item.setData(state, StateRole)
        profile = item.data(ObjectRole)
        tip = profile.url if isinstance(profile, Profile) else name
        item.setToolTip(f"{tip}\n{message}" if message else tip)

    # -- repositories ------------------------------------------------------------------

    def clear_repositories(self, name: str) -> None:
        item = self.connection_item(name)
        if item is not None and item.rowCount():
            item.removeRows(0, item.rowCount())

    def show_message(self, name: str, text: str) -> None:
        """A grey, unselectable child such as 'Loading…' (replacing an earlier one)."""
        item = self.connection_item(name)
        if item is None:
            return
        self._drop_messages(item)
        message = QStandardItem(text)
        message.setEditable(False)
        message.setSelectable(False)
        message.setData(Kind.MESSAGE, KindRole)
        message.setData(name, ProfileNameRole)
        message.setData("\uffff", SortRole)  # always last
        message.setToolTip(text)
        item.appendRow(message)

    def clear_message(self, name: str) -> None:
        item = self.connection_item(name)
        if item is not None:
            self._drop_messages(item)

    @staticmethod
    def _drop_messages(item: QStandardItem) -> None:
        for row in reversed(range(item.rowCount())):
            if item.child(row).data(KindRole) == Kind.MESSAGE:
                item.removeRow(row)

    def _forget_removed(self, parent: QModelIndex, first: int, last: int) -> None:
        """Rows leave the tree: unless they are only grey messages, re-index later."""
        kinds = {self.index(row, 0, parent).data(KindRole) for row in range(first, last + 1)}
        if kinds != {Kind.MESSAGE}:
            self._loaded.clear()

    def _index_of(self, name: str, connection: QStandardItem) -> _Loaded:
        loaded = self._loaded.get(name)
        if loaded is not None:
            return loaded
        loaded = self._loaded[name] = _Loaded()
        for row in range(connection.rowCount()):
            child = connection.child(row)
            kind = child.data(KindRole)
            if kind == Kind.NAMESPACE:
                loaded.groups[child.text()] = child
                rows = range(child.rowCount())
                loaded.names.update(child.child(r).data(ObjectRole) for r in rows)
            elif kind == Kind.REPOSITORY:
                loaded.names.add(child.data(ObjectRole))
        loaded.lowered = [(n.lower(), n) for n in sorted(loaded.names)]
        return loaded

    def matching(self, text: str, limit: int) -> tuple[list[tuple[str, str]], int]:
        """``([(profile, repository)...], total)``: repositories whose whole path contains
        ``text`` (any case, any segment), the first ``limit`` of them in arrival order.

        One pass over plain strings: filtering 100,000 rows through a proxy, and laying
        out every namespace it kept, held the GUI thread for most of a second.
        """
        needle, found, total = text.lower(), [], 0
        for row in range(self.rowCount()):
            connection = self.item(row)
            name = connection.data(ProfileNameRole)
            hits = [n for low, n in self._index_of(name, connection).lowered if needle in low]
            total += len(hits)
            found.extend((name, n) for n in hits[: max(0, limit - len(found))])
        return found, total

    def add_repositories(self, name: str, repositories: list[str]) -> None:
        """Add a page of repository names under their namespaces (duplicates ignored)."""
        connection = self.connection_item(name)
        if connection is None:
            return
        loaded = self._index_of(name, connection)
        groups, existing = loaded.groups, loaded.names
        batches: dict[str, list[QStandardItem]] = {}
        for repository in repositories:
            if repository in existing:
                continue
            existing.add(repository)
            loaded.lowered.append((repository.lower(), repository))
            namespace, leaf = split_repository(repository)
            batches.setdefault(namespace, []).append(self.repository_item(name, repository, leaf))
        top_level = batches.pop("", [])
        new_groups = []
        for namespace, items in batches.items():
            group = groups.get(namespace)
            if group is None:  # filled before it joins the tree: one insertion, not two
                group = groups[namespace] = self.namespace_item(name, namespace)
                new_groups.append(group)
            group.appendRows(items)
        if top_level or new_groups:
            connection.appendRows(top_level + new_groups)

    @staticmethod
    def namespace_item(profile_name: str, namespace: str) -> QStandardItem:
        group = QStandardItem(namespace)
        group.setColumnCount(1)
        group.setEditable(False)
        group.setSelectable(False)
        group.setData(Kind.NAMESPACE, KindRole)
        group.setData(profile_name, ProfileNameRole)
        group.setData(namespace, ObjectRole)
        group.setData(f"0{namespace}", SortRole)  # namespaces before plain repositories
        return group

    @staticmethod
    def repository_item(profile_name: str, repository: str, leaf: str) -> QStandardItem:
        item = QStandardItem(leaf)
        item.setEditable(False)
        item.setData(Kind.REPOSITORY, KindRole)
        item.setData(profile_name, ProfileNameRole)
        item.setData(repository, ObjectRole)
        item.setData(f"1{leaf}", SortRole)
        item.setData(repository.lower(), FilterRole)
        item.setToolTip(repository)
        return item

    def repository_count(self, name: str) -> int:
        connection = self.connection_item(name)
        return 0 if connection is None else len(self._index_of(name, connection).names)

    def repositories(self, name: str) -> list[str]:
        """Every repository listed under a connection (a refresh compares with these).

        Read from the index of names, not the tree: walking 100,000 items held the GUI
        thread for a quarter of a second at the end of every listing."""
        connection = self.connection_item(name)
        if connection is None:
            return []
        return list(self._index_of(name, connection).names)

    def remove_repositories(self, name: str, repositories: set[str]) -> None:
        """Drop repositories that are gone (and namespaces left empty); the rest of the
        tree, its expanded groups and its selection, stays as it is."""
        connection = self.connection_item(name)
        if connection is None or not repositories:
            return
        for row in reversed(range(connection.rowCount())):
            child = connection.child(row)
            kind = child.data(KindRole)
            if kind == Kind.NAMESPACE:
                for r in reversed(range(child.rowCount())):
                    if child.child(r).data(ObjectRole) in repositories:
                        child.removeRow(r)
                if child.rowCount() == 0:
                    connection.removeRow(row)
            elif kind == Kind.REPOSITORY and child.data(ObjectRole) in repositories:
                connection.removeRow(row)

    def find_repository(self, name: str, repository: str) -> QModelIndex:
        connection = self.connection_item(name)
        if connection is None:
            return QModelIndex()
        namespace, _ = split_repository(repository)
        parent = connection
        if namespace:
            parent = next(
                (
                    connection.child(r)
                    for r in range(connection.rowCount())
                    if connection.child(r).data(KindRole) == Kind.NAMESPACE
                    and connection.child(r).text() == namespace
                ),
                None,
            )
            if parent is None:
                return QModelIndex()
        for row in range(parent.rowCount()):
            child = parent.child(row)
            if child.data(KindRole) == Kind.REPOSITORY and child.data(ObjectRole) == repository:
                return child.index()
        return QModelIndex()


def kind_of(index: QModelIndex | QPersistentModelIndex) -> Kind | None:
    value = index.data(KindRole)
    return Kind(value) if value is not None else None
