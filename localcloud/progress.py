"""Progress lines on stderr while localcloud starts and deploys."""

from __future__ import annotations

import sys
import threading
import time
from typing import Callable

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
