"""Exactly once: collisions of rendered tags, claims and leases between engines, fencing,
resumed promotions that must not attach a second provenance record, and the baseline
for notifications. Real registries; the clock is moved by hand."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import timedelta

import pytest

from hoister.engine.listener import PushNotice
from hoister.engine.provenance import read_provenance
from hoister.policies import Rule
from hoister.store.queue import LostClaim, QueueStore
from tests.engine.conftest import backends_fixture
from tests.engine.harness import EngineHarness
from tests.support.images import build_image, push_image
from tests.support.registry import RegistryServer

STABLE = Rule("tag", "ew", ("stable",))
Make = Callable[..., EngineHarness]

#: Every test here runs on SQLite and on PostgreSQL.
harness_backend = backends_fixture()


class Killed(BaseException):
    """Stands for the process dying: not an Exception, so no handler of the engine's runs."""


def _promoted(h) -> list:  # type: ignore[no-untyped-def]
    return [row for row in h.history() if row.outcome == "promoted"]


def test_eight_pushes_in_one_cycle_with_a_seconds_template_land_under_eight_tags(
    registry: RegistryServer, make_harness: Make
) -> None:
    h = make_harness({"local": registry})
    h.policy("dev/web", "qa/web", "%Y%m%d-%H%M%S", STABLE)
    h.engine.run_cycle()
    images = {f"1.{i}-stable": build_image(seed=100 + i) for i in range(8)}
    for tag, image in images.items():
        push_image(registry.url, "dev/web", tag, image)
    first = h.engine.run_cycle()
    assert (first.enqueued, first.promoted, first.skipped, first.failed) == (8, 1, 0, 0)
    waiting = h.engine.queue.entries("pending")
    assert len(waiting) == 7
    assert all("waiting: qa/web:20261130-090000" in (e.last_error or "") for e in waiting)
    for _ in range(7):
        h.clock.advance(1)
        assert h.engine.runner.run_due()["promoted"] == 1
    rows = _promoted(h)
    assert len(rows) == 8
    assert len({row.target_tag for row in rows}) == 8
    client = h.client()
    for row in rows:
        assert client.head_manifest("qa/web", row.target_tag).digest == row.source_digest
        assert images[row.source_tag].digest == row.source_digest
    assert [r for r in h.history() if r.outcome in ("skipped", "failed")] == []


def test_a_day_template_waits_for_the_next_day_not_a_step_later(
    registry: RegistryServer, make_harness: Make
) -> None:
    h = make_harness({"local": registry})
    h.policy("dev/web", "qa/web", "nightly-%Y%m%d", STABLE)
    h.engine.run_cycle()
    push_image(registry.url, "dev/web", "a-stable", build_image(seed=110))
    push_image(registry.url, "dev/web", "b-stable", build_image(seed=111))
    assert h.engine.run_cycle().promoted == 1
    [entry] = h.engine.queue.entries("pending")
    assert entry.next_attempt_at is not None
    assert entry.next_attempt_at.isoformat().startswith("2026-12-01T00:00:00")


def test_a_second_engine_cannot_take_a_live_claim_and_takes_over_a_lapsed_one(
    registry: RegistryServer, make_harness: Make, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    a = make_harness({"local": registry}, lease=timedelta(seconds=60))
    a.policy("dev/web", "qa/web", "%n", STABLE)
    a.engine.run_cycle()
    push_image(registry.url, "dev/web", "2-stable", build_image(seed=120))
    a.engine.poller.poll_all()  # queued, not yet run
    claimed = a.engine.queue.claim_next(a.engine.owner, a.clock(), timedelta(seconds=60))
    assert claimed is not None and claimed.claim == 1

    # Engine B on the same database, sharing the clock.
    b_queue = QueueStore(a.database, a.clock)
    try:
        assert b_queue.claim_next("other-host:1:b:agent", a.clock()) is None
        a.clock.advance(61)
        taken = b_queue.claim_next("other-host:1:b:agent", a.clock())
        assert taken is not None and taken.claim == 2 and taken.owner.startswith("other-host")
        # The first owner comes back late: every write it tries is fenced off.
        with pytest.raises(LostClaim):
            a.engine.queue.finish(claimed, "done")
        with pytest.raises(LostClaim):
            a.engine.queue.retry_later(claimed, "x", a.clock())
        assert not a.engine.queue.renew(claimed)
        assert a.engine.runner.execute(claimed) == "lost"
        assert b_queue.get(taken.id).state == "running"  # still the new owner's
    finally:
        b_queue.close()
    assert _promoted(a) == []


def test_a_resumed_promotion_does_not_attach_a_second_provenance_record(
    registry: RegistryServer, make_harness: Make, monkeypatch: pytest.MonkeyPatch
) -> None:
    h = make_harness({"local": registry}, lease=timedelta(seconds=30))
    h.policy("dev/web", "qa/web", "%n", STABLE)
    h.engine.run_cycle()
    image = build_image(seed=130)
    push_image(registry.url, "dev/web", "3-stable", image)

    real_finish = QueueStore.finish

    def crash_once(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        monkeypatch.setattr(QueueStore, "finish", real_finish)
        raise Killed  # like kill -9: nothing after this line of the promotion runs

    monkeypatch.setattr(QueueStore, "finish", crash_once)
    with pytest.raises(Killed):
        h.engine.run_cycle()
    [entry] = h.engine.queue.entries("running")  # tag and record written, not finished
    assert len(read_provenance(h.client(), "qa/web", image.digest)) == 1

    h.clock.advance(31)  # the claim lapses; the next claim resumes it
    assert h.engine.runner.run_due()["promoted"] == 1
    assert len(read_provenance(h.client(), "qa/web", image.digest)) == 1
    [row] = _promoted(h)
    assert row.entry_id == entry.id
    assert "provenance recorded by an earlier attempt" in row.reason


def test_a_notification_for_a_tag_that_existed_before_the_policy_promotes_nothing(
    registry: RegistryServer, make_harness: Make
) -> None:
    old = build_image(seed=140)
    push_image(registry.url, "dev/web", "1-stable", old)
    h = make_harness({"local": registry})
    h.policy("dev/web", "qa/web", "%n", STABLE)
    # Never polled yet: the notice makes the first look, which is a baseline.
    h.engine.notice(_notice("dev/web", "1-stable", old.digest))
    assert h.engine.process_notices() == 0
    assert h.engine.watcher.watch.is_baselined("local", "dev/web")
    # Replayed after the baseline: still not a push.
    h.engine.notice(_notice("dev/web", "1-stable", old.digest))
    assert h.engine.process_notices() == 0
    assert h.tags("qa/web") == []
    # A real push is promoted by its notice.
    new = build_image(seed=141)
    push_image(registry.url, "dev/web", "2-stable", new)
    h.engine.notice(_notice("dev/web", "2-stable", new.digest))
    assert h.engine.process_notices() == 1
    assert h.engine.runner.run_due()["promoted"] == 1
    assert h.tags("qa/web") == ["2-stable"]


def _notice(repository: str, tag: str, digest: str) -> PushNotice:
    return PushNotice(
        repository=repository,
        tag=tag,
        digest=digest,
        media_type="application/vnd.oci.image.manifest.v1+json",
        registry_host=None,
        event_id=f"{tag}-{digest}",
        timestamp=None,
        actor=None,
    )


def test_the_loop_survives_an_unexpected_error_and_keeps_promoting(
    registry: RegistryServer, make_harness: Make, monkeypatch: pytest.MonkeyPatch
) -> None:
    h = make_harness({"local": registry})
    h.policy("dev/web", "qa/web", "%n", STABLE)
    from hoister.engine.polling import Poller

    real = Poller.poll_all
    calls: list[int] = []

    def broken_once(self):  # type: ignore[no-untyped-def]
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("a bug in one cycle")
        return real(self)

    monkeypatch.setattr(Poller, "poll_all", broken_once)
    monkeypatch.setattr("hoister.engine.engine.ERROR_PAUSE", 0.01)
    baseline = threading.Event()
    h.engine.callbacks.cycle_done = lambda report: baseline.set()
    # The engine's stores belong to its thread: everything runs there, as in the app.
    thread = threading.Thread(target=h.engine.run_forever, args=(3600.0,))
    thread.start()
    try:
        assert baseline.wait(30)  # the first cycle raised; the one after the pause ran
        push_image(registry.url, "dev/web", "4-stable", build_image(seed=150))
        h.engine.poll_now()
        assert h.recorder.done.wait(30)
    finally:
        h.engine.stop()
        thread.join(30)
    assert h.engine.errors == 1
    assert any("a bug in one cycle" in p for p in h.recorder.problems)
    assert [r.target_tag for r in _promoted(h)] == ["4-stable"]


def test_a_chain_continued_by_another_engine_keeps_counting_hops(
    registry: RegistryServer, make_harness: Make
) -> None:
    """Engine A promotes dev -> qa; engine B (its own store: say another team's agent)
    finds the image in qa by polling and continues the chain as its second link."""
    a = make_harness({"local": registry})
    b = make_harness({"alias": registry})  # the same registry under another profile name
    a.policy("dev/web", "qa/web", "%n", STABLE)
    b.policy("qa/web", "prod/web", "%n", STABLE, profile="alias")
    a.engine.run_cycle()
    b.engine.run_cycle()
    image = build_image(seed=180)
    push_image(registry.url, "dev/web", "5-stable", image)
    assert a.engine.run_cycle().promoted == 1
    assert b.engine.run_cycle().promoted == 1
    [first] = _promoted(a)
    [second] = _promoted(b)
    assert (first.hop, second.hop) == (0, 1)
    records = read_provenance(b.client("alias"), "prod/web", image.digest)
    prod = [r for r in records if r.target_repository == "prod/web"]
    assert [r.hop for r in prod] == [1]
    assert prod[0].source_registry == "localhost:" + registry.url.rsplit(":", 1)[1]
