"""The log file: rotated at its size, secrets scrubbed, several writers in step."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from hoister.logsetup import configure_logging, shutdown_logging
from hoister.paths import Paths, default_paths

log = logging.getLogger("hoister.test")


@pytest.fixture
def paths(tmp_path: Path) -> Iterator[Paths]:
    paths = default_paths({"HOISTER_HOME": str(tmp_path / "home")})
    yield paths
    shutdown_logging()


def test_the_log_rotates_at_its_size_and_keeps_five(
    paths: Paths, monkeypatch: pytest.MonkeyPatch
) -> None:
    handler = configure_logging(paths)
    monkeypatch.setattr(handler, "maxBytes", 4096)
    for n in range(400):
        log.info("line %03d %s", n, "x" * 60)
    handler.flush()
    logs = sorted(p.name for p in paths.logs.iterdir())
    assert logs == [f"hoister.log{suffix}" for suffix in ("", ".1", ".2", ".3", ".4", ".5")]
    for path in paths.logs.iterdir():
        assert path.stat().st_size <= 4096
    newest = paths.log_file.read_text().splitlines()
    assert newest[-1].endswith(f"line 399 {'x' * 60}")
    assert "line 398" in newest[-2]


def test_a_line_another_process_appended_counts_toward_the_size(
    paths: Paths, monkeypatch: pytest.MonkeyPatch
) -> None:
    handler = configure_logging(paths)
    monkeypatch.setattr(handler, "maxBytes", 4096)
    log.info("first")
    handler.flush()
    with paths.log_file.open("a") as other:  # the app and an agent share the file
        other.write("y" * 4000 + "\n")
    log.info("second")
    handler.flush()
    assert paths.log_file.read_text().splitlines()[-1].endswith("second")
    rotated = paths.logs / "hoister.log.1"
    assert rotated.read_text().splitlines()[-1] == "y" * 4000


def test_secrets_are_scrubbed_from_the_file(paths: Paths) -> None:
    handler = configure_logging(paths)
    log.info("sent Authorization: Bearer abcdefghijklmnop to the registry")
    handler.flush()
    text = paths.log_file.read_text()
    assert "abcdefghijklmnop" not in text and "<redacted>" in text
