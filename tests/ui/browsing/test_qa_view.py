"""QA in the real window: where each tag of a target came from, at 1024x700, filtered.

The repository is filled the way the engine fills it: the image copied into
qa/website, then a provenance record attached to it on the real registry.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from PySide6.QtCore import QModelIndex, Qt
from pytestqt.qtbot import QtBot

from hoister.credentials import Credential
from hoister.engine.provenance import ProvenanceRecord, attach_provenance
from hoister.profiles import Profile
from hoister.registry import Descriptor, RegistryClient
from hoister.ui.browsing.tags_filter import ANY_SOURCE
from hoister.ui.browsing.tags_model import CREATED, DIGEST, PLATFORMS, PROVENANCE, SIZE, TAG
from hoister.ui.browsing.tags_view import TagsView
from hoister.ui.main_window import MainWindow
from tests.support.images import Image, build_image, push_image
from tests.support.registry import RegistryServer
from tests.ui.conftest import ContextFactory

SCREENSHOTS = Path("/tmp")
TIP = Qt.ItemDataRole.ToolTipRole
#: (source repository, source tag, tag in qa/website, seed)
PROMOTED = [
    ("dev/website", "1.9-stable", "20261130-090503", 1),
    ("dev/website", "1.8-stable", "20261129-170000", 2),
    ("dev/api", "2.0-stable", "api-20261128-101010", 3),
]


def promote_into_qa(
    registry: RegistryServer, source: str, tag: str, target_tag: str, image: Image
) -> None:
    """What the engine leaves behind: the image under its new tag, and the record."""
    push_image(registry.url, source, tag, image)
    push_image(registry.url, "qa/website", target_tag, image)
    record = ProvenanceRecord(
        policy_id=1,
        policy_name="Stable builds to QA",
        source_registry=registry.url.split("//", 1)[-1],
        source_repository=source,
        source_tag=tag,
        source_digest=image.digest,
        target_repository="qa/website",
        target_tag=target_tag,
        promoted_at=datetime(2026, 11, 30, 9, 5, tzinfo=UTC),
        promoted_by="engine@qa-box",
    )
    with RegistryClient(registry.url) as client:
        subject = Descriptor(image.media_type, image.digest, image.size)
        attach_provenance(client, "qa/website", subject, record)


@pytest.fixture
def qa_website(registry: RegistryServer) -> RegistryServer:
    for source, tag, target_tag, seed in PROMOTED:
        promote_into_qa(registry, source, tag, target_tag, build_image(seed=seed))
    push_image(registry.url, "qa/website", "manual-smoke", build_image(seed=4))
    return registry


def open_qa_website(qtbot: QtBot, window: MainWindow) -> TagsView:
    """Through the sidebar, as a person does."""
    qtbot.addWidget(window)
    window.show()
    window.resize(1024, 700)
    qtbot.waitUntil(lambda: window.size().width() == 1024 and window.size().height() == 700)
    window.sidebar.load("local")
    qtbot.waitUntil(lambda: window.sidebar.model.repository_count("local") == 3, timeout=15000)
    window.sidebar.select_repository("local", "qa/website")
    assert window.page is not None
    return window.page.tags


def row_index(view: TagsView, tag: str, column: int) -> QModelIndex:
    number = view.model.row_of(tag)
    assert number is not None
    return view.proxy.mapFromSource(view.model.index(number, column))


def shown_tags(view: TagsView) -> list[str]:
    return sorted(view.proxy.index(r, TAG).data() for r in range(view.proxy.rowCount()))


def test_provenance_is_next_to_the_tag_and_fits_at_1024x700(
    qtbot: QtBot, make_context: ContextFactory, qa_website: RegistryServer
) -> None:
    window = MainWindow(make_context(local=qa_website))
    view = open_qa_website(qtbot, window)
    qtbot.waitUntil(lambda: view.model.details_count() == 4, timeout=15000)
    qtbot.waitUntil(
        lambda: (
            row_index(view, "20261130-090503", PROVENANCE).data() == "from dev/website:1.9-stable"
        ),
        timeout=15000,
    )
    table, header = view.table, view.table.horizontalHeader()
    qtbot.waitUntil(lambda: not table.horizontalScrollBar().isVisible())
    for column in (TAG, PROVENANCE, CREATED):
        assert not header.isSectionHidden(column)
    assert header.visualIndex(PROVENANCE) == header.visualIndex(TAG) + 1
    # every shown column ends inside the viewport: nothing waits behind a scrollbar
    width = table.viewport().width()
    shown = [c for c in range(header.count()) if not header.isSectionHidden(c)]
    assert max(header.sectionViewportPosition(c) + header.sectionSize(c) for c in shown) <= width
    # and the provenance is readable as it is, not elided
    cell = row_index(view, "20261130-090503", PROVENANCE)
    text_width = table.fontMetrics().horizontalAdvance(cell.data())
    assert text_width < table.visualRect(cell).width() - 4
    assert table.visualRect(cell).right() <= width

    # what a narrow window leaves out or elides, the tooltips say in full
    tag_tip = row_index(view, "20261130-090503", TAG).data(TIP)
    assert tag_tip.startswith("20261130-090503\nPromoted from ")
    assert "/dev/website:1.9-stable" in tag_tip
    provenance_tip = cell.data(TIP)
    assert "policy 'Stable builds to QA'" in provenance_tip and "engine@qa-box" in provenance_tip
    row = view.model.row(view.model.row_of("20261130-090503") or 0)
    assert row_index(view, "20261130-090503", DIGEST).data(TIP) == row.digest
    assert row_index(view, "20261130-090503", PLATFORMS).data(TIP) == "linux/amd64"
    assert row_index(view, "manual-smoke", PROVENANCE).data() == ""
    assert row_index(view, "manual-smoke", TAG).data(TIP) == "manual-smoke"

    with qtbot.waitSignal(view.details.referrers_loaded, timeout=15000):
        table.selectRow(row_index(view, "20261130-090503", TAG).row())
    window.grab().save(str(SCREENSHOTS / "hoister-qa-view-1024x700.png"))

    # a wide window shows every column, still without a scrollbar
    window.resize(1600, 1000)
    qtbot.waitUntil(lambda: not any(header.isSectionHidden(c) for c in (DIGEST, SIZE, PLATFORMS)))
    assert not table.horizontalScrollBar().isVisible()
    window.grab().save(str(SCREENSHOTS / "hoister-qa-view-1600x1000.png"))


def test_promoted_only_and_the_source_filter_work_with_the_text_filter(
    qtbot: QtBot, make_context: ContextFactory, qa_website: RegistryServer
) -> None:
    view = open_qa_website(qtbot, MainWindow(make_context(local=qa_website)))
    qtbot.waitUntil(lambda: view.model.rowCount() == 4, timeout=15000)

    view.promoted_only.setChecked(True)
    promoted = sorted(target for _, _, target, _ in PROMOTED)
    qtbot.waitUntil(lambda: shown_tags(view) == promoted, timeout=15000)
    qtbot.waitUntil(lambda: not view.reading, timeout=15000)
    assert view.status_label.text().startswith("3 of 4 tags · 4 with details")

    # the sources seen are offered, and a choice narrows the promoted tags further
    combo = view.source_combo
    qtbot.waitUntil(lambda: combo.count() == 3)
    assert [combo.itemText(i) for i in range(3)] == [ANY_SOURCE, "dev/api", "dev/website"]
    combo.setCurrentText("dev/api")
    assert shown_tags(view) == ["api-20261128-101010"]
    combo.setCurrentText(ANY_SOURCE)
    view.promoted_only.setChecked(False)
    assert shown_tags(view) == sorted([*promoted, "manual-smoke"])

    # typed: from: picks the source, the other words the tag, together
    view.filter_edit.setText("from:dev/web")
    assert shown_tags(view) == ["20261129-170000", "20261130-090503"]
    view.filter_edit.setText("0503 from:DEV/WEB")
    assert shown_tags(view) == ["20261130-090503"]
    view.filter_edit.setText("from:dev/nothing")
    assert view.table_stack.currentWidget() is view.empty_label
    assert (
        view.empty_label.text()
        == "No tag of this repository was promoted from dev/nothing by Hoister."
    )
    view.filter_edit.clear()
    assert len(shown_tags(view)) == 4


class Gated(httpx.HTTPTransport):
    """A registry whose answers of one kind wait until the test lets them through, so
    an in-between state (listed but not read, read but not all listed) stays observable.

    With ``page_size``, tag lists come in sorted pages with a ``Link`` to the next, as
    distribution 3 and Harbor send them (distribution 2.8 sends every tag at once).
    """

    def __init__(self) -> None:
        super().__init__()
        self.gate = threading.Event()
        self.held: Callable[[httpx.Request], bool] = lambda request: False
        self.page_size = 0

    def client(self, profile: Profile, credential: Credential | None) -> RegistryClient:
        return RegistryClient(profile.url, credential, transport=self)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if self.held(request):
            self.gate.wait(30)
        if self.page_size and request.url.path.endswith("/tags/list"):
            return self._page(request)
        return super().handle_request(request)

    def _page(self, request: httpx.Request) -> httpx.Response:
        whole = super().handle_request(httpx.Request("GET", request.url.copy_with(query=None)))
        whole.read()
        body = whole.json()
        last = request.url.params.get("last")
        tags = sorted(t for t in body["tags"] if last is None or t > last)
        page, more = tags[: self.page_size], len(tags) > self.page_size
        link = f'<{request.url.path}?last={page[-1]}&n={self.page_size}>; rel="next"'
        headers = {"Link": link} if more else {}
        return httpx.Response(200, json={**body, "tags": page}, headers=headers)


@pytest.fixture
def gated() -> Iterator[Gated]:
    transport = Gated()
    yield transport
    transport.gate.set()  # never leave a pool thread waiting


def test_promoted_only_fills_in_as_tags_are_checked(
    qtbot: QtBot, make_context: ContextFactory, qa_website: RegistryServer, gated: Gated
) -> None:
    gated.held = lambda request: "/manifests/" in request.url.path
    factory = gated.client

    view = open_qa_website(qtbot, MainWindow(make_context(factory, local=qa_website)))
    qtbot.waitUntil(lambda: view.model.rowCount() == 4 and not view.loader.listing, timeout=15000)
    view.promoted_only.setChecked(True)
    assert view.proxy.rowCount() == 0
    assert "0 of 4 tags · 0 of 4 checked" in view.status_label.text()
    assert view.empty_label.text() == "No tag promoted here found yet: 0 of 4 tags checked…"
    assert view.table_stack.currentWidget() is view.empty_label

    gated.gate.set()
    qtbot.waitUntil(lambda: view.proxy.rowCount() == 3, timeout=15000)
    qtbot.waitUntil(lambda: not view.reading, timeout=15000)
    assert "checked" not in view.status_label.text()
    assert view.table_stack.currentWidget() is view.table


def test_a_fallback_index_listed_on_a_later_page_still_marks_its_rows(
    qtbot: QtBot, make_context: ContextFactory, qa_website: RegistryServer, gated: Gated
) -> None:
    """Tags come in pages; ``sha256-…`` sorts after the tags it describes, so a row can
    be read before the index that says it was promoted is even listed."""
    gated.page_size = 2
    gated.held = lambda request: "/tags/list" in request.url.path and "last=" in str(request.url)
    view = open_qa_website(qtbot, MainWindow(make_context(gated.client, local=qa_website)))
    first = ["20261129-170000", "20261130-090503"]
    qtbot.waitUntil(lambda: view.model.tags() == first and view.model.details_count() == 2)
    assert row_index(view, first[0], PROVENANCE).data() == ""  # its index not listed yet

    gated.gate.set()  # the other pages, the fallback indexes among them
    qtbot.waitUntil(lambda: not view.loader.listing, timeout=15000)
    for tag, source in zip(first, ["1.8-stable", "1.9-stable"], strict=True):
        qtbot.waitUntil(
            lambda t=tag, s=source: (
                row_index(view, t, PROVENANCE).data() == f"from dev/website:{s}"
            ),
            timeout=15000,
        )
