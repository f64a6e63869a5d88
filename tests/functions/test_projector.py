"""The projector against a real MariaDB: idempotence, order safety, cancellations, removals, failure
isolation, and a database that disappears mid-batch."""

import json
from datetime import date

import pymysql
import pytest
from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError

from orders_db.batches import APPLIED, FAILED, STALE, project_batch
from projector.handler import database
from orders_test_support import PROJECTOR, cancelled, created, image, query, read_model, record, removed

A, B = [("z3333", 6), ("z4444", 3)], [("z3333", 1)]


def statuses(outcomes):
    return [outcome.status for outcome in outcomes]


def totals(root):
    return {
        "items": [(i.decode(), n, d) for i, n, d in query(root, "SELECT * FROM item_totals ORDER BY item_id")],
        "months": [
            (i.decode(), m, n)
            for i, m, n in query(root, "SELECT * FROM item_monthly_totals ORDER BY item_id, order_month")
        ],
    }


def test_records_delivered_again_or_late_change_nothing(projector_db, root):
    first = [created("1", A), created("2", A), cancelled("1", A)]
    assert statuses(project_batch(projector_db, first)) == [STALE, APPLIED, APPLIED]  # 1 superseded in the batch
    settled = read_model(root)

    assert statuses(project_batch(projector_db, first)) == [STALE, STALE, STALE]  # a replayed batch
    assert statuses(project_batch(projector_db, [first[0], first[0]])) == [STALE, STALE]  # older than stored
    assert read_model(root) == settled
    assert query(root, "SELECT order_id, version, status FROM orders ORDER BY order_id") == [
        (b"1", 2, "orderCancelled"),
        (b"2", 1, "orderCreated"),
    ]


def test_within_a_batch_the_newest_version_wins_whatever_the_order(projector_db, root):
    outcomes = project_batch(projector_db, [cancelled("1", A), created("1", A), cancelled("1", A)])
    assert statuses(outcomes) == [APPLIED, STALE, STALE]
    assert query(root, "SELECT status, version FROM orders") == [("orderCancelled", 2)]
    assert totals(root) == {"items": [], "months": []}


def test_a_cancellation_subtracts_the_order_and_moves_the_last_order_date_back(projector_db, root):
    project_batch(
        projector_db,
        [
            created("early", [("z1", 2)], "2022-09-30T23:59:59Z"),
            created("late", [("z1", 5), ("z2", 1), ("z1", 1)], "2022-10-13T19:00:00Z"),
        ],
    )
    assert totals(root) == {
        "items": [("z1", 8, date(2022, 10, 13)), ("z2", 1, date(2022, 10, 13))],
        "months": [("z1", date(2022, 9, 1), 2), ("z1", date(2022, 10, 1), 6), ("z2", date(2022, 10, 1), 1)],
    }
    project_batch(projector_db, [cancelled("late", [("z1", 5), ("z2", 1), ("z1", 1)], "2022-10-13T19:00:00Z")])
    # z2 sold nothing that counts any more, so it leaves the reports instead of showing zero.
    assert totals(root) == {"items": [("z1", 2, date(2022, 9, 30))], "months": [("z1", date(2022, 9, 1), 2)]}


def test_a_cancellation_of_an_older_order_keeps_the_last_order_date(projector_db, root):
    project_batch(projector_db, [created("old", B, "2021-01-01T00:00:00Z"), created("new", B, "2023-05-05T05:05:05Z")])
    project_batch(projector_db, [cancelled("old", B, "2021-01-01T00:00:00Z")])
    assert totals(root) == {"items": [("z3333", 1, date(2023, 5, 5))], "months": [("z3333", date(2023, 5, 1), 1)]}


def test_a_removed_order_is_subtracted_and_cannot_come_back(projector_db, root):
    project_batch(projector_db, [created("1", A), created("2", B)])
    assert statuses(project_batch(projector_db, [removed("1", A)])) == [APPLIED]
    assert query(root, "SELECT order_id, version, status FROM orders ORDER BY order_id") == [
        (b"1", 1, "removed"),
        (b"2", 1, "orderCreated"),
    ]
    assert query(root, "SELECT COUNT(*) FROM order_lines WHERE order_id = '1'") == [(0,)]
    assert totals(root)["items"] == [("z3333", 1, date(2022, 10, 13))]
    settled = read_model(root)

    # The insert and a cancellation arriving after the removal are older: they must not resurrect it.
    assert statuses(project_batch(projector_db, [created("1", A), cancelled("1", A, version=1)])) == [STALE, STALE]
    assert read_model(root) == settled


def test_a_removal_delivered_before_its_order_leaves_a_tombstone(projector_db, root):
    assert statuses(project_batch(projector_db, [removed("9", A, version=2, status="orderCancelled")])) == [APPLIED]
    assert statuses(project_batch(projector_db, [created("9", A), cancelled("9", A)])) == [STALE, STALE]
    assert query(root, "SELECT version, status FROM orders") == [(2, "removed")]
    assert totals(root) == {"items": [], "months": []}


def session_reads(database):
    """Statements that read rows (SELECT) the database's session has run so far."""
    def read(cursor):
        cursor.execute("SHOW SESSION STATUS LIKE 'Com_select'")
        return int(cursor.fetchone()[1])

    return database.read(read)


def test_a_batch_of_new_orders_is_written_without_reading_the_read_model(projector_db, root):
    before = session_reads(projector_db)
    assert statuses(project_batch(projector_db, [created("1", A), created("2", B)])) == [APPLIED, APPLIED]
    assert session_reads(projector_db) == before
    assert totals(root)["items"] == [("z3333", 7, date(2022, 10, 13)), ("z4444", 3, date(2022, 10, 13))]


def test_new_orders_beside_one_delivered_again_are_applied_once(projector_db, root):
    """The plain INSERT of the new orders fails on the stored one and writes nothing; the batch is then applied
    against the stored revisions, in the same transaction."""
    project_batch(projector_db, [created("2", B)])
    outcomes = project_batch(projector_db, [created("1", A), created("2", B), created("3", B)])
    assert statuses(outcomes) == [APPLIED, STALE, APPLIED]
    assert query(root, "SELECT order_id, version FROM orders ORDER BY order_id") == [(b"1", 1), (b"2", 1), (b"3", 1)]
    assert query(root, "SELECT COUNT(*) FROM order_lines") == [(4,)]
    assert totals(root)["items"] == [("z3333", 8, date(2022, 10, 13)), ("z4444", 3, date(2022, 10, 13))]


def test_a_poison_record_in_the_middle_fails_alone(function_handler, root, lambda_context, caplog):
    handler = function_handler("projector", PROJECTOR)
    poison = record("INSERT", "bad", new=image("bad", 1, "orderCreated", "yesterday", A))
    batch = [created("1", A), created("2", A), poison, created("3", A), cancelled("1", A)]

    response = handler({"Records": batch}, lambda_context)

    assert response == {"batchItemFailures": [{"itemIdentifier": poison["dynamodb"]["SequenceNumber"]}]}
    assert query(root, "SELECT order_id, status FROM orders ORDER BY order_id") == [
        (b"1", "orderCancelled"),
        (b"2", "orderCreated"),
        (b"3", "orderCreated"),
    ]
    assert totals(root)["items"] == [("z3333", 12, date(2022, 10, 13)), ("z4444", 6, date(2022, 10, 13))]
    failure = next(vars(r) for r in caplog.records if r.getMessage() == "record not applied")
    assert (failure["orderId"], failure["eventID"]) == ("bad", poison["eventID"])
    assert "orderDate" in failure["error"]


def test_a_record_the_database_rejects_fails_alone(projector_db, function_handler, root, lambda_context):
    # A statement failing on one record's data, whatever the cause: here a trigger refuses one order id.
    with root.cursor() as cursor:
        cursor.execute(
            "CREATE TRIGGER refuse_order BEFORE INSERT ON orders FOR EACH ROW"
            " IF NEW.order_id = 'refused' THEN SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'refused'; END IF"
        )
    handler = function_handler("projector", PROJECTOR)
    rejected = created("refused", A)
    batch = [created("1", A), created("2", B), rejected, created("3", B), cancelled("2", B)]

    response = handler({"Records": batch}, lambda_context)

    assert response == {"batchItemFailures": [{"itemIdentifier": rejected["dynamodb"]["SequenceNumber"]}]}
    assert query(root, "SELECT order_id, status FROM orders ORDER BY order_id") == [
        (b"1", "orderCreated"),
        (b"2", "orderCancelled"),
        (b"3", "orderCreated"),
    ]
    assert totals(root)["items"] == [("z3333", 7, date(2022, 10, 13)), ("z4444", 3, date(2022, 10, 13))]


def test_totals_contradicted_by_hand_fail_the_affected_record_loudly(function_handler, root, lambda_context):
    handler = function_handler("projector", PROJECTOR)
    handler({"Records": [created("1", A), created("2", B)]}, lambda_context)
    query(root, "DELETE FROM item_totals WHERE item_id = 'z4444'")  # order 1 was counted in it
    doomed = cancelled("1", A)

    response = handler({"Records": [doomed, created("3", B)]}, lambda_context)

    assert response == {"batchItemFailures": [{"itemIdentifier": doomed["dynamodb"]["SequenceNumber"]}]}
    assert query(root, "SELECT order_id, status FROM orders ORDER BY order_id") == [
        (b"1", "orderCreated"),
        (b"2", "orderCreated"),
        (b"3", "orderCreated"),
    ]


def test_the_handler_reports_counts_as_metrics_and_fails_when_nothing_applies(
    function_handler, lambda_context, capsys
):
    handler = function_handler("projector", PROJECTOR)
    handler({"Records": [created("1", A), created("1", A)]}, lambda_context)
    emf = [json.loads(line) for line in capsys.readouterr().out.splitlines() if '"_aws"' in line]
    assert emf[-1]["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "CqrsOrders"
    counts = (emf[-1]["RecordsApplied"], emf[-1]["RecordsSkippedStale"], emf[-1]["RecordsFailed"])
    assert counts == ([1.0], [1.0], [0.0])

    with pytest.raises(BatchProcessingError):  # every record failed: the whole batch is retried
        handler({"Records": [record("INSERT", "x"), record("MODIFY", "y")]}, lambda_context)
    emf = [json.loads(line) for line in capsys.readouterr().out.splitlines() if '"_aws"' in line]
    assert emf[-1]["RecordsFailed"] == [2.0]


@pytest.fixture
def before_projector_statement(monkeypatch):
    """before_projector_statement(n, action): call action(connection) before the projector's n-th statement."""

    def arm(number, action):
        original = pymysql.cursors.Cursor.execute
        seen = 0

        def execute(cursor, sql, args=None):
            nonlocal seen
            if cursor.connection.user in (PROJECTOR, PROJECTOR.encode()):
                seen += 1
                if seen == number:
                    action(cursor.connection)
            return original(cursor, sql, args)

        monkeypatch.setattr(pymysql.cursors.Cursor, "execute", execute)

    return arm


# The projector's 6th statement on its first connection (after the session setup, the order locks, the old
# lines, the orders upsert and the old lines' deletion) inserts the new lines: the transaction is half done.
HALF_DONE = 6


def test_a_connection_dropped_mid_batch_is_retried_on_a_new_one(
    function_handler, root, mariadb, before_projector_statement, lambda_context
):
    handler = function_handler("projector", PROJECTOR)
    handler({"Records": [created("1", A)]}, lambda_context)  # opens the connection the kill will hit
    killed = []

    def kill(connection):
        killed.append(connection.thread_id())
        mariadb.execute("KILL CONNECTION %s", (connection.thread_id(),))

    before_projector_statement(HALF_DONE - 1, kill)  # no session setup this time: the connection exists
    response = handler({"Records": [cancelled("1", A), created("2", B), created("3", A)]}, lambda_context)

    assert response == {"batchItemFailures": []}
    assert killed and database()._connection.thread_id() != killed[0]  # the batch ran again, on a new connection
    assert query(root, "SELECT order_id, status FROM orders ORDER BY order_id") == [
        (b"1", "orderCancelled"),
        (b"2", "orderCreated"),
        (b"3", "orderCreated"),
    ]
    assert totals(root)["items"] == [("z3333", 7, date(2022, 10, 13)), ("z4444", 3, date(2022, 10, 13))]


def test_a_database_crash_mid_batch_leaves_nothing_half_applied(
    projector_db, mariadb, migrated, before_projector_statement
):
    project_batch(projector_db, [created("1", A)])
    projector_db.close()
    root = mariadb.root_connection(migrated)
    before = read_model(root)
    root.close()
    batch = [cancelled("1", A), created("2", B), created("3", A)]

    before_projector_statement(HALF_DONE, lambda connection: mariadb.kill())
    outcomes = project_batch(projector_db, batch)

    assert statuses(outcomes) == [FAILED, FAILED, FAILED]  # reported, so the stream delivers them again
    assert all(isinstance(outcome.error, pymysql.err.OperationalError) for outcome in outcomes)
    mariadb.restart()
    root = mariadb.root_connection(migrated)
    try:
        assert read_model(root) == before
        assert statuses(project_batch(projector_db, batch)) == [APPLIED, APPLIED, APPLIED]
        assert [status for (status,) in query(root, "SELECT status FROM orders ORDER BY order_id")] == [
            "orderCancelled",
            "orderCreated",
            "orderCreated",
        ]
        assert totals(root)["items"] == [("z3333", 7, date(2022, 10, 13)), ("z4444", 3, date(2022, 10, 13))]
    finally:
        root.close()
