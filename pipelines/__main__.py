"""`python -m pipelines`: deploy cqrs-orders from CI/CD through the Pulumi Automation API (see pipelines/README.md)."""

from __future__ import annotations

import argparse
import itertools
import signal
import sys
from pathlib import Path
from typing import NoReturn, Optional

from . import deploy, drift, promote, review
from .errors import CommandFailed, Interrupted, PipelineError, Refused
from .markdown import render_markdown
from .pipeline import PROD, REPO_ROOT, Console, Pipeline
from .summary import EXIT_CODES, Report, render_json, render_text


class ArgumentsError(Exception):
    """An argument error, its text prefixed with the (sub)command's prog."""

    def __init__(self, parser: argparse.ArgumentParser, message: str):
        super().__init__(f"{parser.prog}: {message}")
        self.parser = parser
        self.message = message


class _Parser(argparse.ArgumentParser):
    """Raises instead of exiting on an argument error, so that main() can answer --json with a JSON document."""

    def error(self, message: str) -> NoReturn:
        raise ArgumentsError(self, message)


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--json", action="store_true", help="print one JSON document on stdout (engine output goes to stderr)"
    )
    common.add_argument(
        "--work-dir", type=Path, default=REPO_ROOT, help="the Pulumi project (default: this repository)"
    )
    common.add_argument(
        "--summary-file", type=Path, metavar="FILE",
        help="append the summary in Markdown (diff, policy results, drift) to FILE, e.g. $GITHUB_STEP_SUMMARY",
    )
    policy = argparse.ArgumentParser(add_help=False)
    policy.add_argument("--policy-pack", type=Path, metavar="DIR", help="run this CrossGuard policy pack (e.g. policy)")
    policy.add_argument("--policy-config", type=Path, metavar="FILE", help="its config (e.g. policy/config.dev.json)")
    stack = argparse.ArgumentParser(add_help=False)
    stack.add_argument("--stack", required=True, metavar="NAME", help="a stack with a Pulumi.NAME.yaml (dev, prod)")
    confirm = argparse.ArgumentParser(add_help=False)
    confirm.add_argument("--yes", action="store_true", help="confirm changes to a protected stack")

    # Subparsers are made of the parser's own class, so every level reports argument errors through main().
    parser = _Parser(prog="python -m pipelines", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    # The four take the same options: preview changes nothing, so --yes is moot there, and refresh/destroy refuse a
    # policy pack with a one-line error (Pipeline.run) instead of argparse's usage text.
    engine = [stack, policy, confirm, common]
    commands.add_parser("preview", parents=engine, help="preview a stack")
    commands.add_parser("up", parents=engine, help="deploy a stack")
    commands.add_parser("refresh", parents=engine, help="refresh a stack's state from the cloud")
    commands.add_parser("destroy", parents=engine, help="destroy a stack's resources")

    review = commands.add_parser("review", help="ephemeral review stacks built from the dev settings")
    actions = review.add_subparsers(dest="action", required=True)
    name = argparse.ArgumentParser(add_help=False)
    name.add_argument("--name", required=True, help="lowercase letters, digits, hyphens; the stack is review-NAME")
    actions.add_parser("up", parents=[name, policy, common], help="create or update review-NAME")
    actions.add_parser("destroy", parents=[name, common], help="destroy review-NAME and remove the stack")

    commands.add_parser(
        "promote", parents=[confirm, common], help=f"deploy {PROD} if dev is healthy and the policy pack passes"
    )
    commands.add_parser(
        "drift", parents=[stack, common],
        help="refresh in preview mode: exit 0 when the cloud matches the state, 1 on drift, 2 on error",
    )
    return parser


def _label(args: argparse.Namespace) -> tuple[str, Optional[str]]:
    if args.command == "review":
        try:
            return f"review {args.action}", review.review_stack_name(args.name)
        except PipelineError:
            return f"review {args.action}", None
    if args.command == "promote":
        return "promote", PROD
    return args.command, args.stack


def _dispatch(pipeline: Pipeline, args: argparse.Namespace) -> Report:
    if args.command == "review":
        if args.action == "up":
            return review.up(pipeline, args.name, policy_pack=args.policy_pack, policy_config=args.policy_config)
        return review.destroy(pipeline, args.name)
    if args.command == "promote":
        return promote.promote(pipeline, yes=args.yes)
    if args.command == "drift":
        return drift.detect(pipeline, args.stack)
    return deploy.run(
        pipeline, args.command, args.stack, policy_pack=args.policy_pack, policy_config=args.policy_config,
        yes=args.yes,
    )


def _arguments_error(argv: list[str], error: ArgumentsError) -> int:
    if "--json" in argv:
        words = list(itertools.takewhile(lambda word: not word.startswith("-"), argv))
        render_json(Report(" ".join(words) or None, None, status="error", message=str(error)), sys.stdout)
    else:  # what argparse prints
        error.parser.print_usage(sys.stderr)
        print(f"{error.parser.prog}: error: {error.message}", file=sys.stderr)
    return EXIT_CODES["error"]


def main(argv: Optional[list[str]] = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    try:
        args = build_parser().parse_args(argv)
    except ArgumentsError as error:
        return _arguments_error(argv, error)
    # With --json, stdout carries only the final document.
    console = Console(progress=sys.stderr if args.json else sys.stdout, err=sys.stderr)
    command, stack = _label(args)
    try:
        report = _dispatch(Pipeline(args.work_dir, console), args)
    except PipelineError as exc:
        report = Report(command, stack, status="error", message=str(exc))
    except Refused as exc:
        report = Report(command, stack, status="refused", message=str(exc), violations=exc.violations)
    except CommandFailed as exc:
        report = Report(
            command,
            stack,
            # For drift, 1 means drift: a CLI that fails is an error.
            status="error" if command == "drift" else "failed",
            message=str(exc),
            violations=exc.violations,
            cli_exit_code=exc.exit_code,
            cli_stderr=exc.stderr,
        )
    except Interrupted as exc:
        report = Report(command, stack, status="interrupted", message=str(exc))
    except KeyboardInterrupt:
        report = Report(command, stack, status="interrupted", message="interrupted before any update started")
    if args.json:
        render_json(report, sys.stdout)
    else:
        render_text(report, sys.stdout, sys.stderr)
    if args.summary_file:
        with args.summary_file.open("a", encoding="utf-8") as summary:
            summary.write(render_markdown(report) + "\n")
    return report.exit_code


if __name__ == "__main__":
    # CI runners and container runtimes stop jobs with SIGTERM: handle it like Ctrl-C so the update is cancelled.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    sys.exit(main())
