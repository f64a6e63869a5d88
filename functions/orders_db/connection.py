"""Connections to the read-model database: settings from the environment, IAM auth tokens, TLS, and a
per-container connection reused across invocations that reconnects once when the server dropped it."""

from __future__ import annotations

import os
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import pymysql
from pymysql.cursors import Cursor

from orders_db import rds_token

T = TypeVar("T")

# Server errors after which the same work can succeed on a new connection: the connection was killed or
# timed out, the server is shutting down or was failed over (read-only), the transaction was a deadlock or
# lock-wait victim, the IAM token was refused (the retry uses a new one), too many connections.
_TRANSIENT_SERVER_ERRORS = frozenset({1040, 1045, 1053, 1205, 1213, 1290, 1317, 1836, 1927, 4031})
_DEADLOCK = 1213
# Concurrent batches (one per stream shard) can deadlock on shared totals rows; InnoDB rolls one back at once.
DEADLOCK_ATTEMPTS = 4
DEADLOCK_PAUSE_S = 0.02
TLS_MODES = ("verify-full", "required", "disabled")
PACKAGED_CA = Path(__file__).resolve().parent / "certs" / "rds-ca.pem"
# IAM tokens live 15 minutes and are only checked when a connection opens.
TOKEN_REUSE_S = 600
CONNECT_TIMEOUT_S = 5
READ_TIMEOUT_S = 10  # statements take milliseconds: a silent server is a dead one
# Aurora MySQL 3's default mode, set explicitly so that every engine and parameter group behaves alike.
SQL_MODE = (
    "ONLY_FULL_GROUP_BY,STRICT_TRANS_TABLES,NO_ZERO_IN_DATE,NO_ZERO_DATE,"
    "ERROR_FOR_DIVISION_BY_ZERO,NO_ENGINE_SUBSTITUTION"
)


class ConfigurationError(RuntimeError):
    """The function's environment is incomplete or invalid."""


def is_transient(error: BaseException) -> bool:
    """Whether the error is about the connection or the moment rather than about the statement."""
    if isinstance(error, pymysql.err.InterfaceError):  # used a closed connection
        return True
    if isinstance(error, pymysql.err.OperationalError):
        code = _error_code(error)
        return 2000 <= code < 3000 or code in _TRANSIENT_SERVER_ERRORS  # 2xxx: client side, e.g. connection lost
    return False


def _error_code(error: BaseException) -> int:
    return error.args[0] if error.args and isinstance(error.args[0], int) else 0


def auth_token(host: str, port: int, user: str) -> str:
    """An IAM database authentication token, used as the password. Offline runs replace this function."""
    return rds_token.auth_token(host, port, user, os.environ["AWS_REGION"], rds_token.Credentials.from_env())


@dataclass(frozen=True)
class Settings:
    host: str
    port: int
    database: str
    user: str
    tls: str
    tls_ca: str | None = None

    @classmethod
    def from_env(cls, user: str | None = None) -> Settings:
        """DB_HOST, DB_PORT (3306), DB_NAME, DB_USER (unless given), DB_TLS (verify-full), DB_TLS_CA."""
        try:
            settings = cls(
                host=os.environ["DB_HOST"],
                port=int(os.environ.get("DB_PORT", "3306")),
                database=os.environ["DB_NAME"],
                user=user if user is not None else os.environ["DB_USER"],
                tls=os.environ.get("DB_TLS", "verify-full"),
                tls_ca=os.environ.get("DB_TLS_CA") or None,
            )
        except KeyError as missing:
            raise ConfigurationError(f"environment variable {missing} is not set") from None
        except ValueError:
            raise ConfigurationError("DB_PORT must be an integer") from None
        if settings.tls not in TLS_MODES:
            raise ConfigurationError(f"DB_TLS must be one of {', '.join(TLS_MODES)}, not {settings.tls!r}")
        return settings


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
    read_timeout: int = READ_TIMEOUT_S,
) -> pymysql.Connection:
    return pymysql.connect(
        host=settings.host,
        port=settings.port,
        user=settings.user,
        password=password,
        database=database,
        charset="utf8mb4",
        autocommit=False,
        ssl=tls_context(settings),
        ssl_disabled=settings.tls == "disabled",  # else PyMySQL would try TLS unverified
        connect_timeout=CONNECT_TIMEOUT_S,
        read_timeout=read_timeout,
        write_timeout=read_timeout,
        init_command=f"SET SESSION sql_mode = '{SQL_MODE}'",
    )


class Database:
    """One lazily opened connection per Lambda container, authenticated with a cached IAM token.

    `read` and `transaction` run a unit of work on a cursor and end its transaction. When the connection
    turns out to be dead, the work is run once more, from its start, on a new connection: the unit of work
    must therefore be safe to repeat (reads are; the projector's writes are idempotent)."""

    def __init__(
        self,
        settings: Settings,
        session_sql: tuple[str, ...] = (),
        clock: Callable[[], float] = time.monotonic,
    ):
        self.settings = settings
        self._session_sql = session_sql
        self._clock = clock
        self._connection: pymysql.Connection | None = None
        self._token: str | None = None
        self._token_time = 0.0

    @classmethod
    def from_env(cls, session_sql: tuple[str, ...] = ()) -> Database:
        return cls(Settings.from_env(), session_sql)

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
                # The transaction died with the connection, or was rolled back as a deadlock victim: start over,
                # once after a lost connection, a few times (after a short pause) after a deadlock.
                deadlock = _error_code(error) == _DEADLOCK
                if not is_transient(error) or attempt >= (DEADLOCK_ATTEMPTS if deadlock else 2):
                    raise
                if deadlock:
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
            if is_transient(error):
                self.close()
                self._token = None  # the next connection gets a new token, in case this one was refused
            else:
                self._abandon(connection)
            raise

    def _abandon(self, connection: pymysql.Connection | None) -> None:
        if connection is None:
            return
        try:
            connection.rollback()
        except pymysql.MySQLError:
            self.close()

    def _connect(self) -> pymysql.Connection:
        if self._connection is None:
            connection = open_connection(self.settings, self._password(), database=self.settings.database)
            try:
                with connection.cursor() as cursor:
                    for statement in self._session_sql:
                        cursor.execute(statement)
            except BaseException:
                connection.close()
                raise
            self._connection = connection
        return self._connection

    def _password(self) -> str:
        now = self._clock()
        if self._token is None or now - self._token_time >= TOKEN_REUSE_S:
            self._token = auth_token(self.settings.host, self.settings.port, self.settings.user)
            self._token_time = now
        return self._token
