"""What a policy would do to the tags already in its source repository, without doing it.

Used by ``hoister policy test`` and by the editor's Save & Apply: every tag with its
verdict per criterion and the tag it would get. Nothing is written anywhere.

A registry does not say when a tag was pushed; the engine's watch state does, for the
pushes it saw. Given that state (``seen``, from :meth:`WatchStore.seen`), an
``updated_at`` rule is decided as the engine would decide it, and its reason says the time
comes from the engine; a tag that was already there at the engine's first look, moved
since, or was never watched stays unknown, with the reason.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
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
from hoister.store.watch import SeenTag

#: The source named on a verdict whose push time came from the engine's watch state.
ENGINE_SOURCE = "the engine's watch"
_TIME_RULES = ("updated_at", "updated_at_duration")


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
    seen: Mapping[str, SeenTag] | None = None,
) -> list[DryRunRow]:
    """``seen``: the watch state of the source repository (tag -> :class:`SeenTag`)."""
    compiled = compile_policy(policy)
    needed = needed_facts(compiled) - {"tag"}
    wants_time = "updated_at" in needed
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
        pushed, note = push_time((seen or {}).get(tag), digest) if wants_time else (None, "")
        facts = gatherer.gather(
            policy.source_repository, tag, digest, needed, updated_at=pushed, platform=platform
        )
        if pushed is not None:
            facts = replace(facts, sources={**facts.sources, "updated_at": ENGINE_SOURCE})
        elif note:
            facts = replace(facts, missing={**facts.missing, "updated_at": note})
        evaluation = evaluate(compiled, facts, now)
        if pushed is not None:
            evaluation = _say_pushed(evaluation, pushed)
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


def push_time(seen: SeenTag | None, digest: str | None) -> tuple[datetime | None, str]:
    """(when the engine saw this image pushed, or None; why not, when not)."""
    if seen is None:
        return None, "the engine has not seen this tag (its repository is not watched yet)"
    if digest is None or seen.digest != digest:
        return None, "the engine has not seen this push yet (the tag moved since its last poll)"
    if seen.at_baseline:
        when = seen.seen_at.isoformat(timespec="seconds")
        return None, (
            f"the tag was already there when the engine first looked, at {when}; "
            "when it was pushed is not known"
        )
    return seen.seen_at, ""


def _say_pushed(evaluation: Evaluation, pushed: datetime) -> Evaluation:
    """Time rules' reasons end with where the time came from."""
    note = f" (pushed at {pushed.isoformat(timespec='seconds')} as seen by the engine)"
    verdicts = tuple(
        replace(v, reason=v.reason + note) if v.rule.field in _TIME_RULES else v
        for v in evaluation.verdicts
    )
    return replace(evaluation, verdicts=verdicts)
