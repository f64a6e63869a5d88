"""Automation API calls behind `python -m pipelines`.

Everything secret (backend credentials, the config passphrase, cloud credentials) reaches the Pulumi CLI through
the inherited environment only; nothing here puts it on a command line.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional, TextIO, TypeVar

import yaml
from pulumi import automation as auto
from pulumi.automation.errors import create_command_error

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
POLICY_MANIFEST = "PulumiPolicy.yaml"
# The Automation API passes a policy pack to preview and up only; the CLI runs none on refresh and destroy.
POLICY_VERBS = ("preview", "up")

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


class InterruptibleCommand(auto.PulumiCommand):
    """The SDK's PulumiCommand, but every CLI process runs in a session of its own and can be interrupted.

    The CLI takes a first SIGINT as "finish the operations in flight, then stop" and a second as "terminate now". In
    the driver's process group it would get a terminal's Ctrl-C and the driver's forwarded one, so it runs in its own
    session: every interrupt reaches the driver only, which forwards exactly one SIGINT per interrupt. `run` repeats
    what PulumiCommand.run does in pulumi 3.272 (`--non-interactive`, the environment, the plugins next to the CLI
    first, streamed lines, CommandError on failure), because that one keeps its process to itself.
    """

    def __init__(self, root: Optional[str]):
        super().__init__(root=root)
        self._lock = threading.Lock()
        self._process: Optional[subprocess.Popen] = None
        self._interrupted = False

    def run(
        self,
        args: list[str],
        cwd: str,
        additional_env: Mapping[str, str],
        on_output: Optional[Callable[[str], Any]] = None,
        on_error: Optional[Callable[[str], Any]] = None,
    ) -> auto.CommandResult:
        with self._lock:
            # Between two commands of an operation (e.g. `up`, then `stack output`) the interrupt has no CLI to
            # reach: the next command must not start.
            if self._interrupted:
                raise Interrupted("interrupted before the next Pulumi command started")
            process = self._process = self._start(args, cwd, additional_env)
        try:
            return self._finish(process, on_output, on_error)
        finally:
            with self._lock:
                self._process = None

    def interrupt(self) -> None:
        """Send SIGINT to the running CLI, if any, and start no other command."""
        with self._lock:
            self._interrupted = True
            if self._process is not None and self._process.poll() is None:
                self._process.send_signal(signal.SIGINT)

    def cancel_update(self, stack_name: str, cwd: str) -> None:
        """`pulumi cancel` for the stack: the one command that still runs after an interrupt."""
        self._finish(self._start(["cancel", "--yes", "--stack", stack_name], cwd, {}), None, None)

    def _start(self, args: list[str], cwd: str, additional_env: Mapping[str, str]) -> subprocess.Popen:
        options = args[: args.index("--")] if "--" in args else args
        if "--non-interactive" not in options:
            args = ["--non-interactive", *args]
        env = {**os.environ, **additional_env, "PULUMI_AUTOMATION_API": "true"}
        if os.path.isabs(self.command):
            env["PATH"] = os.pathsep.join([os.path.dirname(self.command), env["PATH"]])
        return subprocess.Popen(
            [self.command, *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            cwd=cwd,
            env=env,
            encoding="utf-8",
            start_new_session=True,
        )

    @staticmethod
    def _finish(
        process: subprocess.Popen, on_output: Optional[Callable[[str], Any]], on_error: Optional[Callable[[str], Any]]
    ) -> auto.CommandResult:
        lines: dict[Any, list[str]] = {process.stdout: [], process.stderr: []}

        def consume(stream: TextIO, callback: Optional[Callable[[str], Any]]) -> None:
            for line in iter(stream.readline, ""):
                line = line.rstrip()
                if callback:
                    callback(line)
                lines[stream].append(line)

        with process:
            readers = [
                threading.Thread(target=consume, args=(process.stdout, on_output)),
                threading.Thread(target=consume, args=(process.stderr, on_error)),
            ]
            for reader in readers:
                reader.start()
            for reader in readers:
                reader.join()
            process.wait()
        result = auto.CommandResult(
            stdout="\n".join(lines[process.stdout]), stderr="\n".join(lines[process.stderr]), code=process.returncode
        )
        if result.code != 0:
            raise create_command_error(result)
        return result


def _interrupt_grace() -> float:
    raw = os.environ.get(INTERRUPT_GRACE_VAR)
    if raw is None:
        return INTERRUPT_GRACE_DEFAULT
    if not re.fullmatch(r"\d+(?:\.\d*)?", raw):
        raise PipelineError(f"{INTERRUPT_GRACE_VAR}={raw} is not a number of seconds")
    return float(raw)


def _require_pack_virtualenv(pack: Path) -> None:
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
        self._command: Optional[InterruptibleCommand] = None
        if not (self.work_dir / "Pulumi.yaml").is_file():
            raise PipelineError(f"no Pulumi.yaml in {self.work_dir}: point --work-dir at the Pulumi project")
        self.interrupt_grace = _interrupt_grace()

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
        # Everything but preview writes the stack: refresh rewrites its state from the cloud.
        if verb != "preview" and is_protected(stack_name, settings) and not yes:
            raise PipelineError(f"stack {stack_name} is protected: `{verb}` needs --yes")
        if verb not in POLICY_VERBS and (policy_pack or policy_config):
            raise PipelineError(
                f"`{verb}` runs no policy pack (the Automation API passes one to preview and up only): "
                "drop --policy-pack/--policy-config"
            )
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

    def _cli(self) -> InterruptibleCommand:
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
        _require_pack_virtualenv(pack)
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
        cli = self._cli()
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
                self.console.error(f"`pulumi cancel` did not succeed: {_exit_code_and_stderr(exc)[1]}")
            done.wait()
            return "stopped after an interrupt; `pulumi cancel` was sent"
        except KeyboardInterrupt:
            cli.interrupt()  # the CLI's second SIGINT: it terminates at once
            self.console.error("interrupted again: the Pulumi CLI terminates at once, without waiting for the "
                               "operations in flight; `pulumi refresh` reconciles the state they leave pending")
            return "terminated after a second interrupt"

    @contextmanager
    def _step(self, step: str, events: Optional[_PolicyEvents] = None) -> Iterator[None]:
        try:
            yield
        except auto.CommandError as exc:
            code, stderr = _exit_code_and_stderr(exc)
            raise CommandFailed(step, code, stderr, events.violations if events else []) from None
