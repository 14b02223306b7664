"""The Promotions tab: both ends of a route, the enable switch, delete, editor and Run now."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar

import pytest
from PySide6.QtCore import QPoint, Qt, Signal
from PySide6.QtWidgets import QDialog, QMessageBox, QStyle, QStyleOptionViewItem, QWidget
from pytestqt.modeltest import ModelTester
from pytestqt.qtbot import QtBot

from hoister.engine.watcher import Candidate
from hoister.policies import Policy, Rule
from hoister.profiles import Profile
from hoister.store import PolicyStore
from hoister.store.history import HistoryRow, HistoryStore
from hoister.ui.context import AppContext
from hoister.ui.promotions.policies_model import (
    CRITERIA,
    ENABLED,
    LAST_PROMOTED,
    LAST_RESULT,
    NAME,
    OTHER,
    TEMPLATE,
    PoliciesModel,
    RowRole,
    SortRole,
)
from hoister.ui.promotions.promotions_tab import PromotionsTab
from tests.support.images import build_image, push_image
from tests.support.registry import RegistryServer
from tests.ui.conftest import ContextFactory

STABLE = (Rule("tag", "ew", ("stable",)),)


def seed_policy(**changes: Any) -> Policy:
    """The seed example: stable builds of dev/website go to qa/website."""
    policy = Policy(
        source_profile="local",
        source_repository="dev/website",
        target_repository="qa/website",
        tag_template="%n-qa",
        rules=STABLE,
        name="Stable builds to QA",
    )
    return policy.with_changes(**changes)


def store_policies(ctx: AppContext, *policies: Policy) -> list[Policy]:
    with PolicyStore(ctx.database) as store:
        return [store.add(policy) for policy in policies]


def stored(ctx: AppContext) -> dict[int, Policy]:
    with PolicyStore(ctx.database) as store:
        return {p.id or 0: p for p in store.list()}


def history_row(policy: Policy, outcome: str, reason: str, tag: str | None) -> HistoryRow:
    moment = datetime(2026, 11, 30, 9, 5, 3, tzinfo=UTC)
    return HistoryRow(
        policy_id=policy.id,
        policy_name=policy.name,
        source_profile="local",
        source_repository=policy.source_repository,
        source_tag="1.1-stable",
        source_digest="sha256:" + "ab" * 32,
        target_profile="local",
        target_repository=policy.target_repository,
        target_tag=tag,
        outcome=outcome,
        reason=reason,
        started_at=moment,
        finished_at=moment,
    )


def make_tab(qtbot: QtBot, ctx: AppContext, repository: str) -> PromotionsTab:
    tab = PromotionsTab(ctx, "local", repository)
    qtbot.addWidget(tab)
    tab.resize(1100, 360)
    with qtbot.waitSignal(tab.loaded, timeout=10_000):
        tab.show()
    return tab


def cell(tab: PromotionsTab, row: int, column: int, role: int = 0) -> Any:
    return tab.proxy.index(row, column).data(role or Qt.ItemDataRole.DisplayRole)


def checked(tab: PromotionsTab, row: int = 0) -> bool:
    state = cell(tab, row, ENABLED, Qt.ItemDataRole.CheckStateRole)
    return Qt.CheckState(state) == Qt.CheckState.Checked


# -- the model ----------------------------------------------------------------------------


def test_policies_model_is_valid_empty_loaded_and_toggled(qtmodeltester: ModelTester) -> None:
    model = PoliciesModel(home_profile="local")
    qtmodeltester.check(model)
    first = seed_policy(id=1, last_promoted_at=datetime(2026, 11, 30, 9, 5, tzinfo=UTC))
    second = seed_policy(
        id=2, name="", rules=(), target_profile="other", target_repository="prod/website"
    )
    third = seed_policy(id=3, name="Failing", enabled=False)
    results = {
        1: history_row(first, "promoted", "copied 3 blobs", "20261130-090503"),
        3: history_row(third, "failed", "401 Unauthorized: " + "the token expired " * 10, None),
    }
    model.set_policies([first, second, third], results)
    qtmodeltester.check(model)
    assert model.index(0, NAME).data() == "Stable builds to QA"
    assert model.index(1, NAME).data() == "Policy 2"
    assert model.index(0, CRITERIA).data() == "Tag name ends with 'stable'"
    assert model.index(1, CRITERIA).data() == "every push"
    assert model.index(1, OTHER).data() == "prod/website on other"
    assert model.index(0, TEMPLATE).data() == "%n-qa"
    assert model.index(0, LAST_PROMOTED).data() != "never"
    assert model.index(1, LAST_PROMOTED).data() == "never"
    assert model.index(0, LAST_RESULT).data() == "promoted 20261130-090503"
    failed = model.index(2, LAST_RESULT).data()
    assert failed.startswith("failed: 401 Unauthorized") and failed.endswith("…")
    assert "the token expired " * 10 in model.index(2, LAST_RESULT).data(
        Qt.ItemDataRole.ToolTipRole
    )
    assert model.index(2, ENABLED).data(Qt.ItemDataRole.CheckStateRole) == Qt.CheckState.Unchecked
    assert model.index(0, NAME).data(RowRole) == first
    assert model.index(2, ENABLED).data(SortRole) == 0
    assert model.flags(model.index(0, ENABLED)) & Qt.ItemFlag.ItemIsUserCheckable
    assert not model.flags(model.index(0, NAME)) & Qt.ItemFlag.ItemIsUserCheckable
    assert model.headerData(OTHER, Qt.Orientation.Horizontal) == "Target"

    model.set_mode(False)
    qtmodeltester.check(model)
    assert model.headerData(OTHER, Qt.Orientation.Horizontal) == "Source"
    assert model.index(0, OTHER).data() == "dev/website"


def test_the_checkbox_asks_and_shows_the_wish_until_the_store_answers(qtbot: QtBot) -> None:
    model = PoliciesModel()
    policy = seed_policy(id=7)
    model.set_policies([policy], {})
    index = model.index(0, ENABLED)
    with qtbot.waitSignal(model.enable_requested) as asked:
        assert model.setData(index, Qt.CheckState.Unchecked, Qt.ItemDataRole.CheckStateRole)
    assert asked.args == [7, False]
    assert index.data(Qt.ItemDataRole.CheckStateRole) == Qt.CheckState.Unchecked
    model.set_policies([policy], {})  # a periodic reload does not undo the click
    assert index.data(Qt.ItemDataRole.CheckStateRole) == Qt.CheckState.Unchecked
    model.settle(7, None)  # refused: back to what is stored
    assert index.data(Qt.ItemDataRole.CheckStateRole) == Qt.CheckState.Checked
    assert not model.setData(model.index(0, NAME), "x", Qt.ItemDataRole.EditRole)


# -- the tab ------------------------------------------------------------------------------


def test_the_toggle_shows_where_the_repository_is_source_or_target(
    qtbot: QtBot, app_context: AppContext
) -> None:
    store_policies(
        app_context,
        seed_policy(),
        seed_policy(
            name="QA to production",
            source_repository="qa/website",
            target_repository="prod/website",
            tag_template="%n",
        ),
    )
    tab = make_tab(qtbot, app_context, "qa/website")
    assert tab.source_button.isChecked() and tab.stack.currentWidget() is tab.table
    assert tab.proxy.rowCount() == 1
    assert (cell(tab, 0, NAME), cell(tab, 0, OTHER)) == ("QA to production", "prod/website")
    assert tab.proxy.headerData(OTHER, Qt.Orientation.Horizontal) == "Target"

    qtbot.mouseClick(tab.target_button, Qt.MouseButton.LeftButton)
    assert tab.target_button.isChecked() and not tab.source_button.isChecked()
    assert tab.proxy.rowCount() == 1
    assert (cell(tab, 0, NAME), cell(tab, 0, OTHER)) == ("Stable builds to QA", "dev/website")
    assert tab.proxy.headerData(OTHER, Qt.Orientation.Horizontal) == "Source"

    qtbot.mouseClick(tab.source_button, Qt.MouseButton.LeftButton)
    assert cell(tab, 0, OTHER) == "prod/website"


def test_an_empty_repository_says_what_to_do(qtbot: QtBot, app_context: AppContext) -> None:
    tab = make_tab(qtbot, app_context, "dev/website")
    assert tab.stack.currentWidget() is tab.empty_label
    assert tab.empty_label.text() == (
        "No promotion policies use dev/website as their source. "
        "Create one to promote its images automatically."
    )
    assert tab.new_button.isEnabled()
    assert not any(
        b.isEnabled()
        for b in (tab.edit_button, tab.duplicate_button, tab.delete_button, tab.run_button)
    )


def check_rect_centre(tab: PromotionsTab, row: int) -> QPoint:
    """Where a person clicks to flip the switch: the middle of the cell's check indicator."""
    option = QStyleOptionViewItem()
    option.rect = tab.table.visualRect(tab.proxy.index(row, ENABLED))
    option.features |= QStyleOptionViewItem.ViewItemFeature.HasCheckIndicator
    rect = tab.table.style().subElementRect(
        QStyle.SubElement.SE_ItemViewItemCheckIndicator, option, tab.table
    )
    return rect.center()


def test_disable_and_enable_from_the_list_persist(qtbot: QtBot, app_context: AppContext) -> None:
    [policy] = store_policies(app_context, seed_policy())
    tab = make_tab(qtbot, app_context, "dev/website")
    assert checked(tab)
    # As a click does: the view sets the check state through the (proxy) model.
    tab.proxy.setData(
        tab.proxy.index(0, ENABLED), Qt.CheckState.Unchecked, Qt.ItemDataRole.CheckStateRole
    )
    assert not checked(tab)
    qtbot.waitUntil(lambda: not stored(app_context)[policy.id or 0].enabled, timeout=10_000)
    qtbot.waitUntil(lambda: not cell(tab, 0, NAME, RowRole).enabled, timeout=10_000)
    assert not checked(tab)

    # A real click on the checkbox.
    qtbot.mouseClick(tab.table.viewport(), Qt.MouseButton.LeftButton, pos=check_rect_centre(tab, 0))
    assert checked(tab)
    qtbot.waitUntil(lambda: stored(app_context)[policy.id or 0].enabled, timeout=10_000)
    qtbot.waitUntil(lambda: cell(tab, 0, NAME, RowRole).enabled, timeout=10_000)
    assert checked(tab) and tab.banner.isHidden()


def test_enabling_a_policy_that_closes_a_loop_is_refused_in_place(
    qtbot: QtBot, app_context: AppContext
) -> None:
    back = seed_policy(
        name="Back to dev",
        source_repository="qa/website",
        target_repository="dev/website",
        enabled=False,
    )
    _, back = store_policies(app_context, seed_policy(), back)
    tab = make_tab(qtbot, app_context, "qa/website")
    assert cell(tab, 0, NAME) == "Back to dev" and not checked(tab)
    tab.proxy.setData(
        tab.proxy.index(0, ENABLED), Qt.CheckState.Checked, Qt.ItemDataRole.CheckStateRole
    )
    qtbot.waitUntil(tab.banner.isVisible, timeout=10_000)
    assert "qa/website -> dev/website -> qa/website" in tab.banner.text()
    assert "was not enabled" in tab.banner.text()
    assert not checked(tab)
    assert not stored(app_context)[back.id or 0].enabled


def test_enabling_a_loop_through_an_alias_profile_is_refused(
    qtbot: QtBot, app_context: AppContext
) -> None:
    app_context.profiles.add(Profile("local", "http://127.0.0.1:5000"))
    app_context.profiles.add(Profile("alias", "localhost:5000"))  # the same registry
    back = seed_policy(
        name="Back to dev",
        source_repository="qa/website",
        target_repository="dev/website",
        enabled=False,
    )
    _, back = store_policies(app_context, seed_policy(source_profile="alias"), back)
    tab = make_tab(qtbot, app_context, "qa/website")
    assert cell(tab, 0, NAME) == "Back to dev" and not checked(tab)
    tab.proxy.setData(
        tab.proxy.index(0, ENABLED), Qt.CheckState.Checked, Qt.ItemDataRole.CheckStateRole
    )
    qtbot.waitUntil(tab.banner.isVisible, timeout=10_000)
    assert "qa/website on alias (the same registry as local)" in tab.banner.text()
    assert not stored(app_context)[back.id or 0].enabled


@pytest.mark.parametrize("answer", [QMessageBox.StandardButton.No, QMessageBox.StandardButton.Yes])
def test_delete_asks_first(
    qtbot: QtBot,
    app_context: AppContext,
    monkeypatch: pytest.MonkeyPatch,
    answer: QMessageBox.StandardButton,
) -> None:
    store_policies(app_context, seed_policy())
    tab = make_tab(qtbot, app_context, "dev/website")
    questions: list[str] = []

    def ask(_parent: QWidget, _title: str, text: str, *_args: Any) -> QMessageBox.StandardButton:
        questions.append(text)
        return answer

    monkeypatch.setattr(QMessageBox, "question", ask)
    tab.table.selectRow(0)
    assert tab.delete_button.isEnabled()
    qtbot.mouseClick(tab.delete_button, Qt.MouseButton.LeftButton)
    assert questions == [
        "Delete the policy 'Stable builds to QA'? Tags it already promoted stay where they are."
    ]
    if answer == QMessageBox.StandardButton.No:
        assert not tab._actions.pending  # nothing was sent to be done
        assert len(stored(app_context)) == 1
    else:
        qtbot.waitUntil(lambda: not stored(app_context), timeout=10_000)
        qtbot.waitUntil(lambda: tab.stack.currentWidget() is tab.empty_label, timeout=10_000)


class FakeEditor(QDialog):
    """Stands in for the policy editor: records what it was opened with."""

    saved = Signal(int, bool)
    opened: ClassVar[list[tuple[str, str, Policy | None]]] = []

    def __init__(
        self, _ctx: AppContext, profile: str, repository: str, policy: Policy | None, parent: Any
    ) -> None:
        super().__init__(parent)
        FakeEditor.opened.append((profile, repository, policy))


def test_new_edit_and_duplicate_open_the_editor_as_expected(
    qtbot: QtBot, app_context: AppContext
) -> None:
    [policy] = store_policies(app_context, seed_policy())
    tab = make_tab(qtbot, app_context, "dev/website")
    tab.editor_factory = FakeEditor
    FakeEditor.opened = []
    qtbot.mouseClick(tab.new_button, Qt.MouseButton.LeftButton)
    assert FakeEditor.opened[-1] == ("local", "dev/website", None)
    assert isinstance(tab.editor, FakeEditor)
    tab.editor.close()

    centre = tab.table.visualRect(tab.proxy.index(0, NAME)).center()
    qtbot.mouseClick(tab.table.viewport(), Qt.MouseButton.LeftButton, pos=centre)
    qtbot.mouseDClick(tab.table.viewport(), Qt.MouseButton.LeftButton, pos=centre)
    assert FakeEditor.opened[-1] == ("local", "dev/website", policy)
    tab.editor.close()

    qtbot.mouseClick(tab.duplicate_button, Qt.MouseButton.LeftButton)
    copy = FakeEditor.opened[-1][2]
    assert copy is not None
    assert (copy.id, copy.name, copy.enabled, copy.last_promoted_at) == (
        None,
        "Stable builds to QA (copy)",
        False,
        None,
    )
    assert (copy.rules, copy.target_repository) == (policy.rules, policy.target_repository)
    tab.editor.close()


def test_new_promotion_policy_constructs_the_policy_editor(
    qtbot: QtBot, app_context: AppContext
) -> None:
    editor_module = pytest.importorskip("hoister.ui.promotions.policy_editor")
    tab = make_tab(qtbot, app_context, "dev/website")
    qtbot.mouseClick(tab.new_button, Qt.MouseButton.LeftButton)
    assert isinstance(tab.editor, editor_module.PolicyEditor)
    tab.editor.close()


def push_seed_tags(registry: RegistryServer) -> dict[str, str]:
    digests = {}
    for seed, tag in enumerate(("1.0", "1.1-stable", "1.2-stable"), start=40):
        image = build_image(seed=seed, layers=1)
        push_image(registry.url, "dev/website", tag, image)
        digests[tag] = image.digest
    return digests


def confirm_dry_run(qtbot: QtBot, tab: PromotionsTab) -> list[Candidate]:
    dialog = tab.dry_run_dialog
    assert dialog is not None
    qtbot.waitUntil(lambda: dialog.promote_button.isEnabled(), timeout=30_000)
    assert dialog.promote_button.text() == "Promote 2 tags"
    with qtbot.waitSignal(tab.submit_candidates, timeout=5_000) as submitted:
        qtbot.mouseClick(dialog.promote_button, Qt.MouseButton.LeftButton)
    [candidates] = submitted.args
    return candidates


def test_run_now_submits_the_confirmed_candidates(
    qtbot: QtBot, registry: RegistryServer, make_context: ContextFactory
) -> None:
    digests = push_seed_tags(registry)
    ctx = make_context(local=registry)
    [policy] = store_policies(ctx, seed_policy())
    tab = make_tab(qtbot, ctx, "dev/website")
    tab.table.selectRow(0)
    qtbot.mouseClick(tab.run_button, Qt.MouseButton.LeftButton)
    candidates = confirm_dry_run(qtbot, tab)
    assert sorted((c.tag, c.digest) for c in candidates) == [
        ("1.1-stable", digests["1.1-stable"]),
        ("1.2-stable", digests["1.2-stable"]),
    ]
    assert {(c.trigger, c.only_policy, c.repository) for c in candidates} == {
        ("existing", policy.id, "dev/website")
    }


def test_save_and_apply_opens_the_dry_run_of_the_saved_policy(
    qtbot: QtBot, registry: RegistryServer, make_context: ContextFactory
) -> None:
    push_seed_tags(registry)
    ctx = make_context(local=registry)
    tab = make_tab(qtbot, ctx, "dev/website")
    tab.editor_factory = FakeEditor
    editor = tab.open_editor(None)
    [policy] = store_policies(ctx, seed_policy())  # what the editor would have saved
    with qtbot.waitSignal(tab.loaded, timeout=10_000):
        editor.saved.emit(policy.id, True)  # type: ignore[attr-defined]
    qtbot.waitUntil(lambda: tab.dry_run_dialog is not None, timeout=10_000)
    assert tab.dry_run_dialog is not None and tab.dry_run_dialog.policy == policy
    assert len(confirm_dry_run(qtbot, tab)) == 2
    qtbot.waitUntil(lambda: tab.proxy.rowCount() == 1, timeout=10_000)


def test_plain_save_only_reloads(qtbot: QtBot, app_context: AppContext) -> None:
    tab = make_tab(qtbot, app_context, "dev/website")
    tab.editor_factory = FakeEditor
    editor = tab.open_editor(None)
    store_policies(app_context, seed_policy())
    with qtbot.waitSignal(tab.loaded, timeout=10_000):
        editor.saved.emit(1, False)  # type: ignore[attr-defined]
    assert tab.proxy.rowCount() == 1 and tab.dry_run_dialog is None
    assert not tab._actions.pending


def test_history_shows_as_last_result(qtbot: QtBot, app_context: AppContext) -> None:
    [policy] = store_policies(app_context, seed_policy())
    tab = make_tab(qtbot, app_context, "dev/website")
    assert cell(tab, 0, LAST_RESULT) == ""
    history = HistoryStore(app_context.database)
    try:
        history.add(history_row(policy, "matched", "all criteria hold", None))
        history.add(history_row(policy, "promoted", "copied", "1.1-stable-qa"))
    finally:
        history.close()
    with PolicyStore(app_context.database) as store:
        store.mark_promoted(policy.id or 0, datetime.now(UTC))
    with qtbot.waitSignal(tab.loaded, timeout=10_000):
        tab.refresh()
    assert cell(tab, 0, LAST_RESULT) == "promoted 1.1-stable-qa"
    assert cell(tab, 0, LAST_PROMOTED) != "never"
    # An unchanged list updates in place: the selection survives the periodic reload.
    tab.table.selectRow(0)
    with qtbot.waitSignal(tab.loaded, timeout=10_000):
        tab.refresh()
    assert tab.selected_policy() is not None
