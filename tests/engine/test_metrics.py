"""``/healthz`` and Prometheus ``/metrics``: fed by engine callbacks, served by the listener.

The exposition is checked against the text format's grammar (every sample has a TYPE,
names and labels are well formed, no series twice) rather than against a client library,
and the whole path is checked once for real: the agent as a process, a real registry, a
push, and the counter moving on the agent's own port.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from hoister.cli import main
from hoister.engine.events import CycleReport, EngineCallbacks
from hoister.engine.listener import Listener
from hoister.engine.metrics import CONTENT_TYPE, HEALTH_GRACE, AgentMetrics, chain
from hoister.store.history import HistoryRow
from hoister.store.queue import QueueEntry
from tests.support.images import build_image, push_image
from tests.support.registry import RegistryServer

ROOT = Path(__file__).resolve().parents[2]
T0 = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)

_NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
_LABEL = r'[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\[\\"n])*"'
_SAMPLE = re.compile(rf"^({_NAME})(\{{(?:{_LABEL}(?:,{_LABEL})*)?\}})? (\S+)$")
_VALUE = re.compile(r"^[+-]?(?:\d+(?:\.\d*)?(?:[eE][+-]?\d+)?|NaN|Inf)$")


def parse_exposition(text: str) -> dict[str, float]:
    """Series (``name{labels}`` as written) -> value, asserting the text format's rules."""
    assert text.endswith("\n"), "the exposition must end with a line feed"
    types: dict[str, str] = {}
    helped: set[str] = set()
    series: dict[str, float] = {}
    for line in text.splitlines():
        if line.startswith("# HELP "):
            name = line.split(" ", 3)[2]
            assert re.fullmatch(_NAME, name) and name not in helped, line
            helped.add(name)
        elif line.startswith("# TYPE "):
            _, _, name, kind = line.split(" ")
            assert kind in {"counter", "gauge", "histogram", "summary", "untyped"}, line
            assert name not in types, f"TYPE twice for {name}"
            types[name] = kind
        else:
            match = _SAMPLE.match(line)
            assert match, f"not a sample line: {line!r}"
            name, labels, value = match.group(1), match.group(2) or "", match.group(3)
            assert name in types, f"sample before its TYPE line: {line!r}"
            assert _VALUE.match(value), line
            key = f"{name}{labels}"
            assert key not in series, f"series twice: {key}"
            series[key] = float(value)
    for name, kind in types.items():
        assert name in helped, f"{name} has no HELP"
        if kind == "counter":
            assert name.endswith("_total"), f"counter {name} should end in _total"
    return series


#: Families about the whole team: their ``agent`` label names who promoted, not the agent.
TEAM_FAMILIES = ("hoister_team_promotions_last_hour",)


def own_series(series: dict[str, float], agent: str) -> dict[str, float]:
    """The series with ``agent="<agent>"`` taken out, asserting every one of the
    process's own series carries it (first, as the exposition writes it)."""
    mine = f'agent="{agent}"'
    found: dict[str, float] = {}
    for key, value in series.items():
        name, _, labels = key.partition("{")
        if name in TEAM_FAMILIES:
            continue
        assert labels.startswith(mine), f"{key} does not say which agent it is"
        rest = labels.removeprefix(mine).removeprefix(",").removesuffix("}")
        found[f"{name}{{{rest}}}" if rest else name] = value
    return found


class FakeClock:
    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now.timestamp()


def _entry() -> QueueEntry:
    return QueueEntry(None, 1, "build", "dev/app", "1.0-stable", "sha256:aa", "build", "qa/app")


def _row(outcome: str) -> HistoryRow:
    return HistoryRow(
        1, "stable", "build", "dev/app", "1.0-stable", "sha256:aa", "build", "qa/app",
        "1.0-stable", outcome, "", T0, T0,
    )  # fmt: skip


def _cycle(started: datetime, seconds: float, *, queue: int = 0, repos: int = 2) -> CycleReport:
    finished = started + timedelta(seconds=seconds)
    return CycleReport(started, finished, repositories=repos, queue_length=queue)


def _scrape(metrics: AgentMetrics) -> dict[str, float]:
    status, content_type, body = metrics.metrics()
    assert status == 200 and content_type == CONTENT_TYPE
    assert content_type.startswith("text/plain; version=0.0.4")
    return parse_exposition(body.decode("utf-8"))


def test_counters_follow_the_callbacks() -> None:
    clock = FakeClock(T0)
    metrics = AgentMetrics(60, clock=clock)
    callbacks = metrics.callbacks()
    before = _scrape(metrics)
    assert before['hoister_promotions_total{outcome="promoted"}'] == 0
    assert before["hoister_up"] == 1
    assert before["hoister_start_time_seconds"] == T0.timestamp()
    assert "hoister_last_poll_timestamp_seconds" not in before  # no poll yet: no sample

    for outcome in ("promoted", "promoted", "skipped"):
        callbacks.emit("finished", _entry(), _row(outcome))
    callbacks.emit("failed", _entry(), _row("failed"))
    callbacks.emit("cycle_done", _cycle(T0, 2.5, queue=3, repos=4))
    callbacks.emit("problem", "build: cannot connect to r.example.com")
    callbacks.emit("problem", "release: 401 Unauthorized")
    callbacks.emit("recovered", "release")

    after = _scrape(metrics)
    assert after['hoister_promotions_total{outcome="promoted"}'] == 2
    assert after['hoister_promotions_total{outcome="skipped"}'] == 1
    assert after['hoister_promotions_total{outcome="failed"}'] == 1
    assert after["hoister_queue_length"] == 3
    assert after["hoister_poll_cycles_total"] == 1
    assert after["hoister_watched_repositories"] == 4
    assert after["hoister_last_poll_timestamp_seconds"] == (T0 + timedelta(seconds=2.5)).timestamp()
    assert after["hoister_last_poll_duration_seconds"] == 2.5
    assert after["hoister_registry_problems_total"] == 2
    assert after["hoister_registries_unreachable"] == 1
    assert after['hoister_info{version="0.1.0"}'] == 1


def test_exposition_text_is_exact_for_one_family() -> None:
    metrics = AgentMetrics(60, clock=FakeClock(T0))
    metrics.callbacks().emit("finished", _entry(), _row("promoted"))
    text = metrics.metrics()[2].decode()
    assert (
        "# HELP hoister_promotions_total Promotions finished since the agent started, "
        "by outcome.\n"
        "# TYPE hoister_promotions_total counter\n"
        'hoister_promotions_total{outcome="promoted"} 1\n'
        'hoister_promotions_total{outcome="skipped"} 0\n'
        'hoister_promotions_total{outcome="failed"} 0\n'
    ) in text


def test_listener_counters_are_included() -> None:
    counts = {"received": 7, "accepted": 4, "rejected_auth": 1, "rejected_size": 0}
    counts |= {"malformed": 2, "duplicates": 3}
    metrics = AgentMetrics(60)
    assert _scrape(metrics)["hoister_notifications_received_total"] == 0
    metrics.watch_listener(lambda: counts)
    series = _scrape(metrics)
    assert series["hoister_notifications_received_total"] == 7
    assert series["hoister_notifications_accepted_total"] == 4
    assert series['hoister_notifications_rejected_total{reason="auth"}'] == 1
    assert series['hoister_notifications_rejected_total{reason="size"}'] == 0
    assert series['hoister_notifications_rejected_total{reason="malformed"}'] == 2
    assert series['hoister_notifications_rejected_total{reason="duplicate"}'] == 3


def test_health_follows_the_poll_cycles() -> None:
    clock = FakeClock(T0)
    metrics = AgentMetrics(10, clock=clock)
    limit = 3 * 10 + HEALTH_GRACE
    assert metrics.healthz() == (200, "text/plain; charset=utf-8", b"starting\n")
    clock.now = T0 + timedelta(seconds=limit + 1)
    status, _, body = metrics.healthz()
    assert status == 503
    assert b"no poll cycle has finished" in body and b"limit 90 s" in body

    metrics.on_cycle(_cycle(clock.now, 1.0))
    clock.now += timedelta(seconds=1)
    assert metrics.healthz()[:3:2] == (200, b"ok\n")
    clock.now += timedelta(seconds=limit)
    assert metrics.healthz()[0] == 200
    clock.now += timedelta(seconds=1)
    status, _, body = metrics.healthz()
    assert status == 503 and b"the last poll cycle finished 91 s ago" in body


def test_interval_must_be_positive() -> None:
    with pytest.raises(ValueError, match="positive"):
        AgentMetrics(0)


def test_chain_calls_every_callback_in_order() -> None:
    calls: list[str] = []

    def record(label: str) -> Callable[..., None]:
        return lambda *args: calls.append(f"{label}:{len(args)}")

    first = EngineCallbacks(finished=record("a"), cycle_done=record("a"))
    first.extra["shown"] = record("a")
    second = EngineCallbacks(finished=record("b"), problem=record("b"))
    second.extra["shown"] = record("b")
    combined = chain(first, second)
    combined.emit("finished", _entry(), _row("promoted"))
    combined.emit("cycle_done", _cycle(T0, 1))
    combined.emit("problem", "x: down")
    combined.emit("started", _entry())  # nobody listens: nothing happens
    combined.extra["shown"]()
    assert calls == ["a:2", "b:2", "a:1", "b:1", "a:0", "b:0"]
    assert combined.started is None


# -- served by a real Listener ---------------------------------------------------------


@pytest.fixture
def served() -> Iterator[tuple[AgentMetrics, Listener]]:
    metrics = AgentMetrics(60)
    listener = Listener(
        token="metrics-test-token",
        on_notice=lambda notice: None,
        extra_routes={"/healthz": metrics.healthz, "/metrics": metrics.metrics},
    )
    metrics.watch_listener(listener.counters)
    with listener:
        yield metrics, listener


def test_listener_serves_health_and_metrics(served: tuple[AgentMetrics, Listener]) -> None:
    metrics, listener = served
    base = listener.url.removesuffix(listener.path)
    with httpx.Client(timeout=10) as http:
        health = http.get(f"{base}/healthz")
        assert (health.status_code, health.text) == (200, "starting\n")
        refused = http.post(
            f"{base}/events", content=b"{}", headers={"Authorization": "Bearer wrong"}
        )
        assert refused.status_code == 401
        metrics.on_cycle(_cycle(datetime.now(UTC), 0.5))
        assert http.get(f"{base}/healthz").text == "ok\n"
        answer = http.get(f"{base}/metrics")
        assert answer.status_code == 200
        assert answer.headers["content-type"] == CONTENT_TYPE
        series = parse_exposition(answer.text)
        assert series["hoister_notifications_received_total"] == 1
        assert series['hoister_notifications_rejected_total{reason="auth"}'] == 1
        assert series["hoister_poll_cycles_total"] == 1
        assert http.head(f"{base}/metrics").content == b""
        assert http.post(f"{base}/metrics").status_code == 405


# -- end to end: the agent as a process ------------------------------------------------


class AgentProcess:
    """``hoister run`` in a subprocess; its log is read on a thread so waits are conditions."""

    def __init__(self, home: Path, *args: str, env: dict[str, str] | None = None) -> None:
        environ = {
            "HOISTER_HOME": str(home),
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "PYTHONPATH": str(ROOT / "app"),
            "DOCKER_CONFIG": str(home / "docker"),
            **(env or {}),
        }
        self.process = subprocess.Popen(
            [sys.executable, "-m", "hoister", "run", *args],
            env=environ,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.lines: list[str] = []
        self._changed = threading.Condition()
        self._reader = threading.Thread(target=self._read, name="agent-log-reader")
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            with self._changed:
                self.lines.append(line)
                self._changed.notify_all()
        with self._changed:
            self.lines.append("")  # end of the log
            self._changed.notify_all()

    def wait_for(self, pattern: str, timeout: float = 60) -> re.Match[str]:
        """The first log line matching ``pattern``; fails if the agent exits first."""
        regex = re.compile(pattern)

        def found() -> re.Match[str] | bool | None:
            for line in self.lines:
                if match := regex.search(line):
                    return match
            return bool(self.lines) and self.lines[-1] == ""

        with self._changed:
            result = self._changed.wait_for(found, timeout=timeout)
        if not isinstance(result, re.Match):
            raise AssertionError(f"no log line matched {pattern!r}:\n{''.join(self.lines)}")
        return result

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        code = self.process.wait(timeout=60)
        self._reader.join(timeout=10)
        if self.process.stderr is not None:
            self.process.stderr.close()
        return code


def test_agent_reports_a_promotion_on_its_metrics(registry: RegistryServer) -> None:
    home = Path(os.environ["HOISTER_HOME"])
    assert main(["profile", "add", "local", "--url", registry.url]) == 0
    policy = ["policy", "add", "--profile", "local", "--source", "dev/website"]
    policy += ["--target", "qa/website", "--rule", "tag ew stable", "--template", "%n-qa"]
    assert main(policy) == 0
    token = "agent-metrics-token"
    agent = AgentProcess(
        home, "--listen", "127.0.0.1:0", "--interval", "1", env={"HOISTER_LISTEN_TOKEN": token}
    )
    try:
        url = agent.wait_for(r"listening for registry notifications on (http://\S+)/events")
        base = url.group(1)
        name = agent.wait_for(r"this agent is (agent@\S+:\d+) on ").group(1)
        assert name == f"agent@{socket.gethostname()}:{agent.process.pid}"
        # Metrics are updated before the log line is written, so after it they agree.
        agent.wait_for(r"poll cycle: 1 repositories")
        with httpx.Client(timeout=10) as http:
            health = http.get(f"{base}/healthz")
            assert (health.status_code, health.text) == (200, "ok\n")
            assert http.post(f"{base}/events", headers={"Authorization": "Bearer no"}).is_error

            push_image(registry.url, "dev/website", "2.0-stable", build_image(seed=70))
            agent.wait_for(r"promoted dev/website:2\.0-stable -> qa/website:2\.0-stable-qa")
            answer = http.get(f"{base}/metrics")
            assert answer.status_code == 200
            every = parse_exposition(answer.text)
        series = own_series(every, name)
        assert series["hoister_database_up"] == 1
        assert every[f'hoister_team_promotions_last_hour{{agent="{name}"}}'] == 1
        assert series['hoister_promotions_total{outcome="promoted"}'] == 1
        assert series['hoister_promotions_total{outcome="failed"}'] == 0
        assert series["hoister_poll_cycles_total"] >= 1
        assert series["hoister_watched_repositories"] == 1
        assert series['hoister_notifications_rejected_total{reason="auth"}'] == 1
        assert series["hoister_last_poll_timestamp_seconds"] > 0
    finally:
        code = agent.stop()
    assert code == 0, "".join(agent.lines)
    assert any("received SIGTERM; stopping" in line for line in agent.lines)
