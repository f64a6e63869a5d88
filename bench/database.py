"""A private MariaDB for the database benchmarks, with the users and schema the functions expect, and the real
handlers loaded against it as tests load them (environment settings, IAM tokens replaced by passwords)."""

from __future__ import annotations

import contextlib
import importlib.util
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pymysql

from bench import FUNCTIONS_DIR
from localcloud.mariadb import MariaDB
from orders_db import connection
from orders_db.connection import READ_TIMEOUT_S, Settings, open_connection
from orders_db.schema_migrations import DatabaseUsers, load_migrations, migrate

MASTER, PROJECTOR, READER, SAMPLE = "bench_master", "cqrs_projector", "cqrs_reader", "sample_app"
PASSWORDS = {MASTER: "master-secret", PROJECTOR: "projector-secret", READER: "reader-secret",
             SAMPLE: "sample-secret"}
# localcloud's server keeps a 64 MiB buffer pool; 1 GiB holds the 1,000,000-line data sets of both schemas,
# as an Aurora instance of a few ACUs would. A warm pool favours the sample's full scans, not our key lookups.
BUFFER_POOL_BYTES = 1 << 30
# Handlers log JSON and print EMF metrics on stdout, as on Lambda; here that output is formatted, then dropped.
_DEVNULL = open(os.devnull, "w")  # never closed: loggers keep the stream they were created with


@dataclass
class LambdaContext:
    function_name: str = "bench"
    memory_limit_in_mb: int = 512
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:bench"
    aws_request_id: str = "00000000-0000-0000-0000-000000000000"
    remaining_ms: int = 30_000  # as get_remaining_time_in_millis() reports at the start of an invocation

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_ms


@contextlib.contextmanager
def handler_output_dropped() -> Iterator[None]:
    with contextlib.redirect_stdout(_DEVNULL):
        yield


class BenchDatabase:
    """`with BenchDatabase() as db:` a started server with the master, function and sample users."""

    def __init__(self) -> None:
        self.server = MariaDB()
        self._saved_auth_token: Callable | None = None
        self._saved_env: dict[str, str | None] = {}
        self._server_pid = 0
        self._status: pymysql.Connection | None = None
        self._containers = 0

    def __enter__(self) -> BenchDatabase:
        self.server.start()
        try:
            self.server.create_user(MASTER, PASSWORDS[MASTER], superuser=True)
            for user in (PROJECTOR, READER, SAMPLE):
                self.server.create_user(user, PASSWORDS[user])
            self.server.execute(f"SET GLOBAL innodb_buffer_pool_size = {BUFFER_POOL_BYTES}")
            self._status = self.server.root_connection()
            with self._status.cursor() as cursor:
                cursor.execute("SELECT @@pid_file")
                self._server_pid = int(Path(cursor.fetchone()[0]).read_text())
        except BaseException:
            self.server.stop()
            raise
        self._saved_auth_token = connection.auth_token
        connection.auth_token = lambda host, port, user: PASSWORDS[user]
        return self

    def __exit__(self, *exc_info) -> None:
        self._status.close()
        connection.auth_token = self._saved_auth_token
        for name, value in self._saved_env.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        self.server.stop()

    def server_cpu_s(self) -> float | None:
        """CPU time (user + system) mariadbd has used so far, from /proc (Linux); None where there is no /proc."""
        try:
            stat = Path(f"/proc/{self._server_pid}/stat").read_text()
        except FileNotFoundError:
            return None
        fields = stat.rsplit(")", 1)[1].split()  # after "pid (comm)": utime and stime are fields 14 and 15
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def statements(self) -> int:
        """Statements clients have sent the server so far (each a round trip), as Questions counts them, this
        query included: on a connection kept open, reading it adds exactly one."""
        with self._status.cursor() as cursor:
            cursor.execute("SHOW GLOBAL STATUS LIKE 'Questions'")
            return int(cursor.fetchone()[1])

    def settings(self, user: str, database: str) -> Settings:
        return Settings(host=self.server.host, port=self.server.port, database=database, user=user, tls="disabled")

    def connect(self, user: str, database: str, *, autocommit: bool = False,
                read_timeout: int = READ_TIMEOUT_S) -> pymysql.Connection:
        """A TCP connection as the functions open theirs (same session settings), as `user`."""
        conn = open_connection(self.settings(user, database), PASSWORDS[user], database=database,
                               read_timeout=read_timeout)
        conn.autocommit(autocommit)
        return conn

    def create_read_models(self, database: str) -> None:
        """The real migrations, as the migrate function applies them, with the function users' grants."""
        master = open_connection(self.settings(MASTER, database), PASSWORDS[MASTER])
        try:
            migrate(master, database, load_migrations(FUNCTIONS_DIR / "migrations"),
                    DatabaseUsers(PROJECTOR, READER, "password"))
        finally:
            master.close()

    def handler(self, function: str, user: str, database: str) -> Callable:
        """`functions/<function>/handler.py`'s handler in a new container: its module freshly executed, its
        connection to `database` as `user` opened on the first invocation from the settings in the environment."""
        environment = {"DB_HOST": self.server.host, "DB_PORT": str(self.server.port), "DB_NAME": database,
                       "DB_USER": user, "DB_TLS": "disabled", "AWS_REGION": "us-east-1",
                       "POWERTOOLS_SERVICE_NAME": f"bench-{function}"}
        for name, value in environment.items():
            self._saved_env.setdefault(name, os.environ.get(name))
            os.environ[name] = value
        # Loaded under a name of its own, so the module others imported as `<function>.handler` stays theirs.
        self._containers += 1
        spec = importlib.util.spec_from_file_location(f"bench_{function}_handler_{self._containers}",
                                                      FUNCTIONS_DIR / function / "handler.py")
        module = importlib.util.module_from_spec(spec)
        with handler_output_dropped():  # the module's loggers are created now, on the dropped stream
            spec.loader.exec_module(module)
        return module.handler
