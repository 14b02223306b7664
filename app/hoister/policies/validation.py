"""Checking a whole policy, with each problem tied to the input that causes it.

The editor needs to put a message next to the field at fault, the CLI and importer need
one sentence naming the policy and rule; both come from :func:`policy_problems`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from hoister.errors import InvalidInput
from hoister.policies.errors import PolicyError
from hoister.policies.model import Policy
from hoister.policies.rules import CompiledRule, compile_rule
from hoister.policies.template import validate_template
from hoister.registry.reference import validate_repository

if TYPE_CHECKING:
    from hoister.policies.cycles import Identities

MAX_NAME = 200
MAX_RULES = 64


@dataclass(frozen=True)
class Problem:
    """``where`` is ``name``, ``source``, ``target``, ``template``, ``rules[N]`` (0-based)..."""

    where: str
    message: str


@dataclass(frozen=True)
class CompiledPolicy:
    policy: Policy
    rules: tuple[CompiledRule, ...]

    @property
    def tag_groups(self) -> tuple[str, ...]:
        """Named groups of the ``matches`` rules on the tag, usable as ``%{NAME}``."""
        names: list[str] = []
        for rule in self.rules:
            if rule.rule.field == "tag":
                names.extend(n for n in rule.group_names if n not in names)
        return tuple(names)


def _compile_rules(policy: Policy) -> tuple[list[CompiledRule], list[Problem]]:
    compiled, problems = [], []
    for index, rule in enumerate(policy.rules):
        try:
            compiled.append(compile_rule(rule))
        except PolicyError as exc:
            problems.append(Problem(f"rules[{index}]", str(exc)))
    return compiled, problems


def policy_problems(policy: Policy) -> list[Problem]:
    """Every problem of ``policy`` on its own (cycles need the others: see cycles.py)."""
    problems: list[Problem] = []
    if len(policy.name) > MAX_NAME:
        problems.append(Problem("name", f"the name is longer than {MAX_NAME} characters"))
    for where, text in (("name", policy.name), ("description", policy.description)):
        if "\x00" in text:
            # PostgreSQL cannot store it, and nobody types it: refuse it everywhere alike.
            problems.append(Problem(where, f"the {where} contains a NUL character"))
    if not policy.source_profile:
        problems.append(Problem("source", "a source registry profile is required"))
    for where, repository in (
        ("source", policy.source_repository),
        ("target", policy.target_repository),
    ):
        try:
            validate_repository(repository)
        except InvalidInput as exc:
            problems.append(Problem(where, f"{where} repository: {exc}"))
    if len(policy.rules) > MAX_RULES:
        problems.append(Problem("rules", f"a policy may have at most {MAX_RULES} rules"))
    compiled, rule_problems = _compile_rules(policy)
    problems.extend(rule_problems)
    groups = CompiledPolicy(policy, tuple(compiled)).tag_groups
    try:
        validate_template(policy.tag_template, has_matches_groups=groups)
    except PolicyError as exc:
        problems.append(Problem("template", f"tag template: {exc}"))
    if policy.webhook_url and not _http_url(policy.webhook_url):
        problems.append(
            Problem("webhook", f"webhook '{policy.webhook_url[:200]}' is not an http(s) URL")
        )
    return problems


def _http_url(url: str) -> bool:
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises for a port that is not a number
    except ValueError:  # e.g. an unclosed IPv6 bracket
        return False
    return parts.scheme in ("http", "https") and bool(parts.netloc) and url.isprintable()


def describe_problem(policy: Policy, problem: Problem) -> str:
    where = problem.where
    if where.startswith("rules["):
        where = f"rule {int(where[6:-1]) + 1}"
        return f"{policy.label}, {where}: {problem.message}"
    return f"{policy.label}: {problem.message}"


def compile_policy(policy: Policy) -> CompiledPolicy:
    """Compile ``policy`` or raise one :class:`PolicyError` listing every problem."""
    problems = policy_problems(policy)
    if problems:
        raise PolicyError("; ".join(describe_problem(policy, p) for p in problems))
    compiled, _ = _compile_rules(policy)
    return CompiledPolicy(policy, tuple(compiled))


def check_policy(
    policy: Policy, others: list[Policy], identities: Identities | None = None
) -> None:
    """What the store runs inside its write transaction: the policy alone, then cycles.

    ``identities`` tells which profiles name one registry (see
    :func:`hoister.policies.cycles.find_cycle`); without it profile names stand alone.
    """
    from hoister.policies.cycles import check_no_cycle

    compile_policy(policy)
    check_no_cycle(policy, others, identities)


def policy_check(identities: Identities | None) -> Callable[[Policy, list[Policy]], None]:
    """:func:`check_policy` in the shape a store's ``check`` takes, registries known by
    identity: pass ``ProfileStore.identities()`` read just before the write."""

    def check(policy: Policy, others: list[Policy]) -> None:
        check_policy(policy, others, identities)

    return check
