"""Faults end to end: nothing lost, nothing applied twice."""

import json
import threading
import time

import pytest

from components.database import PROJECTOR_DB_USER
from localcloud.eventbridge import MAX_ENTRY_BYTES, entry_size
from localcloud.events_file import for_bus
from tests.localcloud.conftest import command, function_name, put, query, send, unique

READ_MODELS = ("orders", "order_lines", "item_totals", "item_monthly_totals")

pytestmark = pytest.mark.xdist_group("localcloud")


def create(order_id: str, item: str, quantity: int) -> dict:
    return command({"command": "createOrder", "orderId": order_id,
                    "items": [{"itemid": item, "quantity": quantity}, {"itemid": item + "-b", "quantity": 1}]})


def settle_with_fault(cloud, fault) -> int:
    """Settle with `fault(batch)` called before each projector invocation; returns how many invocations failed."""
    failed_before = cloud.poller.delivery.failed_invocations
    cloud.poller.before_invoke = fault
    try:
        cloud.settle()
    finally:
        cloud.poller.before_invoke = None
    return cloud.poller.delivery.failed_invocations - failed_before


def crashed_and_failed(cloud, failed_before: int) -> bool:
    """The database is down and a batch failed since: time to restart it (the shards run in parallel, so the
    invocation after the crash may be another shard's, sent before the crash's own batch failed)."""
    return cloud.poller.delivery.failed_invocations > failed_before and not cloud.database.running


def snapshot(cloud) -> dict:
    return {table: sorted(cloud.read_model(f"SELECT * FROM {table}"))  # table names are constants
            for table in READ_MODELS}


def test_the_database_dies_mid_stream_and_comes_back_every_order_projected_exactly_once(cloud):
    item = unique("crash-item")
    orders = [unique("crash") for _ in range(30)]
    put(cloud, [create(order, item, n + 1) for n, order in enumerate(orders)])
    cloud.wait_for_executions()
    invocations, failed_before = [], cloud.poller.delivery.failed_invocations

    def fault(batch):  # called before each invocation, one at a time, whichever shard the batch is from
        invocations.append(len(batch))
        if len(invocations) == 1:
            cloud.crash_database()  # the projector's warm connection dies under it
        elif crashed_and_failed(cloud, failed_before):
            cloud.restart_database()

    failed = settle_with_fault(cloud, fault)
    assert len(invocations) >= 2
    assert failed > 0  # the batch really failed while the database was down
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


def test_the_database_dies_during_a_batch_invocation_and_comes_back_every_order_projected_exactly_once(cloud):
    item = unique("mid-item")
    orders = [unique("mid") for _ in range(20)]
    put(cloud, [create(order, item, n + 1) for n, order in enumerate(orders)])
    cloud.wait_for_executions()
    # The projector's first statement waits behind these locks, so the crash finds its transaction in flight.
    lock = cloud.database.root_connection("orders")
    lock.cursor().execute("LOCK TABLES " + ", ".join(f"{table} WRITE" for table in READ_MODELS))
    crashed = threading.Event()

    def crash_once_the_projector_waits():
        deadline = time.monotonic() + 8  # before the projector's 10 s read timeout
        while time.monotonic() < deadline:
            waiting = cloud.read_model("SELECT COUNT(*) FROM information_schema.processlist "
                                       "WHERE user = %s AND state LIKE 'Waiting for table%%'", (PROJECTOR_DB_USER,))
            if waiting != [(0,)]:
                cloud.crash_database()
                crashed.set()
                return
            time.sleep(0.02)
        lock.close()

    invocations, failed_before = [], cloud.poller.delivery.failed_invocations

    def fault(batch):  # called before each invocation, one at a time, whichever shard the batch is from
        invocations.append(len(batch))
        if len(invocations) == 1:
            threading.Thread(target=crash_once_the_projector_waits, daemon=True).start()
        elif crashed.is_set() and crashed_and_failed(cloud, failed_before):
            cloud.restart_database()

    try:
        failed = settle_with_fault(cloud, fault)
    finally:
        if lock.open:
            lock.close()
    assert crashed.is_set() and cloud.database.running
    assert failed > 0
    assert cloud.read_model("SELECT COUNT(*) FROM orders WHERE order_id LIKE 'mid-%%'") == [(20,)]
    assert cloud.read_model("SELECT COUNT(*) FROM order_lines WHERE order_id LIKE 'mid-%%'") == [(40,)]
    assert cloud.read_model("SELECT total_ordered FROM item_totals WHERE item_id = %s", (item,)) == [(sum(range(1, 21)),)]
    assert cloud.read_model("SELECT total_ordered FROM item_totals WHERE item_id = %s", (item + "-b",)) == [(20,)]
    assert cloud.read_model("SELECT SUM(total_ordered) FROM item_monthly_totals WHERE item_id IN (%s, %s)",
                            (item, item + "-b")) == [(sum(range(1, 21)) + 20,)]
    assert cloud.queue_messages(cloud.outputs["ProjectorDlqUrl"]) == []


def test_a_query_function_that_times_out_answers_500_fails_the_execution_and_recovers(cloud):
    order = unique("slow")
    send(cloud, [create(order, unique("slow-item"), 2)])
    get_order = function_name(cloud, "get_order")
    functions = cloud.clients["lambda"]
    timeout = functions.get_function_configuration(FunctionName=get_order)["Timeout"]
    functions.update_function_configuration(FunctionName=get_order, Timeout=1)
    lock = cloud.database.root_connection("orders")
    lock.cursor().execute("LOCK TABLES orders WRITE, order_lines WRITE")  # the query blocks: a slow database
    failed_before, calls_before = cloud.execution_statuses().count("FAILED"), len(cloud.runtime.invocations)
    try:
        [response] = send(cloud, [query({"query": "getOrder", "orderId": order})])
    finally:
        lock.close()
        functions.update_function_configuration(FunctionName=get_order, Timeout=timeout)
    errors = [error for name, error in cloud.runtime.invocations[calls_before:] if name == get_order]
    assert errors and set(errors) == {"Sandbox.Timedout"}  # each try timed out (and was retried)
    assert (response["queryStatus"], response["queryResult"]) == (500, None)
    assert cloud.execution_statuses().count("FAILED") == failed_before + 1
    [again] = send(cloud, [query({"query": "getOrder", "orderId": order})])  # a new environment answers
    assert again["queryStatus"] == 200 and again["queryResult"]["orderid"] == order


def test_an_event_whose_execution_input_exceeds_the_quota_goes_to_the_target_dlq_without_retries(cloud):
    detail = {"command": "createOrder", "orderId": unique("huge"), "items": [{"itemid": "h", "quantity": 1}],
              "padding": ""}
    detail["padding"] = "x" * (MAX_ENTRY_BYTES - 1 - entry_size(command(detail)))
    entry = command(detail)
    assert entry_size(entry) == MAX_ENTRY_BYTES - 1  # PutEvents takes it; the envelope around it is larger
    starts = []
    start_execution = cloud.bridge.start_execution
    cloud.bridge.start_execution = lambda *args: (starts.append(args[1]), start_execution(*args))
    executions = len(cloud.executions)
    try:
        [result] = cloud.put_events(for_bus([entry], cloud.outputs["EventBridgeARN"]))
        cloud.settle()
    finally:
        cloud.bridge.start_execution = start_execution
    assert "EventId" in result and len(starts) == 1  # a client error: not retried
    assert len(cloud.executions) == executions  # no execution, so none failed
    [message] = cloud.queue_messages(cloud.outputs["EventTargetDlqUrl"])
    envelope = json.loads(message["Body"])
    assert envelope["id"] == result["EventId"] and envelope["detail"] == detail
    assert len(json.dumps(envelope, ensure_ascii=False, separators=(",", ":")).encode()) > 256 * 1024
    assert "262144" in message["MessageAttributes"]["ERROR_MESSAGE"]["StringValue"]
    stored = cloud.clients["dynamodb"].get_item(TableName=cloud.outputs["OrdersTableName"],
                                                Key={"orderId": {"S": detail["orderId"]}})
    assert "Item" not in stored
