"""Two people editing one policy: the editor says which version it edits, refuses to
save over a newer one with who saved it, keeps the edits, and reloads theirs."""

from __future__ import annotations

from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from hoister.policies import Policy, Rule, check_policy
from hoister.store import Database, PolicyStore
from hoister.ui.promotions.policy_editor import PolicyEditor
from tests.support.images import build_image, push_image
from tests.support.registry import RegistryServer
from tests.ui.promotions.window import open_promotions, open_repository, open_window
from tests.ui.team.support import ContextOn, context_on  # noqa: F401

WAIT_MS = 15_000


def test_a_save_over_a_newer_version_is_refused_and_theirs_can_be_reloaded(
    qtbot: QtBot,
    context_on: ContextOn,  # noqa: F811 - fixture
    database_url: str,
    registry: RegistryServer,
) -> None:
    push_image(registry.url, "dev/website", "1.0-stable", build_image(seed=131))
    ctx = context_on(database_url, local=registry)
    with PolicyStore(ctx.database, author="bob@ws1") as store:
        stored = store.add(
            Policy(
                source_profile="local",
                source_repository="dev/website",
                target_repository="qa/website",
                tag_template="%n",
                rules=(Rule("tag", "ew", ("stable",)),),
                name="stable to QA",
            ),
            check=check_policy,
        )
    assert stored.id is not None
    window = open_window(qtbot, ctx)
    page = open_repository(qtbot, window, "dev/website")
    tab = open_promotions(qtbot, page, 1)
    tab.select_policy(stored.id)
    qtbot.mouseClick(tab.edit_button, Qt.MouseButton.LeftButton)
    editor = tab.editor
    assert isinstance(editor, PolicyEditor) and editor.isVisible()
    qtbot.waitUntil(lambda: editor.others is not None, timeout=WAIT_MS)
    note = editor.version_note
    assert note.label.text().startswith("Version 1, saved by bob@ws1 at 20")
    assert not note.conflicted

    # Alice, on another workstation, saves a change while the editor is open.
    with Database.open(database_url) as theirs, PolicyStore(theirs, author="alice@ws2") as other:
        other.update(stored.with_changes(tag_template="%n-alice"), check=check_policy)
    # The tab reads the policies again (its timer; the team database's NOTIFY): the
    # open editor says so before anyone tries to save.
    qtbot.waitUntil(lambda: note.conflicted, timeout=WAIT_MS)
    assert note.label.text().startswith("alice@ws2 saved version 2 at 20")

    editor.name_edit.setText("mine: stable builds to QA")
    qtbot.waitUntil(lambda: editor.save_button.isEnabled(), timeout=WAIT_MS)
    qtbot.mouseClick(editor.save_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: editor.problems_label.text().startswith("Not saved"), timeout=WAIT_MS)
    problems = editor.problems_label.text()
    assert problems.startswith("Not saved: ") and "changed by alice@ws2 at " in problems
    assert "Traceback" not in problems
    assert "alice@ws2 saved version 2" in note.label.text()
    assert editor.isVisible()  # nothing lost: the edit is still in the form
    assert editor.name_edit.text() == "mine: stable builds to QA"
    with PolicyStore(ctx.database) as store:
        assert store.get(stored.id).tag_template == "%n-alice"  # theirs stands

    with qtbot.waitSignal(note.reloaded, timeout=WAIT_MS):
        qtbot.mouseClick(note.reload_button, Qt.MouseButton.LeftButton)
    assert editor.template.text() == "%n-alice"
    assert editor.name_edit.text() == "stable to QA"
    assert note.label.text().startswith("Version 2, saved by alice@ws2 at 20")
    assert not note.conflicted

    editor.name_edit.setText("mine, on top of alice's")
    qtbot.waitUntil(lambda: editor.save_button.isEnabled(), timeout=WAIT_MS)
    with qtbot.waitSignal(editor.saved, timeout=WAIT_MS):
        qtbot.mouseClick(editor.save_button, Qt.MouseButton.LeftButton)
    with PolicyStore(ctx.database) as store:
        saved = store.get(stored.id)
    assert (saved.version, saved.name, saved.tag_template) == (
        3,
        "mine, on top of alice's",
        "%n-alice",
    )
