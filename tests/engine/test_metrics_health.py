"""``/healthz`` degrades while a watched registry stays unreachable, and recovers.

A real registry is stopped under a real engine; the agent's clock is the harness's, moved
by hand, so "unreachable for longer than the limit" needs no sleeping. The same path is
then checked on a live ``/healthz`` served by the listener, and through ``hoister run``'s
``--unhealthy-after`` flag.
"""

from __future__ import annotations

from dataclasses import fields

import httpx
import pytest

from hoister.engine.events import chain
from hoister.engine.listener import Listener
from hoister.engine.metrics import AgentMetrics
from hoister.engine.outages import DEFAULT_UNHEALTHY_AFTER
from hoister.policies import Rule
from tests.engine.harness import EngineHarness
from tests.engine.test_metrics import parse_exposition
from tests.support.registry import RegistryServer

STABLE = Rule("tag", "ew", ("stable",))


def _watched(h: EngineHarness, unhealthy_after: float) -> AgentMetrics:
    """Metrics fed by the harness's engine, on the harness's clock."""
    metrics = AgentMetrics(60, clock=lambda: h.clock().timestamp(), unhealthy_after=unhealthy_after)
    combined = chain(metrics.callbacks(), h.recorder.callbacks())
    for f in fields(combined):
        if f.name != "extra":
            setattr(h.engine.callbacks, f.name, getattr(combined, f.name))
    return metrics


def test_an_unreachable_registry_degrades_health_after_the_limit(  # type: ignore[no-untyped-def]
    registry: RegistryServer, make_harness
) -> None:
    h = make_harness({"local": registry})
    h.policy("dev/website", "qa/website", "%n", STABLE)
    metrics = _watched(h, unhealthy_after=120)
    h.engine.run_cycle()
    assert metrics.healthz()[::2] == (200, b"ok\n")

    registry.stop()
    h.clock.advance(30)
    h.engine.run_cycle()
    assert len(h.recorder.problems) == 1
    down_at = h.clock().isoformat(timespec="seconds")
    status, _, body = metrics.healthz()
    assert (status, body) == (200, b"ok\n")  # a blip shorter than the limit does not flap

    h.clock.advance(120)  # exactly at the limit: still healthy
    h.engine.run_cycle()
    assert metrics.healthz()[0] == 200
    h.clock.advance(1)
    h.engine.run_cycle()  # cycles keep finishing: only the outage is wrong
    status, _, body = metrics.healthz()
    text = body.decode()
    assert status == 503, text
    assert text.startswith(f"unhealthy: registry local unreachable since {down_at}")
    assert "(121 s, limit 120 s)" in text and "Nothing is listening on" in text
    series = parse_exposition(metrics.metrics()[2].decode())
    assert series["hoister_registries_unreachable"] == 1

    registry.restart()
    h.clock.advance(1)
    h.engine.run_cycle()
    assert h.recorder.recovered == ["local"]
    assert metrics.healthz()[::2] == (200, b"ok\n")


def test_served_health_answers_503_with_the_reason(  # type: ignore[no-untyped-def]
    registry: RegistryServer, make_harness
) -> None:
    h = make_harness({"local": registry})
    h.policy("dev/website", "qa/website", "%n", STABLE)
    metrics = _watched(h, unhealthy_after=60)
    listener = Listener(
        token=None, on_notice=lambda _n: None, extra_routes={"/healthz": metrics.healthz}
    )
    with listener, httpx.Client(timeout=10) as http:
        url = listener.url.removesuffix(listener.path) + "/healthz"
        h.engine.run_cycle()
        registry.stop()
        h.engine.run_cycle()
        h.clock.advance(61)
        h.engine.run_cycle()
        answer = http.get(url)
        assert answer.status_code == 503
        assert "registry local unreachable since" in answer.text
        registry.restart()
        h.engine.run_cycle()
        assert (http.get(url).status_code, http.get(url).text) == (200, "ok\n")


def test_a_second_registry_answering_does_not_hide_the_first(  # type: ignore[no-untyped-def]
    registry_factory, make_harness
) -> None:
    up, down = registry_factory(), registry_factory()
    h = make_harness({"up": up, "down": down})
    h.policy("dev/a", "qa/a", "%n", STABLE, profile="up")
    h.policy("dev/b", "qa/b", "%n", STABLE, profile="down")
    metrics = _watched(h, unhealthy_after=10)
    h.engine.run_cycle()
    down.stop()
    h.engine.run_cycle()
    h.clock.advance(11)
    h.engine.run_cycle()
    status, _, body = metrics.healthz()
    assert status == 503 and b"registry down unreachable" in body and b"registry up" not in body


def test_the_limit_must_be_positive() -> None:
    assert DEFAULT_UNHEALTHY_AFTER == 300
    with pytest.raises(ValueError, match="unhealthy-after"):
        AgentMetrics(60, unhealthy_after=0)


@pytest.mark.parametrize("value", ["soon", "0s", ""])
def test_run_refuses_a_bad_unhealthy_after(cli, value: str) -> None:  # type: ignore[no-untyped-def]
    code, _, err = cli("run", "--once", "--unhealthy-after", value)
    assert code == 2 and "--unhealthy-after" in err
