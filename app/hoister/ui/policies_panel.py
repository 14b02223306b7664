"""The Promotions tab: the policies where this repository is the source or the target.

Read-only here; policies are edited with ``hoister policy`` until the visual editor lands.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Slot
from PySide6.QtWidgets import (
    QButtonGroup,
    QHBoxLayout,
    QLabel,
    QRadioButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from hoister.policies import Policy, Route, describe_rule
from hoister.store import Database, PolicyStore
from hoister.ui.context import AppContext
from hoister.ui.format import local_time
from hoister.ui.workers import Requester


def read_policies(database: Database, route: Route) -> tuple[list[Policy], list[Policy]]:
    store = PolicyStore(database)
    try:
        return store.list(source=route), store.list(target=route)
    finally:
        store.close()


class PoliciesPanel(QWidget):
    def __init__(
        self, ctx: AppContext, profile_name: str, repository: str, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.route = Route(profile_name, repository)
        self._lists: tuple[list[Policy], list[Policy]] = ([], [])
        self.source_button = QRadioButton("Is source")
        self.target_button = QRadioButton("Is target")
        self.source_button.setChecked(True)
        group = QButtonGroup(self)
        group.addButton(self.source_button)
        group.addButton(self.target_button)
        self.tree = QTreeWidget()
        self.tree.setRootIsDecorated(False)
        self.tree.setAlternatingRowColors(True)
        self.note = QLabel(
            "Policies are edited with <code>hoister policy add</code> for now; "
            "they run in the background as soon as they are saved."
        )
        self.note.setWordWrap(True)
        toggles = QHBoxLayout()
        toggles.addWidget(self.source_button)
        toggles.addWidget(self.target_button)
        toggles.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 6, 0, 0)
        layout.addLayout(toggles)
        layout.addWidget(self.tree, 1)
        layout.addWidget(self.note)
        self._requester = Requester(ctx.pool, self)
        self._requester.ready.connect(self._loaded)
        self.source_button.toggled.connect(self._show)
        self.refresh()

    @Slot()
    def refresh(self) -> None:
        self._requester.submit(read_policies, self.ctx.database, self.route)

    @Slot(object)
    def _loaded(self, lists: object) -> None:
        self._lists = lists  # type: ignore[assignment]
        self._show()

    @Slot()
    def _show(self) -> None:
        as_source = self.source_button.isChecked()
        policies = self._lists[0 if as_source else 1]
        other = "Target" if as_source else "Source"
        self.tree.clear()
        self.tree.setHeaderLabels(
            ["Name", other, "Criteria", "Tag template", "Enabled", "Last promoted"]
        )
        for policy in policies:
            repo = policy.target_repository if as_source else policy.source_repository
            criteria = "; ".join(describe_rule(r) for r in policy.rules) or "every push"
            item = QTreeWidgetItem(
                [
                    policy.name or f"#{policy.id}",
                    repo,
                    criteria,
                    policy.tag_template,
                    "yes" if policy.enabled else "no",
                    local_time(policy.last_promoted_at) or "never",
                ]
            )
            item.setData(0, Qt.ItemDataRole.UserRole, policy)
            self.tree.addTopLevelItem(item)
        for column in range(self.tree.columnCount()):
            self.tree.resizeColumnToContents(column)
