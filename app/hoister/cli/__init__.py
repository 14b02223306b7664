"""The command line: the GUI by default, sub-commands for headless use.

The sub-commands are a contract (docs/architecture.md): scripts depend on their names,
options, ``--json`` output and exit status — 0 success, 1 an operation failed, 2 bad
usage or invalid input — with one message on standard error, never a traceback.

A reader that stops early (``hoister history | head -1``) closes the pipe; that is not an
error of Hoister's, so the command stops silently with status 141 (128 + SIGPIPE), the
status a shell reports for any Unix tool the closed pipe stopped, so ``set -o pipefail``
scripts see the same thing they would with ``git log | head -1``.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence

from hoister import __version__
from hoister.cli import agent, browse, policies, profiles, promote, queue, store, template
from hoister.cli.context import Context
from hoister.cli.database_flag import HELP as DATABASE_HELP
from hoister.cli.database_flag import FlagError, take_database_flag
from hoister.errors import HoisterError
from hoister.logsetup import configure_logging, redact, shutdown_logging
from hoister.paths import Paths, default_paths

log = logging.getLogger(__name__)

#: Exit status when standard output was closed by its reader: 128 + SIGPIPE.
EXIT_BROKEN_PIPE = 141


class _Parser(argparse.ArgumentParser):
    """argparse that exits 2 with a one-line message plus a pointer to ``--help``."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.print_usage(sys.stderr)
        self.exit(2, f"{self.prog}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="hoister",
        description="Browse OCI/Docker registries and promote images between repositories.",
    )
    parser.add_argument("--version", action="version", version=f"hoister {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log details to stderr")
    # Taken out of argv before parsing (see hoister.cli.database_flag); declared here so
    # that `hoister --help` lists it.
    parser.add_argument("--database", metavar="URL", help=DATABASE_HELP)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    gui = commands.add_parser("gui", help="open the desktop app (the default)")
    # Open the window, close it shortly after, exit 0 only if all went well: proves a
    # build (the PyInstaller bundle above all) can start the app. Not for users.
    gui.add_argument("--smoke-test", action="store_true", help=argparse.SUPPRESS)
    profiles.register(commands)
    browse.register(commands)
    policies.register(commands)
    template.register(commands)
    promote.register(commands)
    agent.register(commands)
    queue.register(commands)
    store.register(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    try:
        rest, database = take_database_flag(sys.argv[1:] if argv is None else argv)
    except FlagError as exc:
        parser.error(str(exc))
    args = parser.parse_args(rest)
    args.database = database
    paths = default_paths()
    try:
        configure_logging(paths, verbose=args.verbose)
    except OSError as exc:
        print(f"hoister: cannot write logs under {paths.logs}: {exc}", file=sys.stderr)
        return 1
    try:
        code = _dispatch(args, paths)
        sys.stdout.flush()  # here, so a closed pipe is seen now and not at interpreter exit
        return code
    except BrokenPipeError:
        return _pipe_closed()
    finally:
        shutdown_logging()


def _pipe_closed() -> int:
    """Standard output's reader went away: stop quietly.

    Pointing the stdout descriptor at /dev/null keeps Python's final flush of whatever is
    still buffered from raising again (and printing "Exception ignored ...") at exit.
    """
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):  # stdout is not a real file (replaced by a test harness)
        pass
    finally:
        os.close(devnull)
    return EXIT_BROKEN_PIPE


def _gui(args: argparse.Namespace, paths: Paths) -> int:
    from hoister.ui.app import run_gui  # Qt is loaded only for the GUI

    try:
        return run_gui(
            paths, smoke_test=getattr(args, "smoke_test", False), database_flag=args.database
        )
    except HoisterError as exc:  # the store could not be opened: say so, no window
        print(f"hoister: {redact(str(exc))}", file=sys.stderr)
        return exc.exit_code


def _dispatch(args: argparse.Namespace, paths: Paths) -> int:
    if args.command in (None, "gui"):
        return _gui(args, paths)
    context = Context(paths, database_flag=args.database)
    try:
        return int(args.handler(args, context) or 0)
    except HoisterError as exc:
        log.debug("%s failed: %s", args.command, exc)
        print(f"hoister: {redact(str(exc))}", file=sys.stderr)
        return exc.exit_code
    except BrokenPipeError:
        raise  # the reader of standard output left; main() stops quietly
    except KeyboardInterrupt:
        print("hoister: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:
        log.exception("unexpected error in %s", args.command)
        print(
            f"hoister: internal error ({type(exc).__name__}: {redact(str(exc))}); "
            f"details are in {paths.log_file}",
            file=sys.stderr,
        )
        return 1
    finally:
        context.close()
