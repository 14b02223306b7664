"""The policy editor as opened from the Promotions tab of the real main window."""

from __future__ import annotations

import threading

import httpx
import pytest
from PySide6.QtCore import QPoint, QRect, Qt
from PySide6.QtWidgets import QWidget
from pytestqt.qtbot import QtBot

from hoister.credentials import Credential
from hoister.policies import Policy
from hoister.policies.template import TOKENS
from hoister.profiles import Profile
from hoister.registry import RegistryClient
from hoister.store import PolicyStore
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


def new_policy_editor(
    qtbot: QtBot, ctx: AppContext, repository: str, policies: int = 0
) -> PolicyEditor:
    """Open ``repository``, its Promotions tab, and press New promotion policy."""
    window = open_window(qtbot, ctx)
    page = open_repository(qtbot, window, repository)
    tab = open_promotions(qtbot, page, policies)
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
    # A pause in typing longer than the old 400 ms debounce: nothing may be asked.
    with qtbot.assertNotEmitted(note.checked, wait=600):
        qtbot.keyClicks(field, "qa/web")
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


def place(widget: QWidget, dialog: QWidget) -> QRect:
    """Where ``widget`` is inside ``dialog``."""
    return QRect(widget.mapTo(dialog, QPoint(0, 0)), widget.size())


@COMPLETER_POPUP
def test_messages_never_move_the_fields_below_and_the_sample_is_a_real_tag(
    qtbot: QtBot, make_context: ContextFactory, registry: RegistryServer
) -> None:
    image = build_image(seed=91)
    # A registry without the referrers API keeps referrers under sha256-<hex>: it sorts
    # before the real tags and must never be the preview's sample.
    for tag in ("sha256-" + "ab" * 32, "v0.9-stable", "v1.0"):
        push_image(registry.url, "qa/website", tag, image)
    ctx = make_context(local=registry)
    with PolicyStore(ctx.database) as store:
        store.add(Policy("local", "dev/website", "qa/website", "%n", name="Into QA"))
    editor = new_policy_editor(qtbot, ctx, "qa/website")  # the policy is into, not from, it
    preview = editor.template.preview_label
    qtbot.waitUntil(lambda: preview.text().startswith("v1.0 → "), timeout=10_000)

    # A new criterion needs a value: said in the editor's words, under its row.
    qtbot.mouseClick(editor.criteria.add_button, Qt.MouseButton.LeftButton)
    [row] = editor.criteria.rows
    qtbot.waitUntil(lambda: row.problem_label.text() == "Tag name equals needs a value")
    assert "tag eq" not in editor.problems_label.text()
    qtbot.waitUntil(lambda: row.problem_label.isVisible())
    target = place(editor.target_picker.line_edit, editor)
    aim = target.center()
    row.operator_combo.setCurrentIndex(row.operator_combo.findData("ew"))
    qtbot.keyClicks(row.value_widget, "stable")
    qtbot.waitUntil(lambda: row.problem_label.isHidden())
    qtbot.waitUntil(lambda: editor.save_button.isEnabled() or editor.others is not None)
    # Nothing moved: the click aimed at Target repository lands there.
    assert place(editor.target_picker.line_edit, editor) == target
    assert editor.childAt(aim) is editor.target_picker.line_edit
    qtbot.mouseClick(editor.target_picker.line_edit, Qt.MouseButton.LeftButton)
    qtbot.keyClicks(editor.target_picker.line_edit, "dev/website")
    assert row.value_widget.text() == "stable"  # type: ignore[attr-defined]
    # The sample follows the criteria: the first tag they hold for.
    qtbot.waitUntil(lambda: preview.text().startswith("v0.9-stable → "), timeout=10_000)
    assert "sha256-" not in preview.text()

    # The loop's explanation is long: it wraps, whole, above the template field.
    message = editor.target_picker.message_label
    qtbot.waitUntil(lambda: "would make promotions loop" in message.text())
    template = editor.template.edit

    def laid_out() -> bool:
        return message.height() >= message.heightForWidth(message.width()) and not place(
            message, editor
        ).intersects(place(template, editor))

    qtbot.waitUntil(laid_out)
    assert message.heightForWidth(message.width()) > message.fontMetrics().lineSpacing() * 1.5
    assert place(message, editor).right() <= editor.width()


def test_the_tokens_menu_is_compact_in_the_window(
    qtbot: QtBot, make_context: ContextFactory, registry: RegistryServer
) -> None:
    push_image(registry.url, "dev/website", "1.4-stable", build_image(seed=92))
    editor = new_policy_editor(qtbot, make_context(local=registry), "dev/website")
    menu = editor.template.tokens_menu
    submenus = [a.menu() for a in menu.actions() if a.menu() is not None]
    assert [m.title() for m in submenus] == ["Date", "Time"]
    for shown in (menu, *submenus):
        assert shown.sizeHint().width() <= 400, f"{shown.title()!r} is too wide"
    tokens = {a.data(): a for a in editor.template.token_actions}
    assert set(tokens) == set(TOKENS) - {"%%"}
    for token, action in tokens.items():
        assert action.toolTip() == TOKENS[token]  # the whole meaning, as a tip
    editor.template.set_text("build-")
    tokens["%H"].trigger()  # from the Time submenu
    assert editor.template.text() == "build-%H"
