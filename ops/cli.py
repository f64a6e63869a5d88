"""python -m ops rebuild|reconcile|redrive --stack NAME: operate the read side of a deployed stack.

The stack's outputs come from the Pulumi CLI (Automation API), from --outputs FILE, or, with --endpoint-url, from
the file `python -m localcloud serve` writes. Each command drives what the stack deployed (the ops state machine,
the ops functions), so it runs the same against AWS and against localcloud. Progress goes to stderr; the summary
to stdout, in words or, with --json, as one JSON object.

Exit codes: 0 all is well (rebuild: every order applied; reconcile: no drift; redrive: the queue emptied),
1 something is left (orders that failed, drift found and, with --repair, fixed, messages left in the queue),
2 the command could not run."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from botocore.exceptions import BotoCoreError, ClientError

from ops.progress import ProgressLine, words
from ops.remote import Deployed, OpsError
from ops.stack import StackError, resolve

MAX_SEGMENTS = 64


def _segments(text: str) -> int:
    value = int(text)
    if not 1 <= value <= MAX_SEGMENTS:
        raise argparse.ArgumentTypeError(f"expected 1..{MAX_SEGMENTS}")
    return value


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="python -m ops", description=__doc__.split("\n\n")[0])
    commands = root.add_subparsers(dest="command", required=True)

    def command(name: str, help_: str) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=help_)
        sub.add_argument("--stack", default="dev", help="the stack to operate (default dev)")
        sub.add_argument("--outputs", type=Path, help="the stack's outputs as JSON (localcloud's outputs file, or "
                                                      "`pulumi stack output --json`)")
        sub.add_argument("--endpoint-url", help="an emulator's endpoint, e.g. http://127.0.0.1:4566 (localcloud)")
        sub.add_argument("--region", help="AWS region (default: the stack's aws:region)")
        sub.add_argument("--json", action="store_true", help="print the summary as one JSON object")
        return sub

    rebuild = command("rebuild", "rebuild the read models from the orders table (online, resumable)")
    rebuild.add_argument("--segments", type=_segments, default=8, help="parallel scan segments (default 8)")
    rebuild.add_argument("--restart", action="store_true", help="start afresh instead of continuing an unfinished "
                                                                "rebuild")
    reconcile = command("reconcile", "compare the read models with the orders table and report drift")
    reconcile.add_argument("--segments", type=_segments, default=4, help="parallel scan segments (default 4)")
    reconcile.add_argument("--repair", action="store_true", help="re-project drifted orders and recompute totals")
    reconcile.add_argument("--grace", type=float, default=10.0,
                           help="seconds a difference must last to count (the stream may be about to fix it)")
    redrive = command("redrive", "project the orders of the projector's on-failure queue again from the table")
    redrive.add_argument("--limit", type=int, default=1000, help="most messages to handle (default 1000)")
    redrive.add_argument("--no-rebuild", action="store_true",
                         help="leave messages whose records the stream no longer holds (else a rebuild resolves them)")
    return root


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        deployed = Deployed(resolve(args.stack, args.outputs, args.endpoint_url, args.region))
        summary, code = COMMANDS[args.command](deployed, args)
    except (StackError, OpsError, ClientError, BotoCoreError) as error:
        message = " ".join(str(error).split())
        if args.json:
            print(json.dumps({"operation": args.command, "error": message}))
        print(f"error: {message}", file=sys.stderr)
        return 2
    print(json.dumps(summary) if args.json else words(summary))
    return code


def _run(deployed: Deployed, operation: str, **options) -> dict:
    progress = ProgressLine(operation)
    try:
        return deployed.run(operation, progress, **options)
    finally:
        progress.close()


def rebuild(deployed: Deployed, args) -> tuple[dict, int]:
    summary = _run(deployed, "rebuild", segments=args.segments, resume=not args.restart)
    return summary, 1 if summary["failed"] or summary["notRebuilt"] else 0


def reconcile(deployed: Deployed, args) -> tuple[dict, int]:
    summary = _run(deployed, "reconcile", segments=args.segments, repair=args.repair, grace=args.grace)
    return summary, 1 if summary["drift"] else 0


def redrive(deployed: Deployed, args) -> tuple[dict, int]:
    summary = deployed.redrive(args.limit)
    if summary["needRebuild"] and not args.no_rebuild:
        print(f"redrive: {summary['needRebuild']} messages name records the stream no longer holds: rebuilding",
              file=sys.stderr)
        rebuilt = _run(deployed, "rebuild", segments=8, resume=True)
        summary = {**deployed.redrive(args.limit), "firstPass": summary, "rebuild": rebuilt}
    return summary, 0 if summary["queueDepth"] == 0 else 1


COMMANDS = {"rebuild": rebuild, "reconcile": reconcile, "redrive": redrive}
