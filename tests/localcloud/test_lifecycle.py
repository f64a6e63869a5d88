"""`python -m localcloud serve` as a process: a taken port is one line and exit code 2, and SIGINT (Ctrl-C) at each
phase, or SIGTERM once serving, ends it cleanly: no traceback, no temporary directory, no mariadbd left behind."""

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from harness.program import ROOT
from tests.localcloud.serve_process import Serve

pytestmark = pytest.mark.xdist_group("localcloud")


def mariadb_servers(tmp: Path) -> list[str]:
    """Command lines of the mariadbd processes whose data directory is under `tmp`."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if "mariadbd" in command and str(tmp) in command:
            found.append(command)
    return found


def assert_left_nothing(serve: Serve) -> None:
    assert list(serve.tmp.iterdir()) == []  # neither the MariaDB data (~126 MB) nor the TLS key's folder
    assert mariadb_servers(serve.tmp) == []
    assert not any("Traceback" in line for line in serve.err), "".join(serve.err)


# Each phase is entered when its line appears; the signal is sent then (plus a delay, to land mid-phase).
PHASES = [("starting MariaDB", 0.2), ("starting the AWS emulator", 0.0), ("deploying stack", 1.5)]


@pytest.mark.parametrize("marker, delay", PHASES, ids=["mariadb-starting", "emulator-starting", "deploying"])
def test_ctrl_c_while_starting_stops_cleanly(tmp_path: Path, marker: str, delay: float):
    serve = Serve(tmp_path)
    serve.wait_for(marker)
    time.sleep(delay)
    assert serve.stop(signal.SIGINT) == 128 + signal.SIGINT
    assert not any(line.startswith("ready on") for line in serve.out)  # it was stopped before it was ready
    assert serve.err[-1] == "stopping (SIGINT): removing the emulator, the database and their temporary data\n"
    assert_left_nothing(serve)


def test_sigterm_while_serving_stops_cleanly(tmp_path: Path):
    serve = Serve(tmp_path)
    serve.wait_for("ready on")
    assert list(tmp_path.iterdir()) and mariadb_servers(tmp_path)  # what there is to clean up
    assert serve.stop(signal.SIGTERM) == 0  # stopping is how `serve` ends
    assert serve.err[-1] == "stopping (SIGTERM): removing the emulator, the database and their temporary data\n"
    assert_left_nothing(serve)


def test_a_taken_port_is_one_line_and_exit_code_2(tmp_path: Path):
    with socket.socket() as taken:  # a LocalStack already listening there, say
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        started = time.monotonic()
        result = subprocess.run([sys.executable, "-m", "localcloud", "serve", "--port", str(port)], cwd=ROOT,
                                env={**os.environ, "TMPDIR": str(tmp_path)}, capture_output=True, text=True,
                                timeout=60)
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr == (f"error: port {port} on 127.0.0.1 is not available (address already in use): stop what "
                             "listens there (e.g. a LocalStack) or choose another port with --port\n")
    assert time.monotonic() - started < 30  # no hang, and nothing was started first
    assert list(tmp_path.iterdir()) == [] and mariadb_servers(tmp_path) == []
