"""Engines in the store's engines table, and *Promote from this workstation* off.

An engine registers when its loop starts, beats while it runs, says it stopped on a
clean stop; a failed beat is logged and the engine carries on. Every history row an
engine writes names it. An engine told not to promote neither polls nor claims, yet
stays registered (as not promoting) and evaluates what it is handed; promoting again,
it claims what waited. Each test runs on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import logging
import os
import queue
import socket
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from hoister.engine.engine import Engine
from hoister.engine.watcher import Candidate
from hoister.policies import Policy, Rule, check_policy
from hoister.profiles import Profile, ProfileStore
from hoister.store import Database, PolicyStore
from hoister.store.engines import BEAT_EVERY, FORGET_AFTER, EngineRegistry, EngineRow
from hoister.store.history import HistoryStore
from hoister.store.queue import QueueStore
from tests.engine.harness import Clock, EngineHarness, Recorder, quick_retries
from tests.support.httpserver import free_port
from tests.support.images import build_image, push_image
from tests.support.registry import RegistryServer

HOST = socket.gethostname()
STABLE = Rule("tag", "ew", ["stable"])


@pytest.fixture
def database(database_url: str) -> Iterator[Database]:
    with Database.open(database_url) as database:
        yield database


def _row(database: Database, engine_id: str) -> EngineRow | None:
    with EngineRegistry(database) as registry:
        rows = registry.at_work(within=BEAT_EVERY * 1000)
    return next((row for row in rows if row.id == engine_id), None)


def _stopped(database: Database, engine_id: str) -> bool:
    with database.connection() as conn:
        value = conn.execute("SELECT stopped_at FROM engines WHERE id = ?", (engine_id,)).scalar()
    return value is not None


def _engine(database: Database, tmp_path: Path, **options: Any) -> Engine:
    profiles = ProfileStore(tmp_path / "profiles.json")
    return Engine(database, profiles, lambda _profile: None, **options)


def test_an_engine_registers_beats_and_says_it_stopped(database: Database, tmp_path: Path) -> None:
    clock = Clock(datetime.now(UTC))
    engine = _engine(database, tmp_path, clock=clock, actor="hoister-agent@build-01")
    assert (engine.kind, engine.name) == ("agent", f"agent@{HOST}:{os.getpid()}")
    try:
        assert engine.register()
        row = _row(database, engine.owner)
        assert row is not None and (row.kind, row.promoting, row.name) == (
            "agent",
            True,
            engine.name,
        )
        first_seen = row.seen_at

        clock.advance(5)
        engine.presence.beat()  # not due yet: nothing written
        assert _row(database, engine.owner).seen_at == first_seen  # type: ignore[union-attr]
        clock.advance(BEAT_EVERY.total_seconds())
        engine.presence.beat()
        assert _row(database, engine.owner).seen_at == clock.now  # type: ignore[union-attr]

        engine.set_promoting(False)  # said at the next chance, not at the next beat
        engine.presence.beat()
        assert _row(database, engine.owner).promoting is False  # type: ignore[union-attr]
        with EngineRegistry(database, clock) as registry:
            assert registry.promoting_elsewhere() == []

        engine.retire()
        assert _stopped(database, engine.owner)
        assert _row(database, engine.owner) is None
    finally:
        engine.close()


def test_the_loop_registers_and_a_clean_stop_retires(database: Database, tmp_path: Path) -> None:
    recorder = Recorder()
    cycled = threading.Event()
    callbacks = recorder.callbacks()
    callbacks.cycle_done = lambda _report: cycled.set()
    engine = _engine(database, tmp_path, actor="someone@desk-7", callbacks=callbacks)
    thread = threading.Thread(target=engine.run_forever, args=(3600,), name="test-engine")
    thread.start()
    try:
        assert cycled.wait(30), "the engine never finished its first cycle"
        row = _row(database, engine.owner)
        assert row is not None and (row.kind, row.name) == ("app", f"app@{HOST}:{os.getpid()}")
        assert not _stopped(database, engine.owner)
    finally:
        engine.stop()
        thread.join(30)
    assert not thread.is_alive()
    assert _stopped(database, engine.owner)


def test_a_failed_beat_is_logged_and_the_next_one_works(
    database: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: Any
) -> None:
    clock = Clock(datetime.now(UTC))
    engine = _engine(database, tmp_path, clock=clock, kind="cli")
    real_beat = EngineRegistry.beat
    failures = iter([RuntimeError("the server went away")])

    def flaky(self: EngineRegistry, engine_id: str, **options: Any) -> None:
        for failure in failures:
            raise failure
        real_beat(self, engine_id, **options)

    monkeypatch.setattr(EngineRegistry, "beat", flaky)
    try:
        assert engine.register()
        clock.advance(BEAT_EVERY.total_seconds())
        with caplog.at_level(logging.WARNING, logger="hoister.engine.presence"):
            engine.presence.beat()  # raises inside; the engine does not
        assert "heartbeat could not be written" in caplog.text
        clock.advance(BEAT_EVERY.total_seconds())
        engine.presence.beat()  # on a fresh connection
        assert _row(database, engine.owner).seen_at == clock.now  # type: ignore[union-attr]
    finally:
        engine.close()


def test_an_unreachable_store_is_logged_not_fatal(tmp_path: Path, caplog: Any) -> None:
    nobody = Database(f"postgresql://hoister@127.0.0.1:{free_port()}/hoister")
    clock = Clock(datetime.now(UTC))
    engine = _engine(nobody, tmp_path, clock=clock)
    try:
        with caplog.at_level(logging.WARNING, logger="hoister.engine.presence"):
            assert engine.register() is False
            clock.advance(BEAT_EVERY.total_seconds())
            engine.presence.beat()  # tries to register again; still no server, no raise
        assert caplog.text.count("could not register this engine") == 2
        engine.retire()  # never registered: nothing to say, nothing raised
    finally:
        engine.close()


def test_history_rows_name_the_engine(
    registry: RegistryServer, tmp_path: Path, database_url: str
) -> None:
    h = EngineHarness(tmp_path / "home", {"local": registry}, database=database_url)
    try:
        h.policy("dev/site", "qa/site", "%n-qa", STABLE)
        h.engine.run_cycle()  # the baseline
        push_image(registry.url, "dev/site", "1.0-stable", build_image(seed=31))
        h.clock.advance()
        assert h.engine.run_cycle().promoted == 1
        rows = h.history()
        assert [row.outcome for row in rows] == ["matched", "promoted"]
        assert {row.agent for row in rows} == {f"app@{HOST}:{os.getpid()}"} == {h.engine.name}
        with HistoryStore(h.database, h.clock) as store:
            assert store.promoted_by_agent(h.clock.now.replace(year=2000)) == {h.engine.name: 1}
    finally:
        h.close()


class Observed(Engine):
    """An engine that says when it has evaluated a handed-over tag (its step is done
    up to that point), so the test waits on that rather than on time."""

    def __init__(self, *args: Any, **options: Any) -> None:
        super().__init__(*args, **options)
        self.handled: queue.SimpleQueue[int] = queue.SimpleQueue()

    def handle_candidate(self, candidate: Candidate) -> int:
        queued = super().handle_candidate(candidate)
        self.handled.put(queued)
        return queued


def test_an_engine_not_promoting_neither_polls_nor_claims(
    registry: RegistryServer, tmp_path: Path, database: Database
) -> None:
    profiles = ProfileStore(tmp_path / "profiles.json")
    profiles.add(Profile(name="local", url=registry.url))
    policy = Policy(
        source_profile="local",
        source_repository="dev/app",
        target_repository="qa/app",
        tag_template="%n-qa",
        rules=(STABLE,),
    )
    with PolicyStore(database) as store:
        store.add(policy, check=check_policy)
    images = {tag: build_image(seed=40 + n) for n, tag in enumerate(("1-stable", "2-stable"))}
    for tag, image in images.items():
        push_image(registry.url, "dev/app", tag, image)
    recorder = Recorder()
    engine = Observed(
        database,
        profiles,
        lambda _profile: None,
        promoting=False,
        callbacks=recorder.callbacks(),
        client_factory=quick_retries,
    )
    thread = threading.Thread(target=engine.run_forever, args=(3600,), name="test-engine")
    thread.start()
    try:
        for tag, image in images.items():
            when = datetime.now(UTC)
            engine.submit([Candidate("local", "dev/app", tag, image.digest, when, "poll")])
            assert engine.handled.get(timeout=30) == 1  # evaluated and queued
        # The second tag was evaluated after the step that queued the first had ended:
        # had that step claimed, the first entry would not be pending any more.
        with QueueStore(database) as entries:
            waiting = entries.entries()
        assert [(e.state, e.owner) for e in waiting] == [("pending", None)] * 2
        assert recorder.cycles == [] and recorder.finished == []  # no poll, no promotion
        row = _row(database, engine.owner)
        assert row is not None and row.promoting is False  # seen, as not promoting

        engine.set_promoting(True)
        for _ in images:
            assert recorder.done.wait(60), "nothing was promoted after promoting again"
            recorder.done.clear()
        assert sorted(r.target_tag for r in recorder.finished) == ["1-stable-qa", "2-stable-qa"]
        assert _row(database, engine.owner).promoting is True  # type: ignore[union-attr]
    finally:
        engine.stop()
        thread.join(30)


def test_an_engine_starting_forgets_engines_gone_for_a_week(
    database: Database, tmp_path: Path
) -> None:
    """Every start is a new row; the table keeps the team, not every restart since."""
    now = datetime.now(UTC)
    with EngineRegistry(database, lambda: now - FORGET_AFTER - timedelta(hours=1)) as old:
        old.register("gone-host:1:aaaa:hoister-agent@gone", "agent")
    with EngineRegistry(database, lambda: now - timedelta(days=1)) as recent:
        recent.register("away-host:2:bbbb:hoister-agent@away", "agent")
    engine = _engine(database, tmp_path, clock=Clock(now), actor="hoister-agent@build-01")
    try:
        assert engine.register()
        with database.connection() as conn:
            ids = {row[0] for row in conn.execute("SELECT id FROM engines")}
        assert ids == {"away-host:2:bbbb:hoister-agent@away", engine.owner}
    finally:
        engine.close()
