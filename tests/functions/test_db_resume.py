"""Aurora's lifecycle seen from each database path (migrator, projector, the three query functions), through the
fault proxy: a resume from 0 ACU that holds the TCP handshake or the server's greeting, each path's budget, and
sessions the server closes when idle (so that Aurora can pause) replaced before use, never failing a request."""

from __future__ import annotations

import time

import pytest

from orders_db import connection
from orders_db.connection import Database
from orders_db.schema_migrations import load_migrations
from orders_test_support import MIGRATIONS_DIR, PROJECTOR, READER, LambdaContext, created, query, settings_for

ORDER = created("r1", [("z3333", 2)])
PATHS = ("migrate", "projector", "get_order", "items_sales_report", "monthly_sales_by_item")
# Each function's Lambda timeout in the program (components/query_side.py; tests/program checks them).
TIMEOUT_MS = {"migrate": 300_000, "projector": 60_000, "get_order": 30_000, "items_sales_report": 30_000,
              "monthly_sales_by_item": 30_000}


def call(function_handler, path: str, remaining_ms: int | None = None):
    """Runs one database path as Lambda would, with `remaining_ms` left (its whole timeout unless given)."""
    context = LambdaContext(remaining_ms=remaining_ms or TIMEOUT_MS[path])
    if path == "migrate":
        from migrate.handler import handler
        return handler({"username": "master", "password": "master-secret"}, context)["current"]
    if path == "projector":
        return function_handler("projector", PROJECTOR)({"Records": [ORDER]}, context)
    detail = {"get_order": {"query": "getOrder", "orderId": "r1"},
              "items_sales_report": {"query": "itemsSalesReport"},
              "monthly_sales_by_item": {"query": "monthlySalesByItem", "itemid": "z3333"}}[path]
    return function_handler(path, READER)(detail, context)["queryStatus"]


EXPECTED = {"migrate": len(load_migrations(MIGRATIONS_DIR)), "projector": {"batchItemFailures": []}, "get_order": 200, "items_sales_report": 200,
            "monthly_sales_by_item": 200}


@pytest.fixture
def ready(through_proxy, migrated, function_handler, lambda_context):
    """The schema and one order in place, every function's connection closed: the database then pauses."""
    function_handler("projector", PROJECTOR)({"Records": [ORDER]}, lambda_context)
    return through_proxy


@pytest.mark.parametrize("hold", ["tcp handshake", "greeting"])
@pytest.mark.parametrize("path", PATHS)
def test_every_database_path_waits_for_a_resuming_database(ready, function_handler, path, hold):
    getattr(ready, "hold_syn" if hold == "tcp handshake" else "hold_greeting")(3)
    started = time.monotonic()
    assert call(function_handler, path) == EXPECTED[path]
    assert time.monotonic() - started >= 2.5


def test_the_migration_survives_a_15_second_resume_held_at_the_tcp_handshake(ready, function_handler):
    """The issue's case: a `pulumi up` while dev is paused. The migrator's invocation has 300 s."""
    ready.hold_syn(15)
    started = time.monotonic()
    assert call(function_handler, "migrate") == EXPECTED["migrate"]
    assert 14.5 <= time.monotonic() - started < 30  # noticed within seconds of the resume's end, not at 178 s


def test_the_projector_survives_a_30_second_resume_within_one_invocation(ready, function_handler, root):
    """A resume after a long pause (30 s and more) fits in the projector's 60 s timeout."""
    ready.hold_greeting(30)
    assert call(function_handler, "projector") == EXPECTED["projector"]
    assert query(root, "SELECT version FROM orders WHERE order_id = 'r1'") == [(1,)]


def test_a_query_function_gives_up_before_its_timeout_and_the_next_attempt_answers(ready, function_handler):
    """The query functions' budget: a connection wait ends 1.5 s before the Lambda timeout with a transient error,
    so the workflow's retry (not a Lambda timeout) runs the query again; a resume longer than one invocation is
    covered by the workflow's retries (tests/statemachine checks that their sum covers 30 s and more)."""
    ready.hold_syn(8)
    started = time.monotonic()
    with pytest.raises(connection.pymysql.err.OperationalError) as waited:
        call(function_handler, "get_order", remaining_ms=5_000)
    elapsed = time.monotonic() - started
    assert waited.value.args[0] == 2003 and 3.0 <= elapsed < 5.0
    time.sleep(8 - elapsed)  # the workflow's retry, once the resume ended
    assert call(function_handler, "get_order", remaining_ms=5_000) == 200


# -- idle sessions -------------------------------------------------------------------------------------------

def session_open(root, thread_id: int) -> bool:
    return query(root, "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE ID = %s", (thread_id,))[0][0] == 1


def test_a_session_the_server_closed_for_idleness_is_replaced_before_use(migrated, root, monkeypatch):
    """dbIdleSessionTimeoutSeconds is the server's wait_timeout and the functions' DB_IDLE_SESSION_TIMEOUT_S: a
    connection idle that long is not used at all (no error, no retry, the work runs once)."""
    settings = settings_for(READER)._replace(idle_session_timeout=2)
    database = Database(settings, session_sql=("SET SESSION wait_timeout = 2",), ping_after=float("inf"))
    classified = []
    monkeypatch.setattr(connection, "action", lambda error: classified.append(error))
    runs = []

    def work(cursor):
        runs.append(1)
        cursor.execute("SELECT CONNECTION_ID()")
        return cursor.fetchone()[0]

    try:
        first = database.read(work)
        time.sleep(3)
        assert not session_open(root, first)  # closed by the server: nothing keeps Aurora awake
        assert database.read(work) != first and runs == [1, 1] and classified == []
    finally:
        database.close()


def test_a_connection_killed_while_idle_is_found_by_a_ping_before_use(migrated, mariadb, monkeypatch):
    database = Database(settings_for(READER), ping_after=0.5)
    classified = []
    monkeypatch.setattr(connection, "action", lambda error: classified.append(error))
    try:
        first = database.read(lambda cursor: (cursor.execute("SELECT CONNECTION_ID()"), cursor.fetchone()[0])[1])
        mariadb.execute(f"KILL CONNECTION {int(first)}")
        time.sleep(0.6)
        second = database.read(lambda cursor: (cursor.execute("SELECT CONNECTION_ID()"), cursor.fetchone()[0])[1])
        assert second != first and classified == []
    finally:
        database.close()


def test_the_idle_timeout_comes_from_the_environment(monkeypatch):
    for name, value in {"DB_HOST": "h", "DB_NAME": "orders", "DB_USER": "u"}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("DB_IDLE_SESSION_TIMEOUT_S", "120")
    assert connection.Settings.from_env().idle_session_timeout == 120
    monkeypatch.setenv("DB_IDLE_SESSION_TIMEOUT_S", "soon")
    with pytest.raises(connection.ConfigurationError, match="DB_IDLE_SESSION_TIMEOUT_S"):
        connection.Settings.from_env()
    monkeypatch.delenv("DB_IDLE_SESSION_TIMEOUT_S")
    assert connection.Settings.from_env().idle_session_timeout is None
