"""``python -m bench stall``: does the GUI thread stall on a large registry?

The real :class:`~hoister.ui.main_window.MainWindow` runs offscreen against the real
distribution registry holding 100,000 repositories, one of them with 10,001 tags (see
:mod:`bench.stallregistry`, built once and cached). A 10 ms timer on the GUI thread
measures how long the event loop went without running, per phase: loading the catalog,
filtering the sidebar, opening the big repository, sorting it by Created (which reads
every tag's details), filtering its tags. Each phase ends on a condition (a count, an
order, a flag), waited for with the event loop running; nothing sleeps.
"""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from bench.common import heading, progress, table
from bench.stallregistry import (
    BIG_REPOSITORY,
    BIG_TAGS,
    REPOSITORIES,
    big_tags,
    cache_root,
    created_order,
    ensure_storage,
)

PROFILE = "bench"
#: distribution 2.8 walks its whole tree from the start for every catalog page, so
#: 1,000-name pages would take minutes; 5,000 (the registry's maxentries too) is 20 pages.
CATALOG_PAGE = 5_000
TICK_MS = 10
STALL_MS = 50
QUIET_TICKS = 10
SIDEBAR_FILTERS = ("service-42", "team-042/", "releases/web", "")
TAG_FILTERS = ("1.42.", "7", "")


@dataclass
class Phase:
    name: str
    gaps_ms: list[float] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def longest(self) -> float:
        return max(self.gaps_ms, default=0.0)

    @property
    def stalls(self) -> int:
        return sum(1 for gap in self.gaps_ms if gap > STALL_MS)


def _qt() -> tuple[type, type, type]:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import QEventLoop, QTimer
    from PySide6.QtWidgets import QApplication

    return QApplication, QEventLoop, QTimer


class GapMeter:
    """A 10 ms timer on the GUI thread; each late tick is a gap the user would feel."""

    def __init__(self) -> None:
        _, _, timer_class = _qt()
        from PySide6.QtCore import Qt

        self._timer = timer_class()
        self._timer.setTimerType(Qt.TimerType.PreciseTimer)
        self._timer.setInterval(TICK_MS)
        self._timer.timeout.connect(self._tick)
        self._phase: Phase | None = None
        self._last = time.perf_counter()
        self._quiet = 0  # ticks in a row that came on time

    def _tick(self) -> None:
        now = time.perf_counter()
        gap = (now - self._last) * 1000
        if self._phase is not None:
            self._phase.gaps_ms.append(gap)
        self._quiet = self._quiet + 1 if gap < 1.5 * TICK_MS else 0
        self._last = now

    def measure(self, name: str, run: Callable[[], None]) -> Phase:
        phase = Phase(name)
        progress(f"phase: {name}")
        started = self._last = time.perf_counter()
        self._phase = phase
        self._timer.start()
        try:
            run()
            # Work the phase left queued (a delayed layout, the last chunks) belongs to it.
            self._quiet = 0
            wait_until(lambda: self._quiet >= QUIET_TICKS, "the GUI thread to be idle again")
        finally:
            self._tick()  # the stretch since the last tick counts too
            self._timer.stop()
            self._phase = None
        phase.seconds = time.perf_counter() - started
        return phase


def wait_until(condition: Callable[[], bool], what: str, timeout: float = 600.0) -> None:
    """Run the event loop until ``condition()`` holds (checked every 20 ms)."""
    _, loop_class, timer_class = _qt()
    if condition():
        return
    loop, poll = loop_class(), timer_class()
    deadline = time.monotonic() + timeout

    def check() -> None:
        if condition() or time.monotonic() > deadline:
            loop.quit()

    poll.setInterval(20)
    poll.timeout.connect(check)
    poll.start()
    loop.exec()
    poll.stop()
    if not condition():
        raise RuntimeError(f"timed out after {timeout:.0f} s waiting for {what}")


def _context(home: Path):  # type: ignore[no-untyped-def]
    from hoister.paths import default_paths
    from hoister.profiles import Profile
    from hoister.registry import RegistryClient
    from hoister.ui.context import AppContext

    def factory(profile, credential):  # type: ignore[no-untyped-def]
        client = RegistryClient(profile.url, credential)
        client.page_size = CATALOG_PAGE
        return client

    os.environ["HOISTER_HOME"] = str(home / "home")
    os.environ["DOCKER_CONFIG"] = str(home / "docker")
    (home / "docker").mkdir()
    ctx = AppContext.create(default_paths(), client_factory=factory)
    return ctx, Profile


def run_phases(url: str, home: Path) -> list[Phase]:
    _qt()  # the offscreen platform, before the application is made
    from PySide6.QtCore import Qt

    from hoister.ui.app import create_application

    app = create_application([])  # the app's own set-up, as `hoister` makes it

    from hoister.ui.browsing.tags_model import CREATED, TAG
    from hoister.ui.main_window import MainWindow

    ctx, profile_class = _context(home)
    ctx.profiles.add(profile_class(name=PROFILE, url=url))
    window = MainWindow(ctx)
    window.resize(1600, 1000)
    window.show()
    app.processEvents()
    meter, phases = GapMeter(), []
    sidebar = window.sidebar
    done: list[str] = []
    sidebar.activity.connect(done.append)
    try:

        def catalog() -> None:
            connection = sidebar.proxy.mapFromSource(sidebar.model.item(0).index())
            sidebar.tree.expand(connection)  # what a person does; loads the catalog
            wait_until(lambda: any(f"{REPOSITORIES:,} repositories" in m for m in done), "catalog")

        phases.append(meter.measure(f"catalog, {REPOSITORIES:,} repositories", catalog))
        for text in SIDEBAR_FILTERS:

            def sidebar_filter(text: str = text) -> None:
                sidebar.filter_edit.setText(text)
                wait_until(lambda: _sidebar_settled(sidebar, text), f"sidebar filter {text!r}")

            label = f"sidebar filter {text!r}" if text else "sidebar filter cleared"
            phases.append(meter.measure(label, sidebar_filter))

        def open_big() -> None:
            sidebar.select_repository(PROFILE, BIG_REPOSITORY)
            wait_until(lambda: window.page is not None, "the repository page")
            assert window.page is not None
            tags = window.page.tags
            wait_until(
                lambda: tags.model.rowCount() == BIG_TAGS and not tags.loader.listing,
                "10,001 tags listed",
            )

        phases.append(meter.measure(f"open {BIG_REPOSITORY} ({BIG_TAGS:,} tags)", open_big))
        assert window.page is not None
        tags = window.page.tags
        names = big_tags()
        newest, oldest = (names[created_order().index(m)] for m in (BIG_TAGS - 1, 0))

        def sort_created() -> None:
            tags.table.sortByColumn(CREATED, Qt.SortOrder.DescendingOrder)
            wait_until(
                lambda: tags.model.details_count() == BIG_TAGS and not tags.loader.reading,
                "every tag's details",
            )
            first = tags.proxy.index(0, TAG).data()
            last = tags.proxy.index(BIG_TAGS - 1, TAG).data()
            wait_until(lambda: (first, last) == (newest, oldest), "newest first")

        phases.append(meter.measure("sort by Created, newest first", sort_created))
        for text in TAG_FILTERS:
            expected = sum(1 for name in names if text in name)

            def tag_filter(text: str = text, expected: int = expected) -> None:
                tags.filter_edit.setText(text)
                wait_until(lambda: tags.proxy.rowCount() == expected, f"tag filter {text!r}")

            label = f"tag filter {text!r} ({expected:,} rows)" if text else "tag filter cleared"
            phases.append(meter.measure(label, tag_filter))
    finally:
        window.close()
        window.deleteLater()
        app.processEvents()
        ctx.close()
    return phases


def _sidebar_settled(sidebar, text: str) -> bool:  # type: ignore[no-untyped-def]
    """The typed text is applied and the sidebar has nothing left to do for it."""
    if sidebar.filter_edit.text() != text or sidebar._filter_timer.isActive():
        return False
    applied = getattr(sidebar, "applied_filter", None)
    if applied is not None:  # the incremental filter says when it is done
        return applied() == text
    from PySide6.QtCore import QRegularExpression

    return sidebar.proxy.filterRegularExpression().pattern() == QRegularExpression.escape(text)


def report(phases: list[Phase]) -> None:
    heading(f"stall: longest gap of a {TICK_MS} ms GUI-thread timer, per phase")
    rows = [
        [p.name, f"{p.longest:.0f}", str(p.stalls), str(len(p.gaps_ms)), f"{p.seconds:.1f}"]
        for p in phases
    ]
    headers = ["phase", "longest gap ms", f"gaps > {STALL_MS} ms", "ticks", "phase s"]
    print(table(headers, rows, left=1))
    worst = max(phases, key=lambda p: p.longest)
    print(f"\nworst: {worst.name}, {worst.longest:.0f} ms", flush=True)


def verify(url: str) -> None:
    """A plain GET of what the window will read: the files were laid out right."""
    import httpx

    tags = httpx.get(f"{url}/v2/{BIG_REPOSITORY}/tags/list", timeout=60).json()["tags"]
    page = httpx.get(f"{url}/v2/_catalog?n=10", timeout=60).json()["repositories"]
    accept = {"Accept": "application/vnd.oci.image.manifest.v1+json"}
    sample = "team-123/service-45"
    head = httpx.head(f"{url}/v2/{sample}/manifests/latest", headers=accept, timeout=60)
    if len(tags) != BIG_TAGS or len(page) != 10 or head.status_code != 200:
        raise RuntimeError(f"the cached registry is not as built ({len(tags)} tags, {head})")
    progress(f"registry: {len(tags):,} tags in {BIG_REPOSITORY}; {sample}:latest answers")


def run() -> None:
    from tests.support.registry import RegistryServer

    from bench.common import Workspace

    root = cache_root()
    ensure_storage(root)
    with Workspace() as workspace:
        server = RegistryServer(root, maxentries=CATALOG_PAGE, delete_enabled=False)
        workspace.callback(server.stop)
        server.start()
        verify(server.url)
        home = Path(tempfile.mkdtemp(prefix="hoister-bench-stall-"))
        workspace.callback(__import__("shutil").rmtree, home, True)
        report(run_phases(server.url, home))
