"""The "PROMOTE TO TARGET IF..." box: the policy's criteria, all of which must hold.

MSR's heading and its AND semantics are kept so people coming from MSR recognise the
box. Problems found by validation are handed back by rule index and shown on the row
that causes them, never only in a summary the person has to map back to a row.
"""

from __future__ import annotations

from collections.abc import Iterable

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from hoister.policies import Rule
from hoister.ui.promotions.criterion_row import CriterionRow

HEADING = "PROMOTE TO TARGET IF..."
EMPTY_NOTE = "No criteria: every tag pushed to the source is promoted."


class CriteriaEditor(QWidget):
    """Rows of criteria with add and remove; ``rules()`` reads them in MSR's shape."""

    changed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.rows: list[CriterionRow] = []
        self.heading = QLabel(HEADING)
        self.heading.setStyleSheet("font-weight: bold; letter-spacing: 1px")
        self.empty_label = QLabel(EMPTY_NOTE)
        self.empty_label.setStyleSheet("color: palette(placeholder-text)")
        self.add_button = QPushButton("+ Add criterion")
        self.add_button.setToolTip("All criteria must hold for a tag to be promoted")
        self.add_button.setAutoDefault(False)  # Enter in a field must not add a criterion
        self._rows_layout = QVBoxLayout()
        self._rows_layout.setContentsMargins(0, 0, 0, 0)
        self._rows_layout.setSpacing(0)  # each row keeps a message line below it
        buttons = QHBoxLayout()
        buttons.addWidget(self.add_button)
        buttons.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.heading)
        layout.addWidget(self.empty_label)
        layout.addLayout(self._rows_layout)
        layout.addLayout(buttons)
        self.add_button.clicked.connect(self._add_clicked)

    # -- public ------------------------------------------------------------------------

    def rules(self) -> tuple[Rule, ...]:
        return tuple(row.rule() for row in self.rows)

    def set_rules(self, rules: Iterable[Rule]) -> None:
        for row in list(self.rows):
            self._drop(row)
        for rule in rules:
            self.add_row(rule)
        self._update_empty()
        self.changed.emit()

    def add_row(self, rule: Rule | None = None) -> CriterionRow:
        row = CriterionRow(self)
        if rule is not None:
            row.set_rule(rule)
        row.changed.connect(self._row_changed)
        row.remove_requested.connect(self._remove_row)
        self.rows.append(row)
        self._rows_layout.addWidget(row)
        self._update_empty()
        self.changed.emit()
        return row

    def remove_row(self, index: int) -> None:
        self._drop(self.rows[index])
        self._update_empty()
        self.changed.emit()

    def show_problem(self, index: int, message: str) -> None:
        if 0 <= index < len(self.rows):
            self.rows[index].show_problem(message)

    def clear_problems(self) -> None:
        for row in self.rows:
            row.show_problem(None)

    # -- internals ---------------------------------------------------------------------

    def _drop(self, row: CriterionRow) -> None:
        self.rows.remove(row)
        self._rows_layout.removeWidget(row)
        row.hide()
        row.deleteLater()

    def _update_empty(self) -> None:
        self.empty_label.setVisible(not self.rows)

    @Slot()
    def _add_clicked(self) -> None:
        row = self.add_row()
        value = row.value_widget
        value.setFocus(Qt.FocusReason.OtherFocusReason)

    @Slot()
    def _row_changed(self) -> None:
        self.changed.emit()

    @Slot(QWidget)
    def _remove_row(self, row: QWidget) -> None:
        if isinstance(row, CriterionRow) and row in self.rows:
            self.remove_row(self.rows.index(row))
