"""Closing the window never waits for the engine: a copy stuck in a slow request goes on
(and ends, or is resumed next time) after the window is gone."""

from __future__ import annotations

import threading

import httpx
from pytestqt.qtbot import QtBot

from hoister.credentials import Credential
from hoister.policies import Policy, Rule, check_policy
from hoister.profiles import Profile
from hoister.registry import RegistryClient
from hoister.store import PolicyStore
from hoister.ui.background.engine_controller import EngineController
from hoister.ui.main_window import MainWindow
from tests.support.images import build_image, push_image
from tests.support.registry import RegistryServer
from tests.ui.conftest import ContextFactory


class StuckTransport(httpx.HTTPTransport):
    """The engine's requests hang until released: a registry that stopped answering.

    Only the engine's threads are held, so the window's own (pool) requests still work.
    A request still held after ``patience`` seconds gives up and says so: that only
    happens when the test could not release it because ``close()`` did not return.
    """

    def __init__(self, patience: float = 10.0) -> None:
        super().__init__()
        self.patience = patience
        self.stuck = threading.Event()  # a request of the engine is hanging now
        self.release = threading.Event()
        self.gave_up = False

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if threading.current_thread().name.startswith(("hoister-engine", "hoister-poll")):
            self.stuck.set()
            if not self.release.wait(self.patience):
                self.gave_up = True
        return super().handle_request(request)


def test_closing_the_window_does_not_wait_for_an_engine_stuck_in_a_request(
    qtbot: QtBot, make_context: ContextFactory, registry: RegistryServer
) -> None:
    push_image(registry.url, "dev/website", "1.0", build_image(seed=95))
    transport = StuckTransport()

    def factory(profile: Profile, credential: Credential | None) -> RegistryClient:
        return RegistryClient(profile.url, credential, transport=transport)

    ctx = make_context(client_factory=factory, local=registry)
    with PolicyStore(ctx.database) as store:
        store.add(
            Policy(
                source_profile="local",
                source_repository="dev/website",
                target_repository="qa/website",
                tag_template="%n",
                rules=(Rule("tag", "ew", ("stable",)),),
            ),
            check=check_policy,
        )
    engine = EngineController(ctx, interval=3600)
    window = MainWindow(ctx, engine)
    qtbot.addWidget(window)
    window.show()
    try:
        engine.start()
        qtbot.waitUntil(transport.stuck.is_set, timeout=15000)  # its first poll hangs

        window.close()  # returns while the engine is still inside its request
        still_running = engine.running_threads

        transport.release.set()
        assert not transport.gave_up, "closing the window waited for the engine's request"
        assert still_running == 1
        assert not window.isVisible()
        assert engine.state == "stopped"
    finally:
        transport.release.set()
    qtbot.waitUntil(lambda: engine.running_threads == 0, timeout=15000)
    assert engine.wait(0)
