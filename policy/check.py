"""Run the policy pack against the real program, offline: `python -m policy.check --stack dev|prod [--config FILE]`.

The program runs under the Pulumi SDK's mock runtime (harness.program, shared with the tests); every resource goes
to every policy as the engine would (policy.offline). Prints a table of violations, one line each, grouped by resource,
and a one-line summary.
Exit status: 0 without mandatory violations, 1 with any, 2 when it cannot run (unknown stack, bad config, the
program failing)."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Optional, Sequence

import pulumi

from harness.program import UnknownStack, run_program, stack_config
from policy.offline import ConfigError, Violation, evaluate, load_config, resolve_config
from policy.rules import POLICIES

PACK_DIR = Path(__file__).resolve().parent
COLUMNS = ("RESOURCE", "LEVEL", "POLICY", "MESSAGE")
LEVEL_ORDER = {"mandatory": 0, "advisory": 1}


def table(violations: Sequence[Violation]) -> str:
    """One line per violation, grouped by resource (mandatory first within a resource)."""
    ordered = sorted(violations, key=lambda v: (v.resource, LEVEL_ORDER[v.level], v.policy, v.message))
    rows = [COLUMNS] + [(v.resource or "(stack)", v.level, v.policy, v.message) for v in ordered]
    widths = [max(len(row[i]) for row in rows) for i in range(len(COLUMNS) - 1)]
    return "\n".join("  ".join([*(cell.ljust(width) for cell, width in zip(row, widths)), row[-1]]).rstrip()
                     for row in rows)


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m policy.check", description=__doc__.split("\n\n")[0])
    parser.add_argument("--stack", required=True, help="stack to check (a Pulumi.<stack>.yaml)")
    parser.add_argument("--config", type=Path, help="policy pack config (default: policy/config.<stack>.json)")
    args = parser.parse_args(argv)
    config_path = args.config or PACK_DIR / f"config.{args.stack}.json"
    try:
        stack_config(args.stack)  # an unknown stack fails here, before its (missing) config file is blamed
        settings = resolve_config(POLICIES, load_config(config_path), str(config_path))
        run = run_program(args.stack)
    except (UnknownStack, ConfigError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except pulumi.RunError as error:  # e.g. an invalid stack setting, reported by the program in one line
        print(f"error: the program failed for stack {args.stack}: {error}", file=sys.stderr)
        return 2
    violations = evaluate(run.resources, POLICIES, settings)
    if violations:
        print(table(violations))
    mandatory = sum(v.level == "mandatory" for v in violations)
    print(f"{args.stack}: {mandatory} mandatory, {len(violations) - mandatory} advisory violations "
          f"({len(POLICIES)} policies, {len(run.resources)} resources, config {os.path.relpath(config_path)})")
    return 1 if mandatory else 0


if __name__ == "__main__":
    sys.exit(main())
