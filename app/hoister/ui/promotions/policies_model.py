"""The rows of a repository's Promotions tab: one per policy, from either end of the route.

The same table answers two questions (MSR's "Is source" / "Is target" toggle): which
policies take images *from* this repository, and which bring images *into* it; only
the OTHER column changes meaning. The enabled switch is a checkbox, but the model never
writes the store: enabling can be refused (a cycle), and the store belongs to a worker
thread. It asks through :attr:`PoliciesModel.enable_requested`, shows the wished state
at once, and goes back to the stored state if the tab reports a refusal.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    Qt,
    Signal,
)
from PySide6.QtGui import QColor

from hoister.policies import Policy, Route, describe_rule
from hoister.store import Database, PolicyStore, from_db_time
from hoister.store.history import HistoryRow
from hoister.store.sql import Connection
from hoister.ui.shared.format import local_time

NAME, OTHER, CRITERIA, TEMPLATE, ENABLED, LAST_PROMOTED, LAST_RESULT = range(7)
HEADERS = ("Name", "Target", "Criteria", "Tag template", "Enabled", "Last promoted", "Last result")

RowRole = Qt.ItemDataRole.UserRole + 1
SortRole = Qt.ItemDataRole.UserRole + 2

Index = QModelIndex | QPersistentModelIndex
FAILED_COLOUR = QColor("#d0453a")  # readable on the light and the dark palette
#: Reasons are whole sentences; the cell shows the start, the tooltip all of it.
SHORT_REASON = 60


def policy_name(policy: Policy) -> str:
    """What a person calls the policy: its name, else its number (MSR had no names)."""
    return policy.name or f"Policy {policy.id}"


def criteria_text(policy: Policy) -> str:
    """All rules must hold (MSR's AND), so they read as one sentence joined by "and"."""
    return " and ".join(describe_rule(rule) for rule in policy.rules) or "every push"


def shorten(text: str, limit: int = SHORT_REASON) -> str:
    line = text.strip().splitlines()[0] if text.strip() else ""
    return line if len(line) <= limit else line[: limit - 1].rstrip() + "…"


def result_text(row: HistoryRow | None) -> str:
    """The latest history row in a few words: ``promoted 20261130-090503``, ``failed: 401 …``."""
    if row is None:
        return ""
    if row.outcome == "promoted":
        return f"promoted {row.target_tag or row.source_tag or ''}".rstrip()
    if row.outcome == "matched":
        return f"queued {row.source_tag or ''}".rstrip()
    return f"{row.outcome}: {shorten(row.reason)}" if row.reason else row.outcome


@dataclass(frozen=True)
class PromotionsData:
    as_source: list[Policy]
    as_target: list[Policy]
    last_results: dict[int, HistoryRow]


_HISTORY_FIELDS = [f.name for f in dataclasses.fields(HistoryRow)]


def latest_results(conn: Connection, policy_ids: list[int]) -> dict[int, HistoryRow]:
    """The newest history row of each policy, in one query (the store lists by repository)."""
    if not policy_ids:
        return {}
    marks = ",".join("?" * len(policy_ids))
    rows = conn.execute(
        "SELECT h.* FROM history h JOIN (SELECT MAX(id) AS id FROM history"
        f" WHERE policy_id IN ({marks}) GROUP BY policy_id) m ON h.id = m.id",
        policy_ids,
    )
    results: dict[int, HistoryRow] = {}
    for row in rows:
        values: dict[str, Any] = {
            f: from_db_time(row[f]) if f.endswith("_at") else row[f] for f in _HISTORY_FIELDS
        }
        results[int(row["policy_id"])] = HistoryRow(**values)
    return results


def load_promotions(database: Database, route: Route) -> PromotionsData:
    """Worker: both lists and their latest results, on a connection of its own."""
    store = PolicyStore(database)
    try:
        as_source, as_target = store.list(source=route), store.list(target=route)
    finally:
        store.close()
    ids = sorted({p.id for p in [*as_source, *as_target] if p.id is not None})
    with database.connection() as conn:
        return PromotionsData(as_source, as_target, latest_results(conn, ids))


class PoliciesModel(QAbstractTableModel):
    """Policies with their latest history row; ``set_mode`` picks what OTHER shows."""

    #: policy id, wished state: the tab stores it and calls :meth:`settle`.
    enable_requested = Signal(int, bool)

    def __init__(self, parent: QObject | None = None, *, home_profile: str = "") -> None:
        super().__init__(parent)
        self._policies: list[Policy] = []
        self._results: dict[int, HistoryRow] = {}
        self._pending: dict[int, bool] = {}
        self._as_source = True
        self.home_profile = home_profile  # repositories elsewhere are named with their profile

    # -- filling ---------------------------------------------------------------------

    @property
    def as_source(self) -> bool:
        return self._as_source

    def set_mode(self, as_source: bool) -> None:
        if as_source == self._as_source:
            return
        self._as_source = as_source
        self.headerDataChanged.emit(Qt.Orientation.Horizontal, OTHER, OTHER)
        if self._policies:
            self.dataChanged.emit(self.index(0, OTHER), self.index(len(self._policies) - 1, OTHER))

    def set_policies(self, policies: list[Policy], last_results: dict[int, HistoryRow]) -> None:
        """Replace the rows; the same policies in the same order update in place.

        The tab reloads every few seconds: a reset each time would drop the selection,
        the scroll position and a checkbox in the middle of a click.
        """
        fresh = list(policies)
        if [p.id for p in fresh] == [p.id for p in self._policies]:
            self._policies, self._results = fresh, dict(last_results)
            if fresh:
                last = self.index(len(fresh) - 1, len(HEADERS) - 1)
                self.dataChanged.emit(self.index(0, 0), last)
            return
        self.beginResetModel()
        self._policies, self._results = fresh, dict(last_results)
        self.endResetModel()

    def settle(self, policy_id: int, stored: Policy | None = None) -> None:
        """The store answered an enable request: show ``stored``, or the old state if None."""
        self._pending.pop(policy_id, None)
        for number, policy in enumerate(self._policies):
            if policy.id == policy_id:
                if stored is not None:
                    self._policies[number] = stored
                self.dataChanged.emit(self.index(number, 0), self.index(number, len(HEADERS) - 1))

    def policy(self, row: int) -> Policy:
        return self._policies[row]

    def row_of(self, policy_id: int) -> int | None:
        return next((n for n, p in enumerate(self._policies) if p.id == policy_id), None)

    def is_enabled(self, policy: Policy) -> bool:
        """As shown: a switch just clicked shows its new state before the store agrees."""
        return self._pending.get(policy.id or -1, policy.enabled)

    # -- Qt model API ----------------------------------------------------------------

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._policies)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(HEADERS)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if orientation != Qt.Orientation.Horizontal or not 0 <= section < len(HEADERS):
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            if section == OTHER:
                return "Target" if self._as_source else "Source"
            return HEADERS[section]
        if role == Qt.ItemDataRole.ToolTipRole and section == ENABLED:
            return "Disabled policies never run; tick to enable"
        return None

    def flags(self, index: Index) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        flags = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
        if index.column() == ENABLED:
            flags |= Qt.ItemFlag.ItemIsUserCheckable
        return flags

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._policies):
            return None
        policy = self._policies[index.row()]
        column = index.column()
        if role == RowRole:
            return policy
        if role == SortRole:
            return self._sort_key(policy, column)
        if role == Qt.ItemDataRole.DisplayRole:
            return self._display(policy, column)
        if role == Qt.ItemDataRole.CheckStateRole and column == ENABLED:
            checked = self.is_enabled(policy)
            return Qt.CheckState.Checked if checked else Qt.CheckState.Unchecked
        if role == Qt.ItemDataRole.ToolTipRole:
            return self._tooltip(policy, column)
        if role == Qt.ItemDataRole.ForegroundRole and column == LAST_RESULT:
            row = self._results.get(policy.id or -1)
            return FAILED_COLOUR if row is not None and row.outcome == "failed" else None
        return None

    def setData(self, index: Index, value: Any, role: int = Qt.ItemDataRole.EditRole) -> bool:
        if (
            not index.isValid()
            or index.column() != ENABLED
            or role != Qt.ItemDataRole.CheckStateRole
            or not 0 <= index.row() < len(self._policies)
        ):
            return False
        policy = self._policies[index.row()]
        if policy.id is None:
            return False
        wanted = _as_check_state(value) == Qt.CheckState.Checked
        if wanted == self.is_enabled(policy):
            return True
        self._pending[policy.id] = wanted
        self.dataChanged.emit(index, index, [Qt.ItemDataRole.CheckStateRole])
        self.enable_requested.emit(policy.id, wanted)
        return True

    # -- cells -----------------------------------------------------------------------

    def _other(self, policy: Policy) -> str:
        if self._as_source:
            profile, repository = policy.effective_target_profile, policy.target_repository
        else:
            profile, repository = policy.source_profile, policy.source_repository
        if self.home_profile and profile != self.home_profile:
            return f"{repository} on {profile}"
        return repository

    def _display(self, policy: Policy, column: int) -> str | None:
        if column == NAME:
            return policy_name(policy)
        if column == OTHER:
            return self._other(policy)
        if column == CRITERIA:
            return criteria_text(policy)
        if column == TEMPLATE:
            return policy.tag_template
        if column == ENABLED:
            return None  # the checkbox says it
        if column == LAST_PROMOTED:
            return local_time(policy.last_promoted_at) or "never"
        return result_text(self._results.get(policy.id or -1))

    def _tooltip(self, policy: Policy, column: int) -> str | None:
        """Every cell's whole text: a narrow window elides any column."""
        if column == NAME:
            return "\n".join(t for t in (policy_name(policy), policy.description) if t)
        if column == OTHER:
            profile = policy.effective_target_profile if self._as_source else policy.source_profile
            repository = policy.target_repository if self._as_source else policy.source_repository
            return f"{repository} on {profile}" if profile else repository
        if column == CRITERIA:
            return criteria_text(policy)
        if column == TEMPLATE:
            return policy.tag_template or None
        if column == LAST_PROMOTED:
            moment = policy.last_promoted_at
            return moment.astimezone().strftime("%Y-%m-%d %H:%M:%S") if moment else "never"
        if column == LAST_RESULT:
            row = self._results.get(policy.id or -1)
            if row is not None:
                when = row.finished_at.astimezone().strftime("%Y-%m-%d %H:%M:%S")
                tag = f"{row.source_repository}:{row.source_tag or '?'}"
                # the cell's words first, unshortened, then when and what
                if row.outcome in ("promoted", "matched") or not row.reason:
                    head, rest = result_text(row), row.reason
                else:
                    head, rest = f"{row.outcome}: {row.reason}", ""
                return "\n".join(t for t in (head, f"{when}, {tag}", rest) if t)
        return None

    def _sort_key(self, policy: Policy, column: int) -> Any:
        if column == ENABLED:
            return int(self.is_enabled(policy))
        if column == LAST_PROMOTED:
            moment = policy.last_promoted_at
            return moment.timestamp() if moment else 0.0
        return (self._display(policy, column) or "").lower()


def _as_check_state(value: Any) -> Qt.CheckState:
    """Views pass an int, Python code a ``Qt.CheckState``; both mean the same."""
    if isinstance(value, Qt.CheckState):
        return value
    try:
        return Qt.CheckState(int(value))
    except (TypeError, ValueError):
        return Qt.CheckState.Checked if value else Qt.CheckState.Unchecked
