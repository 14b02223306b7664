"""Promote the same images with Hoister and with ``skopeo copy``, in one run; print ratios.

Each repetition gets a fresh pair of registries: the source images are pushed into the
first, copies go into the first (where both tools may mount) and into the second (where
bytes must move). Fresh registries matter for skopeo: it remembers in a blob-info cache
(``/var/lib/containers/cache`` for root) which repositories of a registry hold a blob, and
mounts from there next time. Copying the same images again into the same registry would
therefore measure that cache, not a promotion of a freshly pushed image, which is what a
pipeline does. That second-time case is measured too, as its own line, because it is
how skopeo behaves for anyone who copies the same image twice.

The images get digests no earlier run has seen (a random seed per run), so nothing in that
persistent cache can point at them, and all registries live until the end of the run, so
no port (which the cache keys on) is reused by a later registry of the same run.
"""

from __future__ import annotations

import random
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import httpx
from tests.support.images import Image, build_image, push_image
from tests.support.registry import RegistryServer

from bench.common import MB, Workspace, heading, median, progress, ratio, table
from bench.copiers import Job, Timed, hoister_copy, skopeo_copy, skopeo_version, verify
from bench.registrylog import BlobTraffic, blob_traffic

SOURCE_TAG = "1.0"
PUSH_WORKERS = 4


@dataclass(frozen=True)
class CopySettings:
    """How much to copy: ``images`` images of ``layers`` random layers of ``layer_size``."""

    images: int = 50
    layers: int = 5
    layer_size: int = 256 * 1024
    repeats: int = 3


@dataclass(frozen=True)
class Lane:
    """One line of the table: a tool copying every image into its own namespace."""

    scenario: str
    tool: str
    namespace: str
    cross: bool
    is_hoister: bool


HOISTER_ONE = Lane("one registry", "hoister", "hoister", cross=False, is_hoister=True)
SKOPEO_ONE = Lane("one registry", "skopeo copy", "skopeo", cross=False, is_hoister=False)
SKOPEO_AGAIN = Lane(
    "one registry", "skopeo copy, 2nd time", "skopeo-again", cross=False, is_hoister=False
)
HOISTER_TWO = Lane("two registries", "hoister", "hoister", cross=True, is_hoister=True)
SKOPEO_TWO = Lane("two registries", "skopeo copy", "skopeo", cross=True, is_hoister=False)
LANES = (HOISTER_ONE, SKOPEO_ONE, SKOPEO_AGAIN, HOISTER_TWO, SKOPEO_TWO)


@dataclass
class Sample:
    """One lane in one repetition; the byte and mount counts are filled in at the end."""

    timed: Timed
    target: RegistryServer
    traffic: BlobTraffic | None = None


def source_name(index: int) -> str:
    return f"bench/src-{index:02d}"


def build_images(settings: CopySettings) -> list[Image]:
    """Built once and kept in memory; every repetition pushes these same bytes."""
    seed = random.SystemRandom().getrandbits(48)
    return [
        build_image(layers=settings.layers, layer_size=settings.layer_size, seed=seed + index)
        for index in range(1, settings.images + 1)
    ]


def push_sources(server: RegistryServer, images: list[Image]) -> dict[str, str]:
    """Push every image to ``bench/src-NN:1.0``; return the digest each must resolve to."""
    names = [source_name(index) for index in range(1, len(images) + 1)]
    limits = httpx.Limits(max_connections=PUSH_WORKERS, max_keepalive_connections=PUSH_WORKERS)
    with (
        httpx.Client(base_url=server.url, timeout=60.0, limits=limits) as client,
        ThreadPoolExecutor(PUSH_WORKERS, thread_name_prefix="bench-push") as pool,
    ):
        futures = [
            pool.submit(push_image, server.url, name, SOURCE_TAG, image, client=client)
            for name, image in zip(names, images, strict=True)
        ]
        for future in futures:
            future.result()
    return {name: image.digest for name, image in zip(names, images, strict=True)}


def run_lane(
    lane: Lane, one: RegistryServer, two: RegistryServer, expected: dict[str, str]
) -> Sample:
    """Time one tool over every image, then check every copy outside the timed section."""
    target = two if lane.cross else one
    jobs = [
        Job(name, f"{lane.namespace}/dst-{name.rsplit('-', 1)[1]}") for name in sorted(expected)
    ]
    copy = hoister_copy if lane.is_hoister else skopeo_copy
    timed = copy(one, target, jobs)
    verify(one, target, jobs, expected)
    progress(f"{lane.scenario}, {lane.tool}: {timed.seconds:.2f} s")
    return Sample(timed, target)


def repetition(
    number: int, images: list[Image], workspace: Workspace
) -> tuple[dict[Lane, Sample], Timed, float]:
    """One of each lane on fresh registries; the order of the tools alternates per
    repetition so neither always runs with the colder page cache."""
    one = workspace.registry(f"copy-{number}-one")
    two = workspace.registry(f"copy-{number}-two")
    started = time.perf_counter()
    expected = push_sources(one, images)
    pushed = time.perf_counter() - started
    first, second = (0, 1) if number % 2 else (1, 0)
    order = [
        (HOISTER_ONE, SKOPEO_ONE)[first],
        (HOISTER_ONE, SKOPEO_ONE)[second],
        SKOPEO_AGAIN,
        (HOISTER_TWO, SKOPEO_TWO)[first],
        (HOISTER_TWO, SKOPEO_TWO)[second],
    ]
    samples = {lane: run_lane(lane, one, two, expected) for lane in order}
    baseline = skopeo_version(len(images))
    progress(f"skopeo --version x{len(images)}: {baseline.seconds:.2f} s")
    return samples, baseline, pushed


def fill_traffic(samples: list[dict[Lane, Sample]], sizes: dict[str, int]) -> None:
    """Stop every registry (flushing its access log) and count what each lane stored."""
    servers = {id(s.target): s.target for run in samples for s in run.values()}
    for server in servers.values():
        server.stop()
    logs = {key: blob_traffic(server.log_path, sizes) for key, server in servers.items()}
    for run in samples:
        for lane, sample in run.items():
            sample.traffic = logs[id(sample.target)].get(lane.namespace, BlobTraffic())


def report(
    settings: CopySettings, runs: list[dict[Lane, Sample]], baselines: list[Timed]
) -> list[str]:
    """The table rows, plus notes where the registry log and Hoister's counters disagree."""
    rows: list[list[str]] = []
    notes: list[str] = []
    medians = {lane: median([run[lane].timed.seconds for run in runs]) for lane in LANES}
    for lane in LANES:
        samples = [run[lane] for run in runs]
        traffic = [s.traffic or BlobTraffic() for s in samples]
        logged = median([t.uploaded_bytes for t in traffic])
        if lane.is_hoister:
            moved = median([s.timed.bytes_moved or 0 for s in samples])
            mounts = median([s.timed.blobs_mounted or 0 for s in samples])
            if moved != logged:
                notes.append(
                    f"note: in '{lane.scenario}' Hoister counted {moved / MB:.1f} MB moved but "
                    f"the registry log saw {logged / MB:.1f} MB uploaded"
                )
        else:
            moved, mounts = logged, median([t.mounts for t in traffic])
        seconds = medians[lane]
        peer = HOISTER_TWO if lane.cross else HOISTER_ONE
        rows.append(
            [
                lane.scenario,
                lane.tool,
                str(settings.images),
                f"{seconds:.2f}",
                " ".join(f"{s.timed.seconds:.2f}" for s in samples),
                f"{settings.images / seconds:.1f}",
                f"{moved / MB:.1f}",
                f"{mounts:.0f}",
                "" if lane.is_hoister else ratio(seconds, medians[peer]),
            ]
        )
    start = median([b.seconds for b in baselines])
    rows.append(
        [
            "process start",
            "skopeo --version",
            str(settings.images),
            f"{start:.2f}",
            " ".join(f"{b.seconds:.2f}" for b in baselines),
            f"{settings.images / start:.1f}",
            "",
            "",
            "",
        ]
    )
    headers = ["scenario", "tool", "images", "median s", "runs s", "images/s"]
    headers += ["MB moved", "mounted", "skopeo/hoister"]
    print(table(headers, rows))
    per_process = start / settings.images * 1000
    share = start / medians[SKOPEO_ONE] * 100
    print(
        f"\nskopeo/hoister > 1 means Hoister is faster. Starting a skopeo process costs "
        f"{per_process:.0f} ms, {share:.0f}% of skopeo's one-registry time."
    )
    return notes


def run(settings: CopySettings) -> None:
    """The whole copy benchmark: build, then ``repeats`` repetitions, then the table."""
    heading("copy: Hoister promote vs skopeo copy")
    started = time.perf_counter()
    images = build_images(settings)
    built = time.perf_counter() - started
    sizes = {blob.digest: blob.size for image in images for blob in image.all_blobs()}
    set_bytes = sum(sizes.values())
    print(
        f"{settings.images} images x {settings.layers} layers of "
        f"{settings.layer_size // 1024} KiB random data (+ config): "
        f"{set_bytes / MB:.1f} MB per set, built in {built:.1f} s; "
        f"{settings.repeats} repetitions, median reported"
    )
    runs: list[dict[Lane, Sample]] = []
    baselines: list[Timed] = []
    pushes: list[float] = []
    with Workspace() as workspace:
        for number in range(1, settings.repeats + 1):
            progress(f"repetition {number} of {settings.repeats}")
            samples, baseline, pushed = repetition(number, images, workspace)
            runs.append(samples)
            baselines.append(baseline)
            pushes.append(pushed)
        fill_traffic(runs, sizes)
    print(f"(pushing the sources took {median(pushes):.1f} s per repetition, not counted)\n")
    for note in report(settings, runs, baselines):
        print(note)
