"""A throwaway MariaDB server (the offline stand-in for Aurora MySQL 3).

Each instance owns a temporary data directory, listens on 127.0.0.1 on a free port and on a unix socket
inside that directory. Root (no password) is reachable over the socket only; applications connect over TCP
with password users created by `create_user`. The server can be killed and restarted on the same data
directory and port, to test what clients do when the database goes away. On Linux the server dies with the
process that started it, even when that process is killed.
"""

from __future__ import annotations

import ctypes
import getpass
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable

import pymysql

_SEARCH_DIRS = ("/usr/sbin", "/usr/local/sbin", "/opt/homebrew/bin", "/usr/local/bin", "/usr/bin")
_MISSING = (
    "MariaDB server not found: install it with `sudo apt-get install mariadb-server` (Debian/Ubuntu) "
    "or `brew install mariadb` (macOS)"
)
# Aurora MySQL 3's defaults, so that SQL which only works under MariaDB's laxer defaults fails here too.
_SQL_MODE = (
    "ONLY_FULL_GROUP_BY,STRICT_TRANS_TABLES,NO_ZERO_IN_DATE,NO_ZERO_DATE,"
    "ERROR_FOR_DIVISION_BY_ZERO,NO_ENGINE_SUBSTITUTION"
)
_READY_TIMEOUT_S = 30.0


def _die_with_parent() -> Callable[[], None] | None:
    """A preexec_fn that has Linux SIGKILL the child when its parent dies, so a killed test run or command leaves
    no server behind. The signal follows the parent *thread* that started the child: start (and restart) the
    server from a thread that lives as long as it should. Elsewhere there is no such mechanism: None."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl  # looked up here: the child only calls it
    except (OSError, AttributeError):
        return None
    parent = os.getpid()

    def preexec() -> None:
        prctl(1, int(signal.SIGKILL))  # PR_SET_PDEATHSIG
        if os.getppid() != parent:  # the parent died before the call: nobody would signal us
            os._exit(1)

    return preexec


def find_binary(name: str) -> str:
    """Path of a MariaDB server binary, on PATH or in the usual sbin directories."""
    found = shutil.which(name) or shutil.which(name, path=os.pathsep.join(_SEARCH_DIRS))
    if not found:
        raise FileNotFoundError(_MISSING)
    return found


def free_port() -> int:
    """A free port whose next one is free too (`serve` puts the HTTP API there), below Linux's ephemeral range
    (32768 and up): a port the kernel hands out (bind to 0) can be taken by any outgoing connection before it is
    used, and a test run opens thousands."""
    for _ in range(200):
        port = random.randint(20000, 32000)
        if all(_bindable(candidate) for candidate in (port, port + 1)):
            return port
    raise OSError("no free port pair between 20000 and 32001 on 127.0.0.1")


def _bindable(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


class MariaDB:
    """Start with `start()` (or `with MariaDB() as db:`), stop with `stop()`."""

    host = "127.0.0.1"

    def __init__(self, tls_cert: str | None = None, tls_key: str | None = None) -> None:
        self._tls = (tls_cert, tls_key) if tls_cert and tls_key else None
        self._dir: Path | None = None
        self._process: subprocess.Popen | None = None
        self.port: int | None = None

    # -- lifecycle --------------------------------------------------------------------------------

    def start(self) -> MariaDB:
        install_db, server = find_binary("mariadb-install-db"), find_binary("mariadbd")
        self._dir = Path(tempfile.mkdtemp(prefix="mariadb-"))
        try:
            self._install(install_db)
            for attempt in range(3):  # another process may take the free port before mariadbd binds it
                self.port = free_port()
                try:
                    self._launch(server)
                    break
                except RuntimeError:
                    if attempt == 2 or "Bind on TCP/IP port" not in self._error_log_tail():
                        raise
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """Stop the server and delete its data directory. The data is thrown away: the server is killed rather than
        shut down (a clean shutdown flushes and dumps the buffer pool first, which can take long on a busy machine)."""
        self.kill()
        if self._dir is not None:
            shutil.rmtree(self._dir, ignore_errors=True)
            self._dir = None

    def shutdown(self) -> None:
        """Clean shutdown; the data directory stays for `restart()`."""
        self._terminate(signal.SIGTERM)

    def kill(self) -> None:
        """Crash the server (SIGKILL): uncommitted transactions are rolled back by recovery on restart."""
        self._terminate(signal.SIGKILL)

    def restart(self) -> None:
        """Start again on the same data directory and port, after `kill()` or `shutdown()` (from a thread that
        outlives the server: see `_die_with_parent`)."""
        if self._dir is None:
            raise RuntimeError("MariaDB was never started")
        if self.running:
            raise RuntimeError("MariaDB is still running")
        self._launch(find_binary("mariadbd"))

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    @property
    def socket_path(self) -> str:
        return str(self._path("mariadb.sock"))

    def __enter__(self) -> MariaDB:
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()

    # -- administration over the root socket --------------------------------------------------------

    def root_connection(self, database: str | None = None) -> pymysql.Connection:
        return pymysql.connect(
            unix_socket=self.socket_path, user="root", database=database, charset="utf8mb4", autocommit=True
        )

    def execute(self, sql: str, args: tuple = ()) -> None:
        self.query(sql, args)

    def query(self, sql: str, args: tuple = (), database: str | None = None) -> list[tuple]:
        """One statement as root, on a connection of its own; its rows."""
        connection = self.root_connection(database)
        try:
            with connection.cursor() as cursor:
                cursor.execute(sql, args)
                return list(cursor.fetchall())
        finally:
            connection.close()

    def set_global(self, name: str, value: int) -> None:
        if not re.fullmatch(r"[a-z_]+", name):
            raise ValueError(f"not a server variable: {name!r}")
        self.execute(f"SET GLOBAL {name} = %s", (int(value),))

    def create_database(self, name: str) -> None:
        self.execute(f"CREATE DATABASE `{_identifier(name)}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci")

    def drop_database(self, name: str) -> None:
        self.execute(f"DROP DATABASE IF EXISTS `{_identifier(name)}`")

    def create_user(self, name: str, password: str, superuser: bool = False) -> None:
        """A TCP user ('name'@'%') with a password; a superuser also gets every privilege WITH GRANT OPTION."""
        self.execute("CREATE USER IF NOT EXISTS %s@'%%' IDENTIFIED BY %s", (name, password))
        if superuser:
            self.execute("GRANT ALL PRIVILEGES ON *.* TO %s@'%%' WITH GRANT OPTION", (name,))

    # -- internals ----------------------------------------------------------------------------------

    def _path(self, name: str) -> Path:
        if self._dir is None:
            raise RuntimeError("MariaDB is not started")
        return self._dir / name

    def _user_args(self) -> list[str]:
        # mariadbd refuses to run as root unless told to; as any other user the option is not needed.
        return ["--user=root"] if os.geteuid() == 0 else [f"--user={getpass.getuser()}"]

    def _install(self, install_db: str) -> None:
        self._path("tmp").mkdir()
        # Its own process group: the script runs a bootstrap mariadbd, which must not outlive an interrupted install.
        process = subprocess.Popen(
            [
                install_db,
                "--no-defaults",
                f"--datadir={self._path('data')}",
                f"--tmpdir={self._path('tmp')}",  # a shared /tmp lets concurrent installs clash on file names
                *self._user_args(),
                "--auth-root-authentication-method=normal",
                "--skip-test-db",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
            preexec_fn=_die_with_parent(),
        )
        try:
            stdout, stderr = process.communicate()
        except BaseException:
            try:
                os.killpg(process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            process.wait()
            raise
        if process.returncode != 0:
            raise RuntimeError(f"mariadb-install-db failed: {stderr or stdout}")

    def _launch(self, server: str) -> None:
        args = [
            server,
            "--no-defaults",
            f"--datadir={self._path('data')}",
            f"--tmpdir={self._path('tmp')}",
            *self._user_args(),
            f"--socket={self.socket_path}",
            f"--pid-file={self._path('mariadb.pid')}",
            f"--log-error={self._path('error.log')}",
            f"--port={self.port}",
            f"--bind-address={self.host}",
            "--skip-name-resolve",
            "--character-set-server=utf8mb4",
            "--collation-server=utf8mb4_unicode_ci",
            "--default-time-zone=+00:00",
            f"--sql-mode={_SQL_MODE}",
            # Throwaway data: durable against a server crash (the OS keeps the log), not against an OS crash.
            "--innodb-flush-log-at-trx-commit=2",
            "--innodb-doublewrite=0",
            "--innodb-buffer-pool-size=64M",
        ]
        if self._tls:
            args += [f"--ssl-cert={self._tls[0]}", f"--ssl-key={self._tls[1]}"]
        self._process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                         preexec_fn=_die_with_parent())
        self._wait_until_ready()

    def _wait_until_ready(self) -> None:
        deadline = time.monotonic() + _READY_TIMEOUT_S
        while True:
            if self._process.poll() is not None:
                raise RuntimeError(f"mariadbd exited with {self._process.returncode}:\n{self._error_log_tail()}")
            try:
                self.root_connection().close()
                return
            except pymysql.err.OperationalError:
                if time.monotonic() > deadline:
                    self._terminate(signal.SIGKILL)
                    raise RuntimeError(f"mariadbd not ready after {_READY_TIMEOUT_S:.0f} s:\n{self._error_log_tail()}")
                time.sleep(0.05)

    def _terminate(self, sig: signal.Signals) -> None:
        if self._process is None:
            return
        if self._process.poll() is None:
            self._process.send_signal(sig)
            try:
                self._process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        self._process = None

    def _error_log_tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self._path("error.log").read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no error log)"


def _identifier(name: str) -> str:
    if not name or not all(c.isalnum() or c == "_" for c in name) or not name.isascii() or len(name) > 64:
        raise ValueError(f"not a plain identifier: {name!r}")
    return name
