"""The status bar's view of the background engine: state, last poll, queue, pause."""

from __future__ import annotations

from PySide6.QtCore import Slot
from PySide6.QtWidgets import QHBoxLayout, QLabel, QToolButton, QWidget

from hoister.engine.events import CycleReport
from hoister.store.history import HistoryRow
from hoister.ui.background.engine_controller import EngineController


class EngineStatus(QWidget):
    def __init__(self, controller: EngineController, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.controller = controller
        self.label = QLabel("Promotions: starting…")
        self.pause_button = QToolButton()
        self.pause_button.setText("Pause")
        self.pause_button.setCheckable(True)
        self.pause_button.setToolTip("Pause or resume automatic promotions")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.label)
        layout.addWidget(self.pause_button)
        self._last_poll = "not yet"
        self._queue = 0
        self._problem = ""
        self.pause_button.toggled.connect(self._toggle)
        controller.state_changed.connect(self._state)
        controller.cycle_done.connect(self._cycle)
        controller.problem.connect(self._problem_seen)
        controller.recovered.connect(self._recovered)
        controller.promotion_failed.connect(self._failed)
        controller.promoting_changed.connect(self._promoting)
        self._show()

    @Slot(bool)
    def _toggle(self, paused: bool) -> None:
        self.controller.set_paused(paused)

    @Slot(str)
    def _state(self, _state: str) -> None:
        self.pause_button.blockSignals(True)
        self.pause_button.setChecked(self.controller.state == "paused")
        self.pause_button.setText("Resume" if self.controller.state == "paused" else "Pause")
        self.pause_button.blockSignals(False)
        self._show()

    @Slot(bool, str)
    def _promoting(self, _promoting: bool, _why: str) -> None:
        self._show()

    @Slot(object)
    def _cycle(self, report: object) -> None:
        assert isinstance(report, CycleReport)
        self._last_poll = report.finished_at.astimezone().strftime("%H:%M:%S")
        self._queue = report.queue_length
        self._show()

    @Slot(str)
    def _problem_seen(self, message: str) -> None:
        self._problem = message
        self._show()

    @Slot(str)
    def _recovered(self, _profile: str) -> None:
        self._problem = ""
        self._show()

    @Slot(object)
    def _failed(self, row: object) -> None:
        assert isinstance(row, HistoryRow)
        self._problem = f"last promotion failed: {row.reason}"
        self._show()

    def _show(self) -> None:
        state = {"running": "running", "paused": "paused", "stopped": "stopped"}[
            self.controller.state
        ]
        if state == "running" and self.controller.promoting is False:
            state = "by the team agents (this workstation browses)"
        text = f"Promotions {state} · last poll {self._last_poll} · {self._queue} queued"
        if self._problem:
            text += " · ⚠"
        self.label.setText(text)
        self.label.setToolTip(self._problem or "All registries answered at the last poll")
