"""The final summary of a pipeline run, for people (text) or machines (one JSON document)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Optional, TextIO

from pulumi.automation import OpType

# Exit status per outcome: CI tells a broken run (1) from a misuse (2) from a deliberate refusal (3).
EXIT_CODES = {"succeeded": 0, "failed": 1, "error": 2, "refused": 3, "interrupted": 130}

# Changes first (in the engine's order), unchanged resources last.
_KIND_ORDER = [kind.value for kind in OpType if kind is not OpType.SAME] + [OpType.SAME.value]


@dataclass
class Report:
    command: Optional[str]  # "preview", "up", "review up", "promote", ...; None when the arguments did not parse
    stack: Optional[str]
    status: str = "succeeded"  # a key of EXIT_CODES
    changes: Optional[dict[str, int]] = None
    # Exactly what `pulumi stack output --json` prints without --show-secrets: secrets are "[secret]".
    outputs: Optional[dict[str, Any]] = None
    violations: list[dict[str, Any]] = field(default_factory=list)
    message: Optional[str] = None  # why the run did not succeed
    cli_exit_code: Optional[int] = None
    cli_stderr: Optional[str] = None

    @property
    def exit_code(self) -> int:
        return EXIT_CODES[self.status]

    def to_json(self) -> dict[str, Any]:
        error = None
        if self.status != "succeeded":
            error = {"message": self.message, "cliExitCode": self.cli_exit_code, "cliStderr": self.cli_stderr}
        return {
            "command": self.command,
            "stack": self.stack,
            "status": self.status,
            "changes": self.changes,
            "outputs": self.outputs,
            "policyViolations": self.violations,
            "error": error,
        }


def format_changes(changes: dict[str, int]) -> str:
    counted = {kind: n for kind, n in changes.items() if n}
    ordered = sorted(counted, key=lambda k: (_KIND_ORDER.index(k) if k in _KIND_ORDER else len(_KIND_ORDER), k))
    return ", ".join(f"{kind} {counted[kind]}" for kind in ordered) or "no changes"


def _format_violation(v: dict[str, Any]) -> str:
    where = f" ({v['urn']})" if v.get("urn") else ""
    return f"[{v['level']}] {v['pack']}/{v['policy']}: {v['message']}{where}"


def render_text(report: Report, out: TextIO, err: TextIO) -> None:
    target = f" (stack {report.stack})" if report.stack else ""
    if report.status == "succeeded":
        print(f"{report.command}{target}: succeeded", file=out)
        if report.changes is not None:
            print(f"  changes: {format_changes(report.changes)}", file=out)
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
