"""The policy editor dialog: building, validating, saving and editing policies."""

from __future__ import annotations

from datetime import UTC, datetime

from pytestqt.qtbot import QtBot

from hoister.policies import OverwriteMode, Policy, Rule, TimeZoneMode
from hoister.store import PolicyStore
from hoister.store.base import default_author
from hoister.ui.context import AppContext
from hoister.ui.promotions.policy_editor import PolicyEditor
from tests.support.images import build_image, push_image
from tests.support.registry import RegistryServer
from tests.ui.conftest import ContextFactory

NOW = datetime(2026, 11, 30, 9, 5, 3, tzinfo=UTC)
SEED = Policy(
    source_profile="local",
    source_repository="dev/website",
    target_repository="qa/website",
    tag_template="%Y%m%d-%H%M%S",
    rules=(Rule("tag", "ew", ("stable",)),),
    name="Stable builds to QA",
)


def fixed_clock() -> datetime:
    return NOW


def open_editor(
    qtbot: QtBot, ctx: AppContext, policy: Policy | None = None, repository: str = "dev/website"
) -> PolicyEditor:
    dialog = PolicyEditor(ctx, "local", repository, policy, clock=fixed_clock)
    qtbot.addWidget(dialog)
    dialog.show()
    # The other policies (cycle check) and the permission check come from workers.
    qtbot.waitUntil(lambda: dialog.others is not None)
    return dialog


def stored(ctx: AppContext) -> list[Policy]:
    with PolicyStore(ctx.database) as store:
        return store.list()


def store(ctx: AppContext, policy: Policy) -> Policy:
    with PolicyStore(ctx.database) as policies:
        return policies.add(policy)


def fill_seed(qtbot: QtBot, dialog: PolicyEditor) -> None:
    """Type the seed policy into the dialog the way a person would."""
    qtbot.keyClicks(dialog.name_edit, "Stable builds to QA")
    dialog.criteria.add_button.click()
    [row] = dialog.criteria.rows
    assert row.field_combo.currentText() == "Tag name"
    row.operator_combo.setCurrentIndex(row.operator_combo.findText("ends with"))
    qtbot.keyClicks(row.value_widget, "stable")
    qtbot.keyClicks(dialog.target_picker.line_edit, "qa/website")
    dialog.template.edit.clear()
    qtbot.keyClicks(dialog.template.edit, "%Y%m%d-%H%M%S")
    qtbot.waitUntil(dialog.save_button.isEnabled)


def test_the_seed_policy_is_built_through_the_widgets_and_saved(
    qtbot: QtBot, registry: RegistryServer, make_context: ContextFactory
) -> None:
    push_image(registry.url, "dev/website", "1.4-stable", build_image(seed=41))
    ctx = make_context(local=registry)
    dialog = open_editor(qtbot, ctx)
    assert dialog.source_label.text() == "local:dev/website"
    assert dialog.target_profile_combo.currentText() == "local"
    assert not dialog.save_button.isEnabled()  # no target repository yet
    fill_seed(qtbot, dialog)
    assert dialog.problems_label.text() == "Ready to save."
    qtbot.waitUntil(lambda: dialog.template.preview_label.text().startswith("1.4-stable"))
    assert dialog.template.preview_label.text() == "1.4-stable → 20261130-090503"
    with qtbot.waitSignal(dialog.saved, timeout=10_000) as saved:
        dialog.save_button.click()
    [policy] = stored(ctx)
    assert saved.args == [policy.id, False]
    assert dialog.result() == PolicyEditor.DialogCode.Accepted
    assert (policy.version, policy.updated_by) == (1, default_author())
    assert (
        policy.with_changes(id=None, created_at=None, updated_at=None, version=0, updated_by="")
        == SEED
    )
    assert policy.overwrite is OverwriteMode.SKIP and policy.enabled
    assert policy.target_profile is None and policy.time_zone is TimeZoneMode.UTC


def test_each_invalid_input_disables_save_with_its_message_at_its_field(
    qtbot: QtBot, registry: RegistryServer, make_context: ContextFactory
) -> None:
    dialog = open_editor(qtbot, make_context(local=registry))
    fill_seed(qtbot, dialog)
    [row] = dialog.criteria.rows

    def refused() -> bool:
        return not dialog.save_button.isEnabled() and not dialog.save_apply_button.isEnabled()

    # A bad regular expression: the message sits under the row, the value is framed red.
    row.operator_combo.setCurrentIndex(row.operator_combo.findData("matches"))
    row.value_widget.setText("(")
    qtbot.waitUntil(refused)
    assert "invalid regular expression '('" in row.problem_label.text()
    assert row.problem_label.isVisible() and "b3261e" in row.value_widget.styleSheet()
    assert "criterion 1" in dialog.problems_label.text()
    row.value_widget.setText(r".*-stable")
    qtbot.waitUntil(dialog.save_button.isEnabled)
    assert row.problem_label.isHidden() and row.value_widget.styleSheet() == ""

    # Templates: an unknown token, then one that cannot yield a valid tag.
    for template, message in (
        ("%q", "unknown token '%q' at position 1"),
        ("%Y:%m", "':' at position 3 is not allowed in a tag"),
    ):
        dialog.template.set_text(template)
        qtbot.waitUntil(refused)
        assert message in (dialog.template.error() or "")
        assert "b3261e" in dialog.template.error_label.text()
        assert dialog.template.error_label.isVisible()
        assert "tag template" in dialog.problems_label.text()
        dialog.template.set_text("%Y%m%d-%H%M%S")
        qtbot.waitUntil(dialog.save_button.isEnabled)
        assert dialog.template.error_label.isHidden()

    # An invalid repository name, at the picker.
    dialog.target_picker.set_repository("Qa/Website")
    qtbot.waitUntil(refused)
    assert "lower case" in dialog.target_picker.message()
    assert "target repository" in dialog.problems_label.text()
    dialog.target_picker.set_repository("qa/website")
    qtbot.waitUntil(dialog.save_button.isEnabled)
    assert "lower case" not in dialog.target_picker.message()

    # A webhook that is not an http(s) URL.
    dialog.webhook_edit.setText("ftp://example.com/hook")
    qtbot.waitUntil(refused)
    assert "not an http(s) URL" in dialog.field_messages["webhook"].text()
    dialog.webhook_edit.setText("https://example.com/hook")
    qtbot.waitUntil(dialog.save_button.isEnabled)


def test_a_cycle_with_another_policy_is_shown_at_the_target_with_its_chain(
    qtbot: QtBot, registry: RegistryServer, make_context: ContextFactory
) -> None:
    ctx = make_context(local=registry)
    store(ctx, Policy("local", "qa/website", "dev/website", "%n", name="back to dev"))
    dialog = open_editor(qtbot, ctx)
    dialog.target_picker.set_repository("qa/site")
    qtbot.waitUntil(dialog.save_button.isEnabled)
    dialog.target_picker.set_repository("qa/website")
    qtbot.waitUntil(lambda: not dialog.save_button.isEnabled())
    message = dialog.target_picker.message()
    assert "dev/website -> qa/website -> dev/website" in message
    assert "loop" in message and "target (a loop)" in dialog.problems_label.text()
    # Disabling the new policy breaks the loop (a disabled policy never runs).
    dialog.enabled_check.setChecked(False)
    qtbot.waitUntil(dialog.save_button.isEnabled)
    assert "->" not in dialog.target_picker.message()


def test_a_loop_created_meanwhile_is_refused_by_the_store_and_shown(
    qtbot: QtBot, registry: RegistryServer, make_context: ContextFactory
) -> None:
    ctx = make_context(local=registry)
    dialog = open_editor(qtbot, ctx)
    fill_seed(qtbot, dialog)
    store(ctx, Policy("local", "qa/website", "dev/website", "%n", name="made elsewhere"))
    with qtbot.assertNotEmitted(dialog.saved, wait=100):
        dialog.save_button.click()
        qtbot.waitUntil(lambda: "Not saved" in dialog.problems_label.text(), timeout=10_000)
    assert "loop" in dialog.problems_label.text() and dialog.isVisible()
    assert len(stored(ctx)) == 1
    # The dialog reloads the other policies and now shows the loop at the target.
    qtbot.waitUntil(lambda: "dev/website -> qa/website" in dialog.target_picker.message())
    assert not dialog.save_button.isEnabled()


def test_a_loop_through_another_profile_of_the_same_registry_is_seen_and_refused(
    qtbot: QtBot, registry: RegistryServer, make_context: ContextFactory
) -> None:
    ctx = make_context(local=registry, alias=registry)
    store(ctx, Policy("alias", "qa/website", "dev/website", "%n", name="back via alias"))
    dialog = open_editor(qtbot, ctx)
    dialog.target_picker.set_repository("qa/website")
    qtbot.waitUntil(lambda: "the same registry as local" in dialog.target_picker.message())
    assert "dev/website on local -> qa/website on local -> dev/website on alias" in (
        dialog.target_picker.message()
    )
    assert not dialog.save_button.isEnabled()


def test_an_alias_loop_created_meanwhile_is_refused_by_the_store(
    qtbot: QtBot, registry: RegistryServer, make_context: ContextFactory
) -> None:
    ctx = make_context(local=registry, alias=registry)
    dialog = open_editor(qtbot, ctx)
    fill_seed(qtbot, dialog)
    store(ctx, Policy("alias", "qa/website", "dev/website", "%n", name="made elsewhere"))
    with qtbot.assertNotEmitted(dialog.saved, wait=100):
        dialog.save_button.click()
        qtbot.waitUntil(lambda: "Not saved" in dialog.problems_label.text(), timeout=10_000)
    assert "the same registry as local" in dialog.problems_label.text()
    assert len(stored(ctx)) == 1


def test_editing_shows_every_value_and_save_and_apply_updates_the_policy(
    qtbot: QtBot, registry: RegistryServer, make_context: ContextFactory
) -> None:
    ctx = make_context(local=registry, other=registry)
    original = store(
        ctx,
        Policy(
            "local",
            "dev/website",
            "prod/website",
            "%n-%{build}",
            rules=(
                Rule("tag", "matches", (r"(?P<build>\d+)-stable",)),
                Rule("vulnerability_critical", "lte", ("0",)),
                Rule("label.org.opencontainers.image.vendor", "oo", ("acme", "acme inc")),
                Rule("size", "lt", ("1.5GiB",)),
                Rule("signed", "eq", ("true",)),
                Rule("updated_at", "af", ("2026-01-02T03:04:00Z",)),
                Rule("age", "lt", ("7d",)),
            ),
            name="To prod",
            description="Signed, small, no critical CVE",
            target_profile="other",
            enabled=False,
            overwrite=OverwriteMode.BACKUP,
            time_zone=TimeZoneMode.LOCAL,
            copy_referrers=False,
            record_provenance=False,
            webhook_url="https://hooks.example.com/promoted",
        ),
    )
    dialog = open_editor(qtbot, ctx, original)
    assert dialog.windowTitle() == "Edit promotion policy"
    assert dialog.name_edit.text() == "To prod"
    assert dialog.description_edit.toPlainText() == "Signed, small, no critical CVE"
    assert dialog.criteria.rules() == original.rules
    assert dialog.target_profile_combo.currentText() == "other"
    assert dialog.target_picker.repository() == "prod/website"
    assert dialog.template.text() == "%n-%{build}"
    assert dialog.overwrite_combo.currentData() == OverwriteMode.BACKUP
    assert dialog.time_zone_combo.currentData() == TimeZoneMode.LOCAL
    assert not dialog.enabled_check.isChecked()
    assert not dialog.copy_referrers_check.isChecked()
    assert not dialog.provenance_check.isChecked()
    assert dialog.webhook_edit.text() == "https://hooks.example.com/promoted"
    # %{build} comes from the matches rule's group: the template is valid.
    assert dialog.save_button.isEnabled() and dialog.template.error() is None
    dialog.template.set_sample("17-stable")
    assert dialog.template.preview_label.text() == "17-stable → 17-stable-17"

    dialog.name_edit.setText("To production")
    dialog.enabled_check.setChecked(True)
    qtbot.waitUntil(dialog.save_apply_button.isEnabled)
    with qtbot.waitSignal(dialog.saved, timeout=10_000) as saved:
        dialog.save_apply_button.click()
    assert saved.args == [original.id, True]
    [policy] = stored(ctx)
    assert policy.name == "To production" and policy.enabled
    assert policy.created_at == original.created_at
    expected = original.with_changes(name="To production", enabled=True, version=2)
    assert policy.with_changes(updated_at=None) == expected.with_changes(updated_at=None)
