"""Every error that means "this connection is dead, or on the wrong instance" (orders_db.db_errors.ERRORS), each
produced for real: by the server (read-only, killed, too many connections, refused login, idle close, lock wait) or,
for the codes MariaDB never sends, by the fault proxy answering with that error packet on the wire. Each drops the
connection, and the next work runs on a new one; lock conflicts are retried on the same connection."""

from __future__ import annotations

import threading
import time

import pymysql
import pytest

from orders_db import connection, db_errors
from orders_db.batches import APPLIED, FAILED, PROJECTOR_SESSION, project_batch
from orders_db.connection import Database
from orders_db.db_errors import ERRORS, RECONNECT, RETRY, is_transient
from orders_test_support import PASSWORDS, PROJECTOR, READER, created, query, settings_for

INSERT = "INSERT INTO item_totals VALUES ('fault', 1, '2022-10-13')"


@pytest.fixture
def seen(monkeypatch):
    """The codes of the errors the Database classified, in order."""
    codes, errors = [], []
    original = connection.action

    def recording(error):
        if not any(error is known for known in errors):  # classified twice: by the attempt and by the retry loop
            errors.append(error)
            codes.append(db_errors.error_code(error))
        return original(error)

    monkeypatch.setattr(connection, "action", recording)
    return codes


def thread_id(database: Database) -> int:
    return database.read(lambda cursor: (cursor.execute("SELECT CONNECTION_ID()"), cursor.fetchone()[0])[1])


def count_inserted(root) -> int:
    return query(root, "SELECT COUNT(*) FROM item_totals WHERE item_id = 'fault'")[0][0]


def later(seconds: float, action) -> threading.Thread:
    thread = threading.Thread(target=lambda: (time.sleep(seconds), action()), daemon=True)
    thread.start()
    return thread


def test_the_table_names_a_source_for_every_code():
    for code, known in ERRORS.items():
        assert known.action in (RECONNECT, RETRY) and known.name and known.meaning and known.source, code
    assert {1290, 1792, 1836, 1053, 1927, 2006, 2013, 1040, 1045}.issubset(
        code for code, known in ERRORS.items() if known.action == RECONNECT)


# -- the wrong instance: read-only ---------------------------------------------------------------------------

@pytest.mark.parametrize(("turn_read_only", "turn_writable", "code"), [
    ("SET GLOBAL read_only = 1", "SET GLOBAL read_only = 0", 1290),  # a reader, or the old writer
    # A session opened while the server's transactions are read-only stays read-only after they turn writable.
    ("SET GLOBAL TRANSACTION READ ONLY", "SET GLOBAL TRANSACTION READ WRITE", 1792),
])
def test_a_read_only_instance_drops_the_connection_and_the_next_work_applies(
        projector_db, mariadb, root, seen, turn_read_only, turn_writable, code):
    projector_db.close()
    mariadb.execute(turn_read_only)
    try:
        with pytest.raises(pymysql.err.OperationalError) as failure:
            projector_db.transaction(lambda cursor: cursor.execute(INSERT))
    finally:
        mariadb.execute(turn_writable)
    assert failure.value.args[0] == code and seen == [code, code]  # retried once on a new connection, as it is
    assert projector_db._connection is None  # not kept for the next invocation
    projector_db.transaction(lambda cursor: cursor.execute(INSERT))
    assert count_inserted(root) == 1


def test_after_a_failover_to_a_read_only_session_the_projector_applies_the_next_batches(projector_db, mariadb, root):
    """The issue's case: the projector's reconnect lands on the demoted writer (1792); once the instance is writable
    again, every later batch in the same warm container applies, and each order is projected exactly once."""
    mariadb.execute("SET GLOBAL TRANSACTION READ ONLY")
    try:
        projector_db.close()
        first = project_batch(projector_db, [created("f1", [("z1", 2)])])
    finally:
        mariadb.execute("SET GLOBAL TRANSACTION READ WRITE")
    assert [o.status for o in first] == [FAILED] and is_transient(first[0].error)
    batches = [[created("f1", [("z1", 2)])], [created("f2", [("z1", 3)])], [created("f3", [("z2", 1)])]]
    for batch in batches:  # the first batch again (the stream's retry), then two new ones
        outcomes = project_batch(projector_db, batch)
        assert [o.status for o in outcomes] == [APPLIED], outcomes
    assert query(root, "SELECT item_id, total_ordered FROM item_totals ORDER BY item_id") == [(b"z1", 5), (b"z2", 1)]


# -- the connection is dead ------------------------------------------------------------------------------------

def _sleep_killed_by(mariadb, kill: str):
    """Work whose first run is a long statement that root kills; later runs return at once."""
    runs = []

    def work(cursor):
        runs.append(1)
        if len(runs) == 1:
            cursor.execute("SELECT CONNECTION_ID()")
            victim = cursor.fetchone()[0]
            later(0.3, lambda: mariadb.execute(f"{kill} {int(victim)}"))
            cursor.execute("SELECT SLEEP(5)")
        cursor.execute("SELECT 'answered'")
        return cursor.fetchone()[0]

    return work, runs


@pytest.mark.parametrize(("kill", "code"), [("KILL QUERY", 1317), ("KILL CONNECTION", 2013)])
def test_a_killed_statement_or_connection_is_run_again_on_a_new_connection(reader_db, mariadb, seen, kill, code):
    before = thread_id(reader_db)
    work, runs = _sleep_killed_by(mariadb, kill)
    assert reader_db.read(work) == "answered" and len(runs) == 2
    assert seen == [code] and thread_id(reader_db) != before


def test_a_session_closed_by_the_server_for_idleness_is_run_again(migrated, seen):
    """Without knowing the server's timeout and without a ping (both below), the first statement meets 2006."""
    database = Database(settings_for(READER), session_sql=("SET SESSION wait_timeout = 1",), ping_after=float("inf"))
    try:
        before = thread_id(database)
        time.sleep(2.5)
        assert thread_id(database) != before
        assert seen and seen[0] in (2006, 2013)  # MariaDB resets the socket (2006); MySQL 8 says 4031 first (2013)
    finally:
        database.close()


def test_too_many_connections_is_waited_out_within_the_budget(reader_db, mariadb, seen):
    reader_db.close()
    mariadb.execute("SET GLOBAL max_connections = 10")  # MariaDB's minimum; root keeps its extra connection
    hogs = []
    try:
        with pytest.raises(pymysql.err.OperationalError) as full:
            for _ in range(11):
                hogs.append(pymysql.connect(host=mariadb.host, port=mariadb.port, user=READER,
                                            password=PASSWORDS[READER]))
        assert full.value.args[0] == 1040
        later(1.0, lambda: hogs.pop().close())
        started = time.monotonic()
        assert reader_db.read(lambda cursor: cursor.execute("SELECT 1")) == 1
        assert time.monotonic() - started >= 0.9 and 1040 in seen
    finally:
        mariadb.execute("SET GLOBAL max_connections = 151")
        for hog in hogs:
            hog.close()


def test_a_refused_iam_token_is_replaced_once(reader_db, monkeypatch, seen):
    tokens = iter(["expired-token", PASSWORDS[READER], "never-asked"])
    monkeypatch.setattr(connection, "auth_token", lambda host, port, user: next(tokens))
    reader_db.close()
    reader_db._token = None
    assert reader_db.read(lambda cursor: cursor.execute("SELECT 1")) == 1
    assert seen == [1045]


def test_a_login_refused_twice_is_not_retried_in_a_loop(reader_db, monkeypatch):
    monkeypatch.setattr(connection, "auth_token", lambda host, port, user: "wrong")
    reader_db.close()
    reader_db._token = None
    started = time.monotonic()
    with pytest.raises(pymysql.err.OperationalError) as refused:
        reader_db.read(lambda cursor: cursor.execute("SELECT 1"))
    assert refused.value.args[0] == 1045 and time.monotonic() - started < 10  # not the 35 s budget


def test_a_lock_wait_timeout_is_run_again_on_the_same_connection(migrated, mariadb, seen):
    database = Database(settings_for(PROJECTOR), session_sql=PROJECTOR_SESSION
                        + ("SET SESSION innodb_lock_wait_timeout = 1",))
    holder = mariadb.root_connection(migrated)
    try:
        database.transaction(lambda cursor: cursor.execute(INSERT))
        before = thread_id(database)
        with holder.cursor() as cursor:
            cursor.execute("START TRANSACTION")
            cursor.execute("SELECT * FROM item_totals WHERE item_id = 'fault' FOR UPDATE")
        committer = later(1.5, holder.commit)
        database.transaction(lambda cursor: cursor.execute(
            "UPDATE item_totals SET total_ordered = total_ordered + 1 WHERE item_id = 'fault'"))
        committer.join()  # the holder's connection is the committer's until its COMMIT was answered
        assert 1205 in seen and thread_id(database) == before
        assert query(holder, "SELECT total_ordered FROM item_totals WHERE item_id = 'fault'") == [(2,)]
    finally:
        holder.close()
        database.close()


@pytest.mark.parametrize("cut", ["reset", "drop_next_command", "blackhole"])
def test_a_connection_cut_by_the_network_is_run_again_on_a_new_one(through_proxy, migrated, seen, cut):
    """reset: an RST (a restart); drop_next_command: the connection lost mid statement; blackhole: a writer fenced
    off by a failover, silent until the statement's read timeout."""
    database = Database(settings_for(READER), ping_after=float("inf"))
    try:
        before = thread_id(database)
        getattr(through_proxy, cut)()
        assert database.read(lambda cursor: (cursor.execute("SELECT 42"), cursor.fetchone()[0])[1]) == 42
        assert seen and seen[0] in (2006, 2013) and thread_id(database) != before
    finally:
        database.close()


# -- codes MariaDB never sends, answered on the wire by the proxy ----------------------------------------------

@pytest.mark.parametrize(("code", "sqlstate", "message", "close"), [
    (1836, "HY000", "Running in read-only mode", False),
    (1053, "08S01", "Server shutdown in progress", True),
    (1080, "08S01", "Forcing close of thread 12 user: 'cqrs_reader'", True),
    (1927, "70100", "Connection was killed", True),
    (4031, "HY000", "The client was disconnected by the server because of inactivity.", True),
])
def test_errors_the_server_sends_on_the_way_out_drop_the_connection(through_proxy, migrated, seen,
                                                                   code, sqlstate, message, close):
    database = Database(settings_for(READER))
    try:
        before = thread_id(database)
        through_proxy.inject_error(code, sqlstate, message, close=close)
        assert database.read(lambda cursor: (cursor.execute("SELECT 42"), cursor.fetchone()[0])[1]) == 42
        assert seen == [code] and thread_id(database) != before
    finally:
        database.close()


def test_a_deadlock_sent_by_the_server_is_retried_on_the_same_connection(through_proxy, migrated, seen):
    database = Database(settings_for(READER))
    try:
        before = thread_id(database)
        through_proxy.inject_error(1213, "40001", "Deadlock found when trying to get lock", close=False)
        assert thread_id(database) == before and seen == [1213]
    finally:
        database.close()


def test_a_certificate_the_bundle_did_not_sign_is_not_waited_for(db_env, tls_files):
    settings = settings_for(READER)._replace(tls="verify-full", tls_ca=tls_files["other_ca"])
    database = Database(settings)
    started = time.monotonic()
    with pytest.raises(pymysql.err.OperationalError):
        database.read(lambda cursor: cursor.execute("SELECT 1"))
    assert time.monotonic() - started < 10  # a configuration error: not waited for like a resume (35 s)
