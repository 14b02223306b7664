"""The dry run: every existing tag with its verdicts and new name; nothing is written."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
from PySide6.QtCore import Qt
from pytestqt.modeltest import ModelTester
from pytestqt.qtbot import QtBot

from hoister.engine.dryrun import DryRunRow
from hoister.engine.engine import Engine
from hoister.engine.watcher import Candidate
from hoister.policies import Evaluation, Outcome, Policy, Rule, Verdict
from hoister.profiles import Profile
from hoister.store import PolicyStore
from hoister.ui.background.engine_controller import EngineController
from hoister.ui.context import AppContext
from hoister.ui.main_window import MainWindow
from hoister.ui.promotions.dry_run_dialog import DryRunDialog
from hoister.ui.promotions.dry_run_model import (
    FIRST_CRITERION,
    TAG,
    VERDICT,
    DryRunFilter,
    DryRunModel,
    RowRole,
    SortRole,
)
from tests.support.images import build_image, push_image
from tests.support.registry import RegistryServer
from tests.ui.conftest import ContextFactory
from tests.ui.promotions.window import open_promotions, open_repository, open_window

NOW = datetime(2026, 11, 30, 9, 5, 3, tzinfo=UTC)
STABLE = Rule("tag", "ew", ("stable",))
NO_CRITICAL = Rule("vulnerability_critical", "lte", ("0",))


def seed_policy(**changes: object) -> Policy:
    return Policy(
        source_profile="local",
        source_repository="dev/website",
        target_repository="qa/website",
        tag_template="%n-qa",
        rules=(STABLE,),
        name="Stable builds to QA",
        id=5,
    ).with_changes(**changes)


def push_seed_tags(registry: RegistryServer) -> dict[str, str]:
    digests = {}
    for seed, tag in enumerate(("1.0", "1.1-stable", "1.2-stable"), start=60):
        image = build_image(seed=seed, layers=1)
        push_image(registry.url, "dev/website", tag, image)
        digests[tag] = image.digest
    return digests


def open_dialog(qtbot: QtBot, ctx: AppContext, policy: Policy) -> DryRunDialog:
    dialog = DryRunDialog(ctx, policy, clock=lambda: NOW)
    qtbot.addWidget(dialog)
    with qtbot.waitSignal(dialog.loaded, timeout=30_000):
        dialog.show()
    return dialog


def row_of(dialog: DryRunDialog, tag: str) -> int:
    for number in range(dialog.proxy.rowCount()):
        if dialog.proxy.index(number, TAG).data() == tag:
            return number
    raise AssertionError(f"{tag} is not shown")


def text(dialog: DryRunDialog, tag: str, column: int, role: int = 0) -> object:
    index = dialog.proxy.index(row_of(dialog, tag), column)
    return index.data(role or Qt.ItemDataRole.DisplayRole)


def qa_tags(registry: RegistryServer) -> int:
    return httpx.get(f"{registry.url}/v2/qa/website/tags/list", timeout=10).status_code


def test_dry_run_model_is_valid(qtmodeltester: ModelTester) -> None:
    model = DryRunModel()
    qtmodeltester.check(model)
    policy = seed_policy(rules=(STABLE, NO_CRITICAL))
    held = Verdict(STABLE, Outcome.HELD, "Tag name: '1.1-stable', which ends with 'stable'")
    failed = Verdict(STABLE, Outcome.FAILED, "Tag name: '1.0', which does not end with 'stable'")
    unknown = Verdict(NO_CRITICAL, Outcome.UNKNOWN, "unknown: no scan report", None)
    clean = Verdict(NO_CRITICAL, Outcome.HELD, "Vulnerabilities: critical: 0, which is at most 0")
    rows = [
        DryRunRow("1.0", None, Evaluation((failed, unknown), {}), None),
        DryRunRow("1.1-stable", "sha256:" + "a" * 64, Evaluation((held, clean), {}), "1.1-qa"),
        DryRunRow("1.2-stable", None, Evaluation((held, unknown), {}), None),
        DryRunRow("bad", "sha256:" + "b" * 64, Evaluation((held, clean), {}), None, "too long"),
    ]
    model.set_rows(policy, rows)
    qtmodeltester.check(model)
    assert model.columnCount() == 5 and model.target_column == 4
    assert model.headerData(FIRST_CRITERION + 1, Qt.Orientation.Horizontal) == (
        "Vulnerabilities: critical is at most 0"
    )
    verdicts = [model.index(n, VERDICT).data() for n in range(4)]
    assert verdicts == ["no", "promote", "unknown", "error"]
    assert model.index(0, FIRST_CRITERION + 1).data() == "unknown: no scan report"
    assert model.index(1, model.target_column).data() == "qa/website:1.1-qa"
    assert model.index(3, model.target_column).data() == "too long"
    assert model.index(1, TAG).data(RowRole) is rows[1]
    assert model.index(1, VERDICT).data(SortRole) < model.index(0, VERDICT).data(SortRole)
    assert [r.tag for r in model.promotable()] == ["1.1-stable"]

    only = DryRunFilter()
    only.setSourceModel(model)
    only.set_only_promoted(True)
    qtmodeltester.check(only)
    assert only.rowCount() == 1

    model.set_rows(seed_policy(rules=()), rows[1:2])  # a policy with no criteria
    qtmodeltester.check(model)
    assert model.columnCount() == 3


def test_the_dry_run_explains_every_tag_and_promotes_only_on_confirmation(
    qtbot: QtBot, registry: RegistryServer, make_context: ContextFactory
) -> None:
    digests = push_seed_tags(registry)
    ctx = make_context(local=registry)
    dialog = open_dialog(qtbot, ctx, seed_policy())
    assert dialog.model.rowCount() == 3
    assert dialog.model.headerData(FIRST_CRITERION, Qt.Orientation.Horizontal) == (
        "Tag name ends with 'stable'"
    )
    target = dialog.model.target_column
    assert dialog.model.headerData(target, Qt.Orientation.Horizontal) == "Would become"
    assert text(dialog, "1.1-stable", VERDICT) == "promote"
    assert text(dialog, "1.2-stable", VERDICT) == "promote"
    assert text(dialog, "1.0", VERDICT) == "no"
    assert text(dialog, "1.1-stable", target) == "qa/website:1.1-stable-qa"
    assert text(dialog, "1.2-stable", target) == "qa/website:1.2-stable-qa"
    assert text(dialog, "1.0", target) == ""
    reason = str(text(dialog, "1.0", FIRST_CRITERION))
    assert reason.startswith("no: ") and "does not end with 'stable'" in reason
    tooltip = str(text(dialog, "1.0", FIRST_CRITERION, Qt.ItemDataRole.ToolTipRole))
    assert tooltip == "Tag name: '1.0', which does not end with 'stable'"
    assert dialog.summary.text() == "2 of 3 tags would be promoted to qa/website"
    assert dialog.promote_button.text() == "Promote 2 tags"
    assert dialog.promote_button.isEnabled()

    dialog.only_promoted.setChecked(True)
    assert dialog.proxy.rowCount() == 2
    dialog.only_promoted.setChecked(False)
    assert dialog.proxy.rowCount() == 3

    with qtbot.waitSignal(dialog.confirmed, timeout=5_000) as confirmed:
        qtbot.mouseClick(dialog.promote_button, Qt.MouseButton.LeftButton)
    [candidates] = confirmed.args
    assert sorted((c.tag, c.digest) for c in candidates) == [
        ("1.1-stable", digests["1.1-stable"]),
        ("1.2-stable", digests["1.2-stable"]),
    ]
    for candidate in candidates:
        assert (candidate.profile, candidate.repository) == ("local", "dev/website")
        assert (candidate.trigger, candidate.only_policy, candidate.hop) == ("existing", 5, 0)
        assert candidate.seen_at == NOW
    assert dialog.result() == DryRunDialog.DialogCode.Accepted
    assert qa_tags(registry) == 404  # the dialog itself wrote nothing


def test_closing_without_confirming_emits_nothing(
    qtbot: QtBot, registry: RegistryServer, make_context: ContextFactory
) -> None:
    push_seed_tags(registry)
    dialog = open_dialog(qtbot, make_context(local=registry), seed_policy())
    emitted: list[object] = []
    dialog.confirmed.connect(emitted.append)
    qtbot.mouseClick(dialog.close_button, Qt.MouseButton.LeftButton)
    assert dialog.result() == DryRunDialog.DialogCode.Rejected
    assert emitted == [] and qa_tags(registry) == 404


def test_nothing_to_promote_disables_the_button(
    qtbot: QtBot, registry: RegistryServer, make_context: ContextFactory
) -> None:
    push_image(registry.url, "dev/website", "1.0", build_image(seed=70, layers=1))
    dialog = open_dialog(qtbot, make_context(local=registry), seed_policy())
    assert dialog.summary.text() == "0 of 1 tag would be promoted to qa/website"
    assert dialog.promote_button.text() == "Promote 0 tags"
    assert not dialog.promote_button.isEnabled()


def test_a_disabled_policy_is_explained_not_promoted(
    qtbot: QtBot, registry: RegistryServer, make_context: ContextFactory
) -> None:
    push_seed_tags(registry)
    dialog = open_dialog(qtbot, make_context(local=registry), seed_policy(enabled=False))
    assert dialog.promote_button.text() == "Promote 2 tags"
    assert not dialog.promote_button.isEnabled()
    assert "disabled" in dialog.status.text()


def test_a_repository_never_pushed_to_has_no_tags(
    qtbot: QtBot, registry: RegistryServer, make_context: ContextFactory
) -> None:
    dialog = open_dialog(qtbot, make_context(local=registry), seed_policy())
    assert dialog.model.rowCount() == 0
    assert dialog.status.text() == "dev/website has no tags yet."
    assert not dialog.promote_button.isEnabled()


def test_an_unreachable_registry_is_reported_in_place(
    qtbot: QtBot, make_context: ContextFactory
) -> None:
    ctx = make_context()
    ctx.profiles.add(Profile(name="local", url="http://127.0.0.1:9"))
    dialog = open_dialog(qtbot, ctx, seed_policy())
    assert dialog.status.text().startswith("The dry run could not finish: ")
    assert "Traceback" not in dialog.status.text()
    assert dialog.progress.isHidden() and not dialog.promote_button.isEnabled()


def test_run_now_in_the_window_shows_earlier_promotions_and_does_not_offer_them(
    qtbot: QtBot, registry: RegistryServer, make_context: ContextFactory
) -> None:
    digests = push_seed_tags(registry)
    ctx = make_context(local=registry)
    with PolicyStore(ctx.database) as store:
        policy = store.add(seed_policy(id=None))
    # The engine promotes 1.1-stable for this policy, as it would after a push.
    engine = Engine(ctx.database, ctx.profiles, ctx.credential, client_factory=ctx.client_factory)
    try:
        candidate = Candidate(
            "local", "dev/website", "1.1-stable", digests["1.1-stable"], NOW, "poll"
        )
        assert engine.handle_candidate(candidate) == 1
        assert engine.runner.run_due()["promoted"] == 1
    finally:
        engine.close()

    controller = EngineController(ctx, interval=60.0)
    window = open_window(qtbot, ctx, controller)
    try:
        with qtbot.waitSignal(controller.cycle_done, timeout=15_000):
            controller.start()
        run_now_in_the_window(qtbot, window, digests, policy.id)
    finally:
        controller.stop()


def run_now_in_the_window(
    qtbot: QtBot, window: MainWindow, digests: dict[str, str], policy_id: int | None
) -> None:
    tab = open_promotions(qtbot, open_repository(qtbot, window, "dev/website"), policies=1)
    tab.table.selectRow(0)
    qtbot.mouseClick(tab.run_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: tab.dry_run_dialog is not None, timeout=5_000)
    dialog = tab.dry_run_dialog
    assert dialog is not None
    qtbot.waitUntil(lambda: dialog.model.rowCount() == 3, timeout=30_000)
    target = dialog.model.target_column
    assert text(dialog, "1.1-stable", VERDICT) == "already promoted"
    assert text(dialog, "1.1-stable", target) == "already promoted → qa/website:1.1-stable-qa"
    assert text(dialog, "1.2-stable", VERDICT) == "promote"
    assert dialog.summary.text() == (
        "1 of 3 tags would be promoted to qa/website (1 matched before: not promoted again)"
    )
    assert dialog.promote_button.text() == "Promote 1 tag"
    dialog.only_promoted.setChecked(True)
    assert dialog.proxy.rowCount() == 1 and text(dialog, "1.2-stable", TAG) == "1.2-stable"

    # Confirmed, only 1.2-stable goes to the app's engine, which promotes it.
    assert window.engine is not None
    engine = window.engine
    with (
        qtbot.waitSignal(tab.submit_candidates, timeout=5_000) as submitted,
        qtbot.waitSignal(engine.promotion_finished, timeout=30_000) as finished,
    ):
        qtbot.mouseClick(dialog.promote_button, Qt.MouseButton.LeftButton)
    [candidates] = submitted.args
    assert [(c.tag, c.digest, c.only_policy) for c in candidates] == [
        ("1.2-stable", digests["1.2-stable"], policy_id)
    ]
    row = finished.args[0]
    assert (row.source_tag, row.outcome, row.target_tag) == (
        "1.2-stable",
        "promoted",
        "1.2-stable-qa",
    )
