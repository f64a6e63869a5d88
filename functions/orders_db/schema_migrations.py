"""Versioned SQL migrations and the functions' database users.

Migrations are files `NNNN_<name>.sql`, applied in version order, each recorded in `schema_migrations` once
all of its statements succeeded. A named lock serialises concurrent runs, so the second run finds nothing
left to do. MySQL commits every DDL statement on its own: a file that fails halfway is not rolled back, so
keep to one DDL statement per file, written to be repeatable (IF NOT EXISTS), and a fixed file then applies
cleanly. DML in a file commits together with its version row. Statements are split on `;` outside quotes and
comments; DELIMITER (stored programs) is not supported."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import pymysql
from pymysql.cursors import Cursor

LOCK_NAME = "cqrs_orders_migrations"
LOCK_TIMEOUT_S = 120
# The tables the functions may touch (not schema_migrations), with what the projector may do to each: orders
# keep a tombstone when deleted, so their rows are never deleted. A migration adding a read model adds it here.
PROJECTOR_PRIVILEGES = {"orders": "SELECT, INSERT, UPDATE", "order_lines": "SELECT, INSERT, UPDATE, DELETE",
                        "item_totals": "SELECT, INSERT, UPDATE, DELETE",
                        "item_monthly_totals": "SELECT, INSERT, UPDATE, DELETE"}
READ_MODEL_TABLES = tuple(PROJECTOR_PRIVILEGES)
# The operations' tools (ops/: rebuild, reconcile, redrive) write the read models exactly as the projector does,
# and keep their runs' checkpoints.
OPS_PRIVILEGES = {**PROJECTOR_PRIVILEGES, "ops_runs": "SELECT, INSERT, UPDATE",
                  "ops_segments": "SELECT, INSERT, UPDATE"}
READER_PRIVILEGES = "SELECT"
USER_AUTH_MODES = ("iam", "password")

_FILE_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")
_IDENTIFIER = re.compile(r"^[A-Za-z0-9_]{1,64}$")
_USER_NAME = re.compile(r"^[A-Za-z0-9_]{1,32}$")


class MigrationError(RuntimeError):
    pass


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()

    @property
    def label(self) -> str:
        return f"{self.version:04d}_{self.name}"


@dataclass(frozen=True)
class DatabaseUsers:
    projector: str
    reader: str
    auth: str  # "iam": create missing users for IAM authentication; "password": they must exist already
    ops: str | None = None  # the operations' tools' user, when they are deployed

    def __post_init__(self) -> None:
        for name in (self.projector, self.reader, *([self.ops] if self.ops is not None else [])):
            if not _USER_NAME.match(name):
                raise MigrationError(f"invalid database user name {name!r}")
        if self.auth not in USER_AUTH_MODES:
            raise MigrationError(f"DB_USER_AUTH must be one of {', '.join(USER_AUTH_MODES)}, not {self.auth!r}")


def load_migrations(directory: Path) -> list[Migration]:
    migrations = []
    for path in sorted(directory.glob("*.sql")):
        match = _FILE_NAME.match(path.name)
        if not match:
            raise MigrationError(f"migration file name {path.name!r} is not NNNN_<lowercase_name>.sql")
        migrations.append(Migration(int(match[1]), match[2], path.read_text(encoding="utf-8")))
    versions = [migration.version for migration in migrations]
    if len(set(versions)) != len(versions):
        raise MigrationError(f"duplicate migration versions in {directory}")
    return migrations


def split_statements(sql: str) -> list[str]:
    """Statements of a file: split on `;` outside '...', "...", `...`, -- and # line comments and /* */."""
    statements, start, index, has_code = [], 0, 0, False
    while index < len(sql):
        char = sql[index]
        if sql.startswith("/*", index):
            end = sql.find("*/", index + 2)
            if end < 0:
                raise MigrationError("unterminated /* comment")
            index = end + 2
        elif char == "#" or (sql.startswith("--", index) and (sql[index + 2 : index + 3] or " ").isspace()):
            newline = sql.find("\n", index)
            index = len(sql) if newline < 0 else newline + 1
        elif char == ";":
            if has_code:
                statements.append(sql[start:index].strip())
            start, index, has_code = index + 1, index + 1, False
        elif char in "'\"`":
            index, has_code = _end_of_quoted(sql, index), True
        else:
            has_code = has_code or not char.isspace()
            index += 1
    if has_code:
        statements.append(sql[start:].strip())
    return statements


def migrate(connection: pymysql.Connection, database: str, migrations: list[Migration], users: DatabaseUsers) -> dict:
    """Create the database if needed, apply pending migrations, ensure users and grants.

    Returns {"applied": [versions applied now], "current": newest applied version}. Raises on any failure;
    the caller closes the connection, which also frees the lock if this raised while holding it."""
    if not _IDENTIFIER.match(database):
        raise MigrationError(f"invalid database name {database!r}")
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE DATABASE IF NOT EXISTS `{database}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci")
        connection.select_db(database)
        with _named_lock(cursor):
            applied, current = _apply_pending(connection, cursor, migrations)
            _ensure_users(cursor, database, users)
    return {"applied": applied, "current": current}


@contextmanager
def _named_lock(cursor: Cursor) -> Iterator[None]:
    cursor.execute("SELECT GET_LOCK(%s, %s)", (LOCK_NAME, LOCK_TIMEOUT_S))
    if cursor.fetchone()[0] != 1:
        raise MigrationError(f"another migration run held the lock {LOCK_NAME!r} for over {LOCK_TIMEOUT_S} s")
    yield
    cursor.execute("SELECT RELEASE_LOCK(%s)", (LOCK_NAME,))


def _apply_pending(
    connection: pymysql.Connection, cursor: Cursor, migrations: list[Migration]
) -> tuple[list[int], int]:
    cursor.execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations ("
        " version INT UNSIGNED NOT NULL PRIMARY KEY,"
        " name VARCHAR(255) NOT NULL,"
        " checksum CHAR(64) CHARACTER SET ascii NOT NULL,"
        " applied_at DATETIME(6) NOT NULL"
        ") ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci"
    )
    cursor.execute("SELECT version, checksum FROM schema_migrations")
    recorded = dict(cursor.fetchall())
    for migration in migrations:
        if recorded.get(migration.version, migration.checksum) != migration.checksum:
            raise MigrationError(f"migration {migration.label} was edited after it was applied: add a new one instead")
    applied = []
    for migration in sorted(migrations, key=lambda m: m.version):
        if migration.version in recorded:
            continue
        for number, statement in enumerate(split_statements(migration.sql), start=1):
            try:
                cursor.execute(statement)
            except pymysql.MySQLError as error:
                raise MigrationError(f"migration {migration.label} failed at statement {number}: {error}") from error
        cursor.execute(
            "INSERT INTO schema_migrations (version, name, checksum, applied_at) VALUES (%s, %s, %s, %s)",
            (migration.version, migration.name, migration.checksum, datetime.now(timezone.utc).replace(tzinfo=None)),
        )
        connection.commit()
        applied.append(migration.version)
    return applied, max([*recorded, *applied], default=0)


def _ensure_users(cursor: Cursor, database: str, users: DatabaseUsers) -> None:
    grants = [(users.projector, PROJECTOR_PRIVILEGES),
              (users.reader, dict.fromkeys(READ_MODEL_TABLES, READER_PRIVILEGES))]
    if users.ops is not None:
        grants.append((users.ops, OPS_PRIVILEGES))
    for user, privileges in grants:
        cursor.execute("SELECT 1 FROM mysql.user WHERE User = %s AND Host = %s", (user, "%"))
        if cursor.fetchone() is None:
            if users.auth != "iam":
                raise MigrationError(f"database user {user!r}@'%' does not exist (DB_USER_AUTH={users.auth})")
            cursor.execute("CREATE USER %s@%s IDENTIFIED WITH AWSAuthenticationPlugin AS 'RDS'", (user, "%"))
        for table, granted in privileges.items():
            cursor.execute(f"GRANT {granted} ON `{database}`.`{table}` TO %s@%s", (user, "%"))


def _end_of_quoted(sql: str, start: int) -> int:
    """Index just after the quoted string opening at `start` ('' or \\' escape a quote inside)."""
    quote, index = sql[start], start + 1
    while index < len(sql):
        if sql[index] == "\\" and quote != "`":
            index += 2
        elif sql[index] == quote:
            if sql.startswith(quote, index + 1):  # doubled quote
                index += 2
            else:
                return index + 1
        else:
            index += 1
    raise MigrationError(f"unterminated {quote} quote")
