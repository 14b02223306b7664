"""Policies as code: a file that says what the store should hold, and the plan to get there.

The file has exactly the shape ``hoister policy export`` writes (``format``, ``version``,
``policies``), in YAML or JSON, so an export kept in git and applied again changes
nothing. A policy is identified by its **name**, not by ``id``: ids are assigned by each
store, names are what people write and review. ``id``, ``msrId``, ``createdAt``,
``updatedAt`` and ``lastPromotedAt`` are what a store did, not what a person declares, so
they are read (an export carries them) but never compared or written.

Pure: text in, policies and plans out. Reading the file and writing the store are the
command line's business (:mod:`hoister.cli.policy_apply`).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass
from typing import Any

import yaml

from hoister import jsonlimits, yamllimits
from hoister.errors import HoisterError
from hoister.policies.errors import PolicyError
from hoister.policies.exchange import FORMAT, VERSION, _from_hoister, export_hoister, to_hoister
from hoister.policies.model import Policy
from hoister.policies.validation import describe_problem, policy_problems

#: A policy file larger than this is refused before it is parsed (~10,000 policies).
MAX_TEXT = 8 * 1024 * 1024

#: The fields apply compares, each with the word its report uses and the export's key.
FIELDS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("description", "description", ("description",)),
    ("source", "source", ("source_profile", "source_repository")),
    ("target", "target", ("target_profile", "target_repository")),
    ("tag template", "tagTemplate", ("tag_template",)),
    ("enabled", "enabled", ("enabled",)),
    ("rules", "rules", ("rules",)),
    ("overwrite", "overwrite", ("overwrite",)),
    ("time zone", "timeZone", ("time_zone",)),
    ("apply existing", "applyExisting", ("apply_existing",)),
    ("copy referrers", "copyReferrers", ("copy_referrers",)),
    ("record provenance", "recordProvenance", ("record_provenance",)),
    ("webhook", "webhookUrl", ("webhook_url",)),
)

_POLICY_KEYS = frozenset(to_hoister(Policy("", "", "", "")))
_TOP_KEYS = frozenset(export_hoister([]))


def dump_yaml(document: Any) -> str:
    """The export in YAML: block style, keys in the export's order, text as it is."""
    dumper: type = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
    return yaml.dump(
        document,
        Dumper=dumper,
        sort_keys=False,
        allow_unicode=True,
        default_flow_style=False,
        width=4096,  # no folded lines: a reviewer's diff shows whole values
    )


def _load(text: str) -> Any:
    if len(text) > MAX_TEXT:
        raise PolicyError(f"the file is larger than {MAX_TEXT // (1024 * 1024)} MiB")
    if text.lstrip().startswith(("{", "[")):
        # JSON is YAML, but YAML reads a tab before a JSON value as text: read JSON as
        # JSON, and fall back on YAML only for a flow-style YAML file JSON refuses.
        try:
            return jsonlimits.loads(text, what="the file")
        except jsonlimits.BeyondLimits as exc:
            raise PolicyError(str(exc)) from None
        except jsonlimits.InvalidJSON as exc:
            json_error = exc
        try:
            return yamllimits.loads(text, what="the file")
        except jsonlimits.InvalidJSON:
            raise PolicyError(str(json_error)) from None
    try:
        return yamllimits.loads(text, what="the file")
    except jsonlimits.InvalidJSON as exc:
        raise PolicyError(str(exc)) from None


def _items(data: Any) -> list[Any]:
    if data is None:
        raise PolicyError("the file is empty; it should hold 'format', 'version' and 'policies'")
    if not isinstance(data, dict) or "policies" not in data:
        raise PolicyError(
            "the file holds no Hoister policies (an object with 'format', 'version' and "
            "'policies', as `hoister policy export` writes); a list of MSR policies is "
            "read by `hoister policy import --profile`"
        )
    if data.get("format") not in (None, FORMAT):
        raise PolicyError(f"the file's format is '{data.get('format')}', not {FORMAT}")
    version = data.get("version", VERSION)
    if not isinstance(version, int) or isinstance(version, bool) or version > VERSION:
        raise PolicyError(f"the file is format version {version}; this Hoister reads {VERSION}")
    # ``x-…`` keys are the file's own (Compose's convention): a place for YAML anchors.
    unknown = sorted(str(k) for k in data if k not in _TOP_KEYS and not str(k).startswith("x-"))
    if unknown:
        raise PolicyError(
            f"the file has unknown keys: {', '.join(unknown)} (keys of your own start with x-)"
        )
    if not isinstance(data["policies"], list):
        raise PolicyError("'policies' must be a list")
    return data["policies"]


def _one(item: Any, where: str, profiles: Collection[str] | None) -> tuple[Policy, list[str]]:
    if not isinstance(item, dict):
        raise PolicyError(f"{where}: must be an object")
    unknown = sorted(str(k) for k in item if k not in _POLICY_KEYS)
    if unknown:
        raise PolicyError(f"{where}: unknown key {', '.join(repr(k) for k in unknown)}")
    if not item.get("sourceProfile"):
        raise PolicyError(f"{where}: 'sourceProfile' is missing")
    name = item.get("name")
    if name is not None and not isinstance(name, str):
        raise PolicyError(f"{where}: 'name' must be text, not {type(name).__name__}")
    if not name or not name.strip():
        route = f" ({item.get('sourceRepository')} -> {item.get('targetRepository')})"
        raise PolicyError(
            f"{where}{route if 'sourceRepository' in item else ''} has no name; apply "
            "identifies policies by name, so each needs one (name it in the app's policy "
            "editor before exporting, or name it here and --prune the unnamed one)"
        )
    policy = _from_hoister(item, where, None)
    policy = policy.with_changes(
        target_profile=policy.target_profile or None,
        webhook_url=policy.webhook_url or None,
        created_at=None,
        updated_at=None,
        last_promoted_at=None,
        last_promoted_exact=None,
        msr_id=None,
    )
    problems = [f"{where} ({describe_problem(policy, p)})" for p in policy_problems(policy)]
    if profiles is not None:
        for profile in dict.fromkeys([policy.source_profile, policy.effective_target_profile]):
            if profile not in profiles:
                problems.append(
                    f"{where} ({policy.label}): no profile named '{profile}'; "
                    "`hoister profile list` shows the saved ones"
                )
    return policy, problems


def parse_document(text: str, *, profiles: Collection[str] | None = None) -> list[Policy]:
    """The policies a file declares, all valid, or one error listing every problem.

    ``profiles`` are the saved profile names; a policy naming another is a problem too.
    """
    items = _items(_load(text))
    policies, problems = [], []
    where_of: dict[str, list[int]] = {}
    for index, item in enumerate(items, start=1):
        where = f"policy {index}"
        try:
            policy, found = _one(item, where, profiles)
        except PolicyError as exc:
            problems.append(str(exc))
            continue
        problems.extend(found)
        where_of.setdefault(policy.name, []).append(index)
        policies.append(policy)
    for name, indexes in where_of.items():
        if len(indexes) > 1:
            numbers = ", ".join(str(i) for i in indexes[:-1]) + f" and {indexes[-1]}"
            problems.append(
                f"policies {numbers} are all named '{name}'; apply identifies policies by "
                "name, so each must be unique"
            )
    if problems:
        raise PolicyError("nothing was applied: " + "; ".join(problems))
    return policies


@dataclass(frozen=True)
class Update:
    """``after`` is the file's policy with the stored one's id; ``fields`` say what differs."""

    before: Policy
    after: Policy
    fields: tuple[str, ...]

    @property
    def keys(self) -> tuple[str, ...]:
        """The changed fields as the export's keys, for ``--json``."""
        words = dict((word, key) for word, key, _ in FIELDS)
        return tuple(words[f] for f in self.fields)


@dataclass(frozen=True)
class Plan:
    """What apply does: everything the file names is created, updated or left as it is;
    with prune, what it does not name is removed, else ``kept``."""

    creates: tuple[Policy, ...]
    updates: tuple[Update, ...]
    unchanged: tuple[Policy, ...]
    removes: tuple[Policy, ...]
    kept: tuple[Policy, ...]

    @property
    def changes_anything(self) -> bool:
        return bool(self.creates or self.updates or self.removes)

    def changes(self) -> tuple[list[Policy], list[Policy], list[Policy]]:
        """(creates, updates, removes) in the shape ``PolicyStore.apply`` takes."""
        return list(self.creates), [u.after for u in self.updates], list(self.removes)


def changed_fields(stored: Policy, wanted: Policy) -> tuple[str, ...]:
    """The report's words for the fields that differ; ids and times are not compared."""
    return tuple(
        word
        for word, _, attributes in FIELDS
        if any(getattr(stored, a) != getattr(wanted, a) for a in attributes)
    )


def make_plan(wanted: Iterable[Policy], stored: Iterable[Policy], *, prune: bool) -> Plan:
    """Match ``wanted`` (from :func:`parse_document`) to ``stored`` by name."""
    wanted = list(wanted)
    by_name: dict[str, list[Policy]] = {}
    for policy in stored:
        by_name.setdefault(policy.name, []).append(policy)
    named = {p.name for p in wanted}
    ambiguous = [
        f"'{name}' (ids {', '.join(str(p.id) for p in by_name[name])})"
        for name in named
        if len(by_name.get(name, [])) > 1
    ]
    if ambiguous:
        raise HoisterError(
            f"the store holds several policies named {'; '.join(sorted(ambiguous))}, so apply "
            "cannot tell which one the file means; rename or remove the others "
            "(`hoister policy remove ID`) and apply again"
        )
    creates, updates, unchanged = [], [], []
    for policy in wanted:
        [current] = by_name.get(policy.name) or [None]
        if current is None:
            creates.append(policy)
            continue
        fields = changed_fields(current, policy)
        if fields:
            updates.append(
                Update(current, policy.with_changes(id=current.id, version=current.version), fields)
            )
        else:
            unchanged.append(current)
    others = tuple(p for name, group in by_name.items() if name not in named for p in group)
    others = tuple(sorted(others, key=lambda p: p.id or 0))
    return Plan(
        tuple(creates),
        tuple(updates),
        tuple(unchanged),
        others if prune else (),
        () if prune else others,
    )


def check_plan(
    plan: Plan, stored: Iterable[Policy], check: Callable[[Policy, list[Policy]], None]
) -> None:
    """Run ``check`` as ``PolicyStore.apply`` does, without writing: for a dry run.

    Each created or updated policy is checked next to the others as they will be once
    the whole plan is written.
    """
    creates, updates, removes = plan.changes()
    gone = {p.id for p in removes} | {p.id for p in updates}
    final = [p for p in stored if p.id not in gone] + updates + creates
    for candidate in [*updates, *creates]:
        check(candidate, [p for p in final if p is not candidate])
