"""The Tags tab against a real registry: thousands of tags, sorting by created, keys."""

from __future__ import annotations

import httpx
import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication
from pytestqt.qtbot import QtBot

from hoister.credentials import Credential
from hoister.profiles import Profile
from hoister.registry import RegistryClient
from hoister.ui.browsing.tags_model import CREATED, DIGEST, PROVENANCE, TAG
from hoister.ui.browsing.tags_view import TagsView
from tests.support.images import build_artifact, build_image, push_image, push_tags
from tests.support.registry import RegistryServer
from tests.ui.conftest import ContextFactory

IMAGES = 21
TAGS_PER_IMAGE = 50
WAIT_MS = 60_000


def tag_name(image: int, number: int) -> str:
    return f"1.{image}.{number}" if number % 10 == 0 else f"build-{image:02d}-{number:02d}"


@pytest.fixture
def big_repository(registry: RegistryServer) -> list[str]:
    """1,050 tags over 21 images built a day apart (image 20 is the newest)."""
    tags: list[str] = []
    with httpx.Client(timeout=30.0) as client:
        for image in range(IMAGES):
            built = build_image(
                created=f"2024-02-{image + 1:02d}T08:00:00Z", seed=image, layers=1, layer_size=64
            )
            names = [tag_name(image, n) for n in range(TAGS_PER_IMAGE)]
            push_tags(registry.url, "dev/big", built, names, client=client)
            tags += names
    return tags


def order(view: TagsView, count: int = 3) -> list[str]:
    return [view.proxy.index(row, TAG).data() for row in range(count)]


def open_view(qtbot: QtBot, view: TagsView) -> TagsView:
    qtbot.addWidget(view)
    view.resize(1200, 700)
    view.show()
    qtbot.waitExposed(view)
    return view


def test_a_thousand_tags_load_sort_by_created_filter_and_copy(
    qtbot: QtBot, registry: RegistryServer, big_repository: list[str], make_context: ContextFactory
) -> None:
    ctx = make_context(local=registry)
    view = TagsView(ctx, "local", "dev/big")
    with qtbot.waitSignal(view.loaded, timeout=WAIT_MS):
        open_view(qtbot, view)
    assert view.model.rowCount() == len(big_repository) == 1050
    assert "1,050 tags" in view.status_label.text()

    # Only what is on screen is read until someone asks for more.
    top = view.model.row_of(order(view, 1)[0])
    assert top is not None
    qtbot.waitUntil(lambda: view.model.row(top).details is not None, timeout=WAIT_MS)
    qtbot.waitUntil(lambda: not view.reading, timeout=WAIT_MS)
    assert 0 < view.model.details_count() < 300

    # Sorting by created reads every row, then the newest image's tags come first.
    with qtbot.waitSignal(
        view.details_progress,
        timeout=WAIT_MS,
        check_params_cb=lambda done, total: done == total == 1050,
    ):
        view.table.sortByColumn(CREATED, Qt.SortOrder.DescendingOrder)
    assert order(view) == ["1.20.0", "1.20.10", "1.20.20"]
    view.table.sortByColumn(CREATED, Qt.SortOrder.AscendingOrder)
    assert order(view) == ["1.0.0", "1.0.10", "1.0.20"]
    assert view.progress.isHidden()

    # Typing filters as one types, case-insensitively, on the tag.
    qtbot.keyClicks(view.filter_edit, "1.0")
    expected = sorted(t for t in big_repository if "1.0" in t)
    assert sorted(view.proxy.index(r, TAG).data() for r in range(view.proxy.rowCount())) == (
        expected
    )
    assert f"{len(expected)} of 1,050 tags" in view.status_label.text()
    view.filter_edit.clear()

    # Ctrl+C copies a reference people can paste into docker or skopeo.
    view.table.selectRow(0)
    qtbot.keyClick(view.table, Qt.Key.Key_C, Qt.KeyboardModifier.ControlModifier)
    assert QGuiApplication.clipboard().text() == f"{registry.host}/dev/big:1.0.0"


def test_signatures_are_badges_on_their_image(
    qtbot: QtBot, registry: RegistryServer, make_context: ContextFactory
) -> None:
    image = build_image(seed=3)
    push_image(registry.url, "dev/signed", "1.0", image)
    signature = build_artifact(
        image, "application/vnd.dev.cosign.artifact.sig.v1+json", b"s", "x/y"
    )
    cosign_tag = image.digest.replace(":", "-") + ".sig"
    push_image(registry.url, "dev/signed", cosign_tag, signature)
    view = TagsView(make_context(local=registry), "local", "dev/signed")
    with qtbot.waitSignal(view.loaded):
        open_view(qtbot, view)
    assert view.model.tags() == ["1.0"]
    qtbot.waitUntil(lambda: view.model.index(0, PROVENANCE).data() == "signed")
    assert view.status_label.text().startswith("1 tag · ")
    assert "1 internal tag hidden" in view.status_label.text()
    with qtbot.waitSignal(view.details.referrers_loaded):
        view.table.selectRow(0)
    text = view.details.browser.toPlainText()
    assert "signed" in text and f"cosign tag {cosign_tag[:15]}" in text


def test_errors_show_in_place_with_the_registry_message_and_retry(
    qtbot: QtBot, registry: RegistryServer, make_context: ContextFactory
) -> None:
    view = TagsView(make_context(local=registry), "local", "dev/missing")
    open_view(qtbot, view)
    qtbot.waitUntil(view.banner.isVisible)
    assert "NAME_UNKNOWN" in view.banner_label.text()
    assert "dev/missing" in view.banner_label.text()
    assert view.retry_button.isVisible()

    push_tags(registry.url, "dev/missing", build_image(seed=4), ["now-here"])
    with qtbot.waitSignal(view.loaded):
        view.retry_button.click()
    assert view.banner.isHidden()
    assert view.model.tags() == ["now-here"]


def test_an_empty_filter_result_says_so(
    qtbot: QtBot, registry: RegistryServer, make_context: ContextFactory
) -> None:
    push_tags(registry.url, "dev/few", build_image(seed=5), ["alpha", "beta"])
    view = TagsView(make_context(local=registry), "local", "dev/few")
    with qtbot.waitSignal(view.loaded):
        open_view(qtbot, view)
    view.filter_edit.setText("zeta")
    assert view.table_stack.currentWidget() is view.empty_label
    assert "zeta" in view.empty_label.text()
    view.filter_edit.clear()
    assert view.table_stack.currentWidget() is view.table


def test_a_refused_login_is_shown_with_the_registry_message(
    qtbot: QtBot, basic_registry: RegistryServer, make_context: ContextFactory
) -> None:
    view = TagsView(make_context(local=basic_registry), "local", "dev/app")
    open_view(qtbot, view)
    qtbot.waitUntil(view.banner.isVisible)
    assert "401" in view.banner_label.text()
    assert "listing tags of dev/app" in view.banner_label.text()
    assert view.status_label.text() == "The tag list could not be read"


class DenyOneTag(httpx.HTTPTransport):
    """A registry that refuses one tag's manifest until told otherwise (403 on demand)."""

    def __init__(self) -> None:
        super().__init__()
        self.denied = True

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if self.denied and request.url.path.endswith("/manifests/broken"):
            body = {"errors": [{"code": "DENIED", "message": "requested access is denied"}]}
            return httpx.Response(403, json=body, request=request)
        return super().handle_request(request)


def test_a_row_whose_details_fail_says_so_and_retry_reads_it(
    qtbot: QtBot, registry: RegistryServer, make_context: ContextFactory
) -> None:
    push_tags(registry.url, "dev/app", build_image(seed=6), ["broken", "fine"])
    transport = DenyOneTag()

    def factory(profile: Profile, credential: Credential | None) -> RegistryClient:
        return RegistryClient(profile.url, credential, transport=transport)

    view = TagsView(make_context(factory, local=registry), "local", "dev/app")
    open_view(qtbot, view)
    qtbot.waitUntil(view.banner.isVisible)
    assert "The details of 1 tag could not be read: 403 DENIED" in view.banner_label.text()
    broken = view.model.index(view.model.row_of("broken") or 0, DIGEST)
    assert broken.data() == "unreadable"
    assert "requested access is denied" in broken.data(Qt.ItemDataRole.ToolTipRole)
    qtbot.waitUntil(lambda: view.model.details_count() == 2)

    transport.denied = False
    view.retry_button.click()
    qtbot.waitUntil(lambda: view.model.known_digests().keys() == {"broken", "fine"})
    assert view.banner.isHidden()
