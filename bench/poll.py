"""``python -m bench poll``: requests per steady poll cycle, and push-to-promotion.

A registry (see :mod:`bench.pollregistry`) holds ``repositories`` watched repositories
with one tag each and ``big/app`` with ``big_tags`` tags; one policy per repository
(``tag sw 1.``, so every tag matches), each into ``promoted/...``. The engine is the
app's and the agent's :class:`~hoister.engine.engine.Engine`, here on the benchmark's
main thread: one ``run_cycle()`` is its baseline, then ``cycles`` steady cycles with
nothing new, each bracketed by markers in the registry's access log, which counts its
requests (:mod:`bench.accesslog`). The client stays the same across cycles, as in a
long-running agent, so whatever it remembers between cycles counts.

Then the same database is polled by an engine running ``run_forever(interval)`` on its
own thread (:mod:`bench.enginethread`); after its first cycle, a new tag is pushed into
a random watched repository at a random moment of the cycle, ``pushes`` times, and the
time from the push's manifest PUT to the engine's ``finished`` callback is measured: how
soon a new tag among many repositories is examined and promoted by polling alone.
"""

from __future__ import annotations

import os
import random
import threading
import time
from collections import Counter
from dataclasses import dataclass, field, replace

from tests.support.images import build_image, push_image

from bench import accesslog
from bench.common import Workspace, heading, median, progress, say, table
from bench.enginethread import Arrivals, EngineThread
from bench.pollregistry import BIG_REPOSITORY, ensure_storage, serve_copy, watched
from hoister.engine.engine import Engine
from hoister.engine.events import EngineCallbacks
from hoister.policies import Policy, Rule, check_policy
from hoister.profiles import Profile, ProfileStore
from hoister.store import Database, PolicyStore

PROFILE = "local"
MATCH_ALL = Rule("tag", "sw", ("1.",))
#: Seconds beyond two cycles and an interval before a push counts as not promoted.
SLACK = 60.0


@dataclass(frozen=True)
class PollSettings:
    repositories: int = 1000
    big_tags: int = 501
    cycles: int = 5
    pushes: int = 3
    interval: float = 1.0

    @classmethod
    def make(
        cls, *, quick: bool, repositories: int | None = None, cycles: int | None = None
    ) -> PollSettings:
        """The quick or full size, with ``repositories`` and ``cycles`` when given."""
        settings = cls(repositories=100, big_tags=51, cycles=3, pushes=2) if quick else cls()
        if repositories:
            settings = replace(settings, repositories=repositories)
        return replace(settings, cycles=cycles) if cycles else settings


@dataclass
class Cycle:
    label: str
    seconds: float
    enqueued: int
    counts: Counter[str] = field(default_factory=Counter)  # watched, big, other
    kinds: Counter[str] = field(default_factory=Counter)


def policies(settings: PollSettings) -> list[Policy]:
    names = [watched(index) for index in range(settings.repositories)] + [BIG_REPOSITORY]
    return [
        Policy(
            source_profile=PROFILE,
            source_repository=name,
            target_repository=f"promoted/{name.replace('/', '-')}",
            tag_template="%n",
            rules=(MATCH_ALL,),
            name=f"poll {name}",
        )
        for name in names
    ]


def cycles(database: Database, profiles: ProfileStore, server_url: str, count: int) -> list[Cycle]:
    """The baseline and ``count`` steady cycles, on this thread, each between markers."""
    engine = Engine(database, profiles, lambda _profile: None, actor="bench@hoister")
    done = []
    try:
        for label in ["baseline", *(f"cycle-{n}" for n in range(1, count + 1))]:
            accesslog.mark(server_url, label)
            started = time.perf_counter()
            report = engine.run_cycle()
            done.append(Cycle(label, time.perf_counter() - started, report.enqueued))
            progress(f"{label}: {done[-1].seconds:.2f} s, {report.repositories} repositories")
        accesslog.mark(server_url, accesslog.IDLE)
        engine.retire()
    finally:
        engine.close()
    return done


def push_to_promotion(
    database: Database, settings: PollSettings, profiles_path: object, server_url: str, cycle: float
) -> list[float | None]:
    """Seconds from each new push's manifest PUT to its promotion (None: not in time)."""
    rng = random.Random()
    tags = [f"1.{1000 + n}-new" for n in range(settings.pushes)]
    promoted = Arrivals(tags)
    first_cycle = threading.Event()
    callbacks = EngineCallbacks(
        finished=lambda entry, row: promoted.record(entry.source_tag, row.outcome),
        cycle_done=lambda _report: first_cycle.set(),
    )
    thread = EngineThread(database, profiles_path, callbacks, settings.interval)  # type: ignore[arg-type]
    found: list[float | None] = []
    thread.start()
    try:
        if not first_cycle.wait(cycle * 3 + SLACK):
            raise RuntimeError("the engine thread did not finish a poll cycle")
        for number, tag in enumerate(tags):
            time.sleep(rng.uniform(0, cycle + settings.interval))  # a random moment of the cycle
            repository = watched(rng.randrange(settings.repositories))
            image = build_image(layers=1, layer_size=1024, seed=rng.getrandbits(48))
            push_image(server_url, repository, tag, image)
            pushed = time.perf_counter()
            if promoted.wait(tag, 2 * cycle + settings.interval + SLACK):
                found.append(promoted.times[tag] - pushed)
            else:
                found.append(None)
            waited = found[-1]
            said = f"{waited:.2f} s" if waited is not None else "not promoted in time"
            progress(f"push {number + 1} ({repository}:{tag}): {said}")
    finally:
        thread.stop()
    return found


def count(cycles_done: list[Cycle], requests: list[accesslog.Request]) -> None:
    windows = accesslog.windows(requests)
    for cycle in cycles_done:
        for request in windows.get(cycle.label, []):
            repository = request.repository
            where = (
                "big"
                if repository == BIG_REPOSITORY
                else "watched"
                if repository.startswith("watch/")
                else "other"
            )
            cycle.counts[where] += 1
            cycle.kinds[request.kind] += 1


def run(settings: PollSettings) -> None:
    heading(f"poll: requests per steady cycle over {settings.repositories:,} repositories")
    load_before = os.getloadavg()
    storage = ensure_storage(settings.repositories, settings.big_tags)
    with Workspace() as workspace:
        server = serve_copy(workspace, storage)
        home = workspace.tempdir("poll-home")
        database = Database.open(home / "hoister.db")
        profiles = ProfileStore(home / "profiles.json")
        profiles.add(Profile(name=PROFILE, url=server.url))
        with PolicyStore(database) as store:
            store.add_many(policies(settings), check=check_policy)
        done = cycles(database, profiles, server.url, settings.cycles)
        steady = median([c.seconds for c in done[1:]])
        latencies = push_to_promotion(
            database, settings, home / "profiles.json", server.url, steady
        )
        server.stop()
        count(done, accesslog.read(server.log_path))
    report(settings, done, latencies, load_before, os.getloadavg())


def report(
    settings: PollSettings,
    done: list[Cycle],
    latencies: list[float | None],
    load_before: tuple[float, float, float],
    load_after: tuple[float, float, float],
) -> None:
    def row(label: str, group: list[Cycle]) -> list[str]:
        def mean(key: str) -> float:
            return sum(c.counts[key] for c in group) / len(group)

        total = mean("watched") + mean("big") + mean("other")
        return [
            label,
            f"{total:.1f}",
            f"{mean('watched'):.1f}",
            f"{mean('big'):.1f}",
            f"{mean('other'):.1f}",
            f"{median([c.seconds for c in group]):.2f}",
            f"{sum(c.enqueued for c in group)}",
            " ".join(str(sum(c.counts.values())) for c in group),
        ]

    steady = done[1:]
    headers = ["cycle", "requests", f"{settings.repositories:,} watched", BIG_REPOSITORY]
    headers += ["other", "seconds", "enqueued", "each cycle"]
    rows = [row("baseline", done[:1]), row(f"steady (mean of {len(steady)})", steady)]
    print(table(headers, rows, left=1))
    kinds: Counter[str] = Counter()
    for cycle in steady:
        kinds.update(cycle.kinds)
    say(
        "steady cycle by kind: "
        + ", ".join(f"{kind} {n / len(steady):.1f}" for kind, n in kinds.most_common())
    )
    per = sum(c.counts["watched"] + c.counts["other"] for c in steady) / len(steady)
    goal = settings.repositories * 1.1
    print()
    say(
        f"steady cycle over {settings.repositories:,} watched repositories with nothing new "
        f"(big/app left out, /v2/ checks in): {per:.1f} requests; goal <= {goal:,.0f}: "
        f"{'met' if per <= goal else 'not met'}"
    )
    big = sum(c.counts["big"] for c in steady) / len(steady)
    say(
        f"one repository with {settings.big_tags} matching tags: {big:.1f} requests per cycle "
        f"(one tags list and one HEAD per matching tag would be {settings.big_tags + 1})"
    )
    times = [t for t in latencies if t is not None]
    missed = len(latencies) - len(times)
    if times:
        say(
            f"push to promotion by polling alone (interval {settings.interval:g} s after each "
            f"cycle; a steady cycle takes {median([c.seconds for c in steady]):.2f} s): median "
            f"{median(times):.2f} s, max {max(times):.2f} s over {len(times)} pushes"
            + (f"; {missed} not promoted in time" if missed else "")
        )
    else:
        print(f"push to promotion: none of {len(latencies)} pushes was promoted in time")
    print(
        "load average (1, 5, 15 min) before: "
        + " ".join(f"{x:.2f}" for x in load_before)
        + "; after: "
        + " ".join(f"{x:.2f}" for x in load_after)
    )
