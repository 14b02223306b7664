"""The Tags table at scale: the model keeps its own order, the proxy only filters.

The mechanisms that keep a 10,000-tag repository from stalling the GUI thread (the
model sorting itself, runs of dataChanged, tags added in chunks, the Python proxy) must
give exactly the table the slow way gave: every tag, in the order asked for.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest
from PySide6.QtCore import QModelIndex, Qt
from pytestqt.modeltest import ModelTester
from pytestqt.qtbot import QtBot

from hoister.facts.details import ImageDetails
from hoister.ui.browsing import tags_loader
from hoister.ui.browsing.tags_model import CREATED, TAG, TagsModel, natural_key
from hoister.ui.browsing.tags_proxy import TagsProxy
from hoister.ui.main_window import MainWindow
from tests.support.images import build_image, push_image, push_tags
from tests.support.registry import RegistryServer
from tests.ui.browsing.test_tags_model import details_of
from tests.ui.conftest import ContextFactory

BASE = datetime(2025, 6, 1, tzinfo=UTC)


def created_at(minute: int) -> str:
    return (BASE + timedelta(minutes=minute)).isoformat().replace("+00:00", "Z")


def details_at(minute: int, seed: int) -> ImageDetails:
    return details_of(build_image(created=created_at(minute), seed=seed, layers=1))


def shown(proxy: TagsProxy) -> list[str]:
    return [proxy.index(r, TAG).data() for r in range(proxy.rowCount())]


def test_created_order_holds_over_the_whole_list_as_batches_arrive(
    qtmodeltester: ModelTester,
) -> None:
    rng = random.Random(7)
    tags = [f"1.{n}" for n in range(150)]
    minutes = list(range(150))
    rng.shuffle(minutes)
    created = dict(zip(tags, minutes, strict=True))
    model, proxy = TagsModel(), TagsProxy()
    proxy.setSourceModel(model)
    qtmodeltester.check(proxy)
    proxy.sort(CREATED, Qt.SortOrder.DescendingOrder)
    for start in range(0, 150, 40):
        model.append_tags(tags[start : start + 40])
    arriving = tags[:]
    rng.shuffle(arriving)
    for start in range(0, 150, 20):
        with model.batch():
            batch = arriving[start : start + 20]
            model.update_many((t, details_at(created[t], seed=created[t])) for t in batch)
        read = set(arriving[: start + 20])
        newest_first = sorted(read, key=lambda t: -created[t])
        unread = sorted(set(tags) - read, key=natural_key)  # last, by name
        assert shown(proxy) == newest_first + unread
    assert model.details_count() == 150
    proxy.sort(CREATED, Qt.SortOrder.AscendingOrder)
    assert shown(proxy) == sorted(tags, key=lambda t: created[t])
    qtmodeltester.check(proxy)


def test_a_held_order_is_applied_on_the_beat_and_on_release() -> None:
    model, proxy = TagsModel(), TagsProxy()
    proxy.setSourceModel(model)
    model.append_tags(["a", "b", "c"])
    proxy.sort(CREATED, Qt.SortOrder.DescendingOrder)
    model.hold_order(True)
    model.update_many([("c", details_at(3, seed=3))])
    assert shown(proxy) == ["a", "b", "c"]  # read, but not moved yet
    model.apply_order()
    assert shown(proxy) == ["c", "a", "b"]
    model.update_many([("b", details_at(9, seed=9))])
    assert shown(proxy) == ["c", "a", "b"]
    model.hold_order(False)
    assert shown(proxy) == ["b", "c", "a"]


def test_data_changed_covers_runs_of_rows_not_the_rows_between() -> None:
    model = TagsModel()
    model.append_tags([f"t{n:02d}" for n in range(40)])
    spans: list[tuple[int, int]] = []
    model.dataChanged.connect(lambda top, bottom, _roles: spans.append((top.row(), bottom.row())))
    details = details_at(1, seed=1)
    model.update_many((f"t{n:02d}", details) for n in (3, 4, 5, 30, 12))
    assert sorted(spans) == [(3, 5), (12, 12), (30, 30)]


def test_proxy_filters_and_follows_inserts_removals_and_resorts(
    qtmodeltester: ModelTester,
) -> None:
    model, proxy = TagsModel(), TagsProxy()
    proxy.setSourceModel(model)
    qtmodeltester.check(proxy)
    proxy.sort(TAG, Qt.SortOrder.AscendingOrder)
    proxy.setFilterFixedString("ALPINE")
    model.append_tags(["2.0-alpine", "1.10", "1.9-alpine", "latest"])
    assert shown(proxy) == ["1.9-alpine", "2.0-alpine"]
    model.append_tags(["1.10-Alpine"])
    assert shown(proxy) == ["1.9-alpine", "1.10-Alpine", "2.0-alpine"]
    source = proxy.mapToSource(proxy.index(1, TAG))
    assert source.data() == "1.10-Alpine"
    assert proxy.mapFromSource(source).row() == 1
    assert not proxy.mapFromSource(model.index(model.row_of("latest") or 0, TAG)).isValid()
    model.remove_tags(["1.9-alpine", "latest"])
    assert shown(proxy) == ["1.10-Alpine", "2.0-alpine"]
    proxy.sort(TAG, Qt.SortOrder.DescendingOrder)
    assert shown(proxy) == ["2.0-alpine", "1.10-Alpine"]
    proxy.setFilterFixedString("")
    assert shown(proxy) == ["2.0-alpine", "1.10-Alpine", "1.10"]
    assert proxy.sortColumn() == TAG and proxy.rowCount(proxy.index(0, TAG)) == 0
    qtmodeltester.check(proxy)


def test_promoted_only_shows_rows_as_their_provenance_arrives() -> None:
    model, proxy = TagsModel(), TagsProxy()
    proxy.setSourceModel(model)
    model.append_tags(["1.0", "1.1", "1.2"])
    details = details_at(5, seed=5)
    model.update_many([("1.1", details)])
    proxy.set_promoted_only(True)
    assert shown(proxy) == []
    model.set_provenance(details.digest, "from dev/website:1.1-stable")
    assert shown(proxy) == ["1.1"]
    assert proxy.parent(proxy.index(0, TAG)) == QModelIndex()


@pytest.fixture
def small_chunks(monkeypatch: pytest.MonkeyPatch) -> int:
    """Chunks of 7 tags, so a repository of a few dozen shows the chunking."""
    monkeypatch.setattr(tags_loader, "INSERT_CHUNK", 7)
    return 7


def test_a_long_tag_list_arrives_in_chunks_sorted_in_the_main_window(
    qtbot: QtBot, make_context: ContextFactory, registry: RegistryServer, small_chunks: int
) -> None:
    rng = random.Random(3)
    tags = [f"1.{n}" for n in range(30)]
    minutes = list(range(30))
    rng.shuffle(minutes)
    for tag, minute in zip(tags, minutes, strict=True):
        push_image(registry.url, "dev/website", tag, build_image(created=created_at(minute)))
    push_tags(registry.url, "dev/api", build_image(seed=9, layers=1), ["1.0"])
    window = MainWindow(make_context(local=registry))
    qtbot.addWidget(window)
    window.show()
    window.sidebar.load("local")
    qtbot.waitUntil(lambda: window.sidebar.model.repository_count("local") == 2, timeout=15000)
    window.sidebar.select_repository("local", "dev/website")
    assert window.page is not None
    view = window.page.tags
    inserts: list[int] = []
    view.model.rowsInserted.connect(lambda _parent, first, last: inserts.append(last - first + 1))
    with qtbot.waitSignal(view.loaded, timeout=15000):
        pass
    assert len(inserts) >= len(tags) // small_chunks  # one chunk per turn of the loop
    assert max(inserts) <= small_chunks
    assert shown(view.proxy) == sorted(tags, key=natural_key)
    view.table.sortByColumn(CREATED, Qt.SortOrder.DescendingOrder)
    qtbot.waitUntil(
        lambda: view.model.details_count() == len(tags) and not view.loader.reading,
        timeout=30000,
    )
    by_minute = dict(zip(tags, minutes, strict=True))
    assert shown(view.proxy) == sorted(tags, key=lambda t: -by_minute[t])
