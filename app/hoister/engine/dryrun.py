"""What a policy would do to the tags already in its source repository, without doing it.

Used by ``hoister policy test`` and by the editor's Save & Apply: every tag with its
verdict per criterion and the tag it would get. Nothing is written anywhere.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from hoister.engine.tags import is_internal_tag
from hoister.facts.gather import FactsGatherer
from hoister.policies import (
    CompiledPolicy,
    Evaluation,
    Policy,
    PolicyError,
    compile_policy,
    evaluate,
    needed_facts,
)
from hoister.policies import target_tag as render_target
from hoister.registry import RegistryClient


@dataclass(frozen=True)
class DryRunRow:
    tag: str
    digest: str | None
    evaluation: Evaluation
    target_tag: str | None
    error: str | None = None


def platform_of(policies: list[CompiledPolicy]) -> str | None:
    """The platform a policy names (``platform eq linux/arm64``) chooses the image read."""
    for policy in policies:
        for rule in policy.rules:
            if rule.rule.field == "platform" and rule.rule.operator == "eq" and rule.rule.values:
                return rule.rule.values[0]
    return None


def dry_run(
    policy: Policy,
    client: RegistryClient,
    now: datetime,
    tags: Iterable[str] | None = None,
    scanner: str | None = None,
) -> list[DryRunRow]:
    compiled = compile_policy(policy)
    needed = needed_facts(compiled) - {"tag"}
    gatherer = FactsGatherer(client, scanner=scanner)
    platform = platform_of([compiled])
    listing = tags if tags is not None else client.tags(policy.source_repository)
    rows = []
    for tag in listing:
        if is_internal_tag(tag):
            continue
        digest = None
        if needed or "%D" in policy.tag_template:
            head = client.head_manifest(policy.source_repository, tag)
            digest = head.digest if head else None
        facts = gatherer.gather(policy.source_repository, tag, digest, needed, platform=platform)
        evaluation = evaluate(compiled, facts, now)
        target, error = None, None
        if evaluation.matched:
            if digest is None:
                head = client.head_manifest(policy.source_repository, tag)
                digest = head.digest if head else None
                facts = gatherer.gather(policy.source_repository, tag, digest, set())
            try:
                target = render_target(compiled, facts, evaluation, now)
            except PolicyError as exc:
                error = str(exc)
        rows.append(DryRunRow(tag, digest, evaluation, target, error))
    return rows
