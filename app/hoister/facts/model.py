"""Facts about one image, each either known or honestly unknown.

``None`` means "nothing tells" (no scan report, config not read yet), which is different
from an empty value ("the SBOM lists no components"): a rule on an unknown fact is
*unknown*, and a policy with an unknown rule does not promote. ``sources`` says where a
known fact came from and ``missing`` why an unknown one is unknown, so a dry run can
explain each decision.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True)
class Vulnerabilities:
    """Counts in MSR's buckets: critical >= 7.0, major 4.0-6.9, minor < 4.0 (CVSS)."""

    critical: int = 0
    major: int = 0
    minor: int = 0
    total: int | None = None  # a report may count issues it could not score

    @property
    def all(self) -> int:
        return self.total if self.total is not None else self.critical + self.major + self.minor


@dataclass(frozen=True)
class ImageFacts:
    """Everything a rule can ask about; ``None`` for what is not known."""

    repository: str
    tag: str
    digest: str | None = None
    components: tuple[str, ...] | None = None
    licenses: tuple[str, ...] | None = None
    vulnerabilities: Vulnerabilities | None = None
    updated_at: datetime | None = None
    created: datetime | None = None
    labels: Mapping[str, str] | None = None
    annotations: Mapping[str, str] | None = None
    platforms: tuple[str, ...] | None = None
    size: int | None = None
    signed: bool | None = None
    sources: Mapping[str, str] = field(default_factory=dict)
    missing: Mapping[str, str] = field(default_factory=dict)
