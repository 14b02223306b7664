"""Soak: is every push promoted exactly once, whatever happens to the agents?

Hoister promises that a matching push is promoted once: not lost when an agent dies,
not doubled when several engines share a database, not half-copied when the network
fails. This measures the promise from outside, with real ``hoister`` processes and real
registries, in four scenarios (see bench/README.md):

1. ``kill -9``: an agent is SIGKILLed at random moments while tags are pushed, and
   restarted; at the end one agent drains the queue. Same- and cross-registry policies.
2. three engines: three agents on one ``HOISTER_HOME``, each stopped (SIGTERM) and
   started again every few seconds, as apps and agents come and go.
3. flaky proxy: the profiles point at proxies that inject 503s, resets mid-upload and
   mid-download, and answers dropped after the registry applied the request.
4. one poll cycle, eight pushes, template ``%Y%m%d-%H%M%S``: every push needs a tag of
   its own although they are promoted within the same second.

Waits are on conditions (the target's tags, the queue) bounded by timeouts, so a lost
promotion costs a bounded wait, not a hang.
"""

from __future__ import annotations

import random
import signal
import subprocess
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import httpx
from tests.support.images import Image, build_image, push_image

from bench.common import Workspace, heading, progress, table
from bench.flakyproxy import FAULTS, FaultCounts, FaultRates, FlakyProxy
from bench.soakcount import Arrivals, Figures, Push, Target, count, merge
from bench.soakhome import STOP_TIMEOUT, HoisterHome
from hoister.engine.engine import Engine
from hoister.paths import default_paths
from hoister.profiles import ProfileStore
from hoister.store import Database
from hoister.store.profiles import SharedProfileStore

SOURCE = "dev/app"
SAME_TARGET = "qa/app"
CROSS_TARGET = "prod/app"
TEMPLATE = "%n-promoted"
STAMP_TEMPLATE = "%Y%m%d-%H%M%S"
#: Seconds between checks while waiting for a condition.
STEP = 0.5
#: A queue that has been empty this long, with no new arrivals, has finished.
QUIET = 6.0
DEFAULT_RATES = FaultRates(
    unavailable=0.03, upload_reset=0.02, download_reset=0.02, drop_answer=0.02
)


@dataclass(frozen=True)
class SoakSettings:
    """Sizes of one run; ``quick()`` is the few-minute version."""

    kill_trials: int = 40
    kill_pushes: int = 70  # two policies: twice as many promotions
    kill_delay: tuple[float, float] = (0.3, 3.5)  # seconds an agent lives before SIGKILL
    engine_pushes: int = 50  # two policies
    engine_lifetime: tuple[float, float] = (2.0, 8.0)
    proxy_pushes: int = 40  # two policies
    stamp_pushes: int = 8
    team_pushes: int = 55  # two policies, on PostgreSQL (bench/soakteam.py)
    push_gap: float = 1.2  # mean seconds between pushes
    layer_size: int = 64 * 1024
    rates: FaultRates = DEFAULT_RATES
    drain_timeout: float = 150.0
    proxy_drain_timeout: float = 200.0
    seed: int | None = None

    @classmethod
    def quick(cls, rates: FaultRates = DEFAULT_RATES, seed: int | None = None) -> SoakSettings:
        return cls(
            kill_trials=15,
            kill_pushes=25,
            engine_pushes=20,
            engine_lifetime=(2.0, 6.0),
            proxy_pushes=12,
            push_gap=0.9,
            rates=rates,
            drain_timeout=60.0,
            proxy_drain_timeout=100.0,
            seed=seed,
        )


@dataclass
class Run:
    """What one scenario set up: its home, its targets and what was pushed."""

    home: HoisterHome
    source_url: str
    pushes: list[Push] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


# -- pushing ---------------------------------------------------------------------------


class Pusher:
    """Pushes ``count`` stable tags one by one, a random pause apart, on its own thread."""

    def __init__(
        self, run: Run, count: int, settings: SoakSettings, rng: random.Random, prefix: str = "1"
    ) -> None:
        seed = rng.getrandbits(48)
        self._images = [
            build_image(layers=2, layer_size=settings.layer_size, seed=seed + i)
            for i in range(count)
        ]
        self._run = run
        self._gap = settings.push_gap
        self._rng = random.Random(rng.getrandbits(32))
        self._prefix = prefix
        self.error: BaseException | None = None
        self.done = threading.Event()
        self._thread = threading.Thread(target=self._main, name="soak-pusher", daemon=True)

    def start(self) -> Pusher:
        self._thread.start()
        return self

    def _main(self) -> None:
        try:
            with httpx.Client(base_url=self._run.source_url, timeout=30.0) as client:
                for number, image in enumerate(self._images, start=1):
                    # Deliberate pause: it spreads the pushes over the agents' lives.
                    time.sleep(self._rng.uniform(0.0, 2 * self._gap))
                    tag = f"{self._prefix}.{number}-stable"
                    push_image(self._run.source_url, SOURCE, tag, image, client=client)
                    self._run.pushes.append(Push(SOURCE, tag, image.digest))
        except BaseException as exc:  # reported by join(), never lost with the thread
            self.error = exc
        finally:
            self.done.set()

    def join(self) -> None:
        self._thread.join()
        if self.error is not None:
            raise RuntimeError(f"pushing failed: {self.error!r}") from self.error


def push_all(run: Run, images: list[Image], tags: list[str]) -> None:
    """Push at once, one after another (no pauses)."""
    with httpx.Client(base_url=run.source_url, timeout=30.0) as client:
        for tag, image in zip(tags, images, strict=True):
            push_image(run.source_url, SOURCE, tag, image, client=client)
            run.pushes.append(Push(SOURCE, tag, image.digest))


def baseline(run: Run) -> None:
    """An existing non-matching tag, then one cycle: later pushes are new to the watcher."""
    image = build_image(layers=1, layer_size=1024)
    push_image(run.source_url, SOURCE, "base", image)
    run.home.cli("run", "--once")


# -- waiting ---------------------------------------------------------------------------


def drain(
    home: HoisterHome,
    agents: list[subprocess.Popen[bytes]],
    targets: list[Target],
    expected: set[str],
    timeout: float,
) -> str:
    """Wait until every expected digest arrived in every target and the queue is empty.

    Returns ``complete``; ``quiet`` when the queue stayed empty for QUIET seconds with no
    new arrivals while some are missing (lost for good); ``agents exited`` when none of
    ``agents`` is left to do the work; or ``timeout``.
    """
    watchers = [Arrivals(target) for target in targets]
    try:
        deadline = time.monotonic() + timeout
        last: tuple[int, ...] = ()
        quiet_since: float | None = None
        while time.monotonic() < deadline:
            if all(agent.poll() is not None for agent in agents):
                return "agents exited"
            arrived = [watcher.digests() for watcher in watchers]
            unfinished = home.unfinished()
            if unfinished == 0 and all(expected <= found for found in arrived):
                return "complete"
            state = tuple(len(found & expected) for found in arrived)
            if unfinished == 0 and state == last:
                quiet_since = quiet_since or time.monotonic()
                if time.monotonic() - quiet_since >= QUIET:
                    return "quiet"
            else:
                quiet_since = None
            last = state
            time.sleep(STEP)
        return "timeout"
    finally:
        for watcher in watchers:
            watcher.close()


def _reasons(rows: list[dict[str, Any]], most: int = 3) -> str:
    """The commonest reasons of some history rows, shortened, for a note."""
    common = Counter(str(row["reason"])[:140] for row in rows).most_common(most)
    return "".join(f"\n    {n} x {reason}" for reason, n in common)


def _running(home: HoisterHome, agent: subprocess.Popen[bytes], run: Run) -> str:
    """``yes``, or ``no`` with why the agent ended (also kept as a note for the report)."""
    if agent.poll() is None:
        return "yes"
    run.notes.append(f"the agent ended by itself, {home.why_exited(agent)}")
    return f"no (exit {agent.returncode})"


def _setup(workspace: Workspace, label: str, urls: dict[str, str]) -> HoisterHome:
    home = HoisterHome(workspace.tempdir(f"soak-{label}"))
    workspace.callback(home.close)
    for name, url in urls.items():
        home.add_profile(name, url)
    return home


# -- 1. kill -9 ------------------------------------------------------------------------


def _same_and_cross(
    name: str,
    run: Run,
    home: HoisterHome,
    targets: list[Target],
    policies: tuple[int, int],
    running: str,
) -> list[Figures]:
    """The figures of a scenario's two policies: into the same registry and across."""
    results = []
    for where, target, policy in zip(
        ("same registry", "cross registry"), targets, policies, strict=True
    ):
        figures = count(f"{name}, {where}", run.pushes, run.pushes, target, home, policy_id=policy)
        figures.agent_running = running
        results.append(figures)
    return results


def kill_scenario(settings: SoakSettings, rng: random.Random) -> list[Figures]:
    """SIGKILL an agent at random moments while pushes arrive; restart it each time."""
    with Workspace() as workspace:
        one, two = workspace.registry("soak-one"), workspace.registry("soak-two")
        home = _setup(workspace, "kill", {"one": one.url, "two": two.url})
        same = home.add_policy("one", SOURCE, SAME_TARGET, TEMPLATE)
        cross = home.add_policy("one", SOURCE, CROSS_TARGET, TEMPLATE, target_profile="two")
        run = Run(home, one.url)
        baseline(run)
        pusher = Pusher(run, settings.kill_pushes, settings, rng).start()
        trials = 0
        while trials < settings.kill_trials or not pusher.done.is_set():
            agent = home.start_agent("--interval", "1")
            # Deliberate: the kill must land at a random moment of the agent's life.
            time.sleep(rng.uniform(*settings.kill_delay))
            home.stop_agent(agent, signal.SIGKILL)
            trials += 1
            if trials % 10 == 0:
                progress(f"kill -9: {trials} kills, {len(run.pushes)} pushes")
        pusher.join()
        progress(f"kill -9: {trials} kills; one agent drains the queue")
        agent = home.start_agent("--interval", "1")
        targets = [Target(one.url, SAME_TARGET), Target(two.url, CROSS_TARGET)]
        expected = {p.digest for p in run.pushes}
        state = drain(home, [agent], targets, expected, settings.drain_timeout)
        running = _running(home, agent, run)
        home.stop_agent(agent)
        results = _same_and_cross("kill -9", run, home, targets, (same, cross), running)
        results[0].notes.append(
            f"kill -9: {trials} SIGKILLs {settings.kill_delay[0]:g}-{settings.kill_delay[1]:g} s"
            f" after each start; drain: {state}"
        )
        results[0].notes += run.notes
        return results


# -- 2. three engines ------------------------------------------------------------------


class Restarter:
    """One engine slot: an agent that is stopped (SIGTERM) and started again and again."""

    def __init__(self, home: HoisterHome, lifetime: tuple[float, float], seed: int) -> None:
        self._home = home
        self._lifetime = lifetime
        self._rng = random.Random(seed)
        self._stop = threading.Event()
        self.starts = 0
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._main, name="soak-engine", daemon=True)

    def start(self) -> Restarter:
        self._thread.start()
        return self

    def _main(self) -> None:
        try:
            while not self._stop.is_set():
                agent = self._home.start_agent("--interval", "1")
                self.starts += 1
                self._stop.wait(self._rng.uniform(*self._lifetime))
                self._home.stop_agent(agent, signal.SIGTERM)
        except BaseException as exc:  # reported by join()
            self.error = exc

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()
        if self.error is not None:
            error, self.error = self.error, None
            raise RuntimeError(f"an engine slot failed: {error!r}") from error


class AppEngine:
    """The desktop app's engine: the same :class:`Engine` the app's controller runs on a
    thread of its own, here in this process, sharing the agents' ``HOISTER_HOME`` — or,
    given ``database_url``, their team database and its shared connections."""

    def __init__(self, home: HoisterHome, database_url: str | None = None) -> None:
        paths = default_paths({"HOISTER_HOME": str(home.root)})
        database = Database.open(database_url or paths.database)
        profiles = (
            SharedProfileStore(database)  # the team's connections, as the app reads them
            if database.shared
            else ProfileStore(paths.profiles_file)
        )
        self.engine = Engine(
            database, profiles, lambda _profile: None, actor="soak-app@workstation"
        )
        self._thread = threading.Thread(
            target=self.engine.run_forever, args=(1.0,), name="soak-app-engine", daemon=True
        )

    def start(self) -> AppEngine:
        self._thread.start()
        return self

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def stop(self) -> None:
        self.engine.stop()
        self._thread.join(STOP_TIMEOUT)


def engines_scenario(settings: SoakSettings, rng: random.Random) -> list[Figures]:
    """Three engines at once on one HOISTER_HOME — two agents coming and going, and the
    app's engine in this process — while pushes arrive."""
    with Workspace() as workspace:
        one, two = workspace.registry("soak-one"), workspace.registry("soak-two")
        home = _setup(workspace, "engines", {"one": one.url, "two": two.url})
        same = home.add_policy("one", SOURCE, SAME_TARGET, TEMPLATE)
        cross = home.add_policy("one", SOURCE, CROSS_TARGET, TEMPLATE, target_profile="two")
        run = Run(home, one.url)
        baseline(run)
        slots = [
            Restarter(home, settings.engine_lifetime, rng.getrandbits(32)).start() for _ in range(2)
        ]
        for slot in slots:
            workspace.callback(slot.stop)
        app = AppEngine(home).start()
        workspace.callback(app.stop)
        pusher = Pusher(run, settings.engine_pushes, settings, rng).start()
        pusher.join()
        progress(f"three engines: {len(run.pushes)} pushes; all three drain the queue")
        for slot in slots:
            slot.stop()
        starts = sum(slot.starts for slot in slots)
        agents = [home.start_agent("--interval", "1") for _ in range(2)]
        targets = [Target(one.url, SAME_TARGET), Target(two.url, CROSS_TARGET)]
        expected = {p.digest for p in run.pushes}
        state = drain(home, agents, targets, expected, settings.drain_timeout)
        running = sum(agent.poll() is None for agent in agents) + app.running
        app.stop()
        for agent in agents:
            if agent.poll() is not None:
                run.notes.append(
                    f"three engines: an agent ended by itself, {home.why_exited(agent)}"
                )
        for agent in agents:
            home.stop_agent(agent)
        results = _same_and_cross(
            "three engines", run, home, targets, (same, cross), f"{running}/3"
        )
        results[0].notes.append(
            f"three engines: the app's engine ran throughout, beside {starts} agent starts "
            f"while pushing (each lived {settings.engine_lifetime[0]:g}-"
            f"{settings.engine_lifetime[1]:g} s, then SIGTERM); then 2 agents and the app's "
            f"engine drained: {state}"
        )
        results[0].notes += run.notes
        return results


# -- 3. flaky proxy --------------------------------------------------------------------


def proxy_scenario(settings: SoakSettings, rng: random.Random) -> tuple[list[Figures], FaultCounts]:
    """One agent whose every request goes through a proxy that fails at random."""
    with Workspace() as workspace:
        one, two = workspace.registry("soak-one"), workspace.registry("soak-two")
        quiet = FaultRates()
        proxies = [
            FlakyProxy(server.url, quiet, seed=rng.getrandbits(32)).start() for server in (one, two)
        ]
        for proxy in proxies:
            workspace.callback(proxy.stop)
        home = _setup(workspace, "proxy", {"one": proxies[0].url, "two": proxies[1].url})
        same = home.add_policy("one", SOURCE, SAME_TARGET, TEMPLATE)
        cross = home.add_policy("one", SOURCE, CROSS_TARGET, TEMPLATE, target_profile="two")
        run = Run(home, one.url)  # pushes go straight to the registry, not through a proxy
        baseline(run)
        for proxy in proxies:
            proxy.rates = settings.rates
        agent = home.start_agent("--interval", "1")
        Pusher(run, settings.proxy_pushes, settings, rng).start().join()
        progress(f"flaky proxy: {len(run.pushes)} pushes; waiting for the queue to drain")
        targets = [Target(one.url, SAME_TARGET), Target(two.url, CROSS_TARGET)]
        expected = {p.digest for p in run.pushes}
        state = drain(home, [agent], targets, expected, settings.proxy_drain_timeout)
        running = _running(home, agent, run)
        for proxy in proxies:
            proxy.rates = quiet
        home.stop_agent(agent)
        results = _same_and_cross("flaky proxy", run, home, targets, (same, cross), running)
        failed = [row for row in results[0].history if row["outcome"] == "failed"]
        results[0].notes.append(
            f"flaky proxy: fault rates per request {settings.rates.describe()}; drain: {state};"
            f" {len(failed)} promotions failed for good (history 'failed'){_reasons(failed)}"
        )
        results[0].notes += run.notes
        return results, proxies[0].counts.merged(proxies[1].counts)


# -- 4. eight pushes in one cycle, a time template -------------------------------------


def stamp_scenario(settings: SoakSettings, rng: random.Random) -> Figures:
    """Eight stable pushes found by one poll, all promoted with ``%Y%m%d-%H%M%S``."""
    with Workspace() as workspace:
        one = workspace.registry("soak-stamp")
        home = _setup(workspace, "stamp", {"one": one.url})
        policy = home.add_policy("one", SOURCE, SAME_TARGET, STAMP_TEMPLATE)
        run = Run(home, one.url)
        baseline(run)
        seed = rng.getrandbits(48)
        images = [
            build_image(layers=2, layer_size=settings.layer_size, seed=seed + i)
            for i in range(settings.stamp_pushes)
        ]
        push_all(run, images, [f"2.{n}-stable" for n in range(1, len(images) + 1)])
        try:
            run.home.cli("run", "--once")  # one cycle finds all of them at once
            once = "exit 0"
        except RuntimeError as exc:
            once = f"failed: {str(exc).splitlines()[0]}"
        agent = home.start_agent("--interval", "1")
        target = Target(one.url, SAME_TARGET)
        state = drain(
            home, [agent], [target], {p.digest for p in run.pushes}, settings.drain_timeout
        )
        running = _running(home, agent, run)
        home.stop_agent(agent)
        figures = count("8 pushes, one cycle, %Y%m%d-%H%M%S", run.pushes, run.pushes, target, home)
        figures.agent_running = running
        rows = [
            r for r in figures.history if r["outcome"] == "promoted" and r["policy_id"] == policy
        ]
        matching = [r for r in rows if figures.tags.get(r["target_tag"]) == r["source_digest"]]
        outcomes: dict[str, int] = {}
        for row in figures.history:
            outcomes[row["outcome"]] = outcomes.get(row["outcome"], 0) + 1
        figures.notes.append(
            f"time template: `hoister run --once` {once}; history promoted rows {len(rows)}, "
            f"distinct target tags {figures.target_tags}, each target tag has its source's "
            f"digest: {'yes' if len(matching) == len(rows) == figures.target_tags else 'no'} "
            f"({len(matching)} of {len(rows)}); history outcomes {outcomes}; drain: {state}"
            + _reasons([row for row in figures.history if row["outcome"] == "skipped"])
        )
        figures.notes += run.notes
        return figures


# -- report ----------------------------------------------------------------------------

HEADERS = [
    "scenario",
    "pushes",
    "expected",
    "promoted",
    "lost",
    "doubled tags",
    "doubled history",
    "doubled provenance",
    "no provenance",
    "half-copied",
    "db integrity",
    "agent running",
]


def _row(figures: Figures) -> list[str]:
    numbers = [
        figures.pushes,
        figures.expected,
        figures.promoted,
        figures.lost,
        figures.doubled_tags,
        figures.doubled_history,
        figures.doubled_provenance,
        figures.no_provenance,
        figures.half_copied,
    ]
    return [figures.scenario, *map(str, numbers), figures.integrity, figures.agent_running]


def report(results: list[Figures], faults: FaultCounts | None) -> None:
    print(table(HEADERS, [_row(f) for f in results], left=1))
    print(
        "\nexpected: promotions the policies call for (one per push and policy); promoted:"
        " their digest is under a target tag; doubled: copies beyond the first per"
        " (policy, source digest, source tag); half-copied: a target tag with a missing"
        " manifest or blob; db integrity: PRAGMA integrity_check."
    )
    for figures in results:
        for note in figures.notes:
            print(note)
    if faults is not None:
        injected = ", ".join(f"{name} {faults.faults[name]}" for name in FAULTS)
        print(f"faults injected: {injected} (of {faults.requests} requests through the proxies)")


def run(settings: SoakSettings) -> list[Figures]:
    """Every scenario in turn, each with its own registries, home and temp dirs."""
    heading("soak: is every push promoted exactly once?")
    seed = settings.seed if settings.seed is not None else random.SystemRandom().getrandbits(32)
    rng = random.Random(seed)
    print(f"seed {seed} (pass --seed {seed} to repeat the random choices)", flush=True)
    results: list[Figures] = []
    progress(f"kill -9: {settings.kill_trials} kills, {settings.kill_pushes} pushes x 2 policies")
    results += kill_scenario(settings, rng)
    progress(f"three engines: {settings.engine_pushes} pushes x 2 policies")
    results += engines_scenario(settings, rng)
    progress(f"flaky proxy: {settings.proxy_pushes} pushes x 2 policies")
    proxied, faults = proxy_scenario(settings, rng)
    results += proxied
    progress(f"time template: {settings.stamp_pushes} pushes in one poll cycle")
    results.append(stamp_scenario(settings, rng))
    print()
    report(results, faults)
    totals = merge("all scenarios", results)
    print(
        f"\nall scenarios: {totals.expected} expected, {totals.lost} lost, "
        f"{totals.doubled_tags + totals.doubled_history + totals.doubled_provenance} doubled "
        f"(tags + history + provenance), {totals.half_copied} half-copied"
    )
    return results
