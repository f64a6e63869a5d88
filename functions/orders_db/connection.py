"""Connections to the read-model database: settings from the environment, IAM auth tokens, TLS, and a
per-container connection reused across invocations.

What Aurora Serverless v2 does to a connection, and what this module does about it:
- Resume from 0 ACU (up to ~15 s, 30 s or more after a day paused): the endpoint holds new connections, at the TCP
  handshake or before the server's greeting. `connect` keeps trying, with short TCP attempts and a greeting wait
  as long as the budget, until the caller's deadline (the Lambda's remaining time, at most CONNECT_BUDGET_S).
- Failover: the old writer turns read-only or silent. Every error that means "dead, or the wrong instance"
  (db_errors.ERRORS) drops the connection; the work runs again once on a new one, then the caller retries.
- Idle close: the server ends sessions idle for `DB_IDLE_SESSION_TIMEOUT_S` (the stack's setting, so that Aurora
  can pause). A connection idle that long is replaced before use; one idle for PING_AFTER_S is pinged first."""

from __future__ import annotations

import os
import ssl
import time
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple, TypeVar

import pymysql
from pymysql.cursors import Cursor

from orders_db import rds_token
from orders_db.db_errors import ACCESS_DENIED, RECONNECT, RETRY, action, error_code, is_transient

__all__ = ["ConfigurationError", "Database", "Settings", "connect", "is_transient", "open_connection"]

T = TypeVar("T")

# Concurrent batches (one per stream shard) can deadlock on shared totals rows; InnoDB rolls one back at once.
DEADLOCK_ATTEMPTS = 4
DEADLOCK_PAUSE_S = 0.02
TLS_MODES = ("verify-full", "required", "disabled")
PACKAGED_CA = Path(__file__).resolve().parent / "certs" / "rds-ca.pem"
# IAM tokens live 15 minutes and are only checked when a connection opens.
TOKEN_REUSE_S = 600
# A resume from 0 ACU takes about 15 s, 30 s or more after a long pause (Aurora user guide, auto-pause).
CONNECT_BUDGET_S = 35
# One TCP connect attempt: while an instance resumes, its SYNs may be dropped and Linux resends them after 1, 3, 7,
# 15 s; a new attempt every few seconds notices the end of the resume sooner than one long wait.
CONNECT_ATTEMPT_S = 4
CONNECT_PAUSE_S = (0.2, 0.5, 1.0)  # between attempts that failed at once (refused, too many connections)
DEADLINE_MARGIN_S = 1.5  # left to the handler, out of the Lambda's remaining time, to answer after a failed connect
READ_TIMEOUT_S = 10  # statements take milliseconds: a silent server is a dead one (a fenced writer sends nothing)
PING_AFTER_S = 5.0  # a connection idle this long is pinged before use (killed, failed over, closed by a proxy)
IDLE_MARGIN_S = 1.0  # replaced this much before the server's idle timeout, which counts from its last reply
# Aurora MySQL 3's default mode, set explicitly so that every engine and parameter group behaves alike.
SQL_MODE = (
    "ONLY_FULL_GROUP_BY,STRICT_TRANS_TABLES,NO_ZERO_IN_DATE,NO_ZERO_DATE,"
    "ERROR_FOR_DIVISION_BY_ZERO,NO_ENGINE_SUBSTITUTION"
)


class ConfigurationError(RuntimeError):
    """The function's environment is incomplete or invalid."""


def auth_token(host: str, port: int, user: str) -> str:
    """An IAM database authentication token, used as the password. Offline runs replace this function."""
    return rds_token.auth_token(host, port, user, os.environ["AWS_REGION"], rds_token.Credentials.from_env())


class Settings(NamedTuple):
    host: str
    port: int
    database: str
    user: str
    tls: str
    tls_ca: str | None = None
    idle_session_timeout: int | None = None  # the server's wait_timeout, when known

    @classmethod
    def from_env(cls, user: str | None = None) -> Settings:
        """DB_HOST, DB_PORT (3306), DB_NAME, DB_USER (unless given), DB_TLS (verify-full), DB_TLS_CA,
        DB_IDLE_SESSION_TIMEOUT_S (unset: unknown)."""
        try:
            settings = cls(
                host=os.environ["DB_HOST"],
                port=_integer("DB_PORT", os.environ.get("DB_PORT", "3306")),
                database=os.environ["DB_NAME"],
                user=user if user is not None else os.environ["DB_USER"],
                tls=os.environ.get("DB_TLS", "verify-full"),
                tls_ca=os.environ.get("DB_TLS_CA") or None,
                idle_session_timeout=_integer("DB_IDLE_SESSION_TIMEOUT_S", os.environ["DB_IDLE_SESSION_TIMEOUT_S"])
                if os.environ.get("DB_IDLE_SESSION_TIMEOUT_S") else None,
            )
        except KeyError as missing:
            raise ConfigurationError(f"environment variable {missing} is not set") from None
        if settings.tls not in TLS_MODES:
            raise ConfigurationError(f"DB_TLS must be one of {', '.join(TLS_MODES)}, not {settings.tls!r}")
        return settings


def _integer(name: str, text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value <= 0:
        raise ConfigurationError(f"{name} must be a positive integer, not {text!r}")
    return value


def tls_context(settings: Settings) -> ssl.SSLContext | None:
    if settings.tls == "disabled":
        return None
    if settings.tls == "required":
        # Encrypted, but the server's certificate is not checked (only for endpoints without a CA bundle).
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        return context
    ca = Path(settings.tls_ca) if settings.tls_ca else PACKAGED_CA
    if not ca.is_file():
        raise ConfigurationError(
            f"DB_TLS=verify-full needs the RDS CA bundle: {ca} does not exist (set DB_TLS_CA or package it)"
        )
    return ssl.create_default_context(cafile=str(ca))


def open_connection(
    settings: Settings,
    password: str,
    *,
    database: str | None = None,
    read_timeout: float = READ_TIMEOUT_S,
    connect_timeout: float = CONNECT_ATTEMPT_S,
    handshake_timeout: float | None = None,
) -> pymysql.Connection:
    """One connection attempt. The server's greeting and the TLS and login exchange may take `handshake_timeout`
    (a resuming instance accepts the TCP connection and greets once it runs); statements then get `read_timeout`."""
    connection = pymysql.connect(
        host=settings.host,
        port=settings.port,
        user=settings.user,
        password=password,
        database=database,
        charset="utf8mb4",
        autocommit=False,
        ssl=tls_context(settings),
        ssl_disabled=settings.tls == "disabled",  # else PyMySQL would try TLS unverified
        connect_timeout=connect_timeout,  # PyMySQL: the TCP connect only
        read_timeout=max(read_timeout, handshake_timeout or 0),  # PyMySQL: every read, the greeting's included
        write_timeout=read_timeout,
        init_command=f"SET SESSION sql_mode = '{SQL_MODE}'",
    )
    # PyMySQL 1.2 applies _read_timeout before each read: statements from now on get the shorter one.
    connection._read_timeout = read_timeout
    return connection


def connect(
    settings: Settings,
    password: Callable[[bool], str],
    deadline: float,
    *,
    database: str | None = None,
    read_timeout: float = READ_TIMEOUT_S,
    clock: Callable[[], float] = time.monotonic,
) -> pymysql.Connection:
    """A connection, trying until `deadline` (a `clock` time) while the failure is one a wait can cure: a held or
    refused handshake, too many connections, a connection lost while it opened. `password(refused)` gives the
    password; after an access-denied error it is asked once more with refused=True (a new IAM token).
    Raises the last error once the deadline is near."""
    refused = False
    failures = 0
    while True:
        budget = deadline - clock()
        try:
            return open_connection(settings, password(refused), database=database, read_timeout=read_timeout,
                                   connect_timeout=max(0.1, min(CONNECT_ATTEMPT_S, budget)),
                                   handshake_timeout=max(0.1, budget))
        except pymysql.MySQLError as error:
            if action(error) != RECONNECT:
                raise
            if error_code(error) == ACCESS_DENIED:
                if refused:
                    raise  # a new token was refused too: a wrong grant or user, not a moment
                refused = True
                continue
            pause = CONNECT_PAUSE_S[min(failures, len(CONNECT_PAUSE_S) - 1)]
            failures += 1
            if clock() + pause >= deadline:
                raise
            time.sleep(pause)


class Database:
    """One lazily opened connection per Lambda container, authenticated with a cached IAM token.

    `read` and `transaction` run a unit of work on a cursor and end its transaction. When the connection
    turns out to be dead or on the wrong instance, the work is run once more, from its start, on a new
    connection; a deadlock victim runs again on the same one. The unit of work must therefore be safe to repeat
    (reads are; the projector's writes are idempotent). Call `limit_to(context)` at the start of an invocation:
    opening a connection may then wait for a resuming database up to the Lambda's remaining time."""

    def __init__(
        self,
        settings: Settings,
        session_sql: tuple[str, ...] = (),
        clock: Callable[[], float] = time.monotonic,
        connect_budget: float = CONNECT_BUDGET_S,
        ping_after: float = PING_AFTER_S,
    ):
        self.settings = settings
        self._session_sql = session_sql
        self._clock = clock
        self._connect_budget = connect_budget
        self._ping_after = ping_after
        self._connection: pymysql.Connection | None = None
        self._last_used = 0.0
        self._token: str | None = None
        self._token_time = 0.0
        self._deadline: float | None = None

    @classmethod
    def from_env(cls, session_sql: tuple[str, ...] = ()) -> Database:
        return cls(Settings.from_env(), session_sql)

    def limit_to(self, context) -> None:
        """Bound this invocation's connection waits by the Lambda context's remaining time."""
        remaining = context.get_remaining_time_in_millis() / 1000
        self._deadline = self._clock() + remaining - DEADLINE_MARGIN_S

    def read(self, work: Callable[[Cursor], T]) -> T:
        """Run read-only work; its snapshot is released afterwards so the next call sees fresh data."""
        return self._run(work, commit=False)

    def transaction(self, work: Callable[[Cursor], T]) -> T:
        """Run work in one transaction and commit it; on any error nothing of it is committed."""
        return self._run(work, commit=True)

    def close(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None and connection.open:
            try:
                connection.close()
            except pymysql.MySQLError:
                pass  # the socket is gone already: nothing left to release

    def _run(self, work: Callable[[Cursor], T], *, commit: bool) -> T:
        attempt = 1
        while True:
            try:
                return self._run_once(work, commit)
            except pymysql.MySQLError as error:
                kind = action(error)
                if kind is None or attempt >= (DEADLOCK_ATTEMPTS if kind == RETRY else 2):
                    raise
                if kind == RETRY:
                    time.sleep(DEADLOCK_PAUSE_S * attempt)
                attempt += 1

    def _run_once(self, work: Callable[[Cursor], T], commit: bool) -> T:
        connection = None
        try:
            connection = self._connect()
            with connection.cursor() as cursor:
                result = work(cursor)
            if commit:
                connection.commit()
            else:
                connection.rollback()
            return result
        except BaseException as error:
            if action(error) == RECONNECT:
                self.close()
                if error_code(error) == ACCESS_DENIED:
                    self._token = None
            else:
                self._abandon(connection)
            raise
        finally:
            self._last_used = self._clock()

    def _abandon(self, connection: pymysql.Connection | None) -> None:
        if connection is None:
            return
        try:
            connection.rollback()
        except pymysql.MySQLError:
            self.close()

    def _connect(self) -> pymysql.Connection:
        if self._connection is not None and not self._still_open():
            self.close()
        if self._connection is None:
            now = self._clock()
            deadline = now + self._connect_budget
            if self._deadline is not None:  # past it, a single short attempt
                deadline = min(deadline, self._deadline)
            connection = connect(self.settings, self._password, deadline, database=self.settings.database,
                                 clock=self._clock)
            try:
                with connection.cursor() as cursor:
                    for statement in self._session_sql:
                        cursor.execute(statement)
            except BaseException:
                connection.close()
                raise
            self._connection = connection
        return self._connection

    def _still_open(self) -> bool:
        """Whether the cached connection can be used, found out before any work runs on it."""
        idle = self._clock() - self._last_used
        timeout = self.settings.idle_session_timeout
        if timeout is not None and idle >= timeout - IDLE_MARGIN_S:
            return False  # the server has closed it, or is about to
        if idle < self._ping_after:
            return True
        try:
            self._connection.ping()
        except pymysql.MySQLError:  # gone away, lost, or already closed on our side
            return False
        return True

    def _password(self, refused: bool = False) -> str:
        now = self._clock()
        if refused or self._token is None or now - self._token_time >= TOKEN_REUSE_S:
            self._token = auth_token(self.settings.host, self.settings.port, self.settings.user)
            self._token_time = now
        return self._token
