"""Automation API calls behind `python -m pipelines`.

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

from .summary import Report, format_changes

PROJECT = "cqrs-orders"
REPO_ROOT = Path(__file__).resolve().parent.parent
DEV, PROD = "dev", "prod"

# A stack is protected if it is listed here or its settings turn deletion protection on, so prod stays
# protected even if its settings file loses the key.
PROTECTED_STACKS = frozenset({PROD})
PROTECTION_KEY = f"{PROJECT}:deletionProtection"

REVIEW_PREFIX = "review-"
REVIEW_NAME = re.compile(r"[a-z0-9](?:[a-z0-9-]*[a-z0-9])?")
REVIEW_NAME_MAX = 40
# Review stacks must be disposable: no deletion protection, no final snapshot blocking `review destroy`.
REVIEW_OVERRIDES = {
    PROTECTION_KEY: "false",
    f"{PROJECT}:dynamoDeletionProtection": "false",
    f"{PROJECT}:skipFinalSnapshot": "true",
}

PROMOTE_POLICY_PACK = "policy"
PROMOTE_POLICY_CONFIG = "policy/config.prod.json"

CLI_ROOT_VAR = "PULUMI_CLI_ROOT"
SECRETS_PROVIDER_VAR = "PULUMI_SECRETS_PROVIDER"
INSTALL_HINT = (
    "Pulumi CLI not found: install it with `curl -fsSL https://get.pulumi.com | sh` "
    "(or `brew install pulumi/tap/pulumi`) and make sure `pulumi` is on PATH"
)

T = TypeVar("T")


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
    """A Pulumi CLI command exited non-zero (exit 1)."""

    def __init__(self, step: str, exit_code: Optional[int], stderr: str, violations: list[dict[str, Any]]):
        code = "an unknown exit code" if exit_code is None else f"exit code {exit_code}"
        super().__init__(f"`{step}` failed with {code}")
        self.exit_code = exit_code
        self.stderr = stderr
        self.violations = violations


class Interrupted(Exception):
    """SIGINT/SIGTERM during a run (exit 130)."""


@dataclass
class Console:
    progress: TextIO  # the engine's streamed output and our progress lines
    err: TextIO

    def line(self, text: str) -> None:
        print(text, file=self.progress, flush=True)

    def error(self, text: str) -> None:
        print(text, file=self.err, flush=True)


# `CommandError` keeps only the rendered `CommandResult`; this is that rendering (see pulumi.automation._cmd).
_COMMAND_ERROR = re.compile(r"\A\n code: (-?\d+)\n stdout: .*\n stderr: (.*)\Z", re.DOTALL)


def _exit_code_and_stderr(error: auto.CommandError) -> tuple[Optional[int], str]:
    match = _COMMAND_ERROR.match(str(error))
    if match is None:
        return None, str(error).strip()
    return int(match.group(1)), match.group(2).strip()


_COLOR_DIRECTIVE = re.compile(r"<\{%[^%]*%\}>")


class _PolicyEvents:
    """Collects policy violations from the engine's event stream (called on the SDK's log-watcher thread)."""

    def __init__(self) -> None:
        self.violations: list[dict[str, Any]] = []

    def __call__(self, event: auto.EngineEvent) -> None:
        policy = event.policy_event
        if policy is None:
            return
        self.violations.append(
            {
                "pack": policy.policy_pack_name,
                "policy": policy.policy_name,
                "level": policy.enforcement_level,
                "message": _COLOR_DIRECTIVE.sub("", policy.message).strip(),
                "urn": policy.resource_urn,
            }
        )

    @property
    def mandatory(self) -> list[dict[str, Any]]:
        return [v for v in self.violations if v["level"] == "mandatory"]


def review_stack_name(name: str) -> str:
    if len(name) > REVIEW_NAME_MAX or not REVIEW_NAME.fullmatch(name):
        raise PipelineError(
            f"invalid review name {name!r}: use 1-{REVIEW_NAME_MAX} lowercase letters, digits and hyphens, "
            "starting and ending with a letter or digit"
        )
    return REVIEW_PREFIX + name


def is_protected(stack: str, settings: dict[str, Any]) -> bool:
    flag = (settings.get("config") or {}).get(PROTECTION_KEY, "")
    return stack in PROTECTED_STACKS or str(flag).lower() == "true"


def _is_scalar(value: Any) -> bool:
    return isinstance(value, (str, bool, int, float))


def _config_string(value: Any) -> str:
    # How the engine hands a YAML scalar to the program (and what typed project config accepts): "true", "300".
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


class Pipeline:
    def __init__(self, work_dir: Path, console: Console):
        self.work_dir = work_dir.resolve()
        self.console = console
        self._command: Optional[auto.PulumiCommand] = None
        if not (self.work_dir / "Pulumi.yaml").is_file():
            raise PipelineError(f"no Pulumi.yaml in {self.work_dir}: point --work-dir at the Pulumi project")

    # --- commands -------------------------------------------------------------------------------------------

    def run(
        self,
        verb: str,
        stack_name: str,
        *,
        policy_pack: Optional[Path] = None,
        policy_config: Optional[Path] = None,
        yes: bool = False,
    ) -> Report:
        settings = self.settings(stack_name)
        if verb in ("up", "destroy") and is_protected(stack_name, settings) and not yes:
            raise PipelineError(f"stack {stack_name} is protected: `{verb}` needs --yes")
        policy = self._policy_args(policy_pack, policy_config)
        # Deploying may create the stack; refresh/destroy of a stack the backend never saw is a mistake.
        stack = self._stack(stack_name, create=verb in ("preview", "up"))
        return self._operate(verb, stack, policy)

    def review_up(
        self, name: str, *, policy_pack: Optional[Path] = None, policy_config: Optional[Path] = None
    ) -> Report:
        stack_name = review_stack_name(name)
        policy = self._policy_args(policy_pack, policy_config)
        dev_config = self.settings(DEV).get("config") or {}
        plain = {key: _config_string(v) for key, v in dev_config.items() if _is_scalar(v)}
        plain.update(REVIEW_OVERRIDES)
        # The CLI copies the rest itself: a secret's ciphertext is bound to dev's key (it re-encrypts it, so the
        # plaintext never reaches a command line) and `set-all` would store an object or list as a string, which
        # typed project config rejects.
        copied = [key for key, v in dev_config.items() if not _is_scalar(v) and key not in REVIEW_OVERRIDES]
        stack = self._stack(stack_name, create=True)
        with self._step("pulumi config set-all"):
            stack.set_all_config({key: auto.ConfigValue(value) for key, value in plain.items()})
        for key in copied:
            with self._step("pulumi config copy"):
                stack.workspace.cli_api.config_copy(key, stack=DEV, dest=stack_name, cwd=str(self.work_dir))
        self.console.line(f"review: {stack_name} configured from {DEV} ({len(plain)} values set, {len(copied)} copied)")
        report = self._operate("up", stack, policy)
        report.command = "review up"
        return report

    def review_destroy(self, name: str) -> Report:
        stack_name = review_stack_name(name)
        stack = self._stack(stack_name, create=False)
        report = self._operate("destroy", stack, {})
        with self._step("pulumi stack rm"):
            stack.workspace.remove_stack(stack_name)
        self.console.line(f"review: stack {stack_name} removed")
        report.command = "review destroy"
        return report

    def promote(self, *, yes: bool) -> Report:
        if not yes:
            raise PipelineError(f"promote deploys the protected stack {PROD}: pass --yes")
        self.settings(PROD)
        policy = self._policy_args(self.work_dir / PROMOTE_POLICY_PACK, self.work_dir / PROMOTE_POLICY_CONFIG)
        self._require_healthy_dev()
        prod = self._stack(PROD, create=True)
        events = _PolicyEvents()
        try:
            preview = self._run_engine("preview", prod, events, lambda: prod.preview(**self._streams(events), **policy))
        except CommandFailed:
            # The CLI fails a preview that has a mandatory violation: that is the refusal below, not a failure.
            if not events.mandatory:
                raise
        if events.mandatory:
            raise Refused(f"mandatory policy violations in the {PROD} preview", events.mandatory)
        changes = format_changes(preview.change_summary)
        self.console.line(f"promote: {PROD} preview passed the policy pack ({changes}); deploying")
        report = self._operate("up", prod, policy)
        report.command = "promote"
        return report

    # --- building blocks ------------------------------------------------------------------------------------

    def settings(self, stack_name: str) -> dict[str, Any]:
        path = self.work_dir / f"Pulumi.{stack_name}.yaml"
        if not path.is_file():
            known = sorted(p.name[len("Pulumi.") : -len(".yaml")] for p in self.work_dir.glob("Pulumi.*.yaml"))
            raise UnknownStack(
                f"unknown stack {stack_name!r}: no {path.name} in {self.work_dir} "
                f"(stacks: {', '.join(known) or 'none'})"
            )
        return yaml.safe_load(path.read_text(encoding="utf-8")) or {}

    def _require_healthy_dev(self) -> None:
        try:
            dev = self._stack(DEV, create=False)
        except UnknownStack:
            raise Refused(f"the {DEV} stack does not exist in the backend: deploy {DEV} first") from None
        with self._step("pulumi stack history"):
            history = dev.history(page_size=1, show_secrets=False)
        if not history:
            raise Refused(f"the {DEV} stack has never been updated: deploy {DEV} first")
        last = history[0]
        if last.result != "succeeded":
            raise Refused(f"the last update of {DEV} (#{last.version}, {last.kind}) {last.result}: fix {DEV} first")

    def _cli(self) -> auto.PulumiCommand:
        if self._command is None:
            root = os.environ.get(CLI_ROOT_VAR)
            executable = os.path.join(root, "bin", "pulumi") if root else shutil.which("pulumi")
            if not executable or not os.access(executable, os.X_OK):
                where = f" ({CLI_ROOT_VAR}={root} has no executable bin/pulumi)" if root else ""
                raise PipelineError(INSTALL_HINT + where)
            try:
                self._command = auto.PulumiCommand(root=root)
            except auto.InvalidVersionError as exc:
                raise PipelineError(f"unsupported Pulumi CLI at {executable}: {exc}") from None
            except (OSError, subprocess.CalledProcessError) as exc:
                raise PipelineError(f"`{executable} version` failed: {exc}") from None
        return self._command

    def _stack(self, name: str, *, create: bool) -> auto.Stack:
        opts = auto.LocalWorkspaceOptions(
            pulumi_command=self._cli(),
            # Only used by `pulumi stack init`; a key URL such as awskms://..., not a secret.
            secrets_provider=os.environ.get(SECRETS_PROVIDER_VAR) or None,
        )
        open_stack = auto.create_or_select_stack if create else auto.select_stack
        with self._step("pulumi stack select"):
            try:
                return open_stack(name, work_dir=str(self.work_dir), opts=opts)
            except auto.StackNotFoundError:
                raise UnknownStack(f"unknown stack {name!r}: it does not exist in the configured backend") from None

    def _policy_args(self, pack: Optional[Path], config: Optional[Path]) -> dict[str, list[str]]:
        if pack is None:
            if config is not None:
                raise PipelineError("--policy-config needs --policy-pack")
            return {}
        if not pack.is_dir():
            raise PipelineError(f"policy pack directory not found: {pack}")
        args = {"policy_packs": [str(pack.resolve())]}
        if config is not None:
            if not config.is_file():
                raise PipelineError(f"policy pack config file not found: {config}")
            args["policy_pack_configs"] = [str(config.resolve())]
        return args

    def _streams(self, events: _PolicyEvents) -> dict[str, Any]:
        return {"on_output": self.console.line, "on_event": events}

    def _operate(self, verb: str, stack: auto.Stack, policy: dict[str, list[str]]) -> Report:
        events = _PolicyEvents()
        streams = self._streams(events)
        outputs = None
        if verb == "preview":
            result = self._run_engine(verb, stack, events, lambda: stack.preview(**streams, **policy))
            changes = result.change_summary
        elif verb == "up":
            result = self._run_engine(verb, stack, events, lambda: stack.up(**streams, **policy))
            changes = result.summary.resource_changes
            outputs = self._masked_outputs(stack)
        elif verb == "refresh":
            result = self._run_engine(verb, stack, events, lambda: stack.refresh(**streams))
            changes = result.summary.resource_changes
        else:
            result = self._run_engine(verb, stack, events, lambda: stack.destroy(**streams))
            changes = result.summary.resource_changes
        if result.stderr:
            self.console.error(result.stderr)
        return Report(
            command=verb, stack=stack.name, changes=dict(changes or {}), outputs=outputs, violations=events.violations
        )

    def _masked_outputs(self, stack: auto.Stack) -> dict[str, Any]:
        # `UpResult.outputs` holds plaintext and flags only top-level secrets; a secret nested in an exported
        # object would leak. The CLI's own masked rendering masks at every depth.
        with self._step("pulumi stack output"):
            result = self._cli().run(["stack", "output", "--json", "--stack", stack.name], str(self.work_dir), {})
        return json.loads(result.stdout)

    def _run_engine(self, verb: str, stack: auto.Stack, events: _PolicyEvents, operation: Callable[[], T]) -> T:
        with self._step(f"pulumi {verb}", events):
            return self._interruptible(verb, stack, operation)

    def _interruptible(self, verb: str, stack: auto.Stack, operation: Callable[[], T]) -> T:
        # The operation runs on a worker so the main thread stays free to take SIGINT/SIGTERM and cancel the update
        # even when the signal reached only this process and not the CLI.
        outcome: dict[str, Any] = {}

        def work() -> None:
            try:
                outcome["value"] = operation()
            except BaseException as exc:  # noqa: BLE001 - re-raised on the main thread below
                outcome["error"] = exc

        worker = threading.Thread(target=work, name=f"pulumi-{verb}-{stack.name}", daemon=True)
        worker.start()
        try:
            while worker.is_alive():
                worker.join(0.2)
        except KeyboardInterrupt:
            self._cancel(verb, stack, worker)
            raise Interrupted("stopped after an interrupt; `pulumi cancel` was sent") from None
        if "error" in outcome:
            raise outcome["error"]
        return outcome["value"]

    def _cancel(self, verb: str, stack: auto.Stack, worker: threading.Thread) -> None:
        self.console.error(
            f"interrupted: cancelling the {verb} of stack {stack.name} (interrupt again to stop waiting)"
        )
        try:
            try:
                stack.cancel()
            except auto.CommandError as exc:
                # E.g. the CLI got the same Ctrl-C and already stopped, so nothing is left to cancel.
                self.console.error(f"`pulumi cancel` did not succeed: {_exit_code_and_stderr(exc)[1]}")
            while worker.is_alive():
                worker.join(0.2)
        except KeyboardInterrupt:
            self.console.error("interrupted again: not waiting for the Pulumi CLI to stop")

    @contextmanager
    def _step(self, step: str, events: Optional[_PolicyEvents] = None) -> Iterator[None]:
        try:
            yield
        except auto.CommandError as exc:
            code, stderr = _exit_code_and_stderr(exc)
            raise CommandFailed(step, code, stderr, events.violations if events else []) from None
