"""The final summary of a pipeline run, for people (text), machines (one JSON document) or a pull request
(Markdown: markdown.py)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Optional, TextIO

from pulumi.automation import OpType

from .cost import format_cost

# Exit status per outcome: CI tells drift (1) from a broken run (1) by the command, a misuse (2) from a deliberate
# refusal (3). `drift` reports a failed CLI as an error (2), so that 1 means drift.
EXIT_CODES = {"succeeded": 0, "drifted": 1, "failed": 1, "error": 2, "refused": 3, "interrupted": 130}
# Statuses that are an answer (printed on stdout), not a failure.
ANSWERS = ("succeeded", "drifted")

# Changes first (in the engine's order), unchanged resources last.
_KIND_ORDER = [kind.value for kind in OpType if kind is not OpType.SAME] + [OpType.SAME.value]


@dataclass
class Report:
    command: Optional[str]  # "preview", "up", "review up", "promote", "drift", ...; None: the arguments did not parse
    stack: Optional[str]
    status: str = "succeeded"  # a key of EXIT_CODES
    changes: Optional[dict[str, int]] = None
    # Exactly what `pulumi stack output --json` prints without --show-secrets: secrets are "[secret]".
    outputs: Optional[dict[str, Any]] = None
    violations: list[dict[str, Any]] = field(default_factory=list)
    # The resources the operation changes (urn, type, name, op, properties): the diff of a preview or update.
    diff: list[dict[str, Any]] = field(default_factory=list)
    # `drift` only: each drifted resource (urn, type, name, change "changed"/"deleted", properties).
    drift: Optional[list[dict[str, Any]]] = None
    # `preview` only: the proposed stack's cost, the deployed stack's and the change (pipelines/cost.py).
    cost: Optional[dict[str, Any]] = None
    message: Optional[str] = None  # why the run did not succeed
    cli_exit_code: Optional[int] = None
    cli_stderr: Optional[str] = None

    @property
    def exit_code(self) -> int:
        return EXIT_CODES[self.status]

    def to_json(self) -> dict[str, Any]:
        error = None
        if self.status not in ANSWERS:
            error = {"message": self.message, "cliExitCode": self.cli_exit_code, "cliStderr": self.cli_stderr}
        document = {
            "command": self.command,
            "stack": self.stack,
            "status": self.status,
            "changes": self.changes,
            "diff": self.diff,
            "drift": self.drift,
            "outputs": self.outputs,
            "policyViolations": self.violations,
            "error": error,
        }
        if self.cost is not None:  # a preview that reported its resources' states
            document["cost"] = self.cost
        return document


def format_changes(changes: dict[str, int]) -> str:
    counted = {kind: n for kind, n in changes.items() if n}
    ordered = sorted(counted, key=lambda k: (_KIND_ORDER.index(k) if k in _KIND_ORDER else len(_KIND_ORDER), k))
    return ", ".join(f"{kind} {counted[kind]}" for kind in ordered) or "no changes"


def _format_violation(v: dict[str, Any]) -> str:
    where = f" ({v['urn']})" if v.get("urn") else ""
    return f"[{v['level']}] {v['pack']}/{v['policy']}: {v['message']}{where}"


def _format_resource(resource: dict[str, Any], kind: str) -> str:
    properties = f": {', '.join(resource['properties'])}" if resource["properties"] else ""
    return f"{resource[kind]} {resource['type']} {resource['name']}{properties}"


def render_text(report: Report, out: TextIO, err: TextIO) -> None:
    target = f" (stack {report.stack})" if report.stack else ""
    if report.status in ANSWERS:
        drifted = f": {len(report.drift or [])} resource(s) drifted" if report.status == "drifted" else ""
        print(f"{report.command}{target}: {report.status}{drifted}", file=out)
        if report.changes is not None:
            print(f"  changes: {format_changes(report.changes)}", file=out)
        for resource in report.drift or []:
            print(f"    {_format_resource(resource, 'change')}", file=out)
        if report.outputs:
            print("  outputs:", file=out)
            for name in sorted(report.outputs):
                value = report.outputs[name]
                shown = value if isinstance(value, str) else json.dumps(value, sort_keys=True)
                print(f"    {name}: {shown}", file=out)
        if report.violations:
            print("  policy violations (not blocking):", file=out)
            for v in report.violations:
                print(f"    {_format_violation(v)}", file=out)
        if report.cost is not None:
            print(f"  cost (list prices of {report.cost['priceDate']}):", file=out)
            for line in format_cost(report.cost):
                print(f"    {line}", file=out)
        out.flush()
        return
    label = {"failed": "error", "error": "error", "refused": "refused", "interrupted": "interrupted"}[report.status]
    print(f"{label}: {report.command}{target}: {report.message}", file=err)
    for v in report.violations:
        print(f"  {_format_violation(v)}", file=err)
    if report.cli_stderr:
        print(report.cli_stderr, file=err)
    err.flush()


def render_json(report: Report, out: TextIO) -> None:
    json.dump(report.to_json(), out, indent=2, sort_keys=True)
    out.write("\n")
    out.flush()
