"""``python -m bench [WHICH] [--quick]``: the machine, then the benchmarks.

Interrupting (Ctrl-C, or SIGTERM from a CI runner) unwinds through every benchmark's
workspace, so registries, listeners, engine threads and temp dirs are gone when it exits.
"""

from __future__ import annotations

import argparse
import dataclasses
import signal
import sys
import time
from types import FrameType

from bench import agents, copy, latency, layers, poll, promote, soak, soakteam, stall
from bench.common import machine_lines
from bench.flakyproxy import FaultRates

QUICK_IMAGES = 10
QUICK_PUSHES = 3
FULL_PUSHES = 10


def _interrupt(signum: int, _frame: FrameType | None) -> None:
    """SIGTERM takes the same path as Ctrl-C, so the same cleanup runs."""
    raise KeyboardInterrupt(f"signal {signum}")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description="Hoister against a peer, in one run: copy speed vs skopeo, "
        "push-to-promoted latency with polling vs notifications.",
    )
    parser.add_argument(
        "which",
        nargs="?",
        choices=(
            "all",
            "copy",
            "latency",
            "layers",
            "promote",
            "poll",
            "soak",
            "team",
            "agents",
            "stall",
        ),
        default="all",
        help="what to run (all: copy and latency; the others only when named)",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help=f"a smaller run: {QUICK_IMAGES} images to copy, {QUICK_PUSHES} pushes per mode; "
        "promote: 10 images of 256 KiB layers, 3 repetitions; poll: 100 repositories",
    )
    parser.add_argument(
        "--layer-kib",
        type=int,
        default=copy.CopySettings.layer_size // 1024,
        metavar="KIB",
        help="size of each random layer in the copy benchmark (default %(default)s)",
    )
    promoting = parser.add_argument_group("promote: hoister run --once vs skopeo")
    promoting.add_argument("--images", type=int, metavar="N", help="images (default 50, quick 10)")
    promoting.add_argument("--layers", type=int, metavar="N", help="layers per image (default 5)")
    promoting.add_argument(
        "--layer-mib",
        type=float,
        metavar="MIB",
        help="size of each random layer (default 2, quick 0.25)",
    )
    promoting.add_argument(
        "--repeats", type=int, metavar="N", help="repetitions, median reported (default 5, quick 3)"
    )
    promoting.add_argument(
        "--parallel",
        type=int,
        metavar="N",
        help="passed to hoister run --parallel where this checkout has that flag",
    )
    promoting.add_argument(
        "--layout",
        choices=("tags", "repositories"),
        default="tags",
        help="the images as tags of one repository (default: a release line) or one "
        "repository each",
    )
    polling = parser.add_argument_group("poll: requests per steady poll cycle")
    polling.add_argument(
        "--repositories",
        type=int,
        metavar="N",
        help="watched repositories (default 1000, quick 100)",
    )
    polling.add_argument(
        "--cycles",
        type=int,
        metavar="N",
        help="steady cycles counted after the baseline (default 5, quick 3)",
    )
    faults = parser.add_argument_group("soak: fault rates of the flaky proxy, per request")
    defaults = soak.DEFAULT_RATES
    for flag, name in (
        ("--fault-503", "unavailable"),
        ("--fault-upload-reset", "upload_reset"),
        ("--fault-download-reset", "download_reset"),
        ("--fault-drop-answer", "drop_answer"),
    ):
        faults.add_argument(
            flag,
            dest=name,
            type=float,
            default=getattr(defaults, name),
            metavar="P",
            help="probability between 0 and 1 (default %(default)s)",
        )
    parser.add_argument("--seed", type=int, help="soak: repeat the random choices of a run")
    args = parser.parse_args(argv)
    if args.layer_kib < 1:
        parser.error("--layer-kib must be at least 1")
    for name in ("images", "layers", "repeats", "repositories", "cycles"):
        if getattr(args, name) is not None and getattr(args, name) < 1:
            parser.error(f"--{name} must be at least 1")
    if args.layer_mib is not None and args.layer_mib <= 0:
        parser.error("--layer-mib must be more than 0")
    try:
        args.rates = FaultRates(
            args.unavailable, args.upload_reset, args.download_reset, args.drop_answer
        )
    except ValueError as exc:
        parser.error(str(exc))
    return args


def promote_settings(args: argparse.Namespace) -> promote.PromoteSettings:
    """The quick or full size, with whatever was given on the command line instead."""
    changes: dict[str, object] = {"parallel": args.parallel, "layout": args.layout}
    for name in ("images", "layers", "repeats"):
        if getattr(args, name) is not None:
            changes[name] = getattr(args, name)
    if args.layer_mib is not None:
        changes["layer_size"] = max(1, int(args.layer_mib * 1024 * 1024))
    if args.quick:
        return promote.PromoteSettings.quick(**changes)
    return dataclasses.replace(promote.PromoteSettings(), **changes)  # type: ignore[arg-type]


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, _interrupt)
    for line in machine_lines():
        print(line)
    started = time.perf_counter()
    try:
        if args.which in ("all", "copy"):
            images = QUICK_IMAGES if args.quick else copy.CopySettings.images
            copy.run(copy.CopySettings(images=images, layer_size=args.layer_kib * 1024))
        if args.which in ("all", "latency"):
            latency.run(QUICK_PUSHES if args.quick else FULL_PUSHES)
        if args.which == "layers":  # 1 GiB to inflate per reader: only when asked for
            layers.run(1 if args.quick else 3)
        if args.which == "promote":  # hundreds of MB through skopeo: only when named
            promote.run(promote_settings(args))
        if args.which == "poll":  # builds a registry of 1,000 repositories once: when named
            poll.run(
                poll.PollSettings.make(
                    quick=args.quick, repositories=args.repositories, cycles=args.cycles
                )
            )
        if args.which == "soak":  # minutes of agents being killed: only when asked for
            make = soak.SoakSettings.quick if args.quick else soak.SoakSettings
            soak.run(make(rates=args.rates, seed=args.seed))
        if args.which == "team":  # agents killed on a team database: only when named
            make = soak.SoakSettings.quick if args.quick else soak.SoakSettings
            soakteam.run(make(rates=args.rates, seed=args.seed))
        if args.which == "agents":  # promotions per second with 1, 2 and 4 agents
            agents.run(quick=args.quick)
        if args.which == "stall":  # builds a 100,000-repository registry once: when named
            stall.run()
    except KeyboardInterrupt:
        print("\ninterrupted; everything the benchmark started has been stopped", file=sys.stderr)
        return 130
    print(f"\ntotal run time: {time.perf_counter() - started:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
