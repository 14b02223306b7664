"""The policy editor as opened from the Promotions tab of the real main window."""

from __future__ import annotations

import threading

import httpx
import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from hoister.credentials import Credential
from hoister.profiles import Profile
from hoister.registry import RegistryClient
from hoister.ui.context import AppContext
from hoister.ui.promotions.policy_editor import PolicyEditor
from tests.support.images import build_image, push_image
from tests.support.registry import RegistryServer
from tests.ui.conftest import ContextFactory
from tests.ui.promotions.window import open_promotions, open_repository, open_window

#: Typing in the target field pops its completer, which the offscreen platform cannot raise.
COMPLETER_POPUP = pytest.mark.qt_log_ignore(
    "This plugin does not support (raise|grabbing the keyboard)"
)


class CountingTransport(httpx.HTTPTransport):
    """Passes every request on to the real registry, and remembers method and path."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: list[tuple[str, str]] = []
        self._lock = threading.Lock()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        with self._lock:
            self.seen.append((request.method, request.url.path))
        return super().handle_request(request)

    def uploads(self) -> list[tuple[str, str]]:
        with self._lock:
            return [(m, p) for m, p in self.seen if "/blobs/uploads/" in p]


def counting_context(make_context: ContextFactory, registry: RegistryServer) -> tuple:
    transport = CountingTransport()

    def factory(profile: Profile, credential: Credential | None) -> RegistryClient:
        return RegistryClient(profile.url, credential, transport=transport)

    return make_context(client_factory=factory, local=registry), transport


def new_policy_editor(qtbot: QtBot, ctx: AppContext, repository: str) -> PolicyEditor:
    """Open ``repository``, its Promotions tab, and press New promotion policy."""
    window = open_window(qtbot, ctx)
    tab = open_promotions(qtbot, open_repository(qtbot, window, repository), policies=0)
    qtbot.mouseClick(tab.new_button, Qt.MouseButton.LeftButton)
    editor = tab.editor
    assert isinstance(editor, PolicyEditor) and editor.isVisible()
    qtbot.waitUntil(lambda: editor.others is not None, timeout=10_000)
    return editor


@COMPLETER_POPUP
def test_typing_the_target_writes_nothing_and_access_is_checked_once_per_target(
    qtbot: QtBot, make_context: ContextFactory, registry: RegistryServer
) -> None:
    push_image(registry.url, "dev/website", "1.4-stable", build_image(seed=90))
    ctx, transport = counting_context(make_context, registry)
    editor = new_policy_editor(qtbot, ctx, "dev/website")
    note = editor.permissions_label
    field = editor.target_picker.line_edit
    qtbot.waitUntil(lambda: editor.target_picker.names() == ["dev/website"], timeout=10_000)
    assert transport.uploads() == [] and note.checks_started == 0

    field.setFocus()
    qtbot.keyClicks(field, "qa/web")
    # A pause in typing longer than the old 400 ms debounce: nothing may be asked.
    qtbot.wait(600)
    qtbot.keyClicks(field, "site")
    assert transport.uploads() == [] and note.checks_started == 0
    assert "checked when you leave the field" not in note.text()

    # Leaving the field completes the name: one check, one upload opened and cancelled.
    with qtbot.waitSignal(note.checked, timeout=10_000) as checked:
        qtbot.keyClick(field, Qt.Key.Key_Tab)
    assert not field.hasFocus()
    assert checked.args == [[]]
    assert note.text() == "✓ The saved credentials may read dev/website and push to qa/website."
    assert transport.uploads() == [
        ("POST", "/v2/qa/website/blobs/uploads/"),
        ("DELETE", transport.uploads()[1][1]),
    ]
    assert transport.uploads()[1][1].startswith("/v2/qa/website/blobs/uploads/")

    # Leaving the field again, or coming back to the same name, asks nothing new.
    field.setFocus()
    editor.name_edit.setFocus()
    field.setFocus()
    assert note.checks_started == 1
    qtbot.keyClick(field, Qt.Key.Key_Backspace)
    assert note.text() == "Access to the target is checked when you leave the field."
    qtbot.keyClicks(field, "e")
    with qtbot.waitSignal(note.checked, timeout=10_000):
        qtbot.keyClick(field, Qt.Key.Key_Tab)  # qa/website's answer is remembered
    assert note.checks_started == 2 and len(transport.uploads()) == 2
    assert note.text().startswith("✓")
