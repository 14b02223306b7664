"""What the sidebar shows while its filter has text: the matches, under their namespaces.

Matches are found on the whole path (``qa/web`` finds ``qa/website``) by
:meth:`ConnectionsModel.matching`, and shown in a small model of their own, every
namespace expanded, at most :data:`LIMIT` of them. Filtering the full tree instead
meant a proxy visiting 100,000 rows and the view laying out every namespace it kept;
this way the work is bounded by what a person can read, and the tree they arranged is
left as it was for when the filter is cleared.
"""

from __future__ import annotations

from PySide6.QtGui import QStandardItem, QStandardItemModel

from hoister.ui.connections.connections_model import (
    ConnectionsModel,
    Kind,
    KindRole,
    ObjectRole,
    ProfileNameRole,
    SortRole,
    split_repository,
)

#: Matches shown at most: more is a list nobody reads, and costs the GUI thread.
LIMIT = 500


def _message(text: str) -> QStandardItem:
    item = QStandardItem(text)
    item.setEditable(False)
    item.setSelectable(False)
    item.setData(Kind.MESSAGE, KindRole)
    item.setToolTip(text)
    return item


class FilterResults(QStandardItemModel):
    """Connections → namespaces → matching repositories, rebuilt for each filter text."""

    def __init__(self, source: ConnectionsModel) -> None:
        super().__init__()
        self.setColumnCount(1)
        self.source = source
        self.text = ""
        self.total = 0
        self._items: dict[tuple[str, str], QStandardItem] = {}

    def show_matches(self, text: str) -> None:
        """Rebuild for ``text``: matches sorted, then a line saying what is not shown."""
        self.clear()
        self.setColumnCount(1)
        self._items = {}
        self.text = text
        found, self.total = self.source.matching(text, LIMIT)
        by_connection: dict[str, dict[str, list[str]]] = {}
        for profile, repository in sorted(found):
            namespace, _ = split_repository(repository)
            by_connection.setdefault(profile, {}).setdefault(namespace, []).append(repository)
        for profile, groups in by_connection.items():
            self.appendRow(self._connection(profile, groups))
        if self.total == 0:
            self.appendRow(_message(f"No repository matches “{text}”"))
        elif self.total > len(found):
            self.appendRow(
                _message(f"Showing {len(found):,} of {self.total:,} matches; type more to narrow")
            )

    def item_of(self, profile: str, repository: str) -> QStandardItem | None:
        return self._items.get((profile, repository))

    def _connection(self, profile: str, groups: dict[str, list[str]]) -> QStandardItem:
        original = self.source.connection_item(profile)
        item = QStandardItem(profile)
        item.setColumnCount(1)
        item.setEditable(False)
        item.setData(Kind.CONNECTION, KindRole)
        item.setData(profile, ProfileNameRole)
        item.setData(profile.lower(), SortRole)
        if original is not None:
            item.setData(original.data(ObjectRole), ObjectRole)
            item.setIcon(original.icon())
        plain = groups.pop("", [])
        for namespace, names in groups.items():
            group = ConnectionsModel.namespace_item(profile, namespace)
            group.appendRows([self._repository(profile, name) for name in names])
            item.appendRow(group)
        item.appendRows([self._repository(profile, name) for name in plain])
        return item

    def _repository(self, profile: str, repository: str) -> QStandardItem:
        _, leaf = split_repository(repository)
        item = ConnectionsModel.repository_item(profile, repository, leaf)
        self._items[(profile, repository)] = item
        return item
