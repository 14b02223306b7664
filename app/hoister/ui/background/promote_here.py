"""*Promote from this workstation*: the File menu's switch between promoting and browsing.

On a team database, agents on servers usually promote and workstations browse; alone,
the workstation's own engine promotes. The action shows what the engine does now (the
controller decides an automatic value off the GUI thread and says so through
``promoting_changed``) and, when the user ticks or unticks it, makes that their choice,
kept in the settings. Why the workstation browses goes to the status bar.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QObject, Slot
from PySide6.QtGui import QAction

from hoister.ui.background.engine_controller import EngineController

TEXT = "Promote from this workstation"
TIP = (
    "Run promotions on this computer. Off, this workstation only browses and evaluates "
    "what you hand over; the team's agents promote."
)


class PromoteHere(QObject):
    def __init__(
        self,
        controller: EngineController,
        show_status: Callable[[str], None],
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.controller = controller
        self.show_status = show_status
        self.action = QAction(TEXT, self)
        self.action.setCheckable(True)
        self.action.setToolTip(TIP)
        self.action.setStatusTip(TIP)
        self.action.setChecked(bool(controller.promoting))
        self.action.toggled.connect(self._toggled)
        controller.promoting_changed.connect(self._changed)

    @Slot(bool)
    def _toggled(self, checked: bool) -> None:
        self.controller.choose_promoting(checked)

    @Slot(bool, str)
    def _changed(self, promoting: bool, why: str) -> None:
        self.action.blockSignals(True)  # the engine's state, not a choice of the user
        self.action.setChecked(promoting)
        self.action.blockSignals(False)
        if why:
            self.show_status(why)
