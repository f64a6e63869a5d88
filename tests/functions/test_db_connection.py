"""Connection settings, TLS modes against a TLS-enabled MariaDB, IAM token caching, transactions."""


import pymysql
import pytest

from orders_db import connection
from orders_db.connection import ConfigurationError, Database, Settings, is_transient, open_connection
from orders_test_support import PASSWORDS, READER, query, settings_for


def test_settings_come_from_the_environment_with_safe_defaults(monkeypatch):
    for name in ("DB_PORT", "DB_TLS", "DB_TLS_CA"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DB_HOST", "cluster.example")
    monkeypatch.setenv("DB_NAME", "orders")
    monkeypatch.setenv("DB_USER", "cqrs_reader")
    assert Settings.from_env() == Settings("cluster.example", 3306, "orders", "cqrs_reader", "verify-full", None)

    monkeypatch.setenv("DB_TLS", "sometimes")
    with pytest.raises(ConfigurationError, match="DB_TLS"):
        Settings.from_env()
    monkeypatch.setenv("DB_TLS", "disabled")
    monkeypatch.setenv("DB_PORT", "port")
    with pytest.raises(ConfigurationError, match="DB_PORT"):
        Settings.from_env()
    monkeypatch.delenv("DB_HOST")
    with pytest.raises(ConfigurationError, match="DB_HOST"):
        Settings.from_env()


def _tls_settings(mode, ca=None):
    return settings_for(READER)._replace(tls=mode, tls_ca=ca)


def scalar(sql):
    def work(cursor):
        cursor.execute(sql)
        return cursor.fetchone()[0]

    return work


def _cipher(settings):
    link = open_connection(settings, PASSWORDS[READER])
    try:
        return query(link, "SHOW SESSION STATUS LIKE 'Ssl_cipher'")[0][1]
    finally:
        link.close()


def test_verify_full_checks_the_server_against_the_ca_bundle(db_env, tls_files, monkeypatch):
    assert _cipher(_tls_settings("verify-full", tls_files["ca"]))
    monkeypatch.setattr(connection, "PACKAGED_CA", connection.Path(tls_files["ca"]))  # the bundle in the archive
    assert _cipher(_tls_settings("verify-full"))
    with pytest.raises(pymysql.err.OperationalError):  # a server the bundle did not sign
        _cipher(_tls_settings("verify-full", tls_files["other_ca"]))
    with pytest.raises(ConfigurationError, match="CA bundle"):
        _cipher(_tls_settings("verify-full", "/nonexistent/rds-ca.pem"))


def test_required_encrypts_without_checking_and_disabled_does_not_encrypt(db_env):
    assert _cipher(_tls_settings("required"))
    assert _cipher(_tls_settings("disabled")) == ""


def test_the_iam_token_is_cached_for_ten_minutes_even_across_a_dropped_connection(migrated, monkeypatch, mariadb):
    issued = []

    def token(host, port, user):
        issued.append((host, port, user))
        return PASSWORDS[user]

    monkeypatch.setattr(connection, "auth_token", token)
    now = [1000.0]
    database = Database(settings_for(READER), clock=lambda: now[0])
    try:
        read = lambda: database.read(scalar("SELECT 1"))  # noqa: E731
        read()
        database.close()
        now[0] += 599
        read()
        assert len(issued) == 1  # a reconnect within ten minutes reuses the token
        database.close()
        now[0] += 2
        read()
        assert issued == [(mariadb.host, mariadb.port, READER)] * 2

        mariadb.execute("KILL CONNECTION %s", (database._connection.thread_id(),))
        read()  # dropped: reconnected with the same young token (a refused one is replaced: test_db_faults)
        assert len(issued) == 2
    finally:
        database.close()


def test_reads_see_data_committed_since_the_previous_read(projector_db, reader_db):
    count = scalar("SELECT COUNT(*) FROM item_totals")
    assert reader_db.read(count) == 0
    projector_db.transaction(lambda cursor: cursor.execute("INSERT INTO item_totals VALUES ('x', 1, '2022-10-13')"))
    assert reader_db.read(count) == 1  # the reused connection's snapshot was released


def test_a_failing_transaction_commits_nothing_and_keeps_the_connection(projector_db, reader_db):
    def insert_then_fail(cursor):
        cursor.execute("INSERT INTO item_totals VALUES ('x', 1, '2022-10-13')")
        raise ValueError("boom")

    with pytest.raises(ValueError):
        projector_db.transaction(insert_then_fail)
    link = projector_db._connection
    assert reader_db.read(scalar("SELECT COUNT(*) FROM item_totals")) == 0
    assert projector_db.transaction(scalar("SELECT 1")) == 1
    assert projector_db._connection is link


def test_the_projector_session_reads_committed(projector_db):
    """projector_db runs PROJECTOR_SESSION, as the projector handler does."""
    assert projector_db.transaction(scalar("SELECT @@tx_isolation")) == "READ-COMMITTED"


@pytest.mark.parametrize(
    ("error", "transient"),
    [
        (pymysql.err.OperationalError(2013, "Lost connection to MySQL server during query"), True),
        (pymysql.err.OperationalError(2003, "Can't connect to MySQL server"), True),
        (pymysql.err.OperationalError(1213, "Deadlock found"), True),
        (pymysql.err.OperationalError(1927, "Connection was killed"), True),
        (pymysql.err.InterfaceError(0, ""), True),
        (pymysql.err.OperationalError(4025, "CONSTRAINT failed"), False),
        (pymysql.err.OperationalError(1644, "refused"), False),
        (pymysql.err.IntegrityError(1062, "Duplicate entry"), False),
        (pymysql.err.ProgrammingError(1064, "syntax"), False),
        (ValueError("not a database error"), False),
    ],
)
def test_only_connection_and_moment_errors_are_retried(error, transient):
    assert is_transient(error) is transient


@pytest.mark.parametrize(("failures", "error", "succeeds"), [
    (3, pymysql.err.OperationalError(1213, "Deadlock found"), True),  # a deadlock victim tries again, four times
    (4, pymysql.err.OperationalError(1213, "Deadlock found"), False),
    (1, pymysql.err.OperationalError(2013, "Lost connection"), True),  # a lost connection: once more
    (2, pymysql.err.OperationalError(2013, "Lost connection"), False),
    (1, pymysql.err.OperationalError(4025, "CONSTRAINT failed"), False),  # the statement's fault: never again
])
def test_work_is_run_again_only_as_often_as_its_error_deserves(projector_db, failures, error, succeeds):
    calls = []

    def work(cursor):
        calls.append(1)
        if len(calls) <= failures:
            raise error
        cursor.execute("SELECT 1")
        return "done"

    if succeeds:
        assert projector_db.transaction(work) == "done" and len(calls) == failures + 1
    else:
        with pytest.raises(pymysql.err.OperationalError):
            projector_db.transaction(work)
        assert len(calls) == failures
