"""How a pipeline run ends when it does not succeed; __main__ turns each into a status and an exit code."""

from __future__ import annotations

from typing import Any, Optional


class PipelineError(Exception):
    """The invocation or the environment is wrong (exit 2)."""


class UnknownStack(PipelineError):
    pass


class Refused(Exception):
    """A deliberate refusal to deploy (exit 3)."""

    def __init__(self, reason: str, violations: Optional[list[dict[str, Any]]] = None):
        super().__init__(reason)
        self.violations = violations or []


class CommandFailed(Exception):
    """A Pulumi CLI command exited non-zero (exit 1; 2 for drift, whose 1 means drift)."""

    def __init__(self, step: str, exit_code: Optional[int], stderr: str, violations: list[dict[str, Any]]):
        code = "an unknown exit code" if exit_code is None else f"exit code {exit_code}"
        super().__init__(f"`{step}` failed with {code}")
        self.exit_code = exit_code
        self.stderr = stderr
        self.violations = violations


class Interrupted(Exception):
    """SIGINT/SIGTERM during a run (exit 130)."""
