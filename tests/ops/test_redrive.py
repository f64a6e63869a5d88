"""Redrive, in process against moto and a real MariaDB: poison records in the on-failure queue are projected from
the table once their data is fixed, still-failing ones stay and are named, and batches whose records the stream
no longer holds are resolved by a rebuild."""

from __future__ import annotations

from ops.core import inline, redrive


def poison(world, order_id: str) -> dict:
    """An order, then its version 2 written behind the workflow's back with a date the projector refuses."""
    item = world.put(order_id, [("z1", 2)])
    item["orderDate"], item["version"] = {"S": "13/10/2022"}, {"N": "2"}
    world.clients["dynamodb"].put_item(TableName=world.table_name, Item=item)
    return item


def fix(world, order_id: str) -> None:
    world.clients["dynamodb"].update_item(
        TableName=world.table_name, Key={"orderId": {"S": order_id}}, UpdateExpression="SET orderDate = :d",
        ExpressionAttributeValues={":d": {"S": "2022-10-13T19:00:00Z"}})


def redrive_now(ops) -> dict:
    table, queue, readside = ops
    return redrive.redrive(table, queue, readside)


def test_a_fixed_poison_record_is_projected_and_its_message_deleted_a_still_failing_one_stays(world, ops):
    world.traffic(5)
    poison(world, "bad-1")
    poison(world, "bad-2")
    failed = world.project_stream()
    assert sorted(r["dynamodb"]["Keys"]["orderId"]["S"] for r in failed) == ["bad-1", "bad-2"]
    assert world.queue_depth() == 2  # each order's version 2 failed

    untouched = redrive_now(ops)
    assert (untouched["messages"], untouched["redriven"], untouched["stillFailing"]) == (2, 0, 2)
    assert sorted(f["orderIds"][0] for f in untouched["failures"]) == ["bad-1", "bad-2"]
    assert "orderDate" in untouched["failures"][0]["errors"][0]
    assert world.queue_depth() == 2

    fix(world, "bad-1")  # its fix's own stream record is not delivered: the redrive alone must project it
    summary = redrive_now(ops)

    assert (summary["redriven"], summary["stillFailing"], summary["queueDepth"]) == (1, 1, 1)
    assert summary["ordersApplied"] == 1
    assert [f["orderIds"] for f in summary["failures"]] == [["bad-2"]]
    assert world.sql("SELECT order_id, version FROM orders WHERE order_id LIKE 'bad-%%' ORDER BY order_id") == [
        (b"bad-1", 2), (b"bad-2", 1)]
    assert world.project_stream() == []  # the fix's record, now stale
    fix(world, "bad-2")
    assert redrive_now(ops)["redriven"] == 1 and world.queue_depth() == 0
    assert world.snapshot() == world.reference()


def test_an_order_deleted_from_the_table_since_is_removed_from_the_read_model(world, ops):
    world.put("gone", [("z1", 1)])
    world.project_stream()
    shard = world.clients["dynamodbstreams"].describe_stream(StreamArn=world.stream_arn)[
        "StreamDescription"]["Shards"][0]
    world.send_failure(shard["ShardId"], shard["SequenceNumberRange"]["StartingSequenceNumber"])
    world.clients["dynamodb"].delete_item(TableName=world.table_name, Key={"orderId": {"S": "gone"}})

    summary = redrive_now(ops)

    assert summary["redriven"] == 1 and summary["ordersRemoved"] == 1
    assert world.sql("SELECT status FROM orders") == [("removed",)]
    assert world.sql("SELECT COUNT(*) FROM item_totals") == [(0,)]


def test_a_batch_the_stream_no_longer_holds_waits_for_a_rebuild_then_goes(world, ops):
    world.traffic(20)
    world.project_stream()
    shard = world.clients["dynamodbstreams"].describe_stream(StreamArn=world.stream_arn)[
        "StreamDescription"]["Shards"][0]
    # Records trimmed after 24 hours: the stream no longer has the batch's first sequence number.
    world.send_failure(shard["ShardId"], "9" * 22)
    world.sql("DELETE FROM order_lines WHERE order_id = 'o-00001'")  # what the lost batch would have written
    world.sql("DELETE FROM orders WHERE order_id = 'o-00001'")

    waiting = redrive_now(ops)
    assert (waiting["needRebuild"], waiting["queueDepth"]) == (1, 1)
    assert "rebuild" in waiting["failures"][0]["errors"][0]

    table, _, readside = ops
    inline.run("rebuild", table, readside, segments=2)
    summary = redrive_now(ops)

    assert (summary["resolvedByRebuild"], summary["queueDepth"]) == (1, 0)
    assert world.sql("SELECT COUNT(*) FROM orders WHERE order_id = 'o-00001'") == [(1,)]


def test_a_message_that_is_not_an_on_failure_message_stays_and_is_reported(world, ops):
    world.clients["sqs"].send_message(QueueUrl=world.queue_url, MessageBody="hello")
    summary = redrive_now(ops)
    assert summary["unreadable"] == 1 and world.queue_depth() == 1
