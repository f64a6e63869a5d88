"""Schema migrations and database users: fresh apply, no-op re-apply, loud failures, a named lock for
concurrent runs, least-privilege grants, and the migrate handler."""

import shutil
import threading
import time

import pymysql
import pytest

from orders_db import schema_migrations
from orders_db.connection import open_connection
from orders_db.schema_migrations import (
    OPS_PRIVILEGES,
    READ_MODEL_TABLES,
    MigrationError,
    load_migrations,
    split_statements,
)
from orders_test_support import (
    MASTER,
    MIGRATIONS_DIR,
    PASSWORDS,
    PROJECTOR,
    READER,
    query,
    run_migrations,
    settings_for,
)

# Every migration file of the repository, in version order.
VERSIONS = sorted(int(path.name[:4]) for path in MIGRATIONS_DIR.glob("*.sql"))
CURRENT = VERSIONS[-1]


@pytest.fixture
def migrations_dir(tmp_path):
    """A copy of the real migrations that a test may add to."""
    directory = tmp_path / "migrations"
    shutil.copytree(MIGRATIONS_DIR, directory)
    return directory


@pytest.fixture
def master(mariadb, db_env, database_name):
    """The master user's connection to the test database, once the migrations created it."""
    connections = []

    def connect():
        connection = open_connection(settings_for(MASTER), PASSWORDS[MASTER], database=database_name)
        connection.autocommit(True)
        connections.append(connection)
        return connection

    yield connect
    for connection in connections:
        connection.close()


def recorded(connection):
    return query(connection, "SELECT version, name, checksum, applied_at FROM schema_migrations ORDER BY version")


def test_a_fresh_database_gets_every_migration_and_a_rerun_applies_nothing(db_env, master):
    assert run_migrations() == {"applied": VERSIONS, "current": CURRENT}
    first = recorded(master())
    assert [(version, name) for version, name, _, _ in first][:4] == [
        (1, "create_orders"),
        (2, "create_order_lines"),
        (3, "create_item_totals"),
        (4, "create_item_monthly_totals"),
    ]
    assert [version for version, _, _, _ in first] == VERSIONS
    assert run_migrations() == {"applied": [], "current": CURRENT}
    assert recorded(master()) == first


def test_the_schema_has_a_key_or_index_for_every_lookup(db_env, master):
    run_migrations()
    indexes = query(
        master(),
        "SELECT table_name, index_name, GROUP_CONCAT(column_name ORDER BY seq_in_index)"
        " FROM information_schema.statistics WHERE table_schema = DATABASE() GROUP BY table_name, index_name",
    )
    assert sorted(indexes) == [
        ("item_monthly_totals", "PRIMARY", "item_id,order_month"),
        ("item_totals", "PRIMARY", "item_id"),
        ("ops_runs", "PRIMARY", "run_id"),
        ("ops_runs", "ops_runs_unfinished", "operation,table_name,finished_at"),
        ("ops_segments", "PRIMARY", "run_id,segment"),
        ("order_lines", "PRIMARY", "order_id,line_no"),
        ("order_lines", "order_lines_item_counted_date", "item_id,counted,order_date"),
        ("orders", "PRIMARY", "order_id"),
        ("schema_migrations", "PRIMARY", "version"),
    ]
    tables = {name for (name,) in query(master(), "SHOW TABLES")}
    # Every read model is granted to the functions, every table but schema_migrations to the operations' user.
    assert tables == {*READ_MODEL_TABLES, "schema_migrations"} | set(OPS_PRIVILEGES)


def test_a_broken_migration_raises_and_leaves_the_version_where_it_was(db_env, master, migrations_dir):
    run_migrations(migrations_dir)
    broken = migrations_dir / f"{CURRENT + 1:04d}_add_notes.sql"
    broken.write_text("CREATE TABLE IF NOT EXISTS notes (id INT PRIMARY KEY);\nALTER TABLE notes ADD COLUMN;\n")

    with pytest.raises(MigrationError, match=f"{CURRENT + 1:04d}_add_notes failed at statement 2"):
        run_migrations(migrations_dir)
    assert [row[0] for row in recorded(master())] == VERSIONS

    # MySQL does not roll DDL back: statement 1 stays applied, and being repeatable, the fixed file applies.
    broken.write_text(
        "CREATE TABLE IF NOT EXISTS notes (id INT PRIMARY KEY);\nALTER TABLE notes ADD COLUMN body TEXT;\n"
    )
    assert run_migrations(migrations_dir) == {"applied": [CURRENT + 1], "current": CURRENT + 1}


def test_an_applied_migration_that_was_edited_is_refused(db_env, migrations_dir):
    run_migrations(migrations_dir)
    first = migrations_dir / "0001_create_orders.sql"
    first.write_text(first.read_text() + "\n-- edited\n")
    with pytest.raises(MigrationError, match="0001_create_orders was edited"):
        run_migrations(migrations_dir)


def test_concurrent_runs_apply_each_migration_once(db_env, mariadb, master):
    holder = mariadb.root_connection()
    query(holder, "SELECT GET_LOCK(%s, 5)", (schema_migrations.LOCK_NAME,))  # both runs queue behind it
    results, errors = [], []

    def run():
        try:
            results.append(run_migrations())
        except Exception as error:  # reported by the assertion below
            errors.append(error)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + 30
    while query(holder, "SELECT COUNT(*) FROM information_schema.processlist WHERE state = 'User lock'") != [(2,)]:
        assert time.monotonic() < deadline, "the runs never waited for the lock"
        time.sleep(0.02)
    holder.close()  # frees the lock
    for thread in threads:
        thread.join(timeout=60)

    assert not errors
    assert sorted(result["applied"] for result in results) == [[], VERSIONS]
    assert [row[0] for row in recorded(master())] == VERSIONS


def test_a_run_that_cannot_get_the_lock_fails(db_env, mariadb, monkeypatch):
    monkeypatch.setattr(schema_migrations, "LOCK_TIMEOUT_S", 1)
    holder = mariadb.root_connection()
    try:
        query(holder, "SELECT GET_LOCK(%s, 5)", (schema_migrations.LOCK_NAME,))
        with pytest.raises(MigrationError, match="lock"):
            run_migrations()
    finally:
        holder.close()


def _connect_as(user, database):
    return open_connection(settings_for(user), PASSWORDS[user], database=database)


def test_the_function_users_get_least_privilege(migrated):
    reader, projector = _connect_as(READER, migrated), _connect_as(PROJECTOR, migrated)
    try:
        for table in READ_MODEL_TABLES:
            assert query(reader, f"SELECT COUNT(*) FROM {table}") == [(0,)]
        with pytest.raises(pymysql.err.OperationalError, match="denied"):
            query(reader, "INSERT INTO item_totals VALUES ('x', 1, '2022-10-13')")
        with pytest.raises(pymysql.err.OperationalError, match="denied"):
            query(reader, "SELECT * FROM schema_migrations")

        query(projector, "INSERT INTO item_totals VALUES ('x', 1, '2022-10-13')")
        query(projector, "UPDATE item_totals SET total_ordered = 2")
        query(projector, "DELETE FROM item_totals")
        for forbidden in ("SELECT * FROM schema_migrations", "DROP TABLE orders", "CREATE TABLE t (x INT)",
                          "DELETE FROM orders"):  # orders stay as tombstones
            with pytest.raises(pymysql.err.OperationalError, match="denied"):
                query(projector, forbidden)
    finally:
        reader.close()
        projector.close()


def test_missing_users_are_an_error_unless_iam_creates_them(db_env, mariadb, monkeypatch):
    monkeypatch.setenv("DB_NAME", "orders_users_test")
    users = schema_migrations.DatabaseUsers("nobody_projector", "nobody_reader", "password")
    master = open_connection(settings_for(MASTER), PASSWORDS[MASTER])
    try:
        with pytest.raises(MigrationError, match="nobody_projector"):
            schema_migrations.migrate(master, "orders_users_test", load_migrations(MIGRATIONS_DIR), users)
        # With IAM the user is created for Aurora's plugin, which MariaDB lacks: the error surfaces.
        iam = schema_migrations.DatabaseUsers("nobody_projector", "nobody_reader", "iam")
        with pytest.raises(pymysql.MySQLError, match="AWSAuthenticationPlugin"):
            schema_migrations.migrate(master, "orders_users_test", load_migrations(MIGRATIONS_DIR), iam)
    finally:
        master.close()
        mariadb.drop_database("orders_users_test")


def test_the_migrate_handler_takes_the_master_credentials_from_its_event(db_env, lambda_context, caplog):
    from migrate.handler import handler

    assert handler({"username": MASTER, "password": PASSWORDS[MASTER]}, lambda_context) == {
        "applied": VERSIONS,
        "current": CURRENT,
    }
    assert handler({"username": MASTER, "password": PASSWORDS[MASTER]}, lambda_context)["applied"] == []
    with pytest.raises(pymysql.err.OperationalError, match="denied"):
        handler({"username": MASTER, "password": "wrong"}, lambda_context)
    with pytest.raises(ValueError, match="username and password"):
        handler({"migrationsHash": "abc"}, lambda_context)
    logged = [vars(record) for record in caplog.records]
    assert any(record["msg"] == "schema migrated" for record in logged)
    assert PASSWORDS[MASTER] not in repr(logged)  # the event is never logged


@pytest.mark.parametrize(
    ("sql", "statements"),
    [
        ("CREATE TABLE a (x INT);\nCREATE TABLE b (y INT);\n", ["CREATE TABLE a (x INT)", "CREATE TABLE b (y INT)"]),
        ("SELECT ';' ; SELECT \";\"", ["SELECT ';'", 'SELECT ";"']),
        ("SELECT 'it''s; fine', 'a\\';b'", ["SELECT 'it''s; fine', 'a\\';b'"]),
        ("SELECT `odd;name` FROM t", ["SELECT `odd;name` FROM t"]),
        ("-- comment; still comment\nSELECT 1; # another; one\n/* block; */", ["-- comment; still comment\nSELECT 1"]),
        ("SELECT 1--1;", ["SELECT 1--1"]),
        (";;  ;\n-- only comments;\n", []),
    ],
)
def test_statements_split_on_semicolons_outside_quotes_and_comments(sql, statements):
    assert split_statements(sql) == statements


@pytest.mark.parametrize("sql", ["SELECT 'open", "SELECT `open", "SELECT 1 /* open"])
def test_unterminated_quotes_and_comments_are_errors(sql):
    with pytest.raises(MigrationError, match="unterminated"):
        split_statements(sql)


@pytest.mark.parametrize("names", [["1_a.sql"], ["0001_A.sql"], ["0001_a.sql", "0001_b.sql"]])
def test_migration_files_must_be_numbered_once(tmp_path, names):
    for name in names:
        (tmp_path / name).write_text("SELECT 1")
    with pytest.raises(MigrationError):
        load_migrations(tmp_path)


def test_the_operations_user_writes_the_read_models_and_its_checkpoints_and_nothing_else(db_env, mariadb):
    mariadb.create_user("cqrs_ops", "ops-secret")
    settings = settings_for(MASTER)
    users = schema_migrations.DatabaseUsers(PROJECTOR, READER, "password", ops="cqrs_ops")
    master = open_connection(settings, PASSWORDS[MASTER])
    try:
        schema_migrations.migrate(master, settings.database, load_migrations(MIGRATIONS_DIR), users)
    finally:
        master.close()
    ops = open_connection(settings._replace(user="cqrs_ops"), "ops-secret", database=settings.database)
    projector = _connect_as(PROJECTOR, settings.database)
    try:
        query(ops, "INSERT INTO ops_runs (run_id, operation, table_name, stream_epoch, total_segments, options,"
                   " estimated_orders, started_at) VALUES ('r', 'rebuild', 't', '', 1, '{}', 0, NOW())")
        query(ops, "INSERT INTO ops_segments (run_id, segment, counts, samples, updated_at)"
                   " VALUES ('r', 0, '{}', '{}', NOW())")
        query(ops, "UPDATE ops_segments SET done = 1")
        query(ops, "INSERT INTO item_totals VALUES ('x', 1, '2022-10-13')")
        query(ops, "DELETE FROM item_totals")
        for forbidden in ("SELECT * FROM schema_migrations", "DELETE FROM orders", "DELETE FROM ops_runs",
                          "DROP TABLE ops_segments"):
            with pytest.raises(pymysql.err.OperationalError, match="denied"):
                query(ops, forbidden)
        with pytest.raises(pymysql.err.OperationalError, match="denied"):
            query(projector, "SELECT * FROM ops_segments")  # the projector never sees the operations' tables
    finally:
        ops.close()
        projector.close()
        mariadb.execute("DROP USER %s@%s", ("cqrs_ops", "%"))
