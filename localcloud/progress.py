"""Progress lines on stderr while localcloud starts and deploys, and the deploy's thread."""

from __future__ import annotations

import sys
import threading
import time
from typing import Any, Callable

from localcloud.mocks import Provisioned


def log(message: str) -> None:
    sys.stderr.write(message + "\n")  # one write per line: deploy threads log concurrently
    sys.stderr.flush()


class DeployProgress:
    """Numbered progress lines, one per provisioned resource; Pulumi registers resources from several threads."""

    def __init__(self, progress: Callable[[str], None]):
        self.progress = progress
        self.started = time.monotonic()
        self.count = 0
        self._lock = threading.Lock()

    def __call__(self, record: Provisioned) -> None:
        state = "inert" if record.inert else f"{record.seconds:.2f}s"
        with self._lock:  # a number per line, lines whole and in number order
            self.count += 1
            self.progress(f"  [{self.count:3d}] {time.monotonic() - self.started:5.1f}s {record.type} {record.name} "
                          f"({state})")


def in_thread(work: Callable[[], Any], checkpoint: Callable[[], None]) -> Any:
    """`work()` run in a thread while this one waits, calling `checkpoint` (which raises to stop) every 0.1 s. A
    Ctrl-C then interrupts the waiting, never the Pulumi runtime: its event loop, interrupted in a task, would wait
    forever for what that task was to do. The thread is left to fail on its own when the emulator goes."""
    outcome: dict = {}

    def run() -> None:
        try:
            outcome["result"] = work()
        except BaseException as error:  # handed to the waiting thread
            outcome["error"] = error

    thread = threading.Thread(target=run, name="deploy", daemon=True)
    thread.start()
    while thread.is_alive():
        thread.join(0.1)
        checkpoint()
    if "error" in outcome:
        raise outcome["error"]
    return outcome["result"]
