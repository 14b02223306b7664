"""``python -m bench [copy|latency|layers|soak|stall] [--quick]``: the machine, then the benchmarks.

Interrupting (Ctrl-C, or SIGTERM from a CI runner) unwinds through every benchmark's
workspace, so registries, listeners, engine threads and temp dirs are gone when it exits.
"""

from __future__ import annotations

import argparse
import signal
import sys
import time
from types import FrameType

from bench import agents, copy, latency, layers, soak, soakteam, stall
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
        choices=("all", "copy", "latency", "layers", "soak", "team", "agents", "stall"),
        default="all",
        help="what to run (all: copy and latency; layers, soak and stall only when named)",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help=f"a smaller run: {QUICK_IMAGES} images to copy, {QUICK_PUSHES} pushes per mode",
    )
    parser.add_argument(
        "--layer-kib",
        type=int,
        default=copy.CopySettings.layer_size // 1024,
        metavar="KIB",
        help="size of each random layer in the copy benchmark (default %(default)s)",
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
    try:
        args.rates = FaultRates(
            args.unavailable, args.upload_reset, args.download_reset, args.drop_answer
        )
    except ValueError as exc:
        parser.error(str(exc))
    return args


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
