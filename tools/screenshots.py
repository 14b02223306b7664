"""Render the app's main screens offscreen to PNG files for the README.

Runs the real app against a real sandbox registry loaded with the sample content, so the
pictures show what a newcomer sees after `make run` and "Start a sandbox registry".

    python tools/screenshots.py [OUTPUT_DIR]     (default: docs/screenshots)
"""

from __future__ import annotations

import itertools
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "app"))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtWidgets import QApplication, QWidget  # noqa: E402

from hoister.engine.engine import Engine  # noqa: E402
from hoister.paths import default_paths  # noqa: E402
from hoister.sample import load_sample_content  # noqa: E402
from hoister.sandbox import SandboxRegistry  # noqa: E402
from hoister.store import PolicyStore  # noqa: E402
from hoister.ui.app import create_application  # noqa: E402
from hoister.ui.browsing.repository_page import RepositoryPage  # noqa: E402
from hoister.ui.context import AppContext  # noqa: E402
from hoister.ui.main_window import MainWindow  # noqa: E402
from hoister.ui.shared.theme import apply_theme  # noqa: E402

#: The window sizes shown: a laptop's small window and a roomy desktop one.
SIZES = ((1024, 700), (1600, 1000))
THEMES = ("light", "dark")


def wait(app: QApplication, condition: Callable[[], bool], seconds: float = 30.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError("the screen did not finish loading")
        app.processEvents()
        time.sleep(0.01)
    for _ in range(20):
        app.processEvents()


def shoot(widget: QWidget, path: Path) -> None:
    widget.grab().save(str(path))
    print(f"wrote {path}")


def promote_one_stable_build(ctx: AppContext, profile: str) -> None:
    """Run the engine once on this thread: baseline, then a new stable build promoted."""
    engine = Engine(ctx.database, ctx.profiles, ctx.credential, actor="alice@workstation")
    try:
        engine.run_cycle()
        client = ctx.client(profile)
        manifest = client.get_manifest("dev/website", "1.2-stable")
        client.put_manifest("dev/website", "1.4-stable", manifest.data, manifest.media_type)
        engine.run_cycle()
    finally:
        engine.close()


def open_repository(app: QApplication, window: MainWindow, repository: str) -> RepositoryPage:
    window.sidebar.select_repository("sandbox", repository)
    page = window.page
    assert page is not None and page.repository == repository
    wait(app, lambda: page.tags.model.rowCount() >= 1 and not page.tags.loader.listing)
    return page


def settle(app: QApplication, ctx: AppContext) -> None:
    wait(app, lambda: ctx.pool.activeThreadCount() == 0)


def tags_screen(app: QApplication, window: MainWindow, ctx: AppContext) -> QWidget:
    page = open_repository(app, window, "dev/website")
    page.tabs.setCurrentWidget(page.tags)
    page.tags.select_tag("1.2-stable")
    wait(app, lambda: page.tags.model.details_count() == page.tags.model.rowCount())
    settle(app, ctx)
    return window


def promotions_screen(app: QApplication, window: MainWindow, ctx: AppContext) -> QWidget:
    page = open_repository(app, window, "dev/website")
    page.tabs.setCurrentWidget(page.promotions)
    wait(app, lambda: page.promotions.model.rowCount() >= 1)
    page.promotions.table.selectRow(0)
    settle(app, ctx)
    return window


def history_screen(app: QApplication, window: MainWindow, ctx: AppContext) -> QWidget:
    page = open_repository(app, window, "dev/website")
    page.tabs.setCurrentWidget(page.history)
    page.history.refresh()
    wait(app, lambda: page.history.model.rowCount() >= 2)
    settle(app, ctx)
    return window


def provenance_screen(app: QApplication, window: MainWindow, ctx: AppContext) -> QWidget:
    page = open_repository(app, window, "qa/website")
    page.tabs.setCurrentWidget(page.tags)
    page.tags.table.selectRow(0)
    details = page.tags.details
    wait(app, lambda: "Where this image came from" in details.browser.toPlainText())
    settle(app, ctx)
    return window


SCREENS: dict[str, Callable[[QApplication, MainWindow, AppContext], QWidget]] = {
    "tags": tags_screen,
    "promotions": promotions_screen,
    "history": history_screen,
    "provenance": provenance_screen,
}


def main() -> int:
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "docs" / "screenshots"
    out.mkdir(parents=True, exist_ok=True)
    for old in out.glob("*.png"):
        old.unlink()
    with tempfile.TemporaryDirectory(prefix="hoister-shots-") as home:
        os.environ["HOISTER_HOME"] = home
        os.environ["DOCKER_CONFIG"] = str(Path(home) / "docker")
        app = create_application([])
        app.setStyleSheet("")
        ctx = AppContext.create(default_paths())
        window = MainWindow(ctx)
        window.show()
        for (width, height), theme in itertools.product(SIZES, THEMES):
            apply_theme(app, theme)
            window.resize(width, height)
            wait(app, lambda: window.isVisible())
            shoot(window, out / f"welcome-{width}x{height}-{theme}.png")

        sandbox = SandboxRegistry(ctx.paths.data)
        with sandbox:
            sandbox.start()
            profile = sandbox.ensure_profile(ctx.profiles, "sandbox")
            store = PolicyStore(ctx.database)
            load_sample_content(ctx.client(profile.name), store, profile.name)
            store.close()
            # a promotion, so the history and the target's tags have something to show
            promote_one_stable_build(ctx, profile.name)
            window.sidebar.reload_profiles()
            window.sidebar.load("sandbox")
            wait(app, lambda: window.sidebar.model.repository_count("sandbox") >= 2)
            for (width, height), theme in itertools.product(SIZES, THEMES):
                apply_theme(app, theme)
                window.resize(width, height)
                for name, screen in SCREENS.items():
                    shoot(screen(app, window, ctx), out / f"{name}-{width}x{height}-{theme}.png")

            page = open_repository(app, window, "dev/website")
            page.tabs.setCurrentWidget(page.promotions)
            wait(app, lambda: page.promotions.model.rowCount() >= 1)
            page.promotions.table.selectRow(0)
            for theme in THEMES:
                apply_theme(app, theme)
                editor = page.promotions.open_editor(page.promotions.selected_policy())
                editor.resize(900, 760)
                preview = editor.template.preview_label
                wait(app, lambda p=preview: p.text().count("→") == 1)
                settle(app, ctx)
                shoot(editor, out / f"editor-{theme}.png")
                editor.reject()
            window.close()
            ctx.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
