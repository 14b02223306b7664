"""Manual promotion: live preview of the target tag, validation, and a real copy."""

from __future__ import annotations

import httpx
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from hoister.policies import Policy
from hoister.store import PolicyStore
from hoister.store.history import HistoryStore
from hoister.ui.browsing.tag_details import TagDetails
from hoister.ui.browsing.tags_model import TAG
from hoister.ui.context import AppContext
from hoister.ui.promotions.promote_dialog import PromoteDialog
from tests.support.images import MANIFEST_TYPES, build_image, push_image
from tests.support.registry import RegistryServer
from tests.ui.conftest import ContextFactory
from tests.ui.promotions.window import open_repository, open_window


def digest_of(server: RegistryServer, repository: str, tag: str) -> str | None:
    response = httpx.head(
        f"{server.url}/v2/{repository}/manifests/{tag}",
        headers={"Accept": ", ".join(MANIFEST_TYPES)},
        timeout=10,
    )
    return response.headers.get("docker-content-digest") if response.status_code == 200 else None


def make_dialog(qtbot: QtBot, ctx: object, digest: str) -> PromoteDialog:
    dialog = PromoteDialog(ctx, "local", "dev/website", "1.4-stable", digest)  # type: ignore[arg-type]
    qtbot.addWidget(dialog)
    dialog.show()
    return dialog


def test_preview_follows_the_template_and_invalid_input_disables_promote(
    qtbot: QtBot, registry: RegistryServer, make_context: ContextFactory
) -> None:
    dialog = make_dialog(qtbot, make_context(local=registry), "sha256:" + "ab" * 32)
    assert dialog.profile_combo.currentText() == "local"
    dialog.repository_combo.setEditText("qa/website")
    dialog.template_edit.clear()
    qtbot.keyClicks(dialog.template_edit, "%n-qa")
    assert dialog.preview.text() == "qa/website:1.4-stable-qa"
    assert dialog.ok_button.isEnabled()

    dialog.template_edit.setText("%Y:%m")
    assert "':'" in dialog.preview.text() and "not allowed in a tag" in dialog.preview.text()
    assert "b3261e" in dialog.preview.styleSheet()
    assert not dialog.ok_button.isEnabled()

    dialog.template_edit.setText("%n")
    assert dialog.ok_button.isEnabled()
    dialog.repository_combo.setEditText("QA/Website")
    assert not dialog.ok_button.isEnabled()
    assert "lower case" in dialog.repository_message.text()
    assert dialog.repository_message.isVisible()
    dialog.repository_combo.setEditText("qa/website")
    assert dialog.ok_button.isEnabled() and dialog.repository_message.isHidden()

    # The Tokens menu inserts at the cursor, and %D renders the source digest.
    dialog.template_edit.setText("build-")
    [action] = [a for a in dialog.token_actions if a.data() == "%D"]
    action.trigger()
    assert dialog.template_edit.text() == "build-%D"
    assert dialog.preview.text() == "qa/website:build-" + "ab" * 6
    tokens = {a.data() for a in dialog.token_actions}
    assert "%%" not in tokens and "%{NAME}" not in tokens and "%n" in tokens


def test_promoting_copies_the_image_with_the_same_digest(
    qtbot: QtBot, registry: RegistryServer, make_context: ContextFactory
) -> None:
    image = build_image(seed=31)
    push_image(registry.url, "dev/website", "1.4-stable", image)
    ctx = make_context(local=registry)
    dialog = make_dialog(qtbot, ctx, image.digest)
    dialog.repository_combo.setEditText("qa/website")
    dialog.template_edit.setText("%n")
    with qtbot.waitSignal(dialog.promoted, timeout=30_000) as promoted:
        dialog.ok_button.click()
        assert not dialog.cancel_button.isEnabled()  # the copy runs; the dialog stays open
    assert promoted.args == [f"{registry.host}/qa/website:1.4-stable"]
    # The registry's repositories are offered as targets.
    qtbot.waitUntil(lambda: dialog.repository_combo.findText("dev/website") >= 0)
    assert dialog.repository_combo.currentText() == "qa/website"
    assert digest_of(registry, "qa/website", "1.4-stable") == image.digest
    assert "Promoted" in dialog.status.text()
    assert dialog.cancel_button.isEnabled() and dialog.cancel_button.text() == "Close"
    history = HistoryStore(ctx.database)
    try:
        [row] = history.recent(1)
    finally:
        history.close()
    assert (row.outcome, row.target_repository, row.policy_name) == (
        "promoted",
        "qa/website",
        "manual promotion",
    )


def test_a_refused_promotion_is_explained_in_the_dialog(
    qtbot: QtBot, registry: RegistryServer, make_context: ContextFactory
) -> None:
    image, other = build_image(seed=32), build_image(seed=33)
    push_image(registry.url, "dev/website", "1.4-stable", image)
    push_image(registry.url, "qa/website", "1.4-stable", other)
    dialog = make_dialog(qtbot, make_context(local=registry), image.digest)
    dialog.repository_combo.setEditText("qa/website")
    assert dialog.overwrite_combo.currentData() == "skip"
    dialog.ok_button.click()
    qtbot.waitUntil(lambda: "Not promoted" in dialog.status.text(), timeout=30_000)
    assert "b3261e" in dialog.status.styleSheet()
    assert dialog.ok_button.isEnabled() and dialog.cancel_button.isEnabled()
    assert digest_of(registry, "qa/website", "1.4-stable") == other.digest


# -- through the window: the tag's details pane opens the dialog ----------------------------


def open_from_the_window(qtbot: QtBot, ctx: AppContext, tag: str) -> PromoteDialog:
    """Open dev/website in the window, pick ``tag`` and press its Promote… button."""
    window = open_window(qtbot, ctx)
    tags = open_repository(qtbot, window, "dev/website").tags
    qtbot.waitUntil(lambda: tags.model.rowCount() > 0, timeout=15_000)
    [row] = [r for r in range(tags.proxy.rowCount()) if tags.proxy.index(r, TAG).data() == tag]
    with qtbot.waitSignal(tags.details.loaded, timeout=15_000):
        tags.table.selectRow(row)
    qtbot.mouseClick(tags.details.promote_button, Qt.MouseButton.LeftButton)
    dialog = tags.details.findChild(PromoteDialog)
    assert dialog is not None and dialog.isVisible()
    qtbot.waitUntil(
        lambda: dialog.repository_combo.lineEdit().placeholderText().startswith("namespace"),
        timeout=10_000,
    )  # the usual target was looked for
    return dialog


def test_manual_promote_goes_to_the_policys_target_and_says_when_it_skipped(
    qtbot: QtBot, registry: RegistryServer, make_context: ContextFactory
) -> None:
    image, other = build_image(seed=34), build_image(seed=35)
    push_image(registry.url, "dev/website", "1.4-stable", image)
    push_image(registry.url, "qa/website", "1.4-stable", other)
    ctx = make_context(local=registry)
    with PolicyStore(ctx.database) as store:
        store.add(Policy("local", "dev/website", "qa/website", "%n", name="To QA"))
    dialog = open_from_the_window(qtbot, ctx, "1.4-stable")
    assert dialog.profile_combo.currentText() == "local"
    assert dialog.repository_combo.currentText() == "qa/website"
    assert dialog.ok_button.isEnabled()
    assert dialog.overwrite_combo.currentData() == "skip"
    promoted: list[str] = []
    dialog.promoted.connect(promoted.append)
    with qtbot.waitSignal(dialog.finished, timeout=30_000) as finished:
        qtbot.mouseClick(dialog.ok_button, Qt.MouseButton.LeftButton)
    [result] = finished.args
    assert result.outcome == "skipped"
    status = dialog.status.text()
    assert status.startswith("Not promoted: nothing was written to ")
    assert "qa/website:1.4-stable exists" in status and "skips existing tags" in status
    assert "Promoted" not in status and promoted == []
    assert digest_of(registry, "qa/website", "1.4-stable") == other.digest

    dialog.overwrite_combo.setCurrentIndex(dialog.overwrite_combo.findData("overwrite"))
    with qtbot.waitSignal(dialog.promoted, timeout=30_000):
        qtbot.mouseClick(dialog.ok_button, Qt.MouseButton.LeftButton)
    assert dialog.status.text() == f"Promoted: {registry.host}/qa/website:1.4-stable"
    assert digest_of(registry, "qa/website", "1.4-stable") == image.digest


def test_manual_promote_without_a_usual_target_refuses_a_copy_onto_itself(
    qtbot: QtBot, registry: RegistryServer, make_context: ContextFactory
) -> None:
    image = build_image(seed=36)
    push_image(registry.url, "dev/website", "1.4-stable", image)
    ctx = make_context(local=registry)
    dialog = open_from_the_window(qtbot, ctx, "1.4-stable")
    # No policy and no earlier manual target: nothing is chosen for the person.
    assert dialog.repository_combo.currentText() == ""
    assert not dialog.ok_button.isEnabled()
    assert dialog.repository_message.text() == "Choose the repository to promote to."
    qtbot.keyClicks(dialog.repository_combo.lineEdit(), "dev/website")
    assert not dialog.ok_button.isEnabled()
    assert dialog.repository_message.text().startswith("That is dev/website:1.4-stable itself")
    dialog.template_edit.setText("%n-copy")  # another tag in the same repository is fine
    assert dialog.ok_button.isEnabled() and dialog.repository_message.isHidden()
    dialog.template_edit.setText("%n")
    assert not dialog.ok_button.isEnabled()

    dialog.repository_combo.lineEdit().clear()
    qtbot.keyClicks(dialog.repository_combo.lineEdit(), "qa/website")
    assert dialog.ok_button.isEnabled()
    with qtbot.waitSignal(dialog.promoted, timeout=30_000):
        qtbot.mouseClick(dialog.ok_button, Qt.MouseButton.LeftButton)
    assert digest_of(registry, "qa/website", "1.4-stable") == image.digest
    dialog.close()

    # The next manual promotion starts at the target used last.
    details = dialog.parentWidget()
    assert isinstance(details, TagDetails)
    qtbot.mouseClick(details.promote_button, Qt.MouseButton.LeftButton)
    [again] = [d for d in details.findChildren(PromoteDialog) if d.isVisible()]
    qtbot.waitUntil(lambda: again.repository_combo.currentText() == "qa/website", timeout=10_000)
    assert again.ok_button.isEnabled()
