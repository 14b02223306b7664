"""Which real tag of the source repository the template preview renders from.

The preview proves a template by rendering it from a real tag, so the tag must be one a
policy could promote: never a referrer index or a cosign artifact (``sha256-…``,
``.sig``/``.att``/``.sbom``) or a Hoister backup, which the engine never promotes, and
preferably one that passes the policy's rules on the tag name, so ``%{NAME}`` and ``%n``
show what a real promotion would give.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from hoister.engine.tags import is_internal_tag
from hoister.facts import ImageFacts
from hoister.policies import Outcome, PolicyError, Rule, compile_rule
from hoister.registry import NotFound
from hoister.ui.context import AppContext
from hoister.ui.promotions.dry_run_model import natural_key


def real_tags(ctx: AppContext, profile: str, repository: str) -> list[str]:
    """Worker: the first page of tags, without bookkeeping tags; [] while it has none."""
    try:
        tags = ctx.client(profile).tags_page(repository).items
    except NotFound:
        return []
    return [tag for tag in tags if not is_internal_tag(tag)]


def tag_digest(ctx: AppContext, profile: str, repository: str, tag: str) -> tuple[str, str | None]:
    """Worker: the digest ``%D`` renders for ``tag`` (None when the tag went away)."""
    head = ctx.client(profile).head_manifest(repository, tag)
    return tag, head.digest if head is not None else None


def choose_sample(tags: Sequence[str], rules: Sequence[Rule], repository: str) -> str | None:
    """The highest tag (as versions sort) every tag-name rule holds for, else the highest
    tag; None for none. Registries list tags in no promised order: sorting makes the
    choice the same every time, and the highest version is usually the latest build."""
    compiled = []
    for rule in rules:
        if rule.field != "tag":
            continue
        try:
            compiled.append(compile_rule(rule))
        except PolicyError:
            continue  # the row shows its problem; it cannot choose a tag meanwhile
    moment = datetime.now(UTC)
    ordered = sorted(tags, key=natural_key, reverse=True)
    for tag in ordered:
        facts = ImageFacts(repository=repository, tag=tag)
        if all(rule.evaluate(facts, moment).outcome is Outcome.HELD for rule in compiled):
            return tag
    return ordered[0] if ordered else None
