"""Prometheus' text exposition format, written by hand (one small format, no client
library): families in order, each with its HELP and TYPE line once, and labels every
sample of the process shares (``agent="agent@host:pid"``) added to each."""

from __future__ import annotations

import math
from collections.abc import Mapping

#: The content type of Prometheus' text exposition format.
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


def number(value: float) -> str:
    """Format a sample value the way Prometheus parses it (integers without a dot)."""
    if isinstance(value, int):
        return str(value)
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return repr(float(value))


def label(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


class Exposition:
    """Collects families in order; ``common`` labels go first on every sample."""

    def __init__(self, common: Mapping[str, str] | None = None) -> None:
        self.common = dict(common or {})
        self.lines: list[str] = []

    def family(
        self,
        name: str,
        kind: str,
        help_text: str,
        samples: list[tuple[Mapping[str, str], float]],
        *,
        shared: bool = True,
    ) -> None:
        """One family; ``shared=False`` leaves the common labels off (a family whose
        own labels mean something else, such as figures of the whole team)."""
        self.lines.append(f"# HELP {name} {help_text}")
        self.lines.append(f"# TYPE {name} {kind}")
        for labels, value in samples:
            every = {**self.common, **labels} if shared else dict(labels)
            rendered = ",".join(f'{key}="{label(val)}"' for key, val in every.items())
            series = f"{name}{{{rendered}}}" if rendered else name
            self.lines.append(f"{series} {number(value)}")

    def body(self) -> bytes:
        return ("\n".join(self.lines) + "\n").encode("utf-8")
