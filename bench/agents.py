"""Promotions per second with 1, 2 and 4 agents on one team database (same registry).

Each round gets a fresh PostgreSQL database and a fresh source repository: the images
are pushed while no agent runs (after a baseline cycle, so they are new pushes), then
N agents start at once, each in a ``HOISTER_HOME`` of its own, and race for the queue
(``FOR UPDATE SKIP LOCKED``). The rate is promotions over the span from the first
promotion's start to the last one's end, read from the history the agents wrote, so
process start-up is not counted. The peer, in the same run: a ``skopeo copy`` loop of
the same images within the same registry. Doubles are counted too (there must be none).
"""

from __future__ import annotations

import time
from collections import Counter
from datetime import datetime

import httpx
import psycopg
from tests.support.images import build_image, push_image, skopeo
from tests.support.postgres import PostgresServer

from bench.common import Workspace, heading, progress, table
from bench.soakhome import HoisterHome

COUNTS = (1, 2, 4)
IMAGES = 60
QUICK_IMAGES = 20
LAYERS = 3
LAYER_SIZE = 256 * 1024
TIMEOUT = 300.0


def _promoted(url: str) -> list[tuple[str, str, str, str]]:
    with psycopg.connect(url, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT source_digest, source_tag, started_at, finished_at FROM history"
            " WHERE outcome = 'promoted'"
        ).fetchall()
    return [tuple(row) for row in rows]  # type: ignore[misc]


def _round(
    workspace: Workspace,
    server: PostgresServer,
    registry_url: str,
    agents: int,
    images: int,
) -> tuple[float, int, int]:
    """(promotions per second, promoted, doubled) for ``agents`` agents."""
    url = server.url(server.create_database())
    source = f"bench{agents}/app"
    homes = [
        HoisterHome(workspace.tempdir(f"agents-{agents}-{n}"), database_url=url)
        for n in range(agents)
    ]
    for home in homes:
        workspace.callback(home.close)
    homes[0].add_profile("reg", registry_url)  # shared through the database with the rest
    homes[0].add_policy("reg", source, f"qa{agents}/app", "%n-promoted")
    push_image(registry_url, source, "base", build_image(layers=1, layer_size=1024))
    homes[0].cli("run", "--once")  # the baseline: what is there now is not new
    with httpx.Client(base_url=registry_url, timeout=30.0) as client:
        for n in range(images):
            image = build_image(layers=LAYERS, layer_size=LAYER_SIZE, seed=agents * 10_000 + n)
            push_image(registry_url, source, f"1.{n}-stable", image, client=client)
    processes = [home.start_agent("--interval", "1") for home in homes]
    deadline = time.monotonic() + TIMEOUT
    rows = _promoted(url)
    while len(rows) < images and time.monotonic() < deadline:
        time.sleep(0.5)  # a sampling interval while the agents work
        rows = _promoted(url)
    for home, process in zip(homes, processes, strict=True):
        home.stop_agent(process)
    keys = Counter((digest, tag) for digest, tag, _, _ in rows)
    doubled = sum(n - 1 for n in keys.values() if n > 1)
    if not rows:
        return 0.0, 0, 0
    first = min(datetime.fromisoformat(start) for _, _, start, _ in rows)
    last = max(datetime.fromisoformat(end) for _, _, _, end in rows)
    span = max((last - first).total_seconds(), 1e-3)
    return len(keys) / span, len(keys), doubled


def _skopeo_rate(registry_url: str, host: str, images: int) -> float:
    source = "peer/app"
    with httpx.Client(base_url=registry_url, timeout=30.0) as client:
        for n in range(images):
            image = build_image(layers=LAYERS, layer_size=LAYER_SIZE, seed=90_000 + n)
            push_image(registry_url, source, f"1.{n}-stable", image, client=client)
    started = time.perf_counter()
    for n in range(images):
        skopeo(
            "copy",
            "--src-tls-verify=false",
            "--dest-tls-verify=false",
            "--preserve-digests",
            f"docker://{host}/{source}:1.{n}-stable",
            f"docker://{host}/peerqa/app:1.{n}-stable",
        )
    return images / (time.perf_counter() - started)


def run(quick: bool = False) -> None:
    heading("agents: promotions per second with 1, 2 and 4 agents on one PostgreSQL")
    images = QUICK_IMAGES if quick else IMAGES
    with Workspace() as workspace, PostgresServer() as server:
        registry = workspace.registry("agents")
        rows = []
        rates: dict[int, float] = {}
        for agents in COUNTS:
            progress(f"{agents} agent(s), {images} images of {LAYERS} x {LAYER_SIZE // 1024} KiB")
            rate, promoted, doubled = _round(workspace, server, registry.url, agents, images)
            rates[agents] = rate
            rows.append(
                [
                    f"{agents}",
                    f"{rate:.2f}",
                    f"{rate / rates[1]:.2f}x" if rates[1] else "-",
                    f"{promoted}/{images}",
                    f"{doubled}",
                ]
            )
        progress(f"peer: a skopeo copy loop of {images} images in the same registry")
        peer = _skopeo_rate(registry.url, registry.host, images)
        print(table(["agents", "promotions/s", "vs 1 agent", "promoted", "doubled"], rows))
        print(
            f"\npeer: skopeo copy loop {peer:.2f} images/s; Hoister with 1 agent is "
            f"{rates[1] / peer:.2f}x, with 4 agents {rates[4] / peer:.2f}x the peer's rate "
            "(same registry: blobs are mounted, no bytes move)"
        )
