"""The policy editor's parts: criteria rows, template field, repository picker, permissions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from PySide6.QtCore import QDate, QDateTime, Qt, QTime, QTimeZone
from PySide6.QtWidgets import QComboBox, QDateTimeEdit, QLineEdit, QSpinBox
from pytestqt.qtbot import QtBot

from hoister.policies import Policy, Rule, policy_problems
from hoister.policies.fields import COUNT_OPS, OPERATOR_WORDS
from hoister.profiles import Profile
from hoister.ui.promotions.criteria_editor import CriteriaEditor
from hoister.ui.promotions.criterion_row import CriterionRow
from hoister.ui.promotions.permissions import check_permissions
from hoister.ui.promotions.policy_editor import PolicyEditor
from hoister.ui.promotions.repository_picker import RepositoryPicker
from hoister.ui.promotions.template_field import TemplateField
from tests.support.fixtures import TokenRegistry
from tests.support.images import build_image, populate_repos, push_image
from tests.support.registry import RegistryServer
from tests.support.tokenserver import TokenAuth
from tests.ui.conftest import ContextFactory


def choose(combo: QComboBox, text: str) -> None:
    index = combo.findText(text)
    assert index >= 0, f"{text!r} is not offered"
    combo.setCurrentIndex(index)


#: Typing in the target field pops its completer, which the offscreen platform cannot raise.
COMPLETER_POPUP = pytest.mark.qt_log_ignore(
    "This plugin does not support (raise|grabbing the keyboard)"
)


def commit_target(qtbot: QtBot, dialog: PolicyEditor, name: str) -> None:
    """Type the target repository and press Enter, as a person completes the name."""
    dialog.target_picker.line_edit.clear()
    qtbot.keyClicks(dialog.target_picker.line_edit, name)
    qtbot.keyClick(dialog.target_picker.line_edit, Qt.Key.Key_Return)


def problems_of(rules: tuple[Rule, ...]) -> list[str]:
    policy = Policy("local", "dev/website", "qa/website", "%n", rules=rules)
    return [p.message for p in policy_problems(policy)]


def test_value_editors_fit_the_field_and_operators_are_the_fields_own(qtbot: QtBot) -> None:
    editor = CriteriaEditor()
    qtbot.addWidget(editor)
    editor.show()
    assert editor.heading.text() == "PROMOTE TO TARGET IF..." and editor.empty_label.isVisible()
    with qtbot.waitSignal(editor.changed):
        editor.add_button.click()
    [row] = editor.rows
    assert not editor.empty_label.isVisible()

    choose(row.field_combo, "Vulnerabilities: critical")
    assert isinstance(row.value_widget, QSpinBox) and row.value_widget.maximum() == 10**9
    words = [row.operator_combo.itemText(i) for i in range(row.operator_combo.count())]
    assert words == [OPERATOR_WORDS[code] for code in COUNT_OPS]
    choose(row.operator_combo, "is at most")
    row.value_widget.setValue(0)
    assert editor.rules() == (Rule("vulnerability_critical", "lte", ("0",)),)

    choose(row.field_combo, "Size")
    assert (
        isinstance(row.value_widget, QLineEdit) and "1.5GiB" in row.value_widget.placeholderText()
    )
    choose(row.operator_combo, "is less than")
    row.value_widget.setText("1.5GiB")
    assert editor.rules() == (Rule("size", "lt", ("1.5GiB",)),)
    assert problems_of(editor.rules()) == []

    choose(row.field_combo, "Signed")
    assert isinstance(row.value_widget, QComboBox)
    assert [row.value_widget.itemText(i) for i in range(2)] == ["true", "false"]
    choose(row.value_widget, "false")
    assert editor.rules() == (Rule("signed", "eq", ("false",)),)

    assert row.key_edit.isHidden()
    choose(row.field_combo, "Label")
    assert not row.key_edit.isHidden()
    row.key_edit.setText("org.opencontainers.image.version")
    choose(row.operator_combo, "is one of")
    assert "commas" in row.value_widget.placeholderText()
    qtbot.keyClicks(row.value_widget, "a, b")
    assert editor.rules() == (Rule("label.org.opencontainers.image.version", "oo", ("a", "b")),)
    assert problems_of(editor.rules()) == []

    choose(row.field_combo, "Updated")
    assert isinstance(row.value_widget, QDateTimeEdit) and row.value_widget.calendarPopup()
    assert [row.operator_combo.itemText(i) for i in range(2)] == ["is before", "is after"]
    when = QDateTime(QDate(2026, 11, 30), QTime(9, 0), QTimeZone.utc())
    row.value_widget.setDateTime(when)
    assert editor.rules() == (Rule("updated_at", "bf", ("2026-11-30T09:00:00Z",)),)

    choose(row.field_combo, "Age")
    assert "12h" in row.value_widget.placeholderText()
    row.value_widget.setText("7d")
    assert problems_of(editor.rules()) == []

    # An empty value is a problem of the row, not a silent match of "".
    choose(row.field_combo, "Tag name")
    row.value_widget.clear()
    assert "needs a value" in problems_of(editor.rules())[0]

    with qtbot.waitSignal(editor.changed):
        row.remove_button.click()
    assert editor.rules() == () and editor.empty_label.isVisible()


def test_rules_round_trip_and_problems_sit_on_their_row(qtbot: QtBot) -> None:
    rules = (
        Rule("tag", "matches", (r"v(?P<ver>\d+)",)),
        Rule("component.name", "noo", ("openssl", "log4j")),
        Rule("license.name", "oo", ("MIT",)),
        Rule("vulnerability_all", "lt", ("10",)),
        Rule("updated_at", "af", ("2026-01-02T03:04:00Z",)),
        Rule("updated_at_duration", "bf", ("12h",)),
        Rule("annotation.org.example.team", "eq", ("web",)),
        Rule("platform", "c", ("linux/arm64",)),
        Rule("created", "bf", ("2026-05-06T07:08:00Z",)),
        Rule("signed", "neq", ("true",)),
    )
    editor = CriteriaEditor()
    qtbot.addWidget(editor)
    editor.set_rules(rules)
    assert editor.rules() == rules
    editor.show_problem(1, "something is wrong here")
    row: CriterionRow = editor.rows[1]
    assert row.problem_label.text() == "something is wrong here"
    assert "b3261e" in row.value_widget.styleSheet()
    assert editor.rows[0].problem_label.isHidden()
    editor.clear_problems()
    assert row.problem_label.isHidden() and row.value_widget.styleSheet() == ""
    editor.set_rules([])
    assert editor.rows == [] and editor.rules() == ()


def test_several_values_of_a_text_rule_survive_the_editor(qtbot: QtBot) -> None:
    """MSR's ``tag sw ["rc-", "beta-"]`` shows as "rc-, beta-" and saves as two values."""
    rules = (
        Rule("tag", "sw", ("rc-", "beta-")),
        Rule("label.team", "eq", ("web", "ops")),
        Rule("tag", "ew", ("stable",)),
    )
    editor = CriteriaEditor()
    qtbot.addWidget(editor)
    editor.set_rules(rules)
    first = editor.rows[0].value_widget
    assert isinstance(first, QLineEdit) and first.text() == "rc-, beta-"
    assert "any one of them" in first.toolTip()
    assert editor.rules() == rules
    first.setText("rc-, beta-, alpha-")
    assert editor.rules()[0] == Rule("tag", "sw", ("rc-", "beta-", "alpha-"))


def test_template_field_menu_preview_and_ticking_clock(qtbot: QtBot) -> None:
    now = [datetime(2026, 11, 30, 9, 5, 3, tzinfo=UTC)]
    field = TemplateField(clock=lambda: now[0])
    qtbot.addWidget(field)
    field.show()
    field.set_sample("1.4-stable", "sha256:" + "ab" * 32, "dev/website")
    field.set_text("%Y%m%d-%H%M%S")
    assert field.preview_label.text() == "1.4-stable → 20261130-090503"
    # Every token but %% is offered, with its whole meaning as a tip.
    actions = {a.data(): a for a in field.token_actions}
    assert "%W" in actions and "week of the year" in actions["%W"].text()
    assert "Monday first" in actions["%W"].toolTip() and "%%" not in actions
    field.set_text("build-")
    actions["%D"].trigger()
    assert field.text() == "build-%D"
    assert field.preview_label.text() == "1.4-stable → build-" + "ab" * 6
    # %{NAME} is inserted with NAME selected, so typing replaces it.
    field.set_text("%n-")
    actions["%{NAME}"].trigger()
    assert field.edit.selectedText() == "NAME"
    qtbot.keyClicks(field.edit, "ver")
    assert field.text() == "%n-%{ver}" and "unknown group 'ver'" in (field.error() or "")
    # The preview follows the clock without any edit.
    field.set_text("%H%M%S")
    now[0] += timedelta(seconds=1)
    qtbot.waitUntil(lambda: field.preview_label.text() == "1.4-stable → 090504", timeout=3000)
    # A rendered tag that is too long is explained in the preview, not as a field error.
    field.set_sample("x" * 125)
    field.set_text("%n-%Y")
    assert field.error() is None and "cannot be named" in field.preview_label.text()
    field.set_text("%{ver}")
    assert "unknown group 'ver'" in (field.error() or "")
    assert not field.preview_label.isVisible()


# The completer's popup asks the offscreen platform for things it cannot do.
@pytest.mark.qt_log_ignore("This plugin does not support (raise|grabbing the keyboard)")
def test_repository_picker_offers_a_large_catalog_and_completes_on_substrings(
    qtbot: QtBot, registry: RegistryServer, make_context: ContextFactory
) -> None:
    names = [f"team{i % 10}/app-{i:04d}" for i in range(1100)]
    populate_repos(registry.url, names, build_image(seed=51, layers=1, layer_size=64))
    picker = RepositoryPicker(make_context(local=registry))
    qtbot.addWidget(picker)
    picker.show()
    with qtbot.waitSignal(picker.loaded, timeout=30_000) as loaded:
        picker.set_profile("local")
    assert loaded.args == [1100] and picker.names() == sorted(names)  # two catalog pages
    qtbot.keyClicks(picker.line_edit, "APP-104")
    completions = picker.completer.completionModel()
    shown = [completions.index(i, 0).data() for i in range(completions.rowCount())]
    assert shown == [f"team{i % 10}/app-{i:04d}" for i in range(1040, 1050)]
    assert picker.completer.popup().isVisible()
    picker.set_repository("team3/app-0003")
    assert picker.message() == "" and picker.is_valid()
    picker.set_repository("qa/new-site")
    assert "does not exist yet" in picker.message()
    picker.set_repository("QA/site")
    assert "lower case" in picker.message() and not picker.is_valid()


def _token_context(
    make_context: ContextFactory, token_registry: TokenRegistry, user: str
) -> ContextFactory:
    reg = token_registry.registry
    ctx = make_context()
    profile = Profile(name="local", url=reg.url, username=user, repositories=["qa/known"])
    ctx.profiles.add(profile)
    ctx.secrets.set(profile, token_registry.users[user])
    return ctx  # type: ignore[return-value]


@COMPLETER_POPUP
def test_permissions_name_what_bob_may_not_do_and_leave_no_upload_open(
    qtbot: QtBot, make_context: ContextFactory, token_registry: TokenRegistry
) -> None:
    reg = token_registry.registry
    alice = TokenAuth("alice", token_registry.users["alice"])
    push_image(reg.url, "dev/website", "1.4-stable", build_image(seed=52), auth=alice)
    ctx = _token_context(make_context, token_registry, "bob")
    warnings = check_permissions(ctx, "local", "dev/website", "local", "dev/website-copy")
    assert warnings == [
        f"user bob may not push to dev/website-copy on {reg.host} "
        "(the token server granted pull only)"
    ]
    assert check_permissions(ctx, "local", "qa/website", "local", "dev/website") == [
        f"user bob may not read qa/website on {reg.host} "
        "(the token server granted no access to it)",
        f"user bob may not push to dev/website on {reg.host} (the token server granted pull only)",
    ]

    dialog = PolicyEditor(ctx, "local", "dev/website")
    qtbot.addWidget(dialog)
    dialog.show()
    # bob may not list the catalog: the profile's remembered repositories are offered.
    qtbot.waitUntil(lambda: dialog.target_picker.names() == ["qa/known"], timeout=10_000)
    with qtbot.waitSignal(dialog.permissions_label.checked, timeout=10_000) as checked:
        commit_target(qtbot, dialog, "qa/website")
    assert checked.args == [
        [
            f"user bob may not push to qa/website on {reg.host} "
            "(the token server granted no access to it)"
        ]
    ]
    assert "may not push to qa/website" in dialog.permissions_label.text()
    assert "fff4ce" in dialog.permissions_label.styleSheet()
    # Warnings do not block saving: the registry may grant the right later.
    qtbot.waitUntil(dialog.save_button.isEnabled)


@COMPLETER_POPUP
def test_permissions_of_alice_are_fine_and_the_probe_upload_is_cancelled(
    qtbot: QtBot, make_context: ContextFactory, token_registry: TokenRegistry
) -> None:
    reg = token_registry.registry
    alice = TokenAuth("alice", token_registry.users["alice"])
    push_image(reg.url, "dev/website", "1.4-stable", build_image(seed=53), auth=alice)
    ctx = _token_context(make_context, token_registry, "alice")
    assert check_permissions(ctx, "local", "dev/website", "local", "qa/website") == []
    # The probe's upload session is gone: distribution keeps only a hash state file of a
    # cancelled upload; an open one has its data and start time.
    open_uploads = [
        *reg.storage.rglob("_uploads/*/data"),
        *reg.storage.rglob("_uploads/*/startedat"),
    ]
    assert open_uploads == []
    dialog = PolicyEditor(ctx, "local", "dev/website")
    qtbot.addWidget(dialog)
    dialog.show()
    with qtbot.waitSignal(dialog.permissions_label.checked, timeout=10_000) as checked:
        commit_target(qtbot, dialog, "qa/website")
    assert checked.args == [[]]
    assert "may not" not in dialog.permissions_label.text()
    assert dialog.permissions_label.text().startswith("✓")
    # alice may list the catalog: the source repository is offered as a target.
    qtbot.waitUntil(lambda: "dev/website" in dialog.target_picker.names(), timeout=10_000)
    qtbot.waitUntil(lambda: dialog.template.preview_label.text().startswith("1.4-stable →"))
