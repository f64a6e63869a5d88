"""The Pipeline: a Pulumi project driven through the Automation API, and the building blocks every verb uses (stack
selection, the policy pack's arguments, running an engine operation that an interrupt can stop, the report).
The verbs live in deploy.py, review.py, promote.py and drift.py.

Everything secret (backend credentials, the config passphrase, cloud credentials) reaches the Pulumi CLI through
the inherited environment only; nothing here puts it on a command line.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional, TextIO, TypeVar

import yaml
from pulumi import automation as auto

from .cli import InterruptibleCommand, exit_code_and_stderr
from .cost import preview_cost
from .errors import CommandFailed, Interrupted, PipelineError, UnknownStack
from .events import EngineEvents
from .summary import Report

PROJECT = "cqrs-orders"
REPO_ROOT = Path(__file__).resolve().parent.parent
DEV, PROD = "dev", "prod"

# A stack is protected if it is listed here or its settings turn deletion protection on, so prod stays
# protected even if its settings file loses the key.
PROTECTED_STACKS = frozenset({PROD})
PROTECTION_KEY = f"{PROJECT}:deletionProtection"

POLICY_MANIFEST = "PulumiPolicy.yaml"
CLI_ROOT_VAR = "PULUMI_CLI_ROOT"
SECRETS_PROVIDER_VAR = "PULUMI_SECRETS_PROVIDER"
# How long an interrupted CLI may take to finish its operations in flight before `pulumi cancel` is sent: long, since
# cancelling while it still writes state is worse than waiting (creating an Aurora cluster takes minutes).
INTERRUPT_GRACE_VAR = "PIPELINES_INTERRUPT_GRACE"
INTERRUPT_GRACE_DEFAULT = 600.0
INSTALL_HINT = (
    "Pulumi CLI not found: install it with `curl -fsSL https://get.pulumi.com | sh` "
    "(or `brew install pulumi/tap/pulumi`) and make sure `pulumi` is on PATH"
)

T = TypeVar("T")


@dataclass
class Console:
    progress: TextIO  # the engine's streamed output and our progress lines
    err: TextIO

    def line(self, text: str) -> None:
        print(text, file=self.progress, flush=True)

    def error(self, text: str) -> None:
        print(text, file=self.err, flush=True)



def _interrupt_grace() -> float:
    raw = os.environ.get(INTERRUPT_GRACE_VAR)
    if raw is None:
        return INTERRUPT_GRACE_DEFAULT
    if not re.fullmatch(r"\d+(?:\.\d*)?", raw):
        raise PipelineError(f"{INTERRUPT_GRACE_VAR}={raw} is not a number of seconds")
    return float(raw)


def require_pack_virtualenv(pack: Path) -> None:
    """The CLI runs a Python pack with the virtualenv its manifest names, and fails late ("... doesn't appear to be
    a virtual environment") when it does not exist."""
    manifest = pack / POLICY_MANIFEST
    if not manifest.is_file():
        raise PipelineError(f"{pack} is not a policy pack: it has no {POLICY_MANIFEST}")
    runtime = (yaml.safe_load(manifest.read_text(encoding="utf-8")) or {}).get("runtime")
    venv = (runtime.get("options") or {}).get("virtualenv") if isinstance(runtime, dict) else None
    if venv and not (pack / venv / "bin" / "python").exists():
        raise PipelineError(
            f"policy pack {pack} has no virtualenv {pack / venv}: create it with `python -m venv {pack / venv} && "
            f"{pack / venv / 'bin' / 'python'} -m pip install -r {pack / 'requirements.txt'}`"
        )


def is_protected(stack: str, settings: dict[str, Any]) -> bool:
    flag = (settings.get("config") or {}).get(PROTECTION_KEY, "")
    return stack in PROTECTED_STACKS or str(flag).lower() == "true"


class Pipeline:
    def __init__(self, work_dir: Path, console: Console):
        self.work_dir = work_dir.resolve()
        self.console = console
        self._command: Optional[InterruptibleCommand] = None
        if not (self.work_dir / "Pulumi.yaml").is_file():
            raise PipelineError(f"no Pulumi.yaml in {self.work_dir}: point --work-dir at the Pulumi project")
        self.interrupt_grace = _interrupt_grace()

    def settings(self, stack_name: str) -> dict[str, Any]:
        path = self.work_dir / f"Pulumi.{stack_name}.yaml"
        if not path.is_file():
            known = sorted(p.name[len("Pulumi.") : -len(".yaml")] for p in self.work_dir.glob("Pulumi.*.yaml"))
            raise UnknownStack(
                f"unknown stack {stack_name!r}: no {path.name} in {self.work_dir} "
                f"(stacks: {', '.join(known) or 'none'})"
            )
        return yaml.safe_load(path.read_text(encoding="utf-8")) or {}

    def cli(self) -> InterruptibleCommand:
        if self._command is None:
            root = os.environ.get(CLI_ROOT_VAR)
            executable = os.path.join(root, "bin", "pulumi") if root else shutil.which("pulumi")
            if not executable or not os.access(executable, os.X_OK):
                where = f" ({CLI_ROOT_VAR}={root} has no executable bin/pulumi)" if root else ""
                raise PipelineError(INSTALL_HINT + where)
            try:
                self._command = InterruptibleCommand(root=root)
            except auto.InvalidVersionError as exc:
                raise PipelineError(f"unsupported Pulumi CLI at {executable}: {exc}") from None
            except (OSError, subprocess.CalledProcessError) as exc:
                raise PipelineError(f"`{executable} version` failed: {exc}") from None
        return self._command

    def stack(self, name: str, *, create: bool) -> auto.Stack:
        opts = auto.LocalWorkspaceOptions(
            pulumi_command=self.cli(),
            # Only used by `pulumi stack init`; a key URL such as awskms://..., not a secret.
            secrets_provider=os.environ.get(SECRETS_PROVIDER_VAR) or None,
        )
        open_stack = auto.create_or_select_stack if create else auto.select_stack
        with self.step("pulumi stack select"):
            try:
                return open_stack(name, work_dir=str(self.work_dir), opts=opts)
            except auto.StackNotFoundError:
                raise UnknownStack(f"unknown stack {name!r}: it does not exist in the configured backend") from None

    def policy_args(self, pack: Optional[Path], config: Optional[Path]) -> dict[str, list[str]]:
        if pack is None:
            if config is not None:
                raise PipelineError("--policy-config needs --policy-pack")
            return {}
        if not pack.is_dir():
            raise PipelineError(f"policy pack directory not found: {pack}")
        require_pack_virtualenv(pack)
        args = {"policy_packs": [str(pack.resolve())]}
        if config is not None:
            if not config.is_file():
                raise PipelineError(f"policy pack config file not found: {config}")
            args["policy_pack_configs"] = [str(config.resolve())]
        return args

    def streams(self, events: EngineEvents) -> dict[str, Any]:
        return {"on_output": self.console.line, "on_event": events}

    def operate(self, verb: str, stack: auto.Stack, policy: dict[str, list[str]]) -> Report:
        """Run preview, up, refresh or destroy on the stack; the report of what it changed and the policy said."""
        events = EngineEvents()
        streams = self.streams(events)
        outputs = None
        if verb == "preview":
            result = self.run_engine(verb, stack, events, lambda: stack.preview(**streams, **policy))
            changes = result.change_summary
        elif verb == "up":
            result = self.run_engine(verb, stack, events, lambda: stack.up(**streams, **policy))
            changes = result.summary.resource_changes
            outputs = self.masked_outputs(stack)
        elif verb == "refresh":
            result = self.run_engine(verb, stack, events, lambda: stack.refresh(**streams))
            changes = result.summary.resource_changes
        else:
            result = self.run_engine(verb, stack, events, lambda: stack.destroy(**streams))
            changes = result.summary.resource_changes
        if result.stderr:
            self.console.error(result.stderr)
        cost = preview_cost(stack.name, events.steps) if verb == "preview" else None
        return Report(command=verb, stack=stack.name, changes=dict(changes or {}), outputs=outputs,
                      violations=events.violations, diff=events.diff, cost=cost)

    def masked_outputs(self, stack: auto.Stack) -> dict[str, Any]:
        # `UpResult.outputs` holds plaintext and flags only top-level secrets; a secret nested in an exported
        # object would leak. The CLI's own masked rendering masks at every depth.
        with self.step("pulumi stack output"):
            result = self.cli().run(["stack", "output", "--json", "--stack", stack.name], str(self.work_dir), {})
        return json.loads(result.stdout)

    def run_engine(self, verb: str, stack: auto.Stack, events: EngineEvents, operation: Callable[[], T]) -> T:
        with self.step(f"pulumi {verb}", events):
            return self._interruptible(verb, stack, operation)

    def _interruptible(self, verb: str, stack: auto.Stack, operation: Callable[[], T]) -> T:
        # The operation runs on a worker so the main thread stays free to take SIGINT/SIGTERM and stop the CLI. It
        # waits on an Event: a Thread.join interrupted by a signal can leave the thread looking finished (CPython
        # gh-90882).
        outcome: dict[str, Any] = {}
        done = threading.Event()

        def work() -> None:
            try:
                outcome["value"] = operation()
            except BaseException as exc:  # noqa: BLE001 - re-raised on the main thread below
                outcome["error"] = exc
            finally:
                done.set()

        threading.Thread(target=work, name=f"pulumi-{verb}-{stack.name}", daemon=True).start()
        try:
            done.wait()
        except KeyboardInterrupt:
            raise Interrupted(self._stop(verb, stack, done)) from None
        if "error" in outcome:
            raise outcome["error"]
        return outcome["value"]

    def _stop(self, verb: str, stack: auto.Stack, done: threading.Event) -> str:
        """Stop the CLI as a Ctrl-C at a terminal would; `pulumi cancel` only if it is still running after the grace
        period (on a self-managed backend cancel only removes the lock, while the CLI goes on). How the run ended."""
        cli = self.cli()
        self.console.error(
            f"interrupted: stopping the {verb} of stack {stack.name} once the operations in flight finish "
            "(interrupt again to terminate the Pulumi CLI at once)"
        )
        try:
            cli.interrupt()
            if done.wait(self.interrupt_grace):
                return "stopped after an interrupt: the Pulumi CLI got SIGINT and exited"
            self.console.error(
                f"the Pulumi CLI is still running {self.interrupt_grace:g} s after SIGINT: sending `pulumi cancel`"
            )
            try:
                cli.cancel_update(stack.name, str(self.work_dir))
            except auto.CommandError as exc:
                self.console.error(f"`pulumi cancel` did not succeed: {exit_code_and_stderr(exc)[1]}")
            done.wait()
            return "stopped after an interrupt; `pulumi cancel` was sent"
        except KeyboardInterrupt:
            cli.interrupt()  # the CLI's second SIGINT: it terminates at once
            self.console.error("interrupted again: the Pulumi CLI terminates at once, without waiting for the "
                               "operations in flight; `pulumi refresh` reconciles the state they leave pending")
            return "terminated after a second interrupt"

    @contextmanager
    def step(self, step: str, events: Optional[EngineEvents] = None) -> Iterator[None]:
        try:
            yield
        except auto.CommandError as exc:
            code, stderr = exit_code_and_stderr(exc)
            raise CommandFailed(step, code, stderr, events.violations if events else []) from None
