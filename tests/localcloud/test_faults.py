"""Faults end to end: nothing lost, nothing applied twice."""

import json

import pytest

from tests.localcloud.conftest import command, put, unique

pytestmark = pytest.mark.xdist_group("localcloud")


def create(order_id: str, item: str, quantity: int) -> dict:
    return command({"command": "createOrder", "orderId": order_id,
                    "items": [{"itemid": item, "quantity": quantity}, {"itemid": item + "-b", "quantity": 1}]})


def snapshot(cloud) -> dict:
    return {table: sorted(cloud.read_model(f"SELECT * FROM {table}"))  # table names are constants
            for table in ("orders", "order_lines", "item_totals", "item_monthly_totals")}


def test_the_database_dies_mid_stream_and_comes_back_every_order_projected_exactly_once(cloud):
    item = unique("crash-item")
    orders = [unique("crash") for _ in range(30)]
    put(cloud, [create(order, item, n + 1) for n, order in enumerate(orders)])
    cloud.wait_for_executions()
    invocations = []

    def fault(batch):
        invocations.append(len(batch))
        if len(invocations) == 1:
            cloud.crash_database()  # the projector's warm connection dies under it
        elif len(invocations) == 2:
            cloud.restart_database()

    failed_before = cloud.poller.delivery.failed_invocations
    cloud.poller.before_invoke = fault
    try:
        cloud.settle()
    finally:
        cloud.poller.before_invoke = None
    assert len(invocations) >= 2
    assert cloud.poller.delivery.failed_invocations > failed_before  # the batch really failed while it was down
    assert cloud.read_model("SELECT COUNT(*) FROM orders WHERE order_id LIKE 'crash-%%'") == [(30,)]
    assert cloud.read_model("SELECT total_ordered FROM item_totals WHERE item_id = %s", (item,)) == [(sum(range(1, 31)),)]
    assert cloud.read_model("SELECT total_ordered FROM item_totals WHERE item_id = %s", (item + "-b",)) == [(30,)]
    assert cloud.queue_messages(cloud.outputs["ProjectorDlqUrl"]) == []


def test_a_batch_delivered_twice_and_older_versions_after_newer_leave_the_read_model_unchanged(cloud):
    order = unique("replay")
    put(cloud, [create(order, unique("replay-item"), 4)])
    cloud.settle()
    put(cloud, [command({"command": "cancelOrder", "orderId": order})])
    cloud.settle()
    stream_arn = cloud.program.one("aws:dynamodb/table:Table").state["streamArn"]
    streams = cloud.clients["dynamodbstreams"]
    shard = streams.describe_stream(StreamArn=stream_arn)["StreamDescription"]["Shards"][0]["ShardId"]
    iterator = streams.get_shard_iterator(StreamArn=stream_arn, ShardId=shard,
                                          ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
    records = json.loads(json.dumps(streams.get_records(ShardIterator=iterator, Limit=1000)["Records"],
                                    default=lambda moment: moment.timestamp()))
    for record in records:
        record["eventSourceARN"] = stream_arn
    before = snapshot(cloud)
    projector = cloud.program.one("aws:lambda/function:Function", "projector-function").state["arn"]
    for batch in (records, records, list(reversed(records))):
        response, failed = cloud._invoke(projector, {"Records": batch})
        assert not failed and response == {"batchItemFailures": []}
    assert snapshot(cloud) == before
    assert cloud.read_model("SELECT status, version FROM orders WHERE order_id = %s", (order,)) == \
        [("orderCancelled", 2)]
