"""Several promotions in flight at once (engine/pipeline.py): they really overlap, the
bounds hold per registry and in all, a slow registry leaves the others going, one target
tag is written by one promotion at a time in claim order, a stop interrupts every copy
before its tag, and an engine taken over while its workers stall loses and doubles
nothing. Real registries; requests are held (not slowed) where a test needs them caught
in flight. Every test runs on SQLite and on PostgreSQL."""

from __future__ import annotations

import ssl
import threading
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import httpx
import pytest

from hoister.credentials import Credential
from hoister.engine.pipeline import parallel_from, total_slots
from hoister.engine.provenance import read_provenance
from hoister.policies import Rule
from hoister.policies.model import OverwriteMode
from hoister.profiles import Profile
from hoister.registry import RegistryClient
from hoister.store.queue import QueueEntry, QueueStore
from tests.engine.conftest import backends_fixture
from tests.engine.harness import EngineHarness
from tests.engine.pipeline_support import (
    PATIENCE,
    Background,
    Hold,
    blob_mount,
    holding,
    queue_images,
    states,
    tag_put,
)
from tests.support.fixtures import RegistryFactory
from tests.support.images import build_image, push_image
from tests.support.registry import RegistryServer
from tests.support.tls import make_tls_files

STABLE = Rule("tag", "ew", ("stable",))
Make = Callable[..., EngineHarness]

harness_backend = backends_fixture()


def _promoted(h: EngineHarness) -> list:  # type: ignore[type-arg]
    return [row for row in h.history() if row.outcome == "promoted"]


def _wait_until(condition: Callable[[], bool], wake: threading.Event) -> None:
    """Wait, woken by ``wake``, until ``condition`` holds (never a fixed sleep)."""
    for _ in range(int(PATIENCE * 4)):
        if condition():
            return
        wake.wait(0.25)
        wake.clear()
    assert condition()


def _shared(h: EngineHarness) -> str:
    """The location of a harness's store, for a second engine on the same one."""
    if h.database.path is not None:
        return str(h.database.path)
    return h.database.url.render_as_string(hide_password=False)


def test_promotions_overlap_up_to_the_bound_of_each_registry(
    registry_factory: RegistryFactory, make_harness: Make
) -> None:
    a, b = registry_factory(), registry_factory()
    holds = {"a": Hold(tag_put("qa/web")), "b": Hold(tag_put("qa/web"))}
    h = make_harness({"a": a, "b": b}, parallel=2, client_factory=holding(holds))
    pushed = {}
    for name, server, seed in (("a", a, 500), ("b", b, 600)):
        policy = h.policy("dev/web", "qa/web", "%n", STABLE, profile=name)
        assert policy.id is not None
        pushed[name] = queue_images(h, policy.id, name, 4, seed, server.url)

    run = Background(h).start()
    # Two tag writes held on each registry: four promotions side by side, no more.
    holds["a"].wait_held(2)
    holds["b"].wait_held(2)
    assert states(h) == {"running": 4, "pending": 4}
    for hold in holds.values():
        hold.release()
    counts = run.join()

    assert counts == {"promoted": 8, "skipped": 0, "failed": 0, "retry": 0, "lost": 0}
    assert run.result["peak"] == total_slots(2) == 4
    assert holds["a"].peak == holds["b"].peak == 2
    rows = _promoted(h)
    assert sorted(row.entry_id for row in rows) == sorted({row.entry_id for row in rows})
    assert len(rows) == 8
    for name in ("a", "b"):
        client = h.client(name)
        for tag, digest in pushed[name].items():
            assert client.head_manifest("qa/web", tag).digest == digest
            assert len(read_provenance(client, "qa/web", digest)) == 1
    assert states(h) == {"done": 8}


def test_a_slow_registry_leaves_the_other_one_promoting(
    registry_factory: RegistryFactory, make_harness: Make
) -> None:
    slow, quick = registry_factory(), registry_factory()
    hold = Hold(tag_put("qa/web"))
    h = make_harness(
        {"slow": slow, "quick": quick}, parallel=2, client_factory=holding({"slow": hold})
    )
    for name, server, seed in (("slow", slow, 700), ("quick", quick, 710)):
        policy = h.policy("dev/web", "qa/web", "%n", STABLE, profile=name)
        assert policy.id is not None
        queue_images(h, policy.id, name, 4, seed, server.url)

    run = Background(h).start()
    hold.wait_held(2)  # the slow registry's two slots are taken and stay taken
    _wait_until(
        lambda: sum(1 for r in h.recorder.finished if r.source_profile == "quick") == 4,
        h.recorder.done,
    )
    assert hold.held == 2  # the quick registry finished all four meanwhile
    hold.release()
    assert run.join()["promoted"] == 8
    assert hold.peak == 2


def test_promotions_to_one_tag_take_turns_in_the_order_they_were_claimed(
    registry: RegistryServer, make_harness: Make
) -> None:
    hold = Hold(tag_put("qa/web"))
    h = make_harness({"local": registry}, parallel=4, client_factory=holding({"local": hold}))
    policy = h.policy("dev/web", "qa/web", "latest", STABLE, overwrite=OverwriteMode.OVERWRITE)
    assert policy.id is not None
    pushed = queue_images(h, policy.id, "local", 2, 800, registry.url)

    run = Background(h).start()
    hold.wait_held(1)
    with QueueStore(h.database, h.clock) as store:
        first, second = store.entries()
    # The second is claimed but waits for the first before it reserves the tag.
    assert (first.state, first.target_tag) == ("running", "latest")
    assert (second.state, second.target_tag) == ("running", None)
    hold.release()
    assert run.join()["promoted"] == 2

    assert hold.peak == 1
    rows = _promoted(h)
    assert [row.source_tag for row in rows] == ["0-stable", "1-stable"]
    assert h.client().head_manifest("qa/web", "latest").digest == pushed["1-stable"]
    assert h.recorder.failed == []


def test_a_stop_interrupts_every_promotion_in_flight_before_its_tag(
    registry: RegistryServer, make_harness: Make
) -> None:
    first_blobs: set[str] = set()
    hold = Hold(blob_mount("qa/web", first_blobs))
    h = make_harness({"local": registry}, parallel=4, client_factory=holding({"local": hold}))
    policy = h.policy("dev/web", "qa/web", "%n", STABLE)
    assert policy.id is not None
    pushed = queue_images(h, policy.id, "local", 6, 900, registry.url, first_blobs)

    run = Background(h).start()
    hold.wait_held(4)  # four copies in flight, each before its tag
    h.engine.stop()
    hold.release()
    counts = run.join()

    assert counts == {"promoted": 0, "skipped": 0, "failed": 0, "retry": 4, "lost": 0}
    assert h.tags("qa/web") == []  # nothing half-tagged
    assert states(h) == {"pending": 6}
    assert h.history() == []

    again = make_harness({"local": registry}, database=_shared(h), parallel=4)
    assert Background(again).start().join()["promoted"] == 6
    rows = _promoted(again)
    assert sorted(row.source_tag for row in rows) == sorted(pushed)
    client = again.client()
    for tag, digest in pushed.items():
        assert client.head_manifest("qa/web", tag).digest == digest


def test_an_engine_stalled_in_flight_is_taken_over_without_a_loss_or_a_double(
    registry: RegistryServer, make_harness: Make
) -> None:
    hold = Hold(tag_put("qa/web"))
    # A lease far longer than the test: renewals do not fire, only the clock lapses it.
    lease = timedelta(hours=1)
    a = make_harness(
        {"local": registry}, parallel=4, lease=lease, client_factory=holding({"local": hold})
    )
    policy = a.policy("dev/web", "qa/web", "%n", STABLE)
    assert policy.id is not None
    pushed = queue_images(a, policy.id, "local", 8, 1000, registry.url)

    stalled = Background(a).start()
    hold.wait_held(4)  # engine A: four promotions stuck at their last write
    b = make_harness({"local": registry}, database=_shared(a), parallel=4, lease=lease)
    b.clock.advance(lease.total_seconds() + 1)  # A's claims have lapsed for B
    assert Background(b).start().join()["promoted"] == 8
    hold.release()  # A comes back: its tag writes land (same digests), the rest is fenced
    counts = stalled.join()

    assert counts["lost"] == 4 and counts["promoted"] == 0
    rows = _promoted(b)
    assert len(rows) == 8 and len({row.entry_id for row in rows}) == 8
    assert {row.agent for row in rows} == {b.engine.name}
    client = b.client()
    for tag, digest in pushed.items():
        assert client.head_manifest("qa/web", tag).digest == digest
        assert len(read_provenance(client, "qa/web", digest)) == 1
    assert states(b) == {"done": 8}


def test_callbacks_of_parallel_promotions_come_on_the_engines_thread(
    registry: RegistryServer, make_harness: Make
) -> None:
    seen: list[str] = []
    h = make_harness({"local": registry}, parallel=4)
    callbacks = h.engine.callbacks
    for name in ("started", "progress", "finished", "failed"):
        previous = getattr(callbacks, name)

        def record(*args: object, previous: Callable[..., None] | None = previous) -> None:
            seen.append(threading.current_thread().name)
            if previous is not None:
                previous(*args)

        setattr(callbacks, name, record)
    policy = h.policy("dev/web", "qa/web", "%n", STABLE)
    assert policy.id is not None
    queue_images(h, policy.id, "local", 6, 1100, registry.url)

    run = Background(h).start()
    assert run.join()["promoted"] == 6
    assert run.result["peak"] > 1
    assert len(seen) > 12 and set(seen) == {"test-engine"}


def test_one_at_a_time_with_parallel_one(registry: RegistryServer, make_harness: Make) -> None:
    hold = Hold(tag_put("qa/web"))
    h = make_harness({"local": registry}, parallel=1, client_factory=holding({"local": hold}))
    assert h.engine.runner.pipeline is None
    policy = h.policy("dev/web", "qa/web", "%n", STABLE)
    assert policy.id is not None
    queue_images(h, policy.id, "local", 3, 1200, registry.url)

    run = Background(h).start()
    hold.wait_held(1)
    assert states(h) == {"running": 1, "pending": 2}
    hold.release()
    assert run.join()["promoted"] == 3
    assert hold.peak == 1


def test_a_chain_of_parallel_promotions_is_followed_on_the_engines_thread(
    registry: RegistryServer, make_harness: Make
) -> None:
    h = make_harness({"local": registry}, parallel=4)
    first = h.policy("dev/web", "qa/web", "%n", STABLE)
    h.policy("qa/web", "prod/web", "%n", STABLE)
    assert first.id is not None
    h.engine.run_cycle()  # baselines of both repositories
    pushed = queue_images(h, first.id, "local", 4, 1300, registry.url)
    counts = h.engine.runner.run_due()
    assert counts["promoted"] == 8  # four, then the four they chained to prod
    client = h.client()
    for tag, digest in pushed.items():
        assert client.head_manifest("prod/web", tag).digest == digest
    hops = sorted(row.hop for row in _promoted(h))
    assert hops == [0] * 4 + [1] * 4


def test_the_parallel_setting_is_a_whole_number_in_range() -> None:
    assert parallel_from(None) == 4
    assert parallel_from(8) == 8
    assert parallel_from(1) == 1
    for bad in (0, -2, 65, "8", 2.5, True):
        assert parallel_from(bad) == 4
    assert total_slots(1) == 1 and total_slots(4) == 8


def test_two_parallel_engines_on_one_queue_promote_each_entry_once(
    registry: RegistryServer, make_harness: Make
) -> None:
    """Two engines of one store, both parallel, race for the same queue: each entry is
    promoted by exactly one of them."""
    a = make_harness({"local": registry}, parallel=4)
    policy = a.policy("dev/web", "qa/web", "%n", STABLE)
    assert policy.id is not None
    pushed = queue_images(a, policy.id, "local", 10, 1400, registry.url)
    b = make_harness({"local": registry}, database=_shared(a), parallel=4)
    runs = [Background(a).start(), Background(b).start()]
    counts = [run.join() for run in runs]
    assert sum(c["promoted"] for c in counts) == 10
    assert sum(c["failed"] + c["lost"] for c in counts) == 0
    rows = _promoted(a)
    assert sorted(row.entry_id for row in rows) == sorted({row.entry_id for row in rows})
    assert len(rows) == 10
    client = a.client()
    for tag, digest in pushed.items():
        assert client.head_manifest("qa/web", tag).digest == digest
        assert len(read_provenance(client, "qa/web", digest)) == 1


def test_parallel_promotions_share_an_http2_connection_to_a_tls_registry(
    registry_factory: RegistryFactory, make_harness: Make, tmp_path: Path
) -> None:
    pytest.importorskip("h2", reason="HTTP/2 needs the h2 package (a dependency)")
    files = make_tls_files(tmp_path / "tls")
    server = registry_factory(tls=files)
    made: list[RegistryClient] = []

    def trusting(profile: Profile, credential: Credential | None) -> RegistryClient:
        made.append(RegistryClient(profile.url, credential, ca_file=str(files.ca), http2=True))
        return made[-1]

    h = make_harness({"tls": server}, parallel=4, client_factory=trusting)
    policy = h.policy("dev/web", "qa/web", "%n", STABLE)
    assert policy.id is not None
    context = ssl.create_default_context(cafile=str(files.ca))
    with httpx.Client(verify=context) as pusher, QueueStore(h.database, h.clock) as store:
        pushed = {}
        for n in range(6):
            image = build_image(seed=1500 + n)
            push_image(server.url, "dev/web", f"{n}-stable", image, client=pusher)
            pushed[f"{n}-stable"] = image.digest
            store.enqueue(
                QueueEntry(
                    None, policy.id, "tls", "dev/web", f"{n}-stable", image.digest, "tls", "qa/web"
                )
            )
    assert h.engine.runner.run_due()["promoted"] == 6
    [client] = made
    assert client.session.send("GET", "/v2/", scopes=[], what="x").http_version == "HTTP/2"
    for tag, digest in pushed.items():
        assert client.head_manifest("qa/web", tag).digest == digest


def test_ctrl_c_in_the_dispatcher_stops_every_copy_before_its_tag(
    registry: RegistryServer, make_harness: Make
) -> None:
    first_blobs: set[str] = set()
    hold = Hold(blob_mount("qa/web", first_blobs))
    h = make_harness({"local": registry}, parallel=4, client_factory=holding({"local": hold}))
    policy = h.policy("dev/web", "qa/web", "%n", STABLE)
    assert policy.id is not None
    queue_images(h, policy.id, "local", 5, 1600, registry.url, first_blobs)
    press, pressed = threading.Event(), threading.Event()

    def between() -> None:  # the dispatcher's beat: where a Ctrl-C lands as well as anywhere
        if press.is_set() and not pressed.is_set():
            pressed.set()
            raise KeyboardInterrupt

    h.engine.runner.between = between
    run = Background(h).start()
    hold.wait_held(4)
    press.set()
    assert pressed.wait(PATIENCE)
    hold.release()
    with pytest.raises(KeyboardInterrupt):
        run.join()
    assert h.tags("qa/web") == []
    assert states(h) == {"pending": 5}
    assert h.history() == []


def test_a_registry_at_its_bound_is_not_overtaken_into_a_shared_target(
    registry_factory: RegistryFactory, make_harness: Make
) -> None:
    """Two sources promote into one tag: while the first source is at its bound, the
    second's later promotion waits too, so the later push still ends up on the tag."""
    a, b, c = registry_factory(), registry_factory(), registry_factory()
    hold = Hold(tag_put("qa/fill"))
    h = make_harness({"a": a, "b": b, "c": c}, parallel=2, client_factory=holding({"a": hold}))
    fill = h.policy("dev/fill", "qa/fill", "%n", STABLE, profile="a")
    latest = {"overwrite": OverwriteMode.OVERWRITE, "target_profile": "b"}
    from_a = h.policy("dev/web", "qa/web", "latest", STABLE, profile="a", **latest)
    from_c = h.policy("dev/web", "qa/web", "latest", STABLE, profile="c", **latest)
    order = [(fill, a, "a", "dev/fill", "qa/fill", "a")] * 2 + [
        (from_a, a, "a", "dev/web", "qa/web", "b"),
        (from_c, c, "c", "dev/web", "qa/web", "b"),
    ]
    digests = []
    with QueueStore(h.database, h.clock) as store:
        for n, (policy, server, source, repo, target_repo, target) in enumerate(order):
            image = build_image(seed=1700 + n)
            push_image(server.url, repo, f"{n}-stable", image)
            digests.append(image.digest)
            assert policy.id is not None
            store.enqueue(
                QueueEntry(
                    None, policy.id, source, repo, f"{n}-stable", image.digest, target, target_repo
                )
            )
            h.clock.advance(1)  # queued one after the other, as pushes are found

    run = Background(h).start()
    hold.wait_held(2)  # registry a is at its bound
    with QueueStore(h.database, h.clock) as store:
        assert [e.state for e in store.entries()] == ["running", "running", "pending", "pending"]
    hold.release()
    assert run.join()["promoted"] == 4
    assert h.client("b").head_manifest("qa/web", "latest").digest == digests[3]
    web = [row.source_profile for row in _promoted(h) if row.target_repository == "qa/web"]
    assert web == ["a", "c"]
