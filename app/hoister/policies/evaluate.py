"""Deciding whether an image meets a policy, and what its promoted tag would be.

All rules must hold (MSR's AND); a rule on an unknown fact makes the whole decision
unknown, which does not promote — promoting on a guess is worse than waiting for the
scan report. The result keeps every verdict so a dry run can explain the decision.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from hoister.facts import ImageFacts
from hoister.policies.errors import TemplateError
from hoister.policies.model import TimeZoneMode
from hoister.policies.rules import Outcome, Verdict
from hoister.policies.template import TemplateContext, render
from hoister.policies.validation import CompiledPolicy


@dataclass(frozen=True)
class Evaluation:
    verdicts: tuple[Verdict, ...]
    groups: dict[str, str]

    @property
    def outcome(self) -> Outcome:
        outcomes = {v.outcome for v in self.verdicts}
        if Outcome.FAILED in outcomes:
            return Outcome.FAILED
        if Outcome.UNKNOWN in outcomes:
            return Outcome.UNKNOWN
        return Outcome.HELD

    @property
    def matched(self) -> bool:
        return self.outcome is Outcome.HELD

    def summary(self) -> str:
        """One line: the first failing (or unknown) reason, or that all held."""
        for verdict in self.verdicts:
            if verdict.outcome is not Outcome.HELD:
                return verdict.reason
        return "all criteria hold" if self.verdicts else "the policy has no criteria"


def needed_facts(policy: CompiledPolicy) -> set[str]:
    """The fact names the rules read, so facts are gathered lazily (only what is needed)."""
    return {rule.spec.fact for rule in policy.rules}


def evaluate(policy: CompiledPolicy, facts: ImageFacts, now: datetime) -> Evaluation:
    verdicts = tuple(rule.evaluate(facts, now) for rule in policy.rules)
    groups: dict[str, str] = {}
    for rule in policy.rules:
        if rule.pattern is not None and rule.rule.field == "tag":
            match = rule.pattern.fullmatch(facts.tag)
            if match is not None:
                groups.update({k: v for k, v in match.groupdict().items() if v is not None})
    return Evaluation(verdicts, groups)


def target_tag(
    policy: CompiledPolicy, facts: ImageFacts, evaluation: Evaluation, now: datetime
) -> str:
    """Render the policy's template for this image at ``now`` (UTC unless the policy says local)."""
    moment = (
        now.astimezone(UTC) if policy.policy.time_zone is TimeZoneMode.UTC else now.astimezone()
    )
    context = TemplateContext(
        tag=facts.tag,
        when=moment,
        digest=facts.digest,
        repository=facts.repository,
        groups=evaluation.groups,
    )
    try:
        return render(policy.policy.tag_template, context)
    except TemplateError as exc:
        raise TemplateError(f"{policy.policy.label}: {exc}", exc.position, exc.rendered) from None
