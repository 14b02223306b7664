"""``/metrics`` labelled by agent and ``/healthz`` asking the database.

Every sample of an agent says which agent it is; the team's figure is counted from the
shared history; ``/healthz`` is 503 with one line a person can act on when the
database does not answer — a URL to a closed port, and a real PostgreSQL server that
is stopped under a running listener.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from hoister.engine.listener import Listener
from hoister.engine.metrics import CONTENT_TYPE, AgentMetrics
from hoister.store import Database
from hoister.store.history import HistoryRow, HistoryStore
from hoister.store.probe import StoreProbe
from tests.engine.test_metrics import own_series, parse_exposition
from tests.support.httpserver import free_port
from tests.support.postgres import PostgresServer

AGENT = "agent@build-01:4242"
NOW = datetime.now(UTC)


def _scrape(metrics: AgentMetrics) -> dict[str, float]:
    status, content_type, body = metrics.metrics()
    assert (status, content_type) == (200, CONTENT_TYPE)
    return parse_exposition(body.decode("utf-8"))


def _promotion(agent: str, finished: datetime, outcome: str = "promoted") -> HistoryRow:
    return HistoryRow(
        None, "", "build", "dev/app", "1.0-stable", "sha256:aa", "build", "qa/app",
        "1.0-qa", outcome, "", finished, finished, agent=agent,
    )  # fmt: skip


@pytest.fixture
def database(database_url: str) -> Iterator[Database]:
    with Database.open(database_url) as database:
        yield database


def test_every_sample_names_the_agent() -> None:
    metrics = AgentMetrics(60, agent='agent@odd"host:1')
    metrics.on_finished(None, _promotion(AGENT, NOW))  # type: ignore[arg-type]
    series = own_series(_scrape(metrics), 'agent@odd\\"host:1')  # escaped, still one label
    assert series['hoister_promotions_total{outcome="promoted"}'] == 1
    assert series["hoister_up"] == 1
    assert "hoister_database_up" not in series  # no store attached: no store figures


def test_team_figures_come_from_the_shared_history(database: Database) -> None:
    with HistoryStore(database) as history:
        for row in (
            _promotion(AGENT, NOW - timedelta(minutes=1)),
            _promotion(AGENT, NOW - timedelta(minutes=30)),
            _promotion("agent@build-02:77", NOW - timedelta(minutes=5)),
            _promotion("app@desk-3:900", NOW - timedelta(minutes=59)),
            _promotion("agent@build-02:77", NOW - timedelta(hours=2)),  # too old
            _promotion(AGENT, NOW, outcome="failed"),  # not a promotion
            _promotion("", NOW),  # written before engines had names
        ):
            history.add(row)
    probe = StoreProbe(database, clock=lambda: NOW + timedelta(seconds=1))
    metrics = AgentMetrics(60, agent=AGENT, store=probe)
    try:
        assert metrics.healthz()[:3:2] == (200, b"starting\n")
        every = _scrape(metrics)
    finally:
        probe.close()
    assert own_series(every, AGENT)["hoister_database_up"] == 1
    team = {k: v for k, v in every.items() if k.startswith("hoister_team_promotions_last_hour")}
    assert team == {
        'hoister_team_promotions_last_hour{agent="agent@build-01:4242"}': 2,
        'hoister_team_promotions_last_hour{agent="agent@build-02:77"}': 1,
        'hoister_team_promotions_last_hour{agent="app@desk-3:900"}': 1,
        'hoister_team_promotions_last_hour{agent="unknown"}': 1,
    }


def test_health_is_503_when_the_database_does_not_answer() -> None:
    url = f"postgresql://hoister:s3cret-pw@127.0.0.1:{free_port()}/team"
    probe = StoreProbe(Database(url))
    metrics = AgentMetrics(60, agent=AGENT, store=probe)
    try:
        status, _, body = metrics.healthz()
        every = _scrape(metrics)  # still served, still valid, says the store is down
    finally:
        probe.close()
    text = body.decode()
    assert status == 503
    assert text.startswith("unhealthy: the database at postgresql://hoister:***@127.0.0.1:")
    assert "does not answer" in text and text.count("\n") == 1
    assert "s3cret-pw" not in text
    assert own_series(every, AGENT)["hoister_database_up"] == 0
    assert not any(k.startswith("hoister_team_promotions_last_hour{") for k in every)


def test_health_follows_a_database_server_that_stops() -> None:
    server = PostgresServer().start()
    try:
        url = server.url(server.create_database())
        database = Database.open(url)
        probe = StoreProbe(database)
        metrics = AgentMetrics(60, agent=AGENT, store=probe)
        listener = Listener(
            token="team-health-token",
            on_notice=lambda _notice: None,
            extra_routes={"/healthz": metrics.healthz, "/metrics": metrics.metrics},
        )
        with listener, httpx.Client(timeout=30) as http:
            base = listener.url.removesuffix(listener.path)
            up = http.get(f"{base}/healthz")
            assert (up.status_code, up.text) == (200, "starting\n")
            server.stop()
            down = http.get(f"{base}/healthz")
            scraped = http.get(f"{base}/metrics")
        probe.close()
        database.close()
    finally:
        server.stop()
    assert down.status_code == 503
    assert down.text.startswith("unhealthy: the database at ") and "does not answer" in down.text
    assert down.text.count("\n") == 1
    assert scraped.status_code == 200
    assert own_series(parse_exposition(scraped.text), AGENT)["hoister_database_up"] == 0
