"""The real program, functions and workflow, offline: each path of the contract end to end."""

import json

import pytest

from tests.localcloud.conftest import command, function_name, query, send, unique

pytestmark = pytest.mark.xdist_group("localcloud")


def create(order_id: str, *items: tuple[str, int], time: str = "2022-10-13T19:00:00Z") -> dict:
    return command({"command": "createOrder", "orderId": order_id,
                    "items": [{"itemid": i, "quantity": q} for i, q in items]}, time)


def report_rows(response: dict, *items: str) -> list[dict]:
    return [row for row in response["queryResult"] if row["itemid"] in items]


def test_each_rejection_reason_of_the_contract(cloud):
    order, cancelled = unique("order"), unique("cancelled")
    responses = send(cloud,
                     [create(order, ("r-item", 1)), create(cancelled, ("r-item", 1))],
                     [command({"command": "cancelOrder", "orderId": cancelled})],
                     [create(order, ("r-item", 2)),
                      command({"command": "cancelOrder", "orderId": unique("missing")}),
                      command({"command": "cancelOrder", "orderId": cancelled}),
                      command({"command": "refundOrder", "orderId": order}),
                      create(unique("bad"), ("r-item", 0))])
    reasons = [(r["commandStatus"], r.get("reason")) for r in responses[3:]]
    assert reasons == [("rejected", "orderAlreadyExists"), ("rejected", "orderNotFound"),
                       ("rejected", "orderAlreadyCancelled"), ("rejected", "unsupportedCommand"),
                       ("rejected", "invalidCommand")]
    assert "items[0].quantity" in responses[-1]["message"]
    assert cloud.read_model("SELECT COUNT(*) FROM order_lines WHERE order_id = %s", (order,)) == [(1,)]


def test_a_system_fault_is_failed_internal_error_and_a_failed_execution(cloud):
    validator = function_name(cloud, "validate_command")
    cloud.runtime.fault = lambda name, event: {"error": {"errorType": "RuntimeError", "errorMessage": "injected"}} \
        if name == validator else None
    try:
        before = cloud.execution_statuses().count("FAILED")
        order = unique("fault")
        [response] = send(cloud, [create(order, ("f-item", 1))])
    finally:
        cloud.runtime.fault = None
    assert (response["commandStatus"], response["reason"], response["orderid"]) == ("failed", "internalError", None)
    assert cloud.execution_statuses().count("FAILED") == before + 1
    assert cloud.read_model("SELECT COUNT(*) FROM orders WHERE order_id = %s", (order,)) == [(0,)]


def test_a_cancel_changes_the_sales_report_and_get_order_returns_the_order(cloud):
    first, second, item = unique("o"), unique("o"), unique("item")
    responses = send(cloud,
                     [create(first, (item, 5), time="2023-01-02T10:00:00Z"),
                      create(second, (item, 7), (item, 1), time="2023-02-03T10:00:00Z")],
                     [query({"query": "itemsSalesReport", "limit": 1000})],
                     [command({"command": "cancelOrder", "orderId": second})],
                     [query({"query": "itemsSalesReport", "limit": 1000}),
                      query({"query": "monthlySalesByItem", "itemid": item}),
                      query({"query": "getOrder", "orderId": second}),
                      query({"query": "getOrder", "orderId": unique("nobody")})])
    assert report_rows(responses[2], item) == [{"itemid": item, "totalordered": 13, "lastorderdate": "2023-02-03"}]
    assert responses[3]["commandStatus"] == "orderCancelled"
    assert report_rows(responses[4], item) == [{"itemid": item, "totalordered": 5, "lastorderdate": "2023-01-02"}]
    assert responses[5]["queryResult"] == [{"monthyear": "January 2023", "monthlyordered": 5}]
    assert responses[6]["queryStatus"] == 200 and responses[6]["queryResult"] == {
        "orderid": second, "status": "orderCancelled", "orderdate": "2023-02-03T10:00:00Z",
        "items": [{"itemid": item, "quantity": 7}, {"itemid": item, "quantity": 1}]}
    assert responses[7]["queryStatus"] == 404 and responses[7]["queryResult"] is None


def test_a_poison_projection_lands_in_the_on_failure_queue_without_blocking_later_orders(cloud):
    table = cloud.outputs["OrdersTableName"]
    poison = unique("poison")
    # Written behind the workflow's back (an operator's manual edit): a change the projector cannot apply.
    cloud.clients["dynamodb"].put_item(TableName=table, Item={
        "orderId": {"S": poison}, "status": {"S": "orderCreated"}, "version": {"N": "1"},
        "orderDate": {"S": "not a date"}, "items": {"L": []}})
    later = unique("later")
    send(cloud, [create(later, ("p-item", 2))])
    messages = cloud.queue_messages(cloud.outputs["ProjectorDlqUrl"])
    bodies = [json.loads(m["Body"]) for m in messages]
    assert len(bodies) == 1
    info = bodies[0]["DDBStreamBatchInfo"]
    assert info["batchSize"] == 1 and bodies[0]["requestContext"]["condition"] == "RetryAttemptsExhausted"
    assert info["streamArn"] == cloud.program.one("aws:dynamodb/table:Table").state["streamArn"]
    assert cloud.read_model("SELECT status FROM orders WHERE order_id = %s", (later,)) == [("orderCreated",)]
    # The program's alarm on this queue would fire: its metric is above its threshold.
    queue = cloud.program.one("aws:sqs/queue:Queue", "projector-dlq").state["name"]
    alarm = next(a.inputs for a in cloud.program.of_type("aws:cloudwatch/metricAlarm:MetricAlarm")
                 if a.inputs["dimensions"] == {"QueueName": queue})
    visible = cloud.clients["sqs"].get_queue_attributes(
        QueueUrl=cloud.outputs["ProjectorDlqUrl"], AttributeNames=["ApproximateNumberOfMessages"])["Attributes"]
    assert alarm["metricName"] == "ApproximateNumberOfMessagesVisible"
    assert int(visible["ApproximateNumberOfMessages"]) > alarm["threshold"]
    assert cloud.read_model("SELECT COUNT(*) FROM orders WHERE order_id = %s", (poison,)) == [(0,)]


def test_a_crashing_query_function_answers_500_and_fails_the_execution(cloud):
    target = function_name(cloud, "get_order")
    cloud.runtime.fault = lambda name, event: {"error": {"errorType": "OperationalError",
                                                         "errorMessage": "database unreachable"}} \
        if name == target else None
    try:
        before = cloud.execution_statuses().count("FAILED")
        [response] = send(cloud, [query({"query": "getOrder", "orderId": "6101"})])
    finally:
        cloud.runtime.fault = None
    assert (response["queryStatus"], response["queryResult"]) == (500, None)
    assert cloud.execution_statuses().count("FAILED") == before + 1


def test_a_rule_target_that_cannot_be_started_sends_the_event_to_the_target_dlq(cloud):
    cloud.bridge.fail_targets = lambda arn: True
    try:
        entry = create(unique("undeliverable"), ("d-item", 1))
        [response] = send(cloud, [entry])
    finally:
        cloud.bridge.fail_targets = lambda arn: False
    assert response is None  # the workflow never ran
    [message] = cloud.queue_messages(cloud.outputs["EventTargetDlqUrl"])
    assert json.loads(message["Body"])["detail"] == json.loads(entry["Detail"])
    assert message["MessageAttributes"]["RULE_ARN"]["StringValue"].endswith(
        cloud.program.one("aws:cloudwatch/eventRule:EventRule").state["name"])


def test_functions_run_their_deployed_archives(cloud):
    send(cloud, [create(unique("archive"), ("a-item", 1))])  # the projector's environment exists once it ran
    function = cloud.program.one("aws:lambda/function:Function", "projector-function")
    [unpacked] = (cloud.runtime.root / "functions" / function.state["name"]).iterdir()  # one code version
    code = unpacked / "code"
    assert (code / "projector" / "handler.py").is_file() and not (code / "get_order").exists()
    layer = unpacked / "layer-0" / "python"
    assert (layer / "aws_lambda_powertools").is_dir() and (layer / "pymysql").is_dir()


def test_the_functions_verify_the_database_certificate(cloud):
    for function in cloud.program.of_type("aws:lambda/function:Function"):
        variables = function.inputs.get("environment", {}).get("variables", {})
        if "DB_HOST" in variables:  # and they answered every other test of this module through it
            assert variables["DB_TLS"] == "verify-full", function.name
            code = cloud.runtime.root / "functions" / function.state["name"] / "code"
            bundle = code / "orders_db" / "certs" / "rds-ca.pem"
            assert not code.exists() or bundle.read_bytes() == cloud.ca_bundle.read_bytes()


def test_inert_resources_are_listed_and_everything_else_is_emulated(cloud):
    inert = {p.type for p in cloud.mocks.provisioned if p.inert}
    assert "aws:ec2/vpc:Vpc" in inert and "aws:cloudwatch/metricAlarm:MetricAlarm" in inert
    emulated = {p.type for p in cloud.mocks.provisioned if not p.inert}
    assert {"aws:sfn/stateMachine:StateMachine", "aws:lambda/function:Function", "aws:rds/cluster:Cluster",
            "aws:lambda/invocation:Invocation"} <= emulated


def test_a_subscriber_queue_receives_each_answer_as_published(cloud):
    bus = cloud.outputs["EventBusName"]
    sqs, events = cloud.clients["sqs"], cloud.clients["events"]
    url = sqs.create_queue(QueueName=unique("subscriber"))["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    rule = unique("answers")
    events.put_rule(Name=rule, EventBusName=bus, EventPattern=json.dumps(
        {"source": ["orderPipeline"], "detail-type": ["orderCommandResponse", "orderQueryResponse"]}))
    events.put_targets(Rule=rule, EventBusName=bus, Targets=[{"Id": "subscriber", "Arn": arn}])
    try:
        order = unique("subscribed")
        send(cloud, [create(order, ("s-item", 1))], [query({"query": "getOrder", "orderId": order})])
        published = [e for e in cloud.published() if order in json.dumps(e["detail"])]
        received = [json.loads(m["Body"]) for m in cloud.queue_messages(url)]
        assert len(published) == 2 and sorted(received, key=lambda e: e["id"]) == \
            sorted(published, key=lambda e: e["id"])  # the event as published: ISO time, no moto-only fields
    finally:
        events.remove_targets(Rule=rule, EventBusName=bus, Ids=["subscriber"])
        events.delete_rule(Name=rule, EventBusName=bus)
