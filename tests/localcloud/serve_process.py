"""`python -m localcloud serve` as a child process, as a user runs it."""

import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from harness.program import ROOT
from localcloud.mariadb import free_port


def _collect(stream, lines: list[str]) -> None:
    for line in stream:
        lines.append(line)


def _event(line: str) -> dict | None:
    try:
        return json.loads(line) if line.startswith("{") else None
    except (ValueError, RecursionError):  # e.g. an event nested deeper than this parser goes (EventBridge: 1100)
        return None


class Serve:
    """A `serve` process whose temporary data goes under `tmp` (TMPDIR); stdout and stderr are collected.
    `config`: stack settings for this run (`serve --config KEY=VALUE`); `env`: more environment variables."""

    def __init__(self, tmp: Path, config: dict[str, str] | None = None, env: dict[str, str] | None = None):
        self.tmp = tmp
        self.config, self.env = dict(config or {}), dict(env or {})
        self.stacks = tmp.parent / f"{tmp.name}-stacks.txt"
        self.tries = 0
        self._spawn()

    def _spawn(self) -> None:
        """As `python -m localcloud serve` on a free port, with the threads' stacks dumped to a file on SIGUSR1."""
        self.tries += 1
        port = free_port()
        self.endpoint = f"http://127.0.0.1:{port}"
        launcher = (f"import faulthandler, runpy, signal; faulthandler.register(signal.SIGUSR1, all_threads=True, "
                    f"file=open({str(self.stacks)!r}, 'w')); runpy.run_module('localcloud', run_name='__main__')")
        settings = [f"--config={key}={value}" for key, value in self.config.items()]
        self.process = subprocess.Popen([sys.executable, "-c", launcher, "serve", "--port", str(port), *settings],
                                        cwd=ROOT, env={**os.environ, **self.env, "TMPDIR": str(self.tmp)},
                                        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.out: list[str] = []
        self.err: list[str] = []
        for stream, lines in ((self.process.stdout, self.out), (self.process.stderr, self.err)):
            threading.Thread(target=_collect, args=(stream, lines), daemon=True).start()

    def wait_for(self, text: str, timeout: float = 180) -> None:
        deadline = time.monotonic() + timeout
        while not any(text in line for line in self.out + self.err):
            if self.process.poll() is not None and self.tries < 3 and "is not available" in "".join(self.err):
                self._spawn()  # another process took the free port first
                continue
            assert self.process.poll() is None, "".join(self.err)
            assert time.monotonic() < deadline, f"no {text!r} after {timeout:.0f}s:\n{''.join(self.err)}"
            time.sleep(0.01)

    def outputs(self) -> dict:
        """The stack outputs `serve` prints once deployed (call after wait_for("ready on"))."""
        lines = [line.rstrip("\n") for line in self.out]
        return json.loads("\n".join(lines[:lines.index("}") + 1]))

    def published(self) -> list[dict]:
        """The events the system published so far (one JSON object per stdout line after the outputs)."""
        lines = [line.rstrip("\n") for line in self.out]
        return [event for event in map(_event, lines[lines.index("}") + 1:]) if event is not None]

    def response_to(self, event_id: str, timeout: float = 60) -> dict:
        """The detail of the response the system published to an inbound event."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for event in self.published():
                detail = event["detail"]
                if event_id in (detail.get("commandMessageId"), detail.get("queryMessageId")):
                    return detail
            time.sleep(0.05)
        raise AssertionError(f"no response to {event_id} after {timeout:.0f}s")

    def stop(self, number: int = signal.SIGINT, timeout: float = 120) -> int:
        self.process.send_signal(number)
        try:
            return self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.send_signal(signal.SIGUSR1)
            time.sleep(1)
            raise AssertionError(f"still running {timeout:.0f} s after {signal.Signals(number).name}; stderr:\n"
                                 f"{''.join(self.err[-8:])}\nstacks:\n"
                                 f"{self.stacks.read_text() if self.stacks.exists() else '(no stacks)'}") from None
        finally:
            if self.process.poll() is None:
                self.process.kill()
                self.process.wait()
            time.sleep(0.2)  # the reader threads take the last lines




@contextlib.contextmanager
def serving(tmp: Path, config: dict[str, str] | None = None, env: dict[str, str] | None = None):
    """A ready `serve` on a free port (a deploy takes several seconds: one per test module), stopped with Ctrl-C
    at the end, which must exit 0."""
    serve = Serve(tmp, config, env)
    try:
        serve.wait_for("ready on")
        yield serve
    finally:
        assert serve.stop(signal.SIGINT) == 0
