"""A store that cannot be opened at start is explained, with a way on, not a traceback."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from hoister.errors import HoisterError
from hoister.paths import default_paths
from hoister.store.location import ENV_URL, SETTING
from hoister.ui.team.start_failure import (
    QUIT,
    THIS_COMPUTER,
    TRY_AGAIN,
    StartFailureBox,
    open_context,
)

TEAM = "postgresql://hoister@db.example:5432/team"


def _not_a_database() -> Path:
    """HOISTER_HOME's database file holds something else: Database.open refuses it."""
    paths = default_paths().ensure()
    paths.database.write_bytes(b"not a database at all, " * 100)
    return paths.database


def test_quit_try_again_and_use_this_computer_only(
    hoister_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(ENV_URL, raising=False)  # the setting, not the environment, decides
    paths = default_paths()
    bad = _not_a_database()
    asked: list[tuple[str, bool]] = []
    answers = [QUIT]

    def ask(error: HoisterError, team: bool) -> str:
        asked.append((str(error), team))
        return answers.pop(0)

    assert open_context(paths, ask=ask) is None
    ((words, team),) = asked
    assert "is not a SQLite database" in words and not team

    # With the Team database setting in charge, the box offers to drop it.
    paths.settings_file.write_text(json.dumps({SETTING: TEAM}))
    asked.clear()
    answers[:] = [THIS_COMPUTER, TRY_AGAIN]

    def ask_and_fix(error: HoisterError, team: bool) -> str:
        answer = ask(error, team)
        if answer == TRY_AGAIN:
            bad.rename(bad.with_suffix(".aside"))  # the person fixed the cause meanwhile
        return answer

    context = open_context(paths, ask=ask_and_fix)
    assert context is not None
    try:
        assert [team for _, team in asked] == [True, False]
        assert json.loads(paths.settings_file.read_text())[SETTING] is None
        assert not context.database.shared
    finally:
        context.close()


def test_the_box_says_why_and_offers_each_way_on(qtbot: QtBot) -> None:
    box = StartFailureBox(HoisterError("cannot reach the team database at x: refused"), True)
    qtbot.addWidget(box)
    box.open()
    assert "cannot reach the team database" in box.text()
    assert "Team database setting" in box.informativeText()
    texts = {button.text(): button for button in box.buttons()}
    assert set(texts) == {"Try again", "Use this computer only", "Quit"}
    qtbot.mouseClick(texts["Use this computer only"], Qt.MouseButton.LeftButton)
    assert box.choice() == THIS_COMPUTER

    alone = StartFailureBox(HoisterError("the file is damaged"), False)
    qtbot.addWidget(alone)
    assert {b.text() for b in alone.buttons()} == {"Try again", "Quit"}


def test_the_app_started_on_a_store_it_cannot_open_says_why_and_ends(tmp_path: Path) -> None:
    """``hoister gui`` itself: no window, no traceback, the reason in words."""
    from tests.test_packaging import _gui_smoke_test

    home = tmp_path / "home"
    (home / "data").mkdir(parents=True)
    (home / "data" / "hoister.db").write_bytes(b"not a database at all, " * 100)
    result = _gui_smoke_test(home)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "smoke test failed: " in result.stderr and "is not a SQLite database" in result.stderr
    assert "Traceback" not in result.stderr
