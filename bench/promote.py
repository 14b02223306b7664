"""``python -m bench promote``: ``hoister run --once`` against skopeo, in one run.

Each repetition starts fresh registries **one** and **two** (so no earlier state, neither
Hoister's nor skopeo's cache, can know the images), prepares Hoister's homes (profiles,
policies, baseline), then pushes ``images`` images to ``dev/app:1.N`` in **one** (or
``dev/app-NN:1.0`` with ``--layout repositories``), untimed: random layers, distinct per
image. Then, in an order that rotates between
repetitions, each lane promotes every image into a namespace of its own, in the same
registry and across into **two** (see :mod:`bench.promotelanes` for the tools and the
cold and warm cache). Every lane runs in the small launcher of :mod:`bench.measure`,
which times it and reads each process's peak RSS, and is bracketed by markers in the
registries' access logs (:mod:`bench.accesslog`), which count its requests, uploaded
bytes and mounts. After each lane every copy is checked with plain httpx: its digest is
the one built.
"""

from __future__ import annotations

import os
import random
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path

import httpx
from tests.support.images import Image, build_image, push_image
from tests.support.registry import RegistryServer

from bench import accesslog, measure
from bench.common import Workspace, heading, progress
from bench.copiers import Job, verify
from bench.promotelanes import (
    HoisterLane,
    cache_files,
    cache_wrapper,
    copy_commands,
    hoister_parallel_flag,
    image_refs,
    split_ref,
    sync_command,
    target_name,
)

PUSH_WORKERS = 4
#: The key of the sample that times ``hoister --version``: what starting Hoister costs.
STARTUP = "startup"
MiB = 1024 * 1024


@dataclass(frozen=True)
class PromoteSettings:
    """``images`` images of ``layers`` random layers of ``layer_size`` bytes each."""

    images: int = 50
    layers: int = 5
    layer_size: int = 2 * MiB
    repeats: int = 5
    parallel: int | None = None  # passed to ``hoister run --parallel`` where it exists
    layout: str = "tags"  # one repository of N tags, or N repositories (promotelanes)

    @classmethod
    def quick(cls, **changes: object) -> PromoteSettings:
        return replace(cls(images=10, layer_size=256 * 1024, repeats=3), **changes)  # type: ignore[arg-type]


@dataclass(frozen=True)
class Lane:
    key: str  # marker label, unique within a repetition
    scenario: str
    tool: str
    kind: str  # hoister, lean, copy, sync
    namespace: str
    cross: bool
    warm: bool = False


def _lanes(cross: bool) -> list[list[Lane]]:
    """The groups of one scenario; a warm lane follows its cold one in the same group."""
    scenario, p = ("two registries", "two") if cross else ("same registry", "one")
    groups = [[Lane(f"{p}-hoister", scenario, "hoister run --once", "hoister", "qa", cross)]]
    if not cross:
        groups[0].append(
            Lane(
                f"{p}-lean", scenario, "hoister, no provenance/referrers", "lean", "qa-lean", cross
            )
        )
    for kind, label in (("copy", "skopeo copy loop"), ("sync", "skopeo sync")):
        groups.append(
            [
                Lane(
                    f"{p}-{kind}-cold",
                    scenario,
                    f"{label}, cache cold",
                    kind,
                    f"{kind}-cold",
                    cross,
                ),
                Lane(
                    f"{p}-{kind}-warm",
                    scenario,
                    f"{label}, cache warm",
                    kind,
                    f"{kind}-warm",
                    cross,
                    warm=True,
                ),
            ]
        )
    return groups


SAME, CROSS = _lanes(False), _lanes(True)
LANES = [lane for groups in (SAME, CROSS) for group in groups for lane in group]


@dataclass
class Sample:
    """One lane in one repetition."""

    seconds: float
    peak_kib: int
    processes: int
    traffic: accesslog.Traffic = field(default_factory=accesslog.Traffic)
    kinds: Counter[str] = field(default_factory=Counter)


def order(number: int) -> list[Lane]:
    """Both scenarios' groups, rotated by the repetition number, so each tool takes each
    place in turn (first on a cold page cache, last after the others)."""
    lanes: list[Lane] = []
    for groups in (SAME, CROSS):
        shift = number % len(groups)
        for group in groups[shift:] + groups[:shift]:
            lanes.extend(group)
    return lanes


def build_images(settings: PromoteSettings) -> list[Image]:
    """Built once per run with a fresh seed (no earlier run's digests), in two threads
    (gzip releases the interpreter lock)."""
    seed = random.SystemRandom().getrandbits(48)

    def one(index: int) -> Image:
        return build_image(
            layers=settings.layers, layer_size=settings.layer_size, seed=seed + index
        )

    with ThreadPoolExecutor(2, thread_name_prefix="bench-build") as pool:
        return list(pool.map(one, range(1, settings.images + 1)))


def push_sources(server: RegistryServer, images: list[Image], layout: str) -> dict[str, str]:
    names = image_refs(len(images), layout)
    limits = httpx.Limits(max_connections=PUSH_WORKERS, max_keepalive_connections=PUSH_WORKERS)
    with (
        httpx.Client(base_url=server.url, timeout=120.0, limits=limits) as client,
        ThreadPoolExecutor(PUSH_WORKERS, thread_name_prefix="bench-push") as pool,
    ):
        futures = [
            pool.submit(push_image, server.url, *split_ref(name), image, client=client)
            for name, image in zip(names, images, strict=True)
        ]
        for future in futures:
            future.result()
    return {name: image.digest for name, image in zip(names, images, strict=True)}


class Repetition:
    """Fresh registries, homes and caches for one repetition; closed with its workspace."""

    def __init__(self, workspace: Workspace, number: int, settings: PromoteSettings) -> None:
        self.workspace = workspace
        self.settings = settings
        self.one = workspace.registry(f"promote-{number}-one")
        self.two = workspace.registry(f"promote-{number}-two")
        self.sources = image_refs(settings.images, settings.layout)
        self.homes: dict[str, HoisterLane] = {}
        self.caches: dict[tuple[bool, str], Path] = {}
        for lane in LANES:
            if lane.kind in ("hoister", "lean"):
                self.homes[lane.key] = HoisterLane.prepare(
                    workspace.tempdir(lane.key),
                    self.one,
                    self.target(lane),
                    self.sources,
                    lane.namespace,
                    lean=lane.kind == "lean",
                )

    def target(self, lane: Lane) -> RegistryServer:
        return self.two if lane.cross else self.one

    def run_lane(self, lane: Lane, expected: dict[str, str], parallel: int | None) -> Sample:
        servers = [self.one, self.two] if lane.cross else [self.one]
        target = self.target(lane)
        for server in servers:
            accesslog.mark(server.url, lane.key)
        if lane.kind in ("hoister", "lean"):
            home = self.homes[lane.key]
            measured = measure.run([home.command(parallel)], env=home.home.env())
        else:
            cache = self.caches.setdefault(
                (lane.cross, lane.kind), self.workspace.tempdir(f"cache-{lane.key}")
            )
            wrapper, env = cache_wrapper(cache)
            if lane.kind == "copy":
                commands = copy_commands(self.one, target, self.sources, lane.namespace)
            else:
                commands = [
                    sync_command(
                        self.one,
                        target,
                        self.sources,
                        lane.namespace,
                        self.workspace.tempdir("sync"),
                    )
                ]
            measured = measure.run(commands, env=env, wrapper=wrapper)
            if not cache_files(cache):
                raise RuntimeError(f"{lane.tool}: skopeo wrote nothing into its private cache")
        for server in servers:
            accesslog.mark(server.url, accesslog.IDLE)
        jobs = [Job(source, target_name(lane.namespace, source)) for source in self.sources]
        verify(self.one, target, jobs, expected)
        progress(f"{lane.scenario}, {lane.tool}: {measured.seconds:.2f} s")
        return Sample(measured.seconds, measured.peak_kib, len(measured.records))

    def count(self, samples: dict[str, Sample], sizes: dict[str, int]) -> None:
        """Stop both registries (flushing their logs) and count each lane's window."""
        self.one.stop()
        self.two.stop()
        logs = {
            "one": accesslog.windows(accesslog.read(self.one.log_path)),
            "two": accesslog.windows(accesslog.read(self.two.log_path)),
        }
        for lane in LANES:
            sample = samples[lane.key]
            for name in ("one", "two") if lane.cross else ("one",):
                window = logs[name].get(lane.key, [])
                sample.traffic += accesslog.traffic(window, sizes)
                sample.kinds.update(accesslog.kinds(window))


def repetition(
    number: int, images: list[Image], settings: PromoteSettings, parallel: int | None
) -> dict[str, Sample]:
    sizes = {blob.digest: blob.size for image in images for blob in image.all_blobs()}
    with Workspace() as workspace:
        rep = Repetition(workspace, number, settings)
        started = time.perf_counter()
        expected = push_sources(rep.one, images, settings.layout)
        progress(f"pushed {len(images)} images in {time.perf_counter() - started:.1f} s")
        samples = {lane.key: rep.run_lane(lane, expected, parallel) for lane in order(number)}
        rep.count(samples, sizes)
        home = rep.homes[SAME[0][0].key].home
        start = measure.run([home.command("--version")], env=home.env())
        samples[STARTUP] = Sample(start.seconds, start.peak_kib, 1)
    return samples


def run(settings: PromoteSettings) -> None:
    from bench.promotereport import report

    heading("promote: hoister run --once vs skopeo copy and skopeo sync")
    parallel = settings.parallel
    if parallel and not hoister_parallel_flag():
        print(f"note: this hoister run has no --parallel; --parallel {parallel} not passed")
        parallel = None
    started = time.perf_counter()
    images = build_images(settings)
    set_mb = sum(blob.size for image in images for blob in image.all_blobs()) / 1e6
    print(
        f"{settings.images} images x {settings.layers} layers of "
        f"{settings.layer_size / MiB:.3g} MiB random data (+ config): {set_mb:.1f} MB per set, "
        f"built in {time.perf_counter() - started:.1f} s; {settings.repeats} repetitions, "
        f"median reported; hoister run --once{f' --parallel {parallel}' if parallel else ''}; "
        + (
            "one repository, dev/app, its tags 1.1 ... the images"
            if settings.layout == "tags"
            else "one repository per image, dev/app-NN:1.0"
        )
    )
    load_before = os.getloadavg()
    runs = []
    for number in range(1, settings.repeats + 1):
        progress(f"repetition {number} of {settings.repeats}")
        runs.append(repetition(number, images, settings, parallel))
    report(settings, runs, load_before, os.getloadavg())
