"""Which database errors are worth another try, and on what: one table, each code with where it is documented.

RECONNECT: the connection is dead, or it is open on the wrong instance (a reader, the demoted writer after a
failover, a session that was opened read-only). Nothing more will succeed on it: it is dropped, and the work runs
again on a new connection (which resolves the endpoint again, with a new IAM token).
RETRY: the server rolled the transaction back (deadlock, lock wait); the connection is fine, the work runs again.
Any other error is about the statement or the data, and is never retried.

PyMySQL reports every server error by its code in `args[0]`, and its own network errors as 2003/2006/2013 with no
SQLSTATE, so errors are classified by code (shutdown, KILL and idle-close all reach PyMySQL as 2006 or 2013 on
MariaDB; the server codes below are what MySQL 8 and Aurora send first, where they send anything)."""

from __future__ import annotations

import ssl
from typing import NamedTuple

import pymysql

RECONNECT, RETRY = "reconnect", "retry"

_MYSQL = "MySQL 8.0 server error reference (dev.mysql.com/doc/mysql-errors/8.0/en/server-error-reference.html)"
_CLIENT = "MySQL 8.0 client error reference (dev.mysql.com/doc/mysql-errors/8.0/en/client-error-reference.html)"
_MARIADB = "MariaDB error codes (mariadb.com/kb/en/mariadb-error-codes)"
_AUTO_PAUSE = "Aurora user guide, aurora-serverless-v2-auto-pause.html (connecting while resuming)"
_FAILOVER = "AWS re:Post aurora-mysql-db-cluser-read-only-error (writes reaching the old writer after a failover)"


class KnownError(NamedTuple):
    name: str
    action: str
    meaning: str
    source: str


ERRORS: dict[int, KnownError] = {
    # The instance is read-only for us: a reader, or the writer demoted by a failover (stale DNS for up to ~20 s).
    1290: KnownError("ER_OPTION_PREVENTS_STATEMENT", RECONNECT,
                     "the server runs with --read-only / super_read_only: a write reached a reader", f"{_MYSQL}; {_FAILOVER}"),
    1792: KnownError("ER_CANT_EXECUTE_IN_READ_ONLY_TRANSACTION", RECONNECT,
                     "the session was opened while the server's transactions were read-only (demoted writer); "
                     "it stays read-only after the server turns writable, so only a new session helps",
                     f"{_MYSQL}; {_MARIADB}"),
    1836: KnownError("ER_READ_ONLY_MODE", RECONNECT, "the server runs in read-only mode",
                     f"{_MYSQL}; aws-advanced-python-wrapper mysql_exception_handler.py (a read-only error)"),
    # The connection is being closed, or the server cannot take it.
    1040: KnownError("ER_CON_COUNT_ERROR", RECONNECT, "too many connections, also right after a resume from 0 ACU",
                     f"{_MYSQL}; {_AUTO_PAUSE}"),
    1045: KnownError("ER_ACCESS_DENIED_ERROR", RECONNECT,
                     "the IAM token was refused (expired, or signed before the role changed): tried once more with "
                     "a new token, never in a loop",
                     f"{_MYSQL}; RDS user guide UsingWithRDS.IAMDBAuth.Connecting"),
    1053: KnownError("ER_SERVER_SHUTDOWN", RECONNECT, "the server is shutting down (restart, failover, scaling)", _MYSQL),
    1080: KnownError("ER_FORCING_CLOSE", RECONNECT, "the server is closing this thread at shutdown", _MYSQL),
    1317: KnownError("ER_QUERY_INTERRUPTED", RECONNECT, "the statement was killed (KILL QUERY, or a shutdown)", _MYSQL),
    1927: KnownError("ER_CONNECTION_KILLED", RECONNECT, "the connection was killed (MariaDB)", _MARIADB),
    4031: KnownError("ER_CLIENT_INTERACTION_TIMEOUT", RECONNECT,
                     "closed by the server after wait_timeout of inactivity (MySQL 8.0.24+)", _MYSQL),
    # The network, as PyMySQL reports it (it raises no other client codes for a connection's failure).
    2003: KnownError("CR_CONN_HOST_ERROR", RECONNECT,
                     "cannot connect: refused, or timed out (a paused instance holding the TCP handshake)",
                     f"{_CLIENT}; {_AUTO_PAUSE}"),
    2006: KnownError("CR_SERVER_GONE_ERROR", RECONNECT,
                     "the server has gone away (a write on a socket the server reset: idle close, shutdown)", _CLIENT),
    2013: KnownError("CR_SERVER_LOST", RECONNECT,
                     "lost connection during a query or the handshake (KILL, shutdown, failover, read timeout)",
                     _CLIENT),
    # The transaction lost a lock conflict: InnoDB rolled it back (or the statement, for 1205), the session is fine.
    1205: KnownError("ER_LOCK_WAIT_TIMEOUT", RETRY, "lock wait timeout exceeded", _MYSQL),
    1213: KnownError("ER_LOCK_DEADLOCK", RETRY, "deadlock victim: the transaction was rolled back", _MYSQL),
}
ACCESS_DENIED = 1045
DUPLICATE_KEY = 1062  # ER_DUP_ENTRY (_MYSQL, _MARIADB): about the data, not retried; the projector relies on it


def error_code(error: BaseException) -> int:
    return error.args[0] if error.args and isinstance(error.args[0], int) else 0


def action(error: BaseException) -> str | None:
    """RECONNECT, RETRY, or None for an error that another try cannot fix."""
    if isinstance(error, pymysql.err.InterfaceError):  # the connection was already closed on our side
        return RECONNECT
    if not isinstance(error, pymysql.MySQLError):
        return None
    known = ERRORS.get(error_code(error))
    if known is None or certificate_rejected(error):
        return None
    return known.action


def is_transient(error: BaseException) -> bool:
    """Whether the error is about the connection or the moment rather than about the statement."""
    return action(error) is not None


def certificate_rejected(error: BaseException) -> bool:
    """PyMySQL reports a TLS verification failure as 2003, like a refused connection: no retry will fix it."""
    return isinstance(getattr(error, "original_exception", None), ssl.SSLCertVerificationError)
