"""How long a pushed image waits before it is promoted: polling versus notifications.

The engine runs as it does in the app (``run_forever`` on its own thread) against a real
registry, with one policy ``tag ew stable -> qa/website, %n``. Each push of
``dev/website:1.N-stable`` is timed from the moment the manifest PUT returned to the
moment the engine's ``finished`` callback reported the promotion.

With polling, the wait depends on where in the polling cycle the push lands. Pushing
right after the previous promotion finished would always land just after a poll (the
worst case, a whole interval). A random pause of up to one interval before each push
spreads the pushes evenly over the cycle instead, so the median is the typical case of
someone pushing at an arbitrary moment: about half an interval plus the promotion.
"""

from __future__ import annotations

import random
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx
from tests.support.images import Image, build_image, push_image

from bench.common import Workspace, heading, median, percentile, progress, table
from bench.enginethread import Arrivals, EngineThread
from bench.registrylog import manifest_heads
from hoister.engine.events import EngineCallbacks
from hoister.engine.listener import Listener, PushNotice
from hoister.policies import Policy, Rule, check_policy
from hoister.profiles import Profile, ProfileStore
from hoister.store import Database, PolicyStore

PROFILE = "local"
SOURCE = "dev/website"
TARGET = "qa/website"
STABLE = Rule("tag", "ew", ("stable",))
#: Seconds a promotion may take beyond one polling interval before it counts as missed.
POLL_SLACK = 60.0
#: Seconds after a push before a notified promotion counts as missed: deliveries take
#: milliseconds, and the next poll (the only other way it could happen) is an hour away.
NOTIFY_GIVE_UP = 15.0
BASELINE_TIMEOUT = 60.0


@dataclass(frozen=True)
class Mode:
    """How the engine learns of pushes; ``spread`` is the random pause before each push."""

    name: str
    interval: float
    notifications: bool
    spread: float

    @property
    def label(self) -> str:
        return f"{self.name}, every {self.interval:g} s" if not self.notifications else self.name

    @property
    def give_up(self) -> float:
        """How long to wait for one promotion before counting it as missed."""
        return NOTIFY_GIVE_UP if self.notifications else self.interval + POLL_SLACK


MODES = (
    Mode("polling", 1.0, notifications=False, spread=1.0),
    Mode("polling", 5.0, notifications=False, spread=5.0),
    # Polling once an hour: a promotion within the run can only come from a notification.
    Mode("notifications", 3600.0, notifications=True, spread=1.0),
)


@dataclass
class ModeResult:
    """Milliseconds from the end of each push: to the promotion, and to its parts."""

    mode: Mode
    total: list[float] = field(default_factory=list)
    detected: list[float] = field(default_factory=list)  # until the promotion started
    promoting: list[float] = field(default_factory=list)  # started -> finished
    delivered: list[float] = field(default_factory=list)  # until the listener had it
    missed: dict[str, str] = field(default_factory=dict)  # tag -> what the log says
    early: int = 0  # notifications the engine checked before the tag existed (HEAD 404)
    problems: list[str] = field(default_factory=list)


def build_images(count: int) -> list[Image]:
    """Small images: the wait is what is measured, not the copy (which ``copy`` times)."""
    seed = random.SystemRandom().getrandbits(48)
    return [build_image(layers=2, layer_size=64 * 1024, seed=seed + i) for i in range(count)]


def measure(mode: Mode, images: list[Image], rng: random.Random) -> ModeResult:
    """Registry, (listener,) engine thread, policy; push each image and time its promotion."""
    tags = [f"1.{number}-stable" for number in range(1, len(images) + 1)]
    promoted, started, noticed = Arrivals(tags), Arrivals(tags), Arrivals(tags)
    result = ModeResult(mode)
    baselined = threading.Event()
    callbacks = EngineCallbacks(
        started=lambda entry: started.record(entry.source_tag, "started"),
        finished=lambda entry, row: promoted.record(entry.source_tag, row.outcome),
        failed=lambda entry, row: promoted.record(entry.source_tag, f"failed: {row.reason}"),
        cycle_done=lambda _report: baselined.set(),
        problem=result.problems.append,
    )
    with Workspace() as workspace:
        home = workspace.tempdir("latency-engine")
        database = Database.open(home / "hoister.db")
        engine = EngineThread(database, home / "profiles.json", callbacks, mode.interval)
        notify: dict[str, str] = {}
        if mode.notifications:
            token = secrets.token_urlsafe(24)

            def on_notice(notice: PushNotice) -> None:
                noticed.record(notice.tag, "noticed")
                engine.notice(notice)

            listener = Listener(token=token, on_notice=on_notice)
            workspace.callback(listener.stop)  # registered first: stops after the registry
            listener.start()
            notify = {"notify_url": listener.url, "notify_token": token}
        registry = workspace.registry("latency-registry", **notify)
        ProfileStore(home / "profiles.json").add(Profile(name=PROFILE, url=registry.url))
        with PolicyStore(database) as policies:
            policy = Policy(
                source_profile=PROFILE,
                source_repository=SOURCE,
                target_repository=TARGET,
                tag_template="%n",
                rules=(STABLE,),
                name="bench",
            )
            policies.add(policy, check=check_policy)
        workspace.callback(engine.stop)
        engine.start()
        if not baselined.wait(BASELINE_TIMEOUT):
            raise RuntimeError(f"the engine did not finish its first cycle: {result.problems}")
        with httpx.Client(base_url=registry.url, timeout=30.0) as client:
            for tag, image in zip(tags, images, strict=True):
                # Deliberate, bounded pause: it places the push at a random point of the
                # polling cycle (see the module docstring); it is not waiting for anything.
                time.sleep(rng.uniform(0.0, mode.spread))
                push_image(registry.url, SOURCE, tag, image, client=client)
                pushed = time.perf_counter()
                arrived = promoted.wait(tag, mode.give_up)
                if tag in noticed.times:  # read after the wait: it may come after the push
                    result.delivered.append((noticed.times[tag] - pushed) * 1000)
                if not arrived:
                    result.missed[tag] = "not promoted"
                    continue
                if promoted.outcomes[tag] != "promoted":
                    raise RuntimeError(f"{SOURCE}:{tag}: {promoted.outcomes[tag]}")
                result.total.append((promoted.times[tag] - pushed) * 1000)
                result.detected.append((started.times[tag] - pushed) * 1000)
                result.promoting.append((promoted.times[tag] - started.times[tag]) * 1000)
        engine.stop()  # here rather than only at cleanup, so an engine failure is reported
        registry.stop()  # flushes the access log, read before the workspace removes it
        if mode.notifications:
            heads = manifest_heads(registry.log_path, SOURCE, "hoister/")
            explain(result, {tag: heads.get(tag, []) for tag in tags})
    return result


def explain(result: ModeResult, heads: dict[str, list[int]]) -> None:
    """Tell a notification that came too early (engine's HEAD got 404) from one never sent.

    distribution announces a manifest push before it writes the tag, so the engine can
    ask for the tag's digest before the registry knows the tag.
    """
    result.early = sum(1 for statuses in heads.values() if 404 in statuses)
    for tag in result.missed:
        statuses = heads[tag]
        if 404 in statuses:
            result.missed[tag] = "notified, but the engine's HEAD of the tag got 404"
        elif not statuses:
            result.missed[tag] = "the engine never asked for the tag (no notification?)"


def _ms(values: list[float], statistic: Callable[[list[float]], float] = median) -> str:
    return f"{statistic(values):.0f}" if values else "-"


def _p90(values: list[float]) -> float:
    return percentile(values, 0.9)


def report(results: list[ModeResult], pushes: int) -> None:
    rows = [
        [
            r.mode.label,
            str(pushes),
            str(len(r.total)),
            _ms(r.total, min),
            _ms(r.total),
            _ms(r.total, _p90),
            _ms(r.total, max),
            _ms(r.detected),
            _ms(r.promoting),
        ]
        for r in results
    ]
    headers = ["mode", "pushes", "promoted", "min ms", "median ms", "p90 ms", "max ms"]
    headers += ["to start ms", "promote ms"]
    print(table(headers, rows, left=1))
    print(
        "\nms from the end of the push (manifest PUT returned) to the engine's finished callback;"
        "\nto start: until the promotion started, promote: started -> finished (medians)."
    )
    notified = next((r for r in results if r.mode.notifications), None)
    if notified is not None and notified.total:
        reference = median(notified.total)
        for r in results:
            if not r.mode.notifications and r.total:
                print(
                    f"{r.mode.label}: median {median(r.total) / reference:.1f}x the "
                    "notification median (polling-median / notification-median)"
                )
    if notified is not None and notified.delivered:
        delivered = notified.delivered
        print(
            f"notification delivery (push done -> listener had it): min {min(delivered):.0f} ms,"
            f" median {median(delivered):.0f} ms, max {max(delivered):.0f} ms"
        )
    if notified is not None:
        print(
            f"notifications the engine checked before the registry had written the tag "
            f"(its HEAD got 404): {notified.early} of {pushes}"
        )
    for r in results:
        for tag, reason in r.missed.items():
            print(f"missed ({r.mode.label}): {SOURCE}:{tag}: {reason}")
        for problem in r.problems:
            print(f"engine problem ({r.mode.label}): {problem}")


def run(pushes: int) -> None:
    """Every mode in turn, each with its own registry, engine and temp dirs."""
    heading("latency: push -> promoted, polling vs notifications")
    images = build_images(pushes)
    rng = random.Random()
    results = []
    for mode in MODES:
        progress(f"{mode.label}: {pushes} pushes")
        results.append(measure(mode, images, rng))
    print(
        f"{pushes} pushes per mode, one after another; the next push waits for the promotion "
        f"(or {NOTIFY_GIVE_UP:.0f} s with notifications, {POLL_SLACK:.0f} s past the interval "
        "with polling, after which it counts as missed)\n"
    )
    report(results, pushes)
