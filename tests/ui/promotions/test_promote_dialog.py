"""Manual promotion: live preview of the target tag, validation, and a real copy."""

from __future__ import annotations

import httpx
from pytestqt.qtbot import QtBot

from hoister.store.history import HistoryStore
from hoister.ui.promotions.promote_dialog import MENU_TOKENS, PromoteDialog
from tests.support.images import MANIFEST_TYPES, build_image, push_image
from tests.support.registry import RegistryServer
from tests.ui.conftest import ContextFactory


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
    [action] = [a for a in dialog.tokens_menu.actions() if a.data() == "%D"]
    action.trigger()
    assert dialog.template_edit.text() == "build-%D"
    assert dialog.preview.text() == "qa/website:build-" + "ab" * 6
    assert "%%" not in MENU_TOKENS and "%n" in MENU_TOKENS


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
    qtbot.waitUntil(lambda: "not promoted" in dialog.status.text(), timeout=30_000)
    assert "b3261e" in dialog.status.styleSheet()
    assert dialog.ok_button.isEnabled() and dialog.cancel_button.isEnabled()
    assert digest_of(registry, "qa/website", "1.4-stable") == other.digest
