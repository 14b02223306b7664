"""Render the app's main screens offscreen to PNG files for the README.

Runs the real app against a real sandbox registry loaded with the sample content, so the
pictures show what a newcomer sees after `make run` and "Start a sandbox registry".

    python tools/screenshots.py [OUTPUT_DIR]     (default: docs/screenshots)
"""

from __future__ import annotations

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
from hoister.ui.context import AppContext  # noqa: E402
from hoister.ui.main_window import MainWindow  # noqa: E402
from hoister.ui.shared.theme import apply_theme  # noqa: E402

WIDTH, HEIGHT = 1280, 780


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


def main() -> int:
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "docs" / "screenshots"
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="hoister-shots-") as home:
        os.environ["HOISTER_HOME"] = home
        os.environ["DOCKER_CONFIG"] = str(Path(home) / "docker")
        app = create_application([])
        app.setStyleSheet("")
        ctx = AppContext.create(default_paths())
        apply_theme(app, "light")
        window = MainWindow(ctx)
        window.resize(WIDTH, HEIGHT)
        window.show()
        wait(app, lambda: window.isVisible())
        shoot(window, out / "welcome.png")

        sandbox = SandboxRegistry(ctx.paths.data)
        with sandbox:
            sandbox.start()
            profile = sandbox.ensure_profile(ctx.profiles, "sandbox")
            store = PolicyStore(ctx.database)
            load_sample_content(ctx.client(profile.name), store, profile.name)
            store.close()
            window.sidebar.reload_profiles()
            window.sidebar.load("sandbox")
            wait(app, lambda: window.sidebar.model.repository_count("sandbox") > 0)
            window.sidebar.select_repository("sandbox", "dev/website")
            page = window.page
            assert page is not None
            wait(app, lambda: page.tags.model.rowCount() >= 5)
            page.tags.table.selectRow(0)
            wait(app, lambda: page.tags.model.details_count() == page.tags.model.rowCount())
            wait(app, lambda: ctx.pool.activeThreadCount() == 0)
            shoot(window, out / "tags.png")
            for theme in ("dark",):
                apply_theme(app, theme)
                wait(app, lambda: True)
                shoot(window, out / f"tags-{theme}.png")
            apply_theme(app, "light")

            # a promotion, so the history and the target's tags have something to show
            promote_one_stable_build(ctx, profile.name)
            page.tabs.setCurrentWidget(page.promotions)
            page.promotions.refresh()
            wait(app, lambda: page.promotions.model.rowCount() >= 1)
            wait(app, lambda: ctx.pool.activeThreadCount() == 0)
            page.promotions.table.selectRow(0)
            wait(app, lambda: ctx.pool.activeThreadCount() == 0)
            shoot(window, out / "promotions.png")

            editor = page.promotions.open_editor(page.promotions.selected_policy())
            editor.resize(900, 720)
            wait(app, lambda: editor.template.preview_label.text().count("→") == 1)
            wait(app, lambda: ctx.pool.activeThreadCount() == 0)
            shoot(editor, out / "editor.png")
            editor.reject()

            page.tabs.setCurrentWidget(page.history)
            page.history.refresh()
            wait(app, lambda: page.history.model.rowCount() >= 2)
            shoot(window, out / "history.png")

            window.sidebar.reconnect("sandbox")
            wait(app, lambda: window.sidebar.model.repository_count("sandbox") >= 2)
            window.sidebar.select_repository("sandbox", "qa/website")
            target = window.page
            assert target is not None
            wait(app, lambda: target.tags.model.rowCount() >= 1)
            target.tags.table.selectRow(0)
            details = target.tags.details
            wait(app, lambda: "Where this image came from" in details.browser.toPlainText())
            shoot(window, out / "provenance.png")
            window.close()
            ctx.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
