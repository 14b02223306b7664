"""The one look at the target tag a promotion takes before it writes anything.

See docs/notes/requests.md ("What the target-tag check guarantees"): the registry API
has no conditional PUT, so the window between this look and the tag PUT can only be
kept short; Hoister's own promotions never race, since the engine reserves the tag.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from hoister.policies.model import OverwriteMode
from hoister.registry import Descriptor

if TYPE_CHECKING:
    from hoister.engine.promoter import PromotionRequest, Status

#: A listing of the target younger than this answers "is the tag there?" like a HEAD.
TARGET_LISTING_AGE = 1.0


def target_tag_now(request: PromotionRequest) -> Descriptor | None:
    """What the target tag points to now, in one request (two only when it exists).

    Where referrers need the fallback index, the check is a listing of the target
    repository instead of a HEAD: as cheap while the repository has one page of tags,
    and it also tells whether the fallback index of the image exists, which saves the
    provenance record a read. A repository last seen with more than a page is HEADed.
    """
    target, repository, tag = request.target, request.target_repository, request.target_tag
    listed = target.listed(repository, tag, TARGET_LISTING_AGE)
    if listed is None and target.needs_fallback_index:
        known = target.cache.recent_tags(repository, math.inf)
        if known is None or len(known) < (target.page_size or 100):
            listed = tag in target.list_tags(repository)
    if listed is False:
        return None
    return target.head_manifest(repository, tag)


def verdict(
    request: PromotionRequest, digest: str, existing: Descriptor | None
) -> tuple[Status, str] | None:
    """Whether the target tag ends the promotion before anything is written."""
    if existing is None:
        return None
    if existing.digest == digest:
        return "unchanged", f"{request.target_name} already points to {digest}; nothing to do"
    if request.overwrite == OverwriteMode.SKIP:
        return "skipped", (
            f"target tag {request.target_name} exists and points to {existing.digest}; "
            "the policy skips existing tags"
        )
    return None
