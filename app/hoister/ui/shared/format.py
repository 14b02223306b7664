"""Small formatting helpers shared by views (no Qt)."""

from __future__ import annotations

from datetime import datetime

from hoister.policies.values import format_size


def short_digest(digest: str | None) -> str:
    if not digest:
        return ""
    algorithm, _, hex_part = digest.partition(":")
    return f"{algorithm}:{hex_part[:12]}" if hex_part else digest


def human_size(size: int | None) -> str:
    return "" if size is None else format_size(size)


def local_time(moment: datetime | None) -> str:
    return moment.astimezone().strftime("%Y-%m-%d %H:%M") if moment else ""
