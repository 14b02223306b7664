"""The promote benchmark's table, request breakdown and goals (issue 14), from its samples."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from bench.common import MB, median, ratio, say, table
from bench.promote import CROSS, LANES, SAME, STARTUP, Lane, PromoteSettings, Sample

MiB = 1024 * 1024


def _hoister(lane: Lane) -> Lane:
    return (CROSS if lane.cross else SAME)[0][0]


def _row(lane: Lane, samples: list[Sample], hoister: list[Sample], images: int) -> list[str]:
    seconds = median([s.seconds for s in samples])
    peer = (
        ""
        if lane.kind in ("hoister", "lean")
        else ratio(seconds, median([s.seconds for s in hoister]))
    )
    return [
        lane.scenario,
        lane.tool,
        f"{seconds:.2f}",
        " ".join(f"{s.seconds:.2f}" for s in samples),
        peer,
        f"{median([s.traffic.requests for s in samples]) / images:.1f}",
        f"{median([s.traffic.uploaded_bytes for s in samples]) / MB:.1f}",
        f"{median([s.traffic.mounts for s in samples]):.0f}",
        f"{max(s.peak_kib for s in samples) * 1024 / MiB:.1f}",
    ]


def _breakdown(samples: list[Sample], images: int) -> str:
    """Requests per image by kind, summed over the repetitions and divided by them."""
    total: Counter[str] = Counter()
    for sample in samples:
        total.update(sample.kinds)
    per = {kind: count / len(samples) / images for kind, count in total.items()}
    return ", ".join(
        f"{kind} {value:.2f}" for kind, value in sorted(per.items(), key=lambda kv: -kv[1])
    )


def report(
    settings: PromoteSettings,
    runs: Sequence[dict[str, Sample]],
    load_before: tuple[float, float, float],
    load_after: tuple[float, float, float],
) -> None:
    images = settings.images
    by_lane = {lane.key: [run[lane.key] for run in runs] for lane in LANES}
    rows = [_row(lane, by_lane[lane.key], by_lane[_hoister(lane).key], images) for lane in LANES]
    headers = ["scenario", "tool", "median s", "runs s", "peer/hoister", "requests/image"]
    headers += ["MB moved", "mounted", "peak RSS MiB"]
    print(table(headers, rows))
    minimum = settings.layers + 3
    print()
    say(
        f"peer/hoister > 1 means Hoister is faster. requests/image: every request the "
        f"registries logged during the lane (both registries across two), divided by "
        f"{images} images; the minimum for a same-registry promotion is layers + 3 = "
        f"{minimum} (a manifest GET, {settings.layers + 1} mounts with the config, a manifest "
        f"PUT). Hoister's figure includes its poll (a tags list and a look at the tag); "
        f"the goals' requests/promotion leaves out what a run makes once whatever its "
        f"size (the poll's listings, one referrers API probe, the empty blob of "
        f"provenance once per target repository). "
        f"MB moved: blob bytes uploaded (a mount moves 0). peak RSS: the largest ru_maxrss "
        f"of one process (per skopeo process of a loop, the max)."
    )
    for lane in LANES:
        if lane.kind in ("hoister", "lean"):
            samples = by_lane[lane.key]
            failed = median([s.traffic.failed_mounts for s in samples])
            say(
                f"{lane.scenario}, {lane.tool}, requests per image: "
                f"{_breakdown(samples, images)}"
                + (f"; mounts answered 202 (not mounted): {failed:.0f}" if failed else "")
            )
    cold = sum(
        s.traffic.mounts
        for lane in LANES
        if lane.kind in ("copy", "sync") and not lane.warm
        for s in by_lane[lane.key]
    )
    warm = sum(s.traffic.mounts for lane in LANES if lane.warm for s in by_lane[lane.key])
    say(
        f"skopeo's blob-info cache: a private directory per scenario and tool, bind-mounted "
        f"over /var/lib/containers/cache (a mount namespace; $XDG_DATA_HOME when not root); "
        f"cold = empty, warm = the same directory after the cold lane. Mounts logged in all "
        f"cold lanes: {cold:.0f} (0 means the cache was cold); in warm lanes: {warm:.0f}."
    )
    start = median([run[STARTUP].seconds for run in runs])
    share = start / median([s.seconds for s in by_lane[SAME[0][0].key]]) * 100
    say(
        f"starting Hoister (hoister --version, same interpreter and imports of the CLI): "
        f"{start:.2f} s, {share:.0f}% of its same-registry run."
    )
    _goals(settings, by_lane)
    say(
        "load average (1, 5, 15 min) before: "
        + " ".join(f"{x:.2f}" for x in load_before)
        + "; after: "
        + " ".join(f"{x:.2f}" for x in load_after)
    )


#: Requests of a run that no promotion makes for itself, each with how many a run may
#: make at most: the poll's listings of the source repository (one a cycle, ``poll``),
#: the one probe of the referrers API a client makes (``client``), and, once per target
#: repository, the empty blob of provenance records (``repository``: its HEAD, upload
#: start and upload). Only up to that many are left out of a promotion's count: the same
#: request made for every image stays in it.
ONCE_PER_RUN = {
    "GET tags list": "poll",
    "GET referrers": "client",
    "HEAD blob": "repository",
    "POST blob upload start": "repository",
    "PUT blob upload": "repository",
}
#: Poll cycles of one ``run --once``: its first (which finds the images) and the one a
#: long queue leaves room for while promotions run.
POLL_CYCLES = 3


def per_promotion(samples: list[Sample], images: int, repositories: int) -> float:
    """Requests per promoted image, without the requests a run makes once (see
    :data:`ONCE_PER_RUN`); the lane's figure with them is its requests/image."""
    caps = {"poll": POLL_CYCLES * repositories, "client": 1, "repository": repositories}
    counts = []
    for sample in samples:
        once = sum(
            min(sample.kinds.get(kind, 0), caps[scope]) for kind, scope in ONCE_PER_RUN.items()
        )
        counts.append(sample.traffic.requests - once)
    return median(counts) / images


def _goals(settings: PromoteSettings, by_lane: dict[str, list[Sample]]) -> None:
    """The goals of issue 14 against this run's figures (against skopeo with a cold cache,
    which is what a freshly pushed image meets)."""

    def seconds(key: str) -> float:
        return median([s.seconds for s in by_lane[key]])

    def peak(key: str) -> float:
        return max(s.peak_kib for s in by_lane[key]) * 1024 / MiB

    moved = median([s.traffic.uploaded_bytes for s in by_lane["one-hoister"]])
    rss_gap = peak("two-hoister") - peak("two-copy-cold")
    goals = [
        (
            "same registry vs skopeo copy loop",
            ">= 5x",
            seconds("one-copy-cold") / seconds("one-hoister"),
            5.0,
        ),
        (
            "same registry vs skopeo sync",
            ">= 3x",
            seconds("one-sync-cold") / seconds("one-hoister"),
            3.0,
        ),
        (
            "two registries vs skopeo copy loop",
            ">= 2x",
            seconds("two-copy-cold") / seconds("two-hoister"),
            2.0,
        ),
    ]
    rows = [
        [name, want, f"{got:.2f}x", "yes" if got >= bound else "no"]
        for name, want, got, bound in goals
    ]
    rows.append(
        [
            "peak RSS across, hoister - skopeo",
            "<= 20 MiB",
            f"{rss_gap:+.1f} MiB",
            "yes" if rss_gap <= 20 else "no",
        ]
    )
    layers = settings.layers
    repositories = settings.images if settings.layout == "repositories" else 1
    for key, label, extra in (
        ("one-hoister", "provenance on", 5),
        ("one-lean", "provenance off", 3),
    ):
        got = per_promotion(by_lane[key], settings.images, repositories)
        rows.append(
            [
                f"requests/promotion, same registry, {label}",
                f"<= {layers + extra}",
                f"{got:.2f}",
                "yes" if got <= layers + extra else "no",
            ]
        )
    rows.append(
        [
            "blob bytes moved, same registry",
            "0",
            f"{moved / MB:.1f} MB",
            "yes" if moved == 0 else "no",
        ]
    )
    print()
    print(table(["goal (issue 14)", "wanted", "measured", "met"], rows, left=2))
