"""The main window opens from local files only and shows the saved connections."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from hoister.profiles import Profile, ProfileStore
from hoister.ui.main_window import MainWindow


def test_welcome_when_nothing_is_saved(qtbot: QtBot, tmp_path: Path) -> None:
    window = MainWindow(ProfileStore(tmp_path / "profiles.json"))
    qtbot.addWidget(window)
    window.show()
    assert window.connections.count() == 0
    assert "Welcome to Hoister" in window.details.text()


def test_saved_connections_are_listed_and_shown(qtbot: QtBot, tmp_path: Path) -> None:
    store = ProfileStore(tmp_path / "profiles.json")
    store.add(Profile(name="prod", url="https://registry.example.com", username="alice"))
    store.add(Profile(name="local", url="http://127.0.0.1:5000"))
    window = MainWindow(store)
    qtbot.addWidget(window)
    window.show()
    assert [window.connections.item(i).text() for i in range(2)] == ["local", "prod"]
    assert "plain HTTP" in window.details.text()
    window.connections.setCurrentRow(1)
    assert "alice" in window.details.text()
    assert (
        window.connections.item(1).data(Qt.ItemDataRole.UserRole).url
        == "https://registry.example.com"
    )


def test_a_broken_profiles_file_is_reported_in_the_window(qtbot: QtBot, tmp_path: Path) -> None:
    path = tmp_path / "profiles.json"
    path.write_text("{not json")
    window = MainWindow(ProfileStore(path))
    qtbot.addWidget(window)
    assert "could not be read" in window.details.text()
    assert path.read_text() == "{not json"
