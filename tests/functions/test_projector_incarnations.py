"""A re-created or restored orders table starts its versions at 1 again, on a new stream: the projector orders
changes by the stream's epoch (its label) before their versions, so the newer incarnation is applied, never
skipped as stale, and records of the old table that arrive late change nothing."""

import json
from datetime import date

import pytest

from orders_db.batches import APPLIED, FAILED, STALE, project_batch
from orders_db.stream_records import PoisonRecord, Revision, parse_record, stream_epoch
from orders_test_support import PROJECTOR, READER, cancelled, created, query, read_model, record, removed

OLD_STREAM = "arn:aws:dynamodb:eu-west-1:123456789012:table/orders/stream/2022-10-13T19:00:00.000"
NEW_STREAM = "arn:aws:dynamodb:eu-west-1:123456789012:table/orders/stream/2023-02-01T08:30:00.250"
SAMPLE = [("z3333", 6), ("z4444", 3)]


def on(stream_arn: str, stream_record: dict) -> dict:
    return {**stream_record, "eventSourceARN": stream_arn}


def statuses(outcomes):
    return [outcome.status for outcome in outcomes]


def totals(root):
    return {
        "items": [(i.decode(), n, d) for i, n, d in query(root, "SELECT * FROM item_totals ORDER BY item_id")],
        "months": [(i.decode(), m, n) for i, m, n in
                   query(root, "SELECT * FROM item_monthly_totals ORDER BY item_id, order_month")],
    }


def test_the_issue_s_reproduction_the_new_table_s_order_replaces_the_old_one(function_handler, lambda_context, root):
    project = function_handler("projector", PROJECTOR)
    get_order = function_handler("get_order", READER)
    assert project({"Records": [on(OLD_STREAM, created("6101", SAMPLE))]}, lambda_context) == {"batchItemFailures": []}

    # The re-created table's stream delivers order 6101 at version 1 again, with other items.
    again = on(NEW_STREAM, created("6101", [("z9999", 1)], "2023-02-02T10:00:00Z"))
    assert project({"Records": [again]}, lambda_context) == {"batchItemFailures": []}

    answer = get_order({"query": "getOrder", "orderId": "6101"}, lambda_context)
    assert answer["queryResult"]["items"] == [{"itemid": "z9999", "quantity": 1}]
    assert answer["queryResult"]["orderdate"] == "2023-02-02T10:00:00Z"
    assert totals(root) == {"items": [("z9999", 1, date(2023, 2, 2))], "months": [("z9999", date(2023, 2, 1), 1)]}
    assert query(root, "SELECT version, stream_epoch FROM orders") == [(1, "2023-02-01T08:30:00.250000")]


def test_late_records_of_the_old_table_change_nothing(projector_db, root):
    assert statuses(project_batch(projector_db, [on(OLD_STREAM, created("1", SAMPLE))])) == [APPLIED]
    assert statuses(project_batch(projector_db, [on(NEW_STREAM, created("1", [("n", 2)]))])) == [APPLIED]
    settled = read_model(root)
    # The old table's cancellation (version 2) and removal (version 3) arrive after the new table's version 1.
    late = [on(OLD_STREAM, cancelled("1", SAMPLE)), on(OLD_STREAM, removed("1", SAMPLE, version=3))]
    assert statuses(project_batch(projector_db, late)) == [STALE, STALE]
    assert read_model(root) == settled


def test_a_tombstone_of_the_old_table_does_not_hide_the_new_incarnation(projector_db, root):
    project_batch(projector_db, [on(OLD_STREAM, created("7", SAMPLE)), on(OLD_STREAM, removed("7", SAMPLE))])
    assert query(root, "SELECT status FROM orders") == [("removed",)]
    assert statuses(project_batch(projector_db, [on(NEW_STREAM, created("7", [("z1", 4)]))])) == [APPLIED]
    assert query(root, "SELECT version, status FROM orders") == [(1, "orderCreated")]
    assert totals(root)["items"] == [("z1", 4, date(2022, 10, 13))]


def test_within_one_batch_the_newer_table_wins_whatever_the_order(projector_db, root):
    batch = [on(NEW_STREAM, created("8", [("new", 1)])), on(OLD_STREAM, cancelled("8", SAMPLE, version=5))]
    assert statuses(project_batch(projector_db, batch)) == [APPLIED, STALE]
    assert query(root, "SELECT version, status FROM orders") == [(1, "orderCreated")]


def test_rows_projected_before_epochs_were_recorded_take_the_epoch_of_their_next_change(projector_db, root):
    assert statuses(project_batch(projector_db, [on(OLD_STREAM, cancelled("9", SAMPLE))])) == [APPLIED]
    query(root, "UPDATE orders SET stream_epoch = ''")  # as migration 0005 leaves existing rows
    settled = read_model(root)
    # An older version is stale whatever its stream; the same version from a known stream fills the epoch in.
    assert statuses(project_batch(projector_db, [on(NEW_STREAM, created("9", SAMPLE))])) == [STALE]
    assert statuses(project_batch(projector_db, [on(OLD_STREAM, cancelled("9", SAMPLE))])) == [APPLIED]
    assert {table: rows for table, rows in read_model(root).items() if table != "orders"} == \
        {table: rows for table, rows in settled.items() if table != "orders"}
    assert query(root, "SELECT version, status, stream_epoch FROM orders") == [
        (2, "orderCancelled", "2022-10-13T19:00:00.000000")]
    assert statuses(project_batch(projector_db, [on(OLD_STREAM, cancelled("9", SAMPLE))])) == [STALE]


def test_a_record_without_a_stream_arn_is_ordered_by_version_alone(projector_db, root):
    bare = created("10", SAMPLE)
    del bare["eventSourceARN"]
    assert statuses(project_batch(projector_db, [on(NEW_STREAM, cancelled("10", SAMPLE))])) == [APPLIED]
    assert statuses(project_batch(projector_db, [bare])) == [STALE]


@pytest.mark.parametrize("arn", ["arn:aws:dynamodb:eu-west-1:1:table/orders", "x/stream/" + "9" * 65,
                                 "arn:aws:dynamodb:eu-west-1:1:table/orders/stream/", 42])
def test_a_record_whose_stream_arn_is_not_one_fails_alone(projector_db, arn):
    bad = on(arn, created("11", SAMPLE))
    outcomes = project_batch(projector_db, [bad, on(NEW_STREAM, created("12", SAMPLE))])
    assert statuses(outcomes) == [FAILED, APPLIED]
    assert isinstance(outcomes[0].error, PoisonRecord)


def test_stream_labels_become_epochs_whose_text_order_is_time_order():
    labels = ["2022-10-13T19:00:00", "2022-10-13T19:00:00.5", "2022-10-13T19:00:00.999", "2022-10-13T19:00:01.000"]
    epochs = [stream_epoch(f"arn:aws:dynamodb:us-east-1:1:table/t/stream/{label}") for label in labels]
    assert epochs == sorted(epochs) and len(set(epochs)) == 4
    assert stream_epoch(None) == "" and stream_epoch("a/stream/opaque-label") == "opaque-label"
    assert parse_record(on(NEW_STREAM, created("1", SAMPLE))).epoch == "2023-02-01T08:30:00.250000"


@pytest.mark.parametrize(("new", "old", "expected"), [
    (Revision("b", 1, False), Revision("a", 9, True), True),  # a newer table
    (Revision("a", 9, True), Revision("b", 1, False), False),  # an older table
    (Revision("a", 2, False), Revision("a", 1, False), True),
    (Revision("a", 1, True), Revision("a", 1, False), True),  # a removal outranks the version it removed
    (Revision("a", 1, False), Revision("a", 1, False), False),  # a duplicate
    (Revision("a", 1, False), Revision("", 1, False), True),  # fills in an unknown epoch
    (Revision("a", 1, False), Revision("", 2, False), False),
    (Revision("", 2, False), Revision("a", 1, False), True),  # unknown: by version alone
    (Revision("", 1, False), Revision("a", 1, False), False),
    (Revision("a", 1, False), None, True),
])
def test_revision_order(new, old, expected):
    assert new.supersedes(old) is expected


def test_the_repro_record_shapes_are_those_of_the_stream():
    # The helper's records are what Lambda delivers: the stream ARN is the field the epoch comes from.
    assert json.loads(json.dumps(on(NEW_STREAM, record("INSERT", "1", new={}))))["eventSourceARN"] == NEW_STREAM
