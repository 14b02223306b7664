"""``hoister run``: the headless agent, and ``hoister history``.

The agent polls the repositories that policies watch, listens for registry
notifications when asked to, and promotes until SIGINT or SIGTERM; then it abandons a
copy in progress before its tag is written (it resumes at the next start) and exits 0.
With ``--listen`` the same port also serves ``/healthz`` and Prometheus ``/metrics``, so
a supervisor and a monitoring system can watch an agent nobody is looking at; both ask
the store too (is the database reachable, who in the team promoted what).
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
from datetime import timedelta
from pathlib import Path
from types import FrameType
from typing import Any

from hoister.cli.context import Context
from hoister.cli.output import human_size, print_json, print_table
from hoister.engine.engine import Engine
from hoister.engine.events import CycleReport, EngineCallbacks
from hoister.engine.listener import Listener
from hoister.engine.metrics import AgentMetrics, chain
from hoister.engine.pipeline import DEFAULT_PARALLEL, MAX_PARALLEL
from hoister.engine.routes import default_actor
from hoister.errors import InvalidInput
from hoister.logsetup import attach_console
from hoister.policies.values import parse_duration
from hoister.store.history import HistoryRow, HistoryStore
from hoister.store.probe import StoreProbe
from hoister.store.queue import DEFAULT_LEASE, QueueEntry

log = logging.getLogger("hoister.agent")


def register(commands: Any) -> None:
    run = commands.add_parser("run", help="promote continuously (the headless agent)")
    run.add_argument("--once", action="store_true", help="one poll cycle, process the queue, exit")
    run.add_argument(
        "--listen",
        metavar="HOST:PORT",
        help="receive registry notifications and serve /healthz and /metrics here "
        "(loopback unless you say otherwise)",
    )
    run.add_argument(
        "--interval",
        type=float,
        default=60.0,
        metavar="SECONDS",
        help="time between polls (default 60)",
    )
    run.add_argument(
        "--lease",
        type=float,
        default=DEFAULT_LEASE.total_seconds(),
        metavar="SECONDS",
        help="how long a claimed promotion stays this agent's without renewal: if the agent "
        "dies, another one takes its work over after this (default "
        f"{DEFAULT_LEASE.total_seconds():g}; renewed every third of it)",
    )
    run.add_argument(
        "--parallel",
        type=int,
        default=DEFAULT_PARALLEL,
        metavar="N",
        help=f"promotions in flight at once per registry (default {DEFAULT_PARALLEL}); twice N "
        "in all, so a slow registry never holds every slot; 1 runs one at a time",
    )
    run.add_argument(
        "--http2",
        action="store_true",
        help="speak HTTP/2 to registries that offer it over TLS (off by default: over "
        "fast links, kept-alive HTTP/1.1 connections were measured faster)",
    )
    run.add_argument(
        "--unhealthy-after",
        default="5m",
        metavar="DURATION",
        help="/healthz answers 503 once a watched registry has been unreachable this long "
        "(default 5m; 90s, 10m, 1h...)",
    )
    run.add_argument(
        "--token-file",
        type=Path,
        help="file holding the shared secret registries send as 'Authorization: Bearer ...' "
        "(default: $HOISTER_LISTEN_TOKEN)",
    )
    run.set_defaults(handler=run_agent)

    history = commands.add_parser("history", help="show recent promotions")
    history.add_argument("--json", action="store_true")
    history.add_argument("--limit", type=int, default=50)
    history.add_argument("--repository", help="only promotions from or to this repository")
    history.set_defaults(handler=show_history)


def _listen_address(text: str) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit() or not 0 <= int(port) < 65536:
        raise InvalidInput(f"--listen '{text}' must be HOST:PORT, e.g. 127.0.0.1:5001")
    return host.strip("[]") or "127.0.0.1", int(port)


def _token(args: argparse.Namespace) -> str | None:
    if args.token_file is not None:
        try:
            token = args.token_file.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise InvalidInput(f"cannot read the token file {args.token_file}: {exc}") from None
        if not token:
            raise InvalidInput(f"the token file {args.token_file} is empty")
        return token
    return os.environ.get("HOISTER_LISTEN_TOKEN") or None


def _name(repository: str | None, tag: str | None) -> str:
    """``repo:tag``, or just ``repo`` while the tag is not known (never ``repo:None``)."""
    if not repository:
        return "-"
    return f"{repository}:{tag}" if tag else repository


def _describe(row: HistoryRow) -> str:
    source = _name(row.source_repository, row.source_tag)
    target = _name(row.target_repository, row.target_tag)
    return f"{source} -> {target}"


def agent_callbacks() -> EngineCallbacks:
    def finished(entry: QueueEntry, row: HistoryRow) -> None:
        if row.outcome == "promoted":
            log.info(
                "promoted %s (%s; %s moved, %d blobs mounted, %d uploaded)",
                _describe(row),
                (row.source_digest or "")[:19],
                human_size(row.bytes_moved),
                row.blobs_mounted,
                row.blobs_uploaded,
            )
        else:
            log.info("skipped %s: %s", _describe(row), row.reason)

    def failed(entry: QueueEntry, row: HistoryRow) -> None:
        log.error("failed %s: %s", _describe(row), row.reason)

    def cycle(report: CycleReport) -> None:
        log.info(
            "poll cycle: %d repositories, %d new pushes, %d promoted, %d failed, %d queued",
            report.repositories,
            report.candidates,
            report.promoted,
            report.failed,
            report.queue_length,
        )

    return EngineCallbacks(finished=finished, failed=failed, cycle_done=cycle)


#: ``run --once`` also runs what becomes due this soon (promotions waiting a second for
#: a time template's next tag), so one invocation finishes a burst of builds.
ONCE_HORIZON = 10.0


def run_agent(args: argparse.Namespace, ctx: Context) -> int:
    attach_console()
    if args.interval <= 0:
        raise InvalidInput("--interval must be a positive number of seconds")
    if not 3 <= args.lease <= 86400:
        raise InvalidInput("--lease must be between 3 seconds and a day")
    if not 1 <= args.parallel <= MAX_PARALLEL:
        raise InvalidInput(f"--parallel must be a whole number from 1 to {MAX_PARALLEL}")
    try:
        unhealthy_after = parse_duration(args.unhealthy_after).total_seconds()
    except ValueError as exc:
        raise InvalidInput(f"--unhealthy-after: {exc}") from None
    if unhealthy_after <= 0:
        raise InvalidInput("--unhealthy-after must be longer than zero, such as 5m")
    probe = StoreProbe(ctx.database)
    metrics = AgentMetrics(args.interval, store=probe, unhealthy_after=unhealthy_after)
    engine = Engine(
        ctx.database,
        ctx.profiles,
        ctx.credential_for,
        actor=default_actor(agent=True),
        kind="agent",
        lease=timedelta(seconds=args.lease),
        parallel=args.parallel,
        http2=args.http2,
        # Metrics first, so a scrape that follows a log line already counts its event.
        callbacks=chain(metrics.callbacks(), agent_callbacks()),
    )
    metrics.agent = engine.name
    listener = None
    if args.listen:
        host, port = _listen_address(args.listen)
        try:
            listener = Listener(
                host,
                port,
                token=_token(args),
                on_notice=engine.notice,
                extra_routes={"/healthz": metrics.healthz, "/metrics": metrics.metrics},
            )
        except ValueError as exc:
            raise InvalidInput(str(exc)) from None
        metrics.watch_listener(listener.counters)

    received: list[signal.Signals] = []

    def stop(signum: int, _frame: FrameType | None) -> None:
        # Only stop and remember here. A log call from a signal handler can interrupt a
        # log line being written to the same stream; that reentrant write raises, and an
        # exception here would skip engine.stop() and leave the agent running for good.
        engine.stop()
        received.append(signal.Signals(signum))

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        if listener is not None:
            listener.start()  # it logs the address registries should post to
            base = listener.url.removesuffix(listener.path)
            log.info("health at %s/healthz, metrics at %s/metrics", base, base)
        log.info("this agent is %s on %s", engine.name, ctx.database.display)
        if args.once:
            engine.register()
            engine.resume()
            report = engine.run_cycle()
            failed = report.failed + engine.run_soon_due(ONCE_HORIZON)
            engine.retire()
            return 1 if failed or report.problems else 0
        engine.run_forever(args.interval)
        return 0
    finally:
        if received:
            log.info("received %s; stopping", received[0].name)
        if listener is not None:
            listener.stop()
        engine.close()
        probe.close()
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def show_history(args: argparse.Namespace, ctx: Context) -> int:
    if args.limit <= 0:
        raise InvalidInput("--limit must be positive")
    store = HistoryStore(ctx.database)
    try:
        rows = store.recent(args.limit, repository=args.repository)
    finally:
        store.close()
    if args.json:
        print_json([row.to_json() for row in rows])
        return 0
    if not rows:
        print("no promotions yet", file=sys.stderr)
        return 0
    print_table(
        ("TIME", "RESULT", "POLICY", "PROMOTION", "DIGEST", "MOVED", "BY", "REASON"),
        [
            (
                row.finished_at.isoformat(timespec="seconds"),
                row.outcome,
                row.policy_name or (str(row.policy_id) if row.policy_id else "manual"),
                _describe(row),
                (row.source_digest or "-")[:19],
                human_size(row.bytes_moved) if row.outcome == "promoted" else "-",
                row.agent or "-",  # which engine wrote it: on a team, one of several
                row.reason or "-",
            )
            for row in rows
        ],
    )
    return 0
