"""The promotion policy: what it watches, what it demands, where it sends, how it names.

A policy is plain data. Checking it (rules compile, template renders, no cycle) is done
by :mod:`hoister.policies.validation` so the editor, the CLI, the importer and the
store share one set of messages.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum


class OverwriteMode(StrEnum):
    """What to do when the target tag already exists and points elsewhere."""

    SKIP = "skip"
    OVERWRITE = "overwrite"
    BACKUP = "backup"  # keep the old target under a derived tag, then overwrite


class TimeZoneMode(StrEnum):
    """Which clock a tag template reads: MSR used UTC only."""

    UTC = "utc"
    LOCAL = "local"


@dataclass(frozen=True)
class Rule:
    """One criterion, in MSR's shape: field code, operator code, values as strings."""

    field: str
    operator: str
    values: tuple[str, ...]

    def __post_init__(self) -> None:
        # Accept any sequence, keep an immutable tuple (rules are hashed and compared).
        object.__setattr__(self, "values", tuple(str(v) for v in self.values))

    def to_json(self) -> dict[str, object]:
        return {"field": self.field, "operator": self.operator, "values": list(self.values)}


@dataclass(frozen=True)
class Policy:
    """A promotion policy. ``id`` is None until the store assigns one."""

    source_profile: str
    source_repository: str
    target_repository: str
    tag_template: str
    rules: tuple[Rule, ...] = ()
    name: str = ""
    description: str = ""
    target_profile: str | None = None  # None: the source's registry
    enabled: bool = True
    overwrite: OverwriteMode = OverwriteMode.SKIP
    time_zone: TimeZoneMode = TimeZoneMode.UTC
    apply_existing: bool = False
    copy_referrers: bool = True
    record_provenance: bool = True
    webhook_url: str | None = None
    id: int | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    last_promoted_at: datetime | None = None
    #: Raised by the store on every save; a save names the version it was edited from,
    #: so an edit made on top of someone else's newer one is refused, not lost.
    #: 0: not read from a store (a new policy, or one built from a file).
    version: int = 0
    #: Who saved this version (``user@host``), shown when a later save is refused.
    updated_by: str = ""
    #: The policy's id in MSR's form (a UUID string), for a policy imported from MSR or
    #: from another store's export: a later import of the same file updates this policy
    #: instead of adding a second one. None for a policy made here (its export derives
    #: one: :func:`hoister.policies.exchange.exchange_id`). Kept by every update.
    msr_id: str | None = None
    #: ``last_promoted_at`` exactly as the imported file wrote it (RFC 3339, up to
    #: nanoseconds), written back while it still names that time: see
    #: :mod:`hoister.policies.rfc3339`.
    last_promoted_exact: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "rules", tuple(self.rules))
        object.__setattr__(self, "overwrite", OverwriteMode(self.overwrite))
        object.__setattr__(self, "time_zone", TimeZoneMode(self.time_zone))

    @property
    def effective_target_profile(self) -> str:
        return self.target_profile or self.source_profile

    @property
    def label(self) -> str:
        """How messages name the policy: its name, else its id, else its route."""
        if self.name:
            return f"policy '{self.name}'"
        if self.id is not None:
            return f"policy {self.id}"
        return f"policy {self.source_repository} -> {self.target_repository}"

    def with_changes(self, **changes: object) -> Policy:
        return replace(self, **changes)  # type: ignore[arg-type]


def later_promotion(old: Policy, new: Policy) -> tuple[datetime | None, str | None]:
    """The later last promotion of a stored policy and of an update of it, with its text.

    An editor's copy may be older than a promotion made since; a re-import from MSR may
    know of a later one. A promotion time never moves back.
    """
    mine, theirs = old.last_promoted_at, new.last_promoted_at
    if theirs is not None and (mine is None or theirs > mine):
        return theirs, new.last_promoted_exact
    if theirs is not None and theirs == mine and old.last_promoted_exact is None:
        return mine, new.last_promoted_exact
    return mine, old.last_promoted_exact


@dataclass(frozen=True)
class Route:
    """A (registry profile, repository) node of the promotion graph."""

    profile: str
    repository: str

    def __str__(self) -> str:
        return f"{self.profile}:{self.repository}"


def source_route(policy: Policy) -> Route:
    return Route(policy.source_profile, policy.source_repository)


def target_route(policy: Policy) -> Route:
    return Route(policy.effective_target_profile, policy.target_repository)
