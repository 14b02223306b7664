"""When the store cannot be opened at start: say why in words, and offer a way on.

On a team the likeliest reason is the team database: its server is down or out of
reach, or its password changed. Without this the app would end before its window
opened, and the way back (editing settings.json) would be nobody's to guess. The box
offers *Try again*, *Use this computer only* (when the *Team database* setting chose
the store: it clears the setting, as the dialog's button does) and *Quit*.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable

from PySide6.QtWidgets import QAbstractButton, QMessageBox, QWidget

from hoister.errors import HoisterError
from hoister.paths import Paths
from hoister.settings import Settings
from hoister.store.location import ENV_URL, SETTING
from hoister.ui.context import AppContext

log = logging.getLogger(__name__)

TRY_AGAIN, THIS_COMPUTER, QUIT = "try again", "this computer", "quit"

#: ``ask(error, team)``: what the person chose (``team``: offer *Use this computer only*).
Ask = Callable[[HoisterError, bool], str]


class StartFailureBox(QMessageBox):
    """The question, with the choices of the module's docstring."""

    def __init__(self, error: HoisterError, team: bool, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setIcon(QMessageBox.Icon.Warning)
        self.setWindowTitle("Hoister cannot start")
        self.setText(f"Hoister could not open its database: {error}")
        self._choices: dict[QAbstractButton, str] = {}
        self._add("Try again", TRY_AGAIN, QMessageBox.ButtonRole.AcceptRole)
        if team:
            self.setInformativeText(
                "The Team database setting chose this database. Use this computer only "
                "clears the setting: Hoister starts on this computer's own database, and "
                "File → Team database… sets it again later."
            )
            self._add("Use this computer only", THIS_COMPUTER, QMessageBox.ButtonRole.ActionRole)
        self._add("Quit", QUIT, QMessageBox.ButtonRole.RejectRole)

    def _add(self, text: str, choice: str, role: QMessageBox.ButtonRole) -> None:
        self._choices[self.addButton(text, role)] = choice

    def choice(self) -> str:
        return self._choices.get(self.clickedButton(), QUIT)


def ask_user(error: HoisterError, team: bool) -> str:
    box = StartFailureBox(error, team)
    box.exec()
    return box.choice()


def team_setting_chose(paths: Paths) -> bool:
    """Whether the *Team database* setting (not the environment) picks the store."""
    value = Settings(paths.settings_file).get(SETTING)
    return isinstance(value, str) and bool(value.strip()) and not os.environ.get(ENV_URL)


def open_context(
    paths: Paths,
    create: Callable[[Paths], AppContext] = AppContext.create,
    ask: Ask = ask_user,
) -> AppContext | None:
    """The app's context, asking the person what to do while its store cannot be
    opened; None when they chose to quit."""
    while True:
        try:
            return create(paths)
        except HoisterError as exc:
            log.warning("the store could not be opened at start: %s", exc)
            team = team_setting_chose(paths)
            choice = ask(exc, team)
            if choice == QUIT:
                return None
            if choice == THIS_COMPUTER and team:
                settings = Settings(paths.settings_file)
                settings.set(SETTING, None)
                settings.save()
