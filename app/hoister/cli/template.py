"""``hoister template``: try a tag template without saving anything.

The template renders as a promotion would: in UTC (an ``--at`` time with an offset is
converted, so ``12:00+02:00`` gives hour 10), or with ``--local-time`` in this machine's
zone, as for a policy saved with ``--local-time``.
"""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from typing import Any

from hoister.cli.context import Context
from hoister.errors import InvalidInput
from hoister.policies.template import TemplateContext, render
from hoister.policies.values import parse_time
from hoister.registry.reference import validate_tag


def register(commands: Any) -> None:
    template = commands.add_parser("template", help="render a tag template")
    template.add_argument("template", metavar="TEMPLATE")
    template.add_argument("--tag", required=True, help="the source tag (%%n)")
    template.add_argument(
        "--at",
        metavar="ISO-8601-TIME",
        help="the promotion time (default: now; an offset is converted, no offset is UTC)",
    )
    template.add_argument("--digest", help="the source digest (%%D)")
    template.add_argument("--repository", help="the source repository (%%R)")
    template.add_argument(
        "--local-time",
        action="store_true",
        help="render in this machine's time zone, as a policy with --local-time does",
    )
    template.set_defaults(handler=render_template)


def render_template(args: argparse.Namespace, ctx: Context) -> int:
    validate_tag(args.tag)
    try:
        when = parse_time(args.at) if args.at else datetime.now(UTC)
    except ValueError as exc:
        raise InvalidInput(str(exc)) from None
    when = when.astimezone() if args.local_time else when.astimezone(UTC)
    print(render(args.template, TemplateContext(args.tag, when, args.digest, args.repository)))
    return 0
