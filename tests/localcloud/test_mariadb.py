"""The throwaway MariaDB does not outlive the process that started it."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from harness.program import ROOT

START = ("import time; from localcloud.mariadb import MariaDB; "
         "print(MariaDB().start()._process.pid, flush=True); time.sleep(300)")


def is_mariadbd(pid: int) -> bool:
    """Running (not a zombie waiting for its new parent to reap it) and still mariadbd."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.split("(", 1)[1].startswith("mariadbd)") and stat.rsplit(")", 1)[1].split()[0] != "Z"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the parent-death signal is Linux's")
def test_a_killed_parent_takes_its_mariadb_with_it(tmp_path: Path):
    parent = subprocess.Popen([sys.executable, "-c", START], cwd=ROOT, stdout=subprocess.PIPE, text=True,
                              env={**os.environ, "TMPDIR": str(tmp_path)})
    server = None
    try:
        server = int(parent.stdout.readline())
        assert is_mariadbd(server)
        parent.send_signal(signal.SIGKILL)  # no clean-up code runs in the parent
        parent.wait(timeout=10)
        deadline = time.monotonic() + 10
        while is_mariadbd(server) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not is_mariadbd(server)
    finally:
        parent.kill()
        parent.wait()
        if server and is_mariadbd(server):
            os.kill(server, signal.SIGKILL)  # only the server this test started
