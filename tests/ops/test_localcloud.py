"""`python -m ops` end to end against localcloud: the real program deployed offline, traffic through EventBridge and
the order workflow, and each command driving the deployed ops state machine and functions, as on AWS."""

from __future__ import annotations

import json
import threading
import uuid

import pytest

from tests.localcloud.conftest import cloud, command, put, send, unique  # noqa: F401 (cloud: the fixture)
from tests.ops.localcloud_support import fresh_projection, ops, read_models, sql

pytestmark = pytest.mark.xdist_group("localcloud")


def create(order_id: str, *items: tuple[str, int], time: str = "2022-10-13T19:00:00Z") -> dict:
    return command({"command": "createOrder", "orderId": order_id,
                    "items": [{"itemid": item, "quantity": quantity} for item, quantity in items]}, time)


def cancel(order_id: str) -> dict:
    return command({"command": "cancelOrder", "orderId": order_id})


@pytest.fixture(scope="module")
def traffic(cloud):
    """Orders over several months and items, a third of them cancelled."""
    orders = [unique("e2e") for _ in range(40)]
    send(cloud, [create(order, (f"e2e-item-{n % 5}", n % 4 + 1), ("e2e-common", 1),
                        time=f"2022-{n % 12 + 1:02d}-1{n % 9}T10:00:00Z") for n, order in enumerate(orders)],
         [cancel(order) for order in orders[::3]])
    return orders


def published_drift(cloud) -> list[int]:
    driver = next(f for f in cloud.program.of_type("aws:lambda/function:Function")
                  if f.inputs["handler"] == "ops.core.handlers.driver")
    logs = cloud.clients["logs"]
    paginator = logs.get_paginator("filter_log_events")
    messages = [event["message"] for page in paginator.paginate(logGroupName=driver.inputs["loggingConfig"]["logGroup"])
                for event in page["events"]]
    records = [json.loads(message) for message in messages if message.startswith("{") and '"_aws"' in message]
    values = [record["ReconcileDrift"] for record in sorted(records, key=lambda r: r["_aws"]["Timestamp"])
              if "ReconcileDrift" in record]
    return [int(value[0] if isinstance(value, list) else value) for value in values]


def drop_read_models(cloud) -> None:
    for table in ("order_lines", "orders", "item_totals", "item_monthly_totals"):
        sql(cloud, f"DELETE FROM {table}")


def test_rebuild_after_the_read_models_were_dropped_equals_a_fresh_projection(cloud, traffic, tmp_path):
    drop_read_models(cloud)
    assert read_models(cloud)["orders"] == []

    code, summary, stderr = ops(cloud, tmp_path, "rebuild", "--segments", "3")

    assert code == 0, stderr
    assert summary["failed"] == 0 and summary["countsMatch"] and summary["scanned"] == summary["readModelOrders"]
    assert read_models(cloud) == fresh_projection(cloud, f"reference_{uuid.uuid4().hex[:8]}")


def test_rebuild_while_commands_keep_arriving(cloud, traffic, tmp_path):
    drop_read_models(cloud)
    stop, sent = threading.Event(), []

    def commands():
        while not stop.is_set():
            order = unique("live")
            put(cloud, [create(order, ("e2e-item-1", 2), ("e2e-live", 1))])
            sent.append(order)
            if len(sent) % 2 == 0:
                put(cloud, [cancel(sent[-2])])
            cloud.settle()  # the projector delivers while the rebuild runs

    thread = threading.Thread(target=commands)
    thread.start()
    try:
        code, summary, stderr = ops(cloud, tmp_path, "rebuild", "--segments", "4")
    finally:
        stop.set()
        thread.join()
    cloud.settle()

    assert code == 0, stderr
    assert sent, "no command arrived during the rebuild"
    assert read_models(cloud) == fresh_projection(cloud, f"reference_{uuid.uuid4().hex[:8]}")


def test_reconcile_reports_a_corrupted_total_and_missing_lines_repairs_them_then_finds_none(cloud, traffic, tmp_path):
    code, summary, _ = ops(cloud, tmp_path, "rebuild")
    assert code == 0 and ops(cloud, tmp_path, "reconcile", "--grace", "0")[0] == 0
    standing = next(order for n, order in enumerate(traffic) if n % 3)  # not cancelled: its lines count
    sql(cloud, "UPDATE item_totals SET total_ordered = total_ordered + 7 WHERE item_id = 'e2e-common'")
    sql(cloud, "DELETE FROM order_lines WHERE order_id = %s", (standing,))

    code, found, _ = ops(cloud, tmp_path, "reconcile", "--grace", "0")
    assert code == 1
    assert found["firstIds"]["lines"] == [standing] and "e2e-common" in found["firstIds"]["item_totals"]

    code, repaired, _ = ops(cloud, tmp_path, "reconcile", "--repair", "--grace", "0")
    assert code == 1 and repaired["unrepaired"] == 0 and repaired["repairedOrders"] == 1

    code, clean, _ = ops(cloud, tmp_path, "reconcile", "--grace", "0")
    assert code == 0 and clean["drift"] == 0
    # Each reconcile published its drift (CloudWatch embedded metric format, in the driver's log group).
    assert published_drift(cloud)[-3:] == [found["drift"], repaired["drift"], 0]
    assert read_models(cloud) == fresh_projection(cloud, f"reference_{uuid.uuid4().hex[:8]}")


def test_redrive_projects_a_fixed_poison_record_and_leaves_a_still_failing_one(cloud, tmp_path):
    dlq = cloud.outputs["ProjectorDlqUrl"]
    for message in cloud.queue_messages(dlq):  # left by other tests of the module
        cloud.clients["sqs"].delete_message(QueueUrl=dlq, ReceiptHandle=message["ReceiptHandle"])
    table = cloud.outputs["OrdersTableName"]
    poisons = [unique("poison") for _ in range(2)]
    for order in poisons:  # written behind the workflow's back, with a date the projector refuses
        cloud.clients["dynamodb"].put_item(TableName=table, Item={
            "orderId": {"S": order}, "status": {"S": "orderCreated"}, "orderDate": {"S": "13/10/2022"},
            "items": {"L": [{"M": {"itemid": {"S": "e2e-poison"}, "quantity": {"N": "2"}}}]},
            "version": {"N": "1"}, "createdBy": {"S": "manual"}})
    cloud.settle()
    assert len(cloud.queue_messages(dlq)) == 2

    code, first, _ = ops(cloud, tmp_path, "redrive")
    assert code == 1 and (first["stillFailing"], first["queueDepth"]) == (2, 2)

    cloud.clients["dynamodb"].update_item(  # the data fixed; its own stream record is not delivered yet
        TableName=table, Key={"orderId": {"S": poisons[0]}}, UpdateExpression="SET orderDate = :d",
        ExpressionAttributeValues={":d": {"S": "2022-10-13T19:00:00Z"}})
    code, summary, _ = ops(cloud, tmp_path, "redrive")

    assert code == 1 and (summary["redriven"], summary["stillFailing"], summary["queueDepth"]) == (1, 1, 1)
    assert summary["failures"][0]["orderIds"] == [poisons[1]]
    assert cloud.read_model("SELECT order_id FROM orders WHERE order_id LIKE 'poison-%%'") == [
        (poisons[0].encode(),)]


def test_after_the_table_is_re_created_the_new_orders_replace_the_old_ones_and_a_rebuild_drops_the_rest(
        cloud, traffic, tmp_path):
    send(cloud, [create("6101", ("z3333", 6), ("z4444", 3))])
    name = cloud.outputs["OrdersTableName"]
    dynamodb = cloud.clients["dynamodb"]
    description = dynamodb.describe_table(TableName=name)["Table"]
    dynamodb.delete_table(TableName=name)
    table = dynamodb.create_table(
        TableName=name, BillingMode="PAY_PER_REQUEST", KeySchema=description["KeySchema"],
        AttributeDefinitions=description["AttributeDefinitions"],
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"})["TableDescription"]
    for mapping in cloud.poller.mappings:  # what `pulumi up` does: the mapping follows the new table's stream
        mapping.stream_arn, mapping.iterators, mapping.pending = table["LatestStreamArn"], {}, {}

    responses = send(cloud, [create("6101", ("z9999", 1))])  # version 1 again, on the new stream
    assert responses[0]["commandStatus"] == "orderCreated"
    answer = send(cloud, [{"DetailType": "orderQuery", "Source": "orderPipeline",
                           "Detail": json.dumps({"query": "getOrder", "orderId": "6101"})}])[0]
    assert answer["queryResult"]["items"] == [{"itemid": "z9999", "quantity": 1}]

    code, summary, stderr = ops(cloud, tmp_path, "rebuild", "--restart")

    assert code == 0, stderr
    assert summary["readModelOrders"] == 1 and summary["removed"] >= len(traffic)
    assert read_models(cloud) == fresh_projection(cloud, f"reference_{uuid.uuid4().hex[:8]}")
    assert ops(cloud, tmp_path, "reconcile", "--grace", "0")[0] == 0


def test_an_unreachable_stack_is_a_clear_error(tmp_path):
    from ops.cli import main

    assert main(["reconcile", "--outputs", str(tmp_path / "missing.json"), "--json"]) == 2
    (tmp_path / "partial.json").write_text(json.dumps({"OrdersTableName": "t"}))
    assert main(["reconcile", "--outputs", str(tmp_path / "partial.json")]) == 2
