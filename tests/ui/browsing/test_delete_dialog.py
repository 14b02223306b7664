"""Deleting by digest: the dialog lists every tag that goes, and the registry agrees."""

from __future__ import annotations

import httpx
from pytestqt.qtbot import QtBot

from hoister.ui.browsing.delete_dialog import DeleteDialog
from hoister.ui.browsing.tag_details import SHOWN, TagDetails
from tests.support.fixtures import RegistryFactory
from tests.support.images import build_image, push_tags
from tests.support.registry import RegistryServer
from tests.ui.conftest import ContextFactory


def registry_tags(server: RegistryServer, repository: str) -> list[str]:
    response = httpx.get(f"{server.url}/v2/{repository}/tags/list", timeout=10)
    response.raise_for_status()
    return sorted(response.json().get("tags") or [])


def push_siblings(server: RegistryServer) -> str:
    image = build_image(seed=21)
    push_tags(server.url, "dev/website", image, ["1.0", "latest", "stable"])
    push_tags(server.url, "dev/website", build_image(seed=22), ["2.0"])
    return image.digest


def open_dialog(
    qtbot: QtBot, dialog: DeleteDialog, expected: list[str] | None = None
) -> DeleteDialog:
    qtbot.addWidget(dialog)
    with qtbot.waitSignal(dialog.listed) as listed:
        dialog.show()
    if expected is not None:
        assert listed.args == [expected]
    return dialog


def test_deleting_a_tag_lists_its_siblings_then_deletes_them_all(
    qtbot: QtBot, registry: RegistryServer, make_context: ContextFactory
) -> None:
    digest = push_siblings(registry)
    ctx = make_context(local=registry)
    # The table knew one digest already (and one wrong guess is re-checked, not trusted).
    known = {"latest": digest, "stable": digest}
    dialog = DeleteDialog(ctx, "local", "dev/website", "1.0", digest, known=known)
    open_dialog(qtbot, dialog, ["1.0", "latest", "stable"])
    listed = [dialog.tags_list.item(i).text() for i in range(dialog.tags_list.count())]
    assert listed == ["1.0", "latest", "stable"]
    assert "A registry deletes images by digest" in dialog.explanation.text()
    assert digest in dialog.explanation.text()
    assert "3 tags will be deleted" in dialog.message.text()
    assert dialog.delete_button.isEnabled()

    with qtbot.waitSignal(dialog.deleted) as deleted:
        dialog.delete_button.click()
    assert deleted.args == [digest, ["1.0", "latest", "stable"]]
    assert registry_tags(registry, "dev/website") == ["2.0"]


def test_a_registry_with_delete_disabled_says_why_and_nothing_changes(
    qtbot: QtBot, registry_factory: RegistryFactory, make_context: ContextFactory
) -> None:
    server = registry_factory(delete_enabled=False)
    digest = push_siblings(server)
    dialog = open_dialog(
        qtbot, DeleteDialog(make_context(local=server), "local", "dev/website", "1.0", digest)
    )
    with qtbot.waitSignal(dialog.failed) as failed:
        dialog.delete_button.click()
    assert "405" in failed.args[0]
    assert "405" in dialog.message.text() and "does not allow deleting" in dialog.message.text()
    assert f"deleting dev/website@{digest}" in dialog.message.text()
    assert not dialog.delete_button.isEnabled()
    assert dialog.isVisible()
    assert registry_tags(server, "dev/website") == ["1.0", "2.0", "latest", "stable"]


def test_the_details_pane_opens_the_dialog_and_forgets_the_deleted_tag(
    qtbot: QtBot, registry: RegistryServer, make_context: ContextFactory
) -> None:
    digest = push_siblings(registry)
    pane = TagDetails(make_context(local=registry), "local", "dev/website")
    qtbot.addWidget(pane)
    pane.show()
    with qtbot.waitSignal(pane.loaded):
        pane.show_tag("latest")
    assert pane.stack.currentIndex() == SHOWN
    dialog = pane.open_delete_dialog()
    assert dialog is not None
    qtbot.waitUntil(dialog.delete_button.isEnabled)
    with qtbot.waitSignal(pane.deleted) as deleted:
        dialog.delete_button.click()
    assert deleted.args == [digest, ["1.0", "latest", "stable"]]
    assert pane.tag is None
