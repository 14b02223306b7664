"""Fixtures of the engine tests.

The registry tests' client factory is reused (closed at teardown, sleeps recorded rather
than slept) so engine tests talk to real registries the same way; ``make_harness`` wires
an engine to real registries with a hand-moved clock.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.engine.harness import EngineHarness
from tests.registry.conftest import make_client, sleeps
from tests.support.registry import RegistryServer

__all__ = ["make_client", "make_harness", "sleeps"]


@pytest.fixture
def make_harness(tmp_path: Path) -> Iterator[Callable[..., EngineHarness]]:
    made: list[EngineHarness] = []

    def make(registries: dict[str, RegistryServer], **options: Any) -> EngineHarness:
        harness = EngineHarness(tmp_path / f"engine-{len(made)}", registries, **options)
        made.append(harness)
        return harness

    yield make
    for harness in made:
        harness.close()
