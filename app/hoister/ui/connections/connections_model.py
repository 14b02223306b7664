"""The sidebar's tree: registry connections, their namespaces, their repositories.

Repositories arrive page by page from the catalog (or from the names a user added where
the catalog is forbidden) and are grouped by namespace — everything before the last
``/`` — so ten thousand repositories become a few hundred expandable groups.
"""

from __future__ import annotations

from enum import IntEnum

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QStandardItem, QStandardItemModel

from hoister.profiles import Profile

KindRole = Qt.ItemDataRole.UserRole + 1
ObjectRole = Qt.ItemDataRole.UserRole + 2  # Profile for connections, repository name for repos
SortRole = Qt.ItemDataRole.UserRole + 3
ProfileNameRole = Qt.ItemDataRole.UserRole + 4
StateRole = Qt.ItemDataRole.UserRole + 5


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


class ConnectionsModel(QStandardItemModel):
    """One column; items carry their kind, profile name and raw object in roles."""

    NAME = 0

    def __init__(self) -> None:
        super().__init__()
        self.setColumnCount(1)
        self.setSortRole(SortRole)

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

    def add_repositories(self, name: str, repositories: list[str]) -> None:
        """Add a page of repository names under their namespaces (duplicates ignored)."""
        connection = self.connection_item(name)
        if connection is None:
            return
        groups: dict[str, QStandardItem] = {}
        existing: set[str] = set()
        for row in range(connection.rowCount()):
            child = connection.child(row)
            kind = child.data(KindRole)
            if kind == Kind.NAMESPACE:
                groups[child.text()] = child
                existing.update(child.child(r).data(ObjectRole) for r in range(child.rowCount()))
            elif kind == Kind.REPOSITORY:
                existing.add(child.data(ObjectRole))
        batches: dict[str, list[QStandardItem]] = {}
        for repository in repositories:
            if repository in existing:
                continue
            existing.add(repository)
            namespace, leaf = split_repository(repository)
            batches.setdefault(namespace, []).append(self._repository_item(name, repository, leaf))
        top_level = batches.pop("", [])
        if top_level:
            connection.appendRows(top_level)
        for namespace, items in batches.items():
            group = groups.get(namespace)
            if group is None:
                group = QStandardItem(namespace)
                group.setColumnCount(1)
                group.setEditable(False)
                group.setSelectable(False)
                group.setData(Kind.NAMESPACE, KindRole)
                group.setData(name, ProfileNameRole)
                group.setData(namespace, ObjectRole)
                group.setData(f"0{namespace}", SortRole)  # namespaces before plain repositories
                connection.appendRow(group)
            group.appendRows(items)

    @staticmethod
    def _repository_item(profile_name: str, repository: str, leaf: str) -> QStandardItem:
        item = QStandardItem(leaf)
        item.setEditable(False)
        item.setData(Kind.REPOSITORY, KindRole)
        item.setData(profile_name, ProfileNameRole)
        item.setData(repository, ObjectRole)
        item.setData(f"1{leaf}", SortRole)
        item.setToolTip(repository)
        return item

    def repository_count(self, name: str) -> int:
        connection = self.connection_item(name)
        if connection is None:
            return 0
        total = 0
        for row in range(connection.rowCount()):
            child = connection.child(row)
            if child.data(KindRole) == Kind.NAMESPACE:
                total += child.rowCount()
            elif child.data(KindRole) == Kind.REPOSITORY:
                total += 1
        return total

    def repositories(self, name: str) -> list[str]:
        """Every repository listed under a connection (a refresh compares with these)."""
        connection = self.connection_item(name)
        if connection is None:
            return []
        found: list[str] = []
        for row in range(connection.rowCount()):
            child = connection.child(row)
            kind = child.data(KindRole)
            if kind == Kind.NAMESPACE:
                found.extend(child.child(r).data(ObjectRole) for r in range(child.rowCount()))
            elif kind == Kind.REPOSITORY:
                found.append(child.data(ObjectRole))
        return found

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
