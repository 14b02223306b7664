"""``hoister policy edit ID``: change what ``policy add`` set, and nothing else.

The flags are ``add``'s, and each switch has its opposite (``--disabled``/``--enabled``,
``--local-time``/``--utc``...), since an edit must be able to undo what an add did. A
field without a flag keeps its value. The edit starts from the stored version and names
it when it saves, so an edit made meanwhile in the app is not overwritten: the save is
refused instead (exit 1), as the editor's is.
"""

from __future__ import annotations

import argparse
from typing import Any

from hoister.cli.context import Context
from hoister.errors import InvalidInput
from hoister.policies import Policy, policy_check
from hoister.policies.declarative import changed_fields
from hoister.policies.model import OverwriteMode, TimeZoneMode

#: (flag on, flag off, Policy attribute, the value "on" sets, the value "off" sets).
_SWITCHES: tuple[tuple[str, str, str, Any, Any], ...] = (
    ("--enabled", "--disabled", "enabled", True, False),
    ("--apply-existing", "--no-apply-existing", "apply_existing", True, False),
    ("--local-time", "--utc", "time_zone", TimeZoneMode.LOCAL, TimeZoneMode.UTC),
    ("--referrers", "--no-referrers", "copy_referrers", True, False),
    ("--provenance", "--no-provenance", "record_provenance", True, False),
)
_HELP = {
    "--enabled": "activate the policy",
    "--disabled": "stop it without deleting it",
    "--apply-existing": "also promote matching tags already there",
    "--no-apply-existing": "leave the tags already there alone",
    "--local-time": "render times in local time",
    "--utc": "render times in UTC (MSR's way)",
    "--referrers": "copy signatures and SBOMs",
    "--no-referrers": "do not copy signatures and SBOMs",
    "--provenance": "record provenance in the target",
    "--no-provenance": "do not record provenance in the target",
}


def register(actions: Any) -> None:
    edit = actions.add_parser(
        "edit",
        help="change a policy's fields (the flags of `policy add`); the others are kept",
        description="Change the fields the flags name; every other field keeps its value.",
    )
    edit.add_argument("id", type=int)
    edit.add_argument("--profile", help="registry of the source repository")
    edit.add_argument("--source", metavar="REPO", help="repository to watch")
    edit.add_argument("--target", metavar="REPO", help="repository to promote to")
    edit.add_argument(
        "--target-profile", help="registry of the target; '' for the source's registry"
    )
    rules = edit.add_mutually_exclusive_group()
    rules.add_argument(
        "--rule",
        action="append",
        metavar='"FIELD OP VALUE[,VALUE...]"',
        help="replaces every criterion; repeat for more (all must hold)",
    )
    rules.add_argument("--no-rules", action="store_true", help="remove every criterion")
    edit.add_argument("--template", help="tag template, e.g. %%Y%%m%%d-%%H%%M%%S or %%n")
    edit.add_argument("--name")
    edit.add_argument("--description")
    edit.add_argument("--overwrite", choices=[m.value for m in OverwriteMode])
    for on, off, attribute, yes, no in _SWITCHES:
        group = edit.add_mutually_exclusive_group()
        group.add_argument(on, dest=attribute, action="store_const", const=yes, help=_HELP[on])
        group.add_argument(off, dest=attribute, action="store_const", const=no, help=_HELP[off])
    hook = edit.add_mutually_exclusive_group()
    hook.add_argument("--webhook", metavar="URL", help="POST a PROMOTION event here")
    hook.add_argument("--no-webhook", action="store_true", help="send no PROMOTION event")
    edit.set_defaults(handler=edit_policy)


def _changes(args: argparse.Namespace) -> dict[str, Any]:
    from hoister.cli.policies import parse_rule_text

    changes: dict[str, Any] = {}
    for flag, attribute in (
        ("profile", "source_profile"),
        ("source", "source_repository"),
        ("target", "target_repository"),
        ("template", "tag_template"),
        ("name", "name"),
        ("description", "description"),
    ):
        if getattr(args, flag) is not None:
            changes[attribute] = getattr(args, flag)
    if args.target_profile is not None:
        changes["target_profile"] = args.target_profile or None
    if args.rule is not None:
        changes["rules"] = tuple(parse_rule_text(r) for r in args.rule)
    if args.no_rules:
        changes["rules"] = ()
    if args.overwrite is not None:
        changes["overwrite"] = OverwriteMode(args.overwrite)
    for _, _, attribute, _, _ in _SWITCHES:
        if getattr(args, attribute) is not None:
            changes[attribute] = getattr(args, attribute)
    if args.webhook is not None:
        changes["webhook_url"] = args.webhook
    if args.no_webhook:
        changes["webhook_url"] = None
    return changes


def _differences(before: Policy, after: Policy) -> list[str]:
    words = list(changed_fields(before, after))
    if before.name != after.name:
        words.insert(0, "name")
    return words


def edit_policy(args: argparse.Namespace, ctx: Context) -> int:
    changes = _changes(args)
    if not changes:
        raise InvalidInput(
            "nothing to change: give the fields to change, with the flags of `policy add` "
            "(`hoister policy edit --help` lists them)"
        )
    if "source_profile" in changes:
        ctx.require_profile(changes["source_profile"])
    if changes.get("target_profile"):
        ctx.require_profile(changes["target_profile"])
    before = ctx.policies.get(args.id)
    after = before.with_changes(**changes)
    words = _differences(before, after)
    if not words:
        print(f"policy {before.id} already has those values; nothing was changed")
        return 0
    ctx.policies.update(after, check=policy_check(ctx.profiles.identities()))
    print(f"updated policy {before.id}: {', '.join(words)}")
    return 0
