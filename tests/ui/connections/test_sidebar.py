"""The sidebar: connections, namespaces and repositories, filtered as one types."""

from __future__ import annotations

import httpx
from pytestqt.modeltest import ModelTester
from pytestqt.qtbot import QtBot

from hoister.credentials import Credential
from hoister.profiles import Profile
from hoister.registry import RegistryClient
from hoister.ui.connections.connections_model import ConnectionsModel, Kind, KindRole, ObjectRole
from hoister.ui.connections.sidebar import Sidebar
from tests.support.images import build_image, populate_repos
from tests.support.registry import RegistryServer
from tests.ui.conftest import ContextFactory


def test_connections_model_passes_the_model_tester(qtmodeltester: ModelTester) -> None:
    model = ConnectionsModel()
    qtmodeltester.check(model)
    model.set_profiles(
        [
            Profile(name="prod", url="https://r.example.com"),
            Profile(name="lab", url="http://127.0.0.1:5000"),
        ]
    )
    model.add_repositories("prod", ["dev/website", "dev/api", "qa/website", "busybox", "a/b/c"])
    model.show_message("lab", "Loading…")
    qtmodeltester.check(model)
    assert model.repository_count("prod") == 5
    assert model.find_repository("prod", "a/b/c").data(ObjectRole) == "a/b/c"
    model.add_repositories("prod", ["dev/website"])  # a second page repeating a name
    assert model.repository_count("prod") == 5
    model.clear_repositories("prod")
    model.set_profiles([Profile(name="lab", url="http://127.0.0.1:5000")])
    qtmodeltester.check(model)


def _names(sidebar: Sidebar) -> list[str]:
    """Visible repository names, in tree order (the whole tree, or the filter's matches)."""
    found: list[str] = []
    shown = sidebar.trees.currentWidget().model()

    def walk(parent) -> None:  # type: ignore[no-untyped-def]
        for row in range(shown.rowCount(parent)):
            index = shown.index(row, 0, parent)
            if index.data(KindRole) == Kind.REPOSITORY:
                found.append(index.data(ObjectRole))
            walk(index)

    from PySide6.QtCore import QModelIndex

    walk(QModelIndex())
    return found


def test_browse_namespaces_and_filter(
    qtbot: QtBot, make_context: ContextFactory, registry: RegistryServer
) -> None:
    names = ["dev/website", "dev/api", "qa/website", "prod/website", "tools"]
    populate_repos(registry.url, names, build_image(seed=40, layers=1))
    sidebar = Sidebar(make_context(local=registry))
    qtbot.addWidget(sidebar)
    sidebar.show()
    sidebar.load("local")
    qtbot.waitUntil(lambda: sidebar.model.repository_count("local") == 5, timeout=15000)
    assert sorted(_names(sidebar)) == sorted(names)
    connection = sidebar.model.connection_item("local")
    assert connection is not None
    groups = sorted(
        connection.child(r).text()
        for r in range(connection.rowCount())
        if connection.child(r).data(KindRole) == Kind.NAMESPACE
    )
    assert groups == ["dev", "prod", "qa"]
    qtbot.keyClicks(sidebar.filter_edit, "WEB")
    qtbot.waitUntil(
        lambda: sorted(_names(sidebar)) == ["dev/website", "prod/website", "qa/website"],
        timeout=5000,
    )
    with qtbot.waitSignal(sidebar.repository_selected) as selected:
        sidebar.select_repository("local", "qa/website")
    assert selected.args == ["local", "qa/website"]


def _catalog(count: int):  # type: ignore[no-untyped-def]
    """A catalog of ``count`` repositories served in pages of 1,000 (a real registry takes
    minutes to fill with that many; the page format is the registry's own)."""
    names = sorted(f"team{i % 97:02d}/service-{i:05d}" for i in range(count))

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/v2/":
            return httpx.Response(200, headers={"Docker-Distribution-API-Version": "registry/2.0"})
        last = request.url.params.get("last")
        start = names.index(last) + 1 if last else 0
        page = names[start : start + 1000]
        headers = {}
        if start + 1000 < len(names):
            headers["Link"] = f'</v2/_catalog?last={page[-1]}&n=1000>; rel="next"'
        return httpx.Response(200, json={"repositories": page}, headers=headers)

    return names, httpx.MockTransport(handler)


def test_ten_thousand_repositories_load_page_by_page(
    qtbot: QtBot, make_context: ContextFactory
) -> None:
    names, transport = _catalog(10_000)

    def factory(profile: Profile, credential: Credential | None) -> RegistryClient:
        return RegistryClient(profile.url, credential, transport=transport)

    ctx = make_context(client_factory=factory)
    ctx.profiles.add(Profile(name="big", url="https://registry.test"))
    sidebar = Sidebar(ctx)
    qtbot.addWidget(sidebar)
    sidebar.show()
    with qtbot.waitSignal(  # the last page is in: added a chunk per turn, then announced
        sidebar.activity,
        timeout=30000,
        check_params_cb=lambda line: line == "big: 10,000 repositories",
    ):
        sidebar.load("big")
    assert sidebar.model.repository_count("big") == 10_000
    connection = sidebar.model.connection_item("big")
    assert connection is not None and connection.rowCount() == 97
    qtbot.keyClicks(sidebar.filter_edit, "service-0999")
    qtbot.waitUntil(
        lambda: _names(sidebar) == sorted(n for n in names if "service-0999" in n), timeout=10000
    )
