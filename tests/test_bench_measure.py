"""The benchmarks' launcher reports each child's own peak RSS, not the benchmark's.

The benchmark process holds hundreds of MB of images; a child forked from it would
report that as its own ``ru_maxrss``. These tests run real children through the
launcher: one that grows by a known amount must show it, and the figure must not carry
the memory of the process that asked for the measurement.
"""

from __future__ import annotations

import sys

import pytest
from bench import measure

#: Touches every page of a block of argv[1] MiB, so all of it is resident.
GROW = (
    "import sys; block = bytearray(int(sys.argv[1]) * 1024 * 1024); "
    "block[::4096] = b'x' * len(block[::4096])"
)
MiB_KIB = 1024


def _python(code: str, *args: str) -> list[str]:
    return [sys.executable, "-c", code, *args]


def test_each_child_reports_its_own_peak() -> None:
    measured = measure.run([_python(GROW, "80"), _python("pass")])
    big, small = measured.records
    assert big.status == small.status == 0
    assert big.maxrss_kib >= 80 * MiB_KIB
    assert small.maxrss_kib < big.maxrss_kib - 60 * MiB_KIB
    assert measured.peak_kib == big.maxrss_kib
    assert measured.seconds == big.seconds + small.seconds


def test_the_caller_s_memory_does_not_leak_into_the_figure() -> None:
    ballast = bytearray(300 * 1024 * 1024)  # the caller grows far beyond the child
    ballast[::4096] = b"x" * len(ballast[::4096])
    measured = measure.run([_python("pass")])
    assert measured.peak_kib < 100 * MiB_KIB
    del ballast


def test_a_failing_command_raises_with_its_output() -> None:
    with pytest.raises(RuntimeError, match="boom"):
        measure.run(
            [_python("pass"), _python("import sys; print('boom'); sys.exit(3)"), _python("pass")]
        )


def test_records_from_the_launcher_s_json() -> None:
    records = measure.records_from(
        [
            {"seconds": 0.5, "status": 0, "maxrss_kib": 2048},
            {"seconds": 1, "status": 1, "maxrss_kib": 10},
        ]
    )
    found = measure.Measured(records, "")
    assert found.seconds == 1.5
    assert found.peak_kib == 2048
    assert found.failed == [1]
    assert measure.Measured((), "").peak_kib == 0
    with pytest.raises(KeyError):
        measure.records_from([{"seconds": 1, "status": 0}])
