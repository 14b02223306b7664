"""Soak on a team database: three agents on three "machines" and a desktop engine, one
PostgreSQL, agents killed with SIGKILL at random moments.

Each agent has a ``HOISTER_HOME`` of its own and runs in a UTS namespace under a host
name of its own, so to the queue it is an agent on another machine: when it dies,
only its lease reveals it (``--lease``), as in a real team. A killed agent's machine
does not come back; a new agent starts on a new host name a moment later. The app's
engine runs in this process on the same database. The queue is watched throughout, and
for every entry a killed agent held, the time until another engine claimed it is the
takeover time the report prints.
"""

from __future__ import annotations

import random
import signal
import statistics
import subprocess
import threading
import time
from dataclasses import dataclass, field

import psycopg
from tests.support.postgres import PostgresServer

from bench.common import Workspace, progress
from bench.soak import (
    CROSS_TARGET,
    SAME_TARGET,
    SOURCE,
    TEMPLATE,
    AppEngine,
    Pusher,
    Run,
    SoakSettings,
    _same_and_cross,
    baseline,
    drain,
)
from bench.soakcount import Figures, Target
from bench.soakhome import STOP_TIMEOUT, HoisterHome

AGENTS = 3
#: The agents' lease: a dead agent's work is taken over this long after its last renewal.
LEASE = 6.0
KILL_EVERY = (3.0, 7.0)  # seconds between two kills
RESTART_AFTER = (0.5, 2.0)  # seconds until a replacement agent starts elsewhere


@dataclass
class Takeovers:
    """Entries a killed agent held, and how long until another engine claimed them."""

    pending: dict[int, tuple[float, int]] = field(default_factory=dict)  # id -> (kill, claim)
    seconds: list[float] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def killed(self, url: str, host: str, when: float) -> int:
        with psycopg.connect(url, autocommit=True) as conn:
            rows = conn.execute(
                "SELECT id, claim FROM queue WHERE state = 'running' AND owner LIKE %s",
                (f"{host}:%",),
            ).fetchall()
        with self.lock:
            for entry_id, claim in rows:
                self.pending[int(entry_id)] = (when, int(claim))
        return len(rows)

    def watch(self, url: str, stop: threading.Event) -> None:
        with psycopg.connect(url, autocommit=True) as conn:
            while not stop.wait(0.2):  # a sampling interval, not a wait for a condition
                with self.lock:
                    ids = list(self.pending)
                if not ids:
                    continue
                rows = conn.execute(
                    "SELECT id, claim, state FROM queue WHERE id = ANY(%s)", (ids,)
                ).fetchall()
                now = time.monotonic()
                with self.lock:
                    for entry_id, claim, state in rows:
                        kill, held = self.pending[int(entry_id)]
                        if int(claim) > held or state != "running":
                            self.seconds.append(now - kill)
                            del self.pending[int(entry_id)]


class Agents:
    """Three agent slots; a killed agent is replaced by one on a new host name."""

    def __init__(self, homes: list[HoisterHome], rng: random.Random) -> None:
        self.homes = homes
        self.rng = rng
        self.hosts = 0
        self.running: list[tuple[HoisterHome, str, subprocess.Popen[bytes]]] = []
        for home in homes:
            self.start(home)

    def start(self, home: HoisterHome) -> None:
        self.hosts += 1
        host = f"team-agent-{self.hosts}"
        process = home.start_agent("--interval", "1", "--lease", f"{LEASE:g}", hostname=host)
        self.running.append((home, host, process))

    def kill_one(self, url: str, takeovers: Takeovers) -> int:
        home, host, process = self.running.pop(self.rng.randrange(len(self.running)))
        process.send_signal(signal.SIGKILL)
        process.wait(STOP_TIMEOUT)
        held = takeovers.killed(url, host, time.monotonic())
        if process in home.agents:
            home.agents.remove(process)
        # Deliberate: a replacement machine comes up a moment later, not at once.
        time.sleep(self.rng.uniform(*RESTART_AFTER))
        self.start(home)
        return held

    def processes(self) -> list[subprocess.Popen[bytes]]:
        return [process for _, _, process in self.running]


def team_scenario(settings: SoakSettings, rng: random.Random) -> list[Figures]:
    with Workspace() as workspace, PostgresServer() as server:
        url = server.url(server.create_database())
        one, two = workspace.registry("team-one"), workspace.registry("team-two")
        homes = [
            HoisterHome(workspace.tempdir(f"team-{n}"), database_url=url) for n in range(AGENTS + 1)
        ]
        for home in homes:
            workspace.callback(home.close)
        desk = homes[0]
        for name, registry_url in (("one", one.url), ("two", two.url)):
            desk.add_profile(name, registry_url)  # every home's: a connection of the team
        same = desk.add_policy("one", SOURCE, SAME_TARGET, TEMPLATE)
        cross = desk.add_policy("one", SOURCE, CROSS_TARGET, TEMPLATE, target_profile="two")
        run = Run(desk, one.url)
        baseline(run)
        app = AppEngine(desk, database_url=url).start()
        workspace.callback(app.stop)
        agents = Agents(homes[1:], rng)
        takeovers = Takeovers()
        stop_watch = threading.Event()
        watcher = threading.Thread(target=takeovers.watch, args=(url, stop_watch), daemon=True)
        watcher.start()
        workspace.callback(stop_watch.set)
        pusher = Pusher(run, settings.team_pushes, settings, rng, prefix="7").start()
        kills = held = 0
        while not pusher.done.is_set():
            # Deliberate: kills land at random moments of the agents' work.
            time.sleep(rng.uniform(*KILL_EVERY))
            held += agents.kill_one(url, takeovers)
            kills += 1
            if kills % 5 == 0:
                progress(f"team: {kills} kills, {len(run.pushes)} pushes")
        pusher.join()
        progress(f"team: {kills} kills; {AGENTS} agents and the app's engine drain the queue")
        targets = [Target(one.url, SAME_TARGET), Target(two.url, CROSS_TARGET)]
        expected = {p.digest for p in run.pushes}
        state = drain(desk, agents.processes(), targets, expected, settings.drain_timeout)
        stop_watch.set()
        watcher.join(5)
        running = sum(p.poll() is None for p in agents.processes()) + app.running
        app.stop()
        for home, _, process in agents.running:
            home.stop_agent(process)
        results = _same_and_cross(
            "team (PostgreSQL)", run, desk, targets, (same, cross), f"{running}/{AGENTS + 1}"
        )
        seconds = takeovers.seconds
        taken = (
            f"median {statistics.median(seconds):.1f} s, longest {max(seconds):.1f} s"
            if seconds
            else "no killed agent held a claim"
        )
        results[0].notes.append(
            f"team: {AGENTS} agents (each its own HOISTER_HOME and host name, --lease "
            f"{LEASE:g}) and the app's engine on one PostgreSQL; {kills} SIGKILLs, each "
            f"agent replaced on a new host; {held} claimed entries held by killed agents, "
            f"{len(seconds)} taken over by another engine ({taken}); "
            f"{len(takeovers.pending)} never taken over; drain: {state}"
        )
        results[0].notes += run.notes
        return results


def run(settings: SoakSettings) -> list[Figures]:
    """The team scenario alone (``python -m bench team``), with the soak's report."""
    from bench.common import heading
    from bench.soak import report

    heading("team soak: three agents and the app's engine on one PostgreSQL")
    seed = settings.seed if settings.seed is not None else random.SystemRandom().getrandbits(32)
    print(f"seed {seed} (pass --seed {seed} to repeat the random choices)", flush=True)
    results = team_scenario(settings, random.Random(seed))
    print()
    report(results, None)
    return results
