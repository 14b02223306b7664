"""Several engines on one store, and a team database that goes away and comes back."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from hoister.policies import Rule
from hoister.store.history import HistoryStore
from hoister.store.queue import QueueStore
from hoister.store.times import now_utc
from tests.engine.conftest import backends_fixture
from tests.engine.harness import EngineHarness
from tests.support.images import build_image, push_image
from tests.support.postgres import PostgresServer
from tests.support.registry import RegistryServer

Make = Callable[..., EngineHarness]
STABLE = Rule("tag", "ew", ["stable"])
ENGINES = 4
PUSHES = 6

harness_backend = backends_fixture()


@pytest.fixture
def shared_store(harness_backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    """One store for every engine of the test: a SQLite file, or one PostgreSQL database."""
    if harness_backend == "sqlite":
        return str(tmp_path / "shared.db")
    server: PostgresServer = request.getfixturevalue("postgres_server")
    name = server.create_database()
    request.addfinalizer(lambda: server.drop_database(name))
    return server.url(name)


def _at_once(engines: list[EngineHarness], work: Callable[[EngineHarness], object]) -> None:
    """Run ``work`` on every engine at the same moment, each on a thread of its own."""
    barrier = threading.Barrier(len(engines))
    errors: list[BaseException] = []

    def run(h: EngineHarness) -> None:
        try:
            barrier.wait()
            work(h)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(h,)) for h in engines]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert errors == []


def test_engines_polling_one_repository_at_once_queue_and_promote_each_push_once(
    registry: RegistryServer, make_harness: Make, shared_store: str
) -> None:
    engines = [make_harness({"local": registry}, database=shared_store) for _ in range(ENGINES)]
    engines[0].policy("dev/web", "qa/web", "%n", STABLE)
    _at_once(engines, lambda h: h.engine.run_cycle())  # every engine takes the baseline
    images = [build_image(seed=700 + n) for n in range(PUSHES)]
    for n, image in enumerate(images):
        push_image(registry.url, "dev/web", f"1.{n}-stable", image)

    _at_once(engines, lambda h: h.engine.poller.poll_all())
    with QueueStore(engines[0].database) as queue:
        entries = queue.entries()
    assert len(entries) == PUSHES, "two engines polling one repository made two candidates"

    _at_once(engines, lambda h: h.engine.runner.run_due())
    with HistoryStore(engines[0].database) as history:
        rows = history.recent(1000)
    promoted = [r for r in rows if r.outcome == "promoted"]
    matched = [r for r in rows if r.outcome == "matched"]
    assert sorted(r.source_tag for r in promoted) == [f"1.{n}-stable" for n in range(PUSHES)]
    assert len(matched) == PUSHES
    assert engines[0].tags("qa/web") == sorted(f"1.{n}-stable" for n in range(PUSHES))
    with QueueStore(engines[0].database) as queue:
        assert {e.state for e in queue.entries()} == {"done"}


@pytest.mark.parametrize("harness_backend", ["postgresql"], indirect=True)
def test_an_agent_carries_on_when_the_team_database_restarts(
    registry: RegistryServer, make_harness: Make, tmp_path: Path
) -> None:
    """The server goes away under a running engine (a failover, a restart): the engine
    reports it, keeps its loop, reconnects when the server is back and promotes."""
    with PostgresServer() as server:
        url = server.url(server.create_database())
        h = make_harness({"local": registry}, database=url, clock=now_utc)
        h.policy("dev/web", "qa/web", "%n", STABLE)
        cycles = threading.Semaphore(0)
        problems: list[str] = []
        promoted = threading.Event()
        h.engine.callbacks.cycle_done = lambda report: cycles.release()
        h.engine.callbacks.problem = problems.append
        h.engine.callbacks.finished = lambda entry, row: promoted.set()
        worker = threading.Thread(target=h.engine.run_forever, args=(0.2,), name="engine")
        worker.start()
        try:
            assert cycles.acquire(timeout=30), "no first cycle"
            server.pause()
            assert _wait_for(lambda: bool(problems)), "the outage was not reported"
            server.resume()
            push_image(registry.url, "dev/web", "2-stable", build_image(seed=720))
            assert promoted.wait(timeout=60), "no promotion once the server was back"
            assert h.tags("qa/web") == ["2-stable"]
        finally:
            h.engine.stop()
            worker.join(timeout=30)
        assert not worker.is_alive()


def _wait_for(condition: Callable[[], bool], timeout: float = 30.0) -> bool:
    event = threading.Event()
    deadline = threading.Timer(timeout, event.set)
    deadline.start()
    try:
        while not event.is_set():
            if condition():
                return True
            event.wait(0.05)
        return condition()
    finally:
        deadline.cancel()
