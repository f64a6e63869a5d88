"""The Pulumi CLI as the driver runs it: each command in a session of its own, interruptible, its failures parsed."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import threading
from collections.abc import Callable, Mapping
from typing import Any, Optional, TextIO

from pulumi import automation as auto
from pulumi.automation.errors import create_command_error

from .errors import Interrupted

# `CommandError` keeps only the rendered `CommandResult`; this is that rendering (see pulumi.automation._cmd).
_COMMAND_ERROR = re.compile(r"\A\n code: (-?\d+)\n stdout: .*\n stderr: (.*)\Z", re.DOTALL)


def exit_code_and_stderr(error: auto.CommandError) -> tuple[Optional[int], str]:
    match = _COMMAND_ERROR.match(str(error))
    if match is None:
        return None, str(error).strip()
    return int(match.group(1)), match.group(2).strip()


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
