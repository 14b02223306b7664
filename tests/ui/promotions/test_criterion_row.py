"""A criterion row shows exactly its own editors, even before the event loop runs."""

from __future__ import annotations

from PySide6.QtWidgets import QWidget
from pytestqt.qtbot import QtBot

from hoister.policies import Rule
from hoister.ui.promotions.criteria_editor import CriteriaEditor


def test_a_replaced_value_editor_is_not_left_on_screen(qtbot: QtBot) -> None:
    editor = CriteriaEditor()
    qtbot.addWidget(editor)
    editor.set_rules([Rule("tag", "ew", ["stable"]), Rule("vulnerability_critical", "lte", ["0"])])
    editor.show()
    for row in editor.rows:
        visible = [w for w in row.findChildren(QWidget) if w.isVisible() and w.parent() is row]
        expected = {row.field_combo, row.operator_combo, row.value_widget, row.remove_button}
        assert set(visible) == expected
