"""Faults the engine must survive, each against real registries."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest

from hoister.credentials import Credential
from hoister.engine.clients import default_factory
from hoister.engine.listener import Listener, PushNotice
from hoister.policies import Rule
from hoister.profiles import Profile
from hoister.registry import RegistryClient
from hoister.store.times import now_utc
from tests.engine.conftest import backends_fixture
from tests.engine.harness import EngineHarness
from tests.registry.faults import FaultyTransport, reset, unavailable
from tests.support.fixtures import RegistryFactory
from tests.support.images import build_image, push_image
from tests.support.registry import RegistryServer

Make = Callable[..., EngineHarness]
STABLE = Rule("tag", "ew", ["stable"])

#: Every test here runs on SQLite and on PostgreSQL.
harness_backend = backends_fixture()


def test_registry_outage_is_reported_once_and_caught_up(
    registry: RegistryServer, make_harness: Make
) -> None:
    h = make_harness({"local": registry})
    h.policy("dev/website", "qa/website", "%n", STABLE)
    h.engine.run_cycle()
    registry.stop()
    for _ in range(3):
        h.clock.advance()
        report = h.engine.run_cycle()
        assert report.promoted == 0
    assert len(h.recorder.problems) == 1
    assert "Nothing is listening on" in h.recorder.problems[0]
    registry.restart()
    push_image(registry.url, "dev/website", "1.0-stable", build_image(seed=20))
    h.clock.advance()
    assert h.engine.run_cycle().promoted == 1
    assert h.recorder.recovered == ["local"]
    assert h.tags("qa/website") == ["1.0-stable"]


def _faulty_target(
    transport: FaultyTransport, target: str
) -> Callable[[Profile, Credential | None], RegistryClient]:
    def factory(profile: Profile, credential: Credential | None) -> RegistryClient:
        if profile.name != target:
            return default_factory(profile, credential)
        return RegistryClient(profile.url, credential, transport=transport, sleep=lambda _s: None)

    return factory


@pytest.mark.parametrize("fault", ["503", "reset"])
def test_fault_in_the_middle_of_a_blob_upload_is_retried(
    registry_factory: RegistryFactory, make_harness: Make, fault: str
) -> None:
    source, target = registry_factory(), registry_factory()
    transport = FaultyTransport()
    action = unavailable(retry_after="1") if fault == "503" else reset
    transport.add("PATCH", "/blobs/uploads/", action, skip=1)
    h = make_harness(
        {"build": source, "release": target},
        client_factory=_faulty_target(transport, "release"),
        chunk_size=256 * 1024,
    )
    h.policy("dev/app", "app", "%n", STABLE, target_profile="release")
    h.engine.run_cycle()
    image = build_image(seed=21, layers=3, layer_size=700_000)
    push_image(source.url, "dev/app", "2.0-stable", image)
    assert h.engine.run_cycle().promoted == 1
    assert transport.rules[0].hits == 1  # the fault happened
    copied = h.client("release").get_manifest("app", "2.0-stable")
    assert copied.digest == image.digest
    assert h.history()[-1].bytes_moved >= sum(b.size for b in image.blobs)


def test_permission_refused_fails_at_once_with_the_reason(
    registry_factory: RegistryFactory, make_harness: Make
) -> None:
    source = registry_factory()
    target = registry_factory(auth="basic", users={"alice": "secret-1"})
    h = make_harness({"build": source, "release": target})
    h.policy("dev/app", "app", "%n", STABLE, target_profile="release")
    h.engine.run_cycle()
    push_image(source.url, "dev/app", "1-stable", build_image(seed=22))
    report = h.engine.run_cycle()
    assert report.failed == 1
    [failed] = h.recorder.failed
    assert failed.outcome == "failed"
    assert "401" in failed.reason and "needs a login" in failed.reason
    assert h.engine.queue.pending_count() == 0


def test_unreachable_target_is_retried_later(
    registry_factory: RegistryFactory, make_harness: Make
) -> None:
    source, target = registry_factory(), registry_factory()
    h = make_harness({"build": source, "release": target})
    h.policy("dev/app", "app", "%n", STABLE, target_profile="release")
    h.engine.run_cycle()
    push_image(source.url, "dev/app", "1-stable", build_image(seed=23))
    target.stop()
    report = h.engine.run_cycle()
    assert (report.promoted, report.failed, report.queue_length) == (0, 0, 1)
    target.restart()
    h.clock.advance(10)
    assert h.engine.run_cycle().promoted == 0  # not due yet: backoff
    h.clock.advance(60)
    assert h.engine.run_cycle().promoted == 1
    assert h.tags("app", "release") == ["1-stable"]


def _notice(repository: str, tag: str, digest: str, event_id: str) -> PushNotice:
    return PushNotice(
        repository,
        tag,
        digest,
        "application/vnd.oci.image.manifest.v1+json",
        None,
        event_id,
        None,
        None,
    )


def test_duplicated_and_out_of_order_notices_promote_once(
    registry: RegistryServer, make_harness: Make
) -> None:
    h = make_harness({"local": registry})
    h.policy("dev/app", "qa/app", "%n-%D", STABLE)
    h.engine.run_cycle()
    old, new = build_image(seed=24), build_image(seed=25)
    push_image(registry.url, "dev/app", "1-stable", old)
    push_image(registry.url, "dev/app", "1-stable", new)
    # newest first, then the stale one, then the newest again
    for index, image in enumerate((new, old, new)):
        h.engine.notice(_notice("dev/app", "1-stable", image.digest, f"event-{index}"))
    h.engine.process_notices()
    h.engine.runner.run_due()
    assert h.tags("qa/app") == ["1-stable-" + new.digest.removeprefix("sha256:")[:12]]
    h.clock.advance()
    assert h.engine.run_cycle().promoted == 0  # polling finds nothing left to do


def test_notification_promotes_while_the_engine_runs(
    registry_factory: RegistryFactory, make_harness: Make
) -> None:
    engines: list[EngineHarness] = []
    with Listener(
        token="notify-secret", on_notice=lambda n: engines[0].engine.notice(n)
    ) as listener:
        registry = registry_factory(notify_url=listener.url, notify_token="notify-secret")
        # the real clock: the engine waits for time to pass (rechecks, the next poll)
        h = make_harness({"local": registry}, clock=now_utc)
        engines.append(h)
        h.policy("dev/website", "qa/website", "%n", STABLE)
        baseline, promoted = threading.Event(), threading.Event()
        h.engine.callbacks.cycle_done = lambda report: baseline.set()
        h.engine.callbacks.finished = lambda entry, row: promoted.set()
        # The engine's stores belong to its thread: everything runs there, as in the app.
        worker = threading.Thread(target=h.engine.run_forever, args=(3600.0,), name="engine")
        worker.start()
        try:
            assert baseline.wait(timeout=30)
            push_image(registry.url, "dev/website", "1.4-stable", build_image(seed=26))
            assert promoted.wait(timeout=30), "the notification did not lead to a promotion"
            assert h.tags("qa/website") == ["1.4-stable"]
        finally:
            h.engine.stop()
            worker.join(timeout=30)
            registry.stop()
    assert not worker.is_alive()
    assert listener.accepted >= 1


def test_notice_ahead_of_its_tag_is_checked_again(
    registry: RegistryServer, make_harness: Make
) -> None:
    """distribution sends the push event before it writes the tag: the engine looks again."""
    h = make_harness({"local": registry})
    h.policy("dev/app", "qa/app", "%n", STABLE)
    h.engine.run_cycle()
    image = build_image(seed=27)
    h.engine.notice(_notice("dev/app", "2-stable", image.digest, "early"))
    assert h.engine.process_notices() == 0  # the tag is not there yet
    assert h.engine.next_recheck() is not None
    push_image(registry.url, "dev/app", "2-stable", image)
    h.clock.advance(0.5)
    assert h.engine.process_notices() == 1
    h.engine.runner.run_due()
    assert h.tags("qa/app") == ["2-stable"]
    h.clock.advance(10)
    assert h.engine.process_notices() == 0
    assert h.engine.next_recheck() is None
