"""The real ASL executed by moto's Step Functions interpreter, with the real command validator and a
DynamoDB table: every command path of SEED-CONTRACT.md, redelivery, and the query routing and fault paths.
(The query functions here are stand-ins: their real code is exercised end to end by the localcloud tests.)"""

import io
import json
import time
import zipfile

import boto3
import pytest
from moto import mock_aws
from moto.awslambda.models import LambdaFunction

from localcloud.cloud import MAX_EXECUTION_INPUT_BYTES
from localcloud.sfn_fidelity import count_state_data_as_aws as _count_state_data_as_aws
from statemachine.definition import QUERIES, WorkflowRefs, build_definition
from validate_command.validation import validate

ORDER = {"command": "createOrder", "orderId": "6101",
         "items": [{"itemid": "z3333", "quantity": 6}, {"itemid": "z4444", "quantity": 3}]}


def envelope(detail_type: str, detail, event_id: str) -> dict:
    return {"version": "0", "id": event_id, "detail-type": detail_type, "source": "orderPipeline",
            "account": "123456789012", "time": "2022-10-13T19:00:00Z", "region": "us-east-1", "resources": [],
            "detail": detail}


def compact(value) -> str:
    """JSON as EventBridge sends an execution its input, and as Step Functions counts its quota."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def fake_functions(self, event=None):
    payload = json.loads(event) if isinstance(event, str) else event
    if self.function_name == "validator":
        if isinstance(payload["detail"], dict) and payload["detail"].get("orderId") == "crash-validator":
            return json.dumps({"errorType": "RuntimeError", "errorMessage": "validator crashed"}), True, ""
        return json.dumps(validate(payload.get("detail"), payload.get("time"))), False, ""
    if payload.get("itemid") == "crash":
        return json.dumps({"errorType": "OperationalError", "errorMessage": "database unreachable"}), True, ""
    return json.dumps({"query": payload["query"], "queryStatus": 200, "queryResult": [],
                       "queryItemId": payload.get("itemid")}), False, ""


@pytest.fixture(scope="module")
def workflow():
    original = LambdaFunction._invoke_lambda
    LambdaFunction._invoke_lambda = fake_functions
    restore_quota = _count_state_data_as_aws()  # as on AWS (and localcloud): UTF-8 bytes, not escaped JSON
    with mock_aws(config={"stepfunctions": {"execute_state_machine": True}}):
        session = boto3.Session(region_name="us-east-1", aws_access_key_id="test", aws_secret_access_key="test")
        clients = {name: session.client(name) for name in ("dynamodb", "events", "sqs", "stepfunctions",
                                                           "lambda", "iam")}
        clients["dynamodb"].create_table(
            TableName="orders", BillingMode="PAY_PER_REQUEST",
            KeySchema=[{"AttributeName": "orderId", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "orderId", "AttributeType": "S"}])
        clients["events"].create_event_bus(Name="bus")
        queue = clients["sqs"].create_queue(QueueName="published")["QueueUrl"]
        queue_arn = clients["sqs"].get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])[
            "Attributes"]["QueueArn"]
        clients["events"].put_rule(Name="capture", EventBusName="bus",
                                   EventPattern=json.dumps({"source": ["orderPipeline"]}))
        clients["events"].put_targets(Rule="capture", EventBusName="bus", Targets=[{"Id": "q", "Arn": queue_arn}])
        role = clients["iam"].create_role(RoleName="workflow", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
        code = io.BytesIO()
        zipfile.ZipFile(code, "w").writestr("stub.py", "")
        arns = {name: clients["lambda"].create_function(
            FunctionName=name, Runtime="python3.12", Role=role, Handler="stub.handler",
            Code={"ZipFile": code.getvalue()})["FunctionArn"] for name in ("validator", *QUERIES)}
        definition = build_definition(WorkflowRefs("orders", "bus", arns["validator"],
                                                   {q: arns[q] for q in QUERIES}))
        machine = clients["stepfunctions"].create_state_machine(
            name="workflow", definition=json.dumps(definition), roleArn=role, type="EXPRESS")["stateMachineArn"]
        counter = iter(range(10**6))

        def send(detail_type, detail, event_id=None):
            number = next(counter)
            event = envelope(detail_type, detail, event_id or f"event-{number}")
            execution = clients["stepfunctions"].start_execution(
                stateMachineArn=machine, name=f"execution-{number}", input=compact(event))["executionArn"]
            deadline = time.monotonic() + 30
            while (status := clients["stepfunctions"].describe_execution(executionArn=execution)["status"]) \
                    == "RUNNING" and time.monotonic() < deadline:
                time.sleep(0.02)
            messages = clients["sqs"].receive_message(QueueUrl=queue, MaxNumberOfMessages=10)["Messages"]
            for message in messages:
                clients["sqs"].delete_message(QueueUrl=queue, ReceiptHandle=message["ReceiptHandle"])
            assert len(messages) == 1, "exactly one response per inbound event"
            published = json.loads(messages[0]["Body"])
            assert published["source"] == "orderPipeline"
            return status, published["detail-type"], published["detail"]

        yield send, clients["dynamodb"]
    LambdaFunction._invoke_lambda = original
    restore_quota()


def item(dynamodb, order_id):
    return dynamodb.get_item(TableName="orders", Key={"orderId": {"S": order_id}}).get("Item")


def test_create_then_duplicate_then_redelivery(workflow):
    send, dynamodb = workflow
    assert send("orderCommand", ORDER, "first") == ("SUCCEEDED", "orderCommandResponse", {
        "orderid": "6101", "commandMessageId": "first", "commandStatus": "orderCreated"})
    stored = item(dynamodb, "6101")
    assert stored["version"] == {"N": "1"} and stored["status"] == {"S": "orderCreated"}
    assert stored["orderDate"] == {"S": "2022-10-13T19:00:00Z"}
    assert stored["items"]["L"][1] == {"M": {"itemid": {"S": "z4444"}, "quantity": {"N": "3"}}}
    status, _, detail = send("orderCommand", {**ORDER, "items": [{"itemid": "other", "quantity": 1}]})
    assert status == "SUCCEEDED" and detail["commandStatus"] == "rejected"
    assert detail["reason"] == "orderAlreadyExists" and "6101" in detail["message"]
    assert item(dynamodb, "6101") == stored  # nothing overwritten
    # The same event delivered again gets the same answer, not a false rejection.
    assert send("orderCommand", ORDER, "first")[2]["commandStatus"] == "orderCreated"


def test_cancel_paths(workflow):
    send, dynamodb = workflow
    send("orderCommand", {**ORDER, "orderId": "c1"})
    assert send("orderCommand", {"command": "cancelOrder", "orderId": "c1"}, "cancel-1")[2] == {
        "orderid": "c1", "commandMessageId": "cancel-1", "commandStatus": "orderCancelled"}
    stored = item(dynamodb, "c1")
    assert stored["version"] == {"N": "2"} and stored["status"] == {"S": "orderCancelled"}
    assert send("orderCommand", {"command": "cancelOrder", "orderId": "c1"}, "cancel-1")[2]["commandStatus"] \
        == "orderCancelled"
    again = send("orderCommand", {"command": "cancelOrder", "orderId": "c1"})[2]
    assert (again["commandStatus"], again["reason"]) == ("rejected", "orderAlreadyCancelled")
    missing = send("orderCommand", {"command": "cancelOrder", "orderId": "nope"})[2]
    assert (missing["commandStatus"], missing["reason"], missing["orderid"]) == ("rejected", "orderNotFound", "nope")
    assert item(dynamodb, "nope") is None


@pytest.mark.parametrize("detail, reason, field", [
    ({"command": "shipOrder", "orderId": "x"}, "unsupportedCommand", "shipOrder"),
    ({"orderId": "x"}, "invalidCommand", "command"),
    ({"command": "createOrder", "orderId": "bad-qty", "items": [{"itemid": "a", "quantity": 0}]},
     "invalidCommand", "items[0].quantity"),
    ({"command": "createOrder", "orderId": "x" * 65, "items": [{"itemid": "a", "quantity": 1}]},
     "invalidCommand", "orderId"),
    ({"command": "cancelOrder"}, "invalidCommand", "orderId"),
])
def test_rejections_write_nothing_and_succeed(workflow, detail, reason, field):
    send, dynamodb = workflow
    status, detail_type, response = send("orderCommand", detail)
    assert (status, detail_type, response["commandStatus"], response["reason"]) == \
        ("SUCCEEDED", "orderCommandResponse", "rejected", reason)
    assert field in response["message"]
    assert dynamodb.scan(TableName="orders", ScanFilter={"orderId": {"AttributeValueList": [{"S": "bad-qty"}],
                                                                     "ComparisonOperator": "EQ"}})["Count"] == 0


def test_queries_are_routed_and_answered_with_the_message_id(workflow):
    send, _ = workflow
    assert send("orderQuery", {"query": "monthlySalesByItem", "itemid": "z4444"}, "q-1") == (
        "SUCCEEDED", "orderQueryResponse", {"query": "monthlySalesByItem", "queryStatus": 200, "queryResult": [],
                                            "queryItemId": "z4444", "queryMessageId": "q-1"})


@pytest.mark.parametrize("detail", [{"query": "topSellers"}, {"limit": 5}, {"query": 42}])
def test_unsupported_or_missing_query_is_a_400(workflow, detail):
    send, _ = workflow
    status, _, response = send("orderQuery", detail)
    assert status == "SUCCEEDED"
    # The client's value is not echoed (it could be as large as the event); queryMessageId correlates.
    assert (response["queryStatus"], response["query"], response["queryResult"]) == (400, None, None)
    assert "itemsSalesReport" in response["error"]


def test_a_crashing_query_function_is_a_500_and_a_failed_execution(workflow):
    send, _ = workflow
    status, _, response = send("orderQuery", {"query": "monthlySalesByItem", "itemid": "crash"})
    assert status == "FAILED"
    assert (response["queryStatus"], response["queryResult"]) == (500, None)


# -- State growth (issue 15): each path with the largest input Step Functions takes, shaped to stress it ----------
# (the query functions are stand-ins here, so their cases stress the workflow with a large unknown field; the real
# functions' bounded answers to huge parameters are exercised end to end in tests/localcloud/test_state_growth.py)

RESPONSE_MAX_BYTES = 4096
LARGEST_ITEMS = [{"itemid": f"{n:02d}" + "\U0001F355" * 62, "quantity": 10000} for n in range(100)]


def at_quota(detail_type: str, shape, event_id: str):
    """`shape(pad)` with pad sized so that the envelope is exactly the execution input quota."""
    base = len(compact(envelope(detail_type, shape(""), event_id)).encode())
    detail = shape("x" * (MAX_EXECUTION_INPUT_BYTES - base))
    assert len(compact(envelope(detail_type, detail, event_id)).encode()) == MAX_EXECUTION_INPUT_BYTES
    return detail


def create(order_id: str, items=None, **extra) -> dict:
    return {"command": "createOrder", "orderId": order_id, "items": items or [{"itemid": "g", "quantity": 1}],
            **extra}


GROWTH = [  # (name, detail type, shape, execution status, expected response fields, order id never written)
    ("unsupported query string", "orderQuery", lambda pad: {"query": pad}, "SUCCEEDED",
     {"queryStatus": 400, "query": None}, None),
    ("unsupported query object", "orderQuery", lambda pad: {"query": {"nested": [pad]}}, "SUCCEEDED",
     {"queryStatus": 400, "query": None}, None),
    ("missing query", "orderQuery", lambda pad: {"itemid": pad}, "SUCCEEDED", {"queryStatus": 400, "query": None},
     None),
    ("itemsSalesReport with a huge unknown field", "orderQuery",
     lambda pad: {"query": "itemsSalesReport", "padding": pad}, "SUCCEEDED", {"queryStatus": 200}, None),
    ("monthlySalesByItem with a huge unknown field", "orderQuery",
     lambda pad: {"query": "monthlySalesByItem", "itemid": "z4444", "padding": pad}, "SUCCEEDED",
     {"queryStatus": 200, "queryItemId": "z4444"}, None),
    ("getOrder with a huge unknown field", "orderQuery", lambda pad: {"query": "getOrder", "orderId": "g", "p": pad},
     "SUCCEEDED", {"queryStatus": 200, "query": "getOrder"}, None),
    ("a crashing query function", "orderQuery",
     lambda pad: {"query": "monthlySalesByItem", "itemid": "crash", "padding": pad}, "FAILED",
     {"queryStatus": 500, "query": "monthlySalesByItem"}, None),
    ("createOrder with a huge orderId", "orderCommand", lambda pad: create(pad), "SUCCEEDED",
     {"commandStatus": "rejected", "reason": "invalidCommand", "orderid": None}, None),
    ("createOrder with a huge items list", "orderCommand",
     lambda pad: create("g-items", [{"itemid": "i", "quantity": 1}] * 8000, padding=pad), "SUCCEEDED",
     {"commandStatus": "rejected", "reason": "invalidCommand", "orderid": "g-items"}, "g-items"),
    ("createOrder with a huge itemid", "orderCommand", lambda pad: create("g-itemid", [{"itemid": pad, "quantity": 1}]),
     "SUCCEEDED", {"commandStatus": "rejected", "reason": "invalidCommand", "orderid": "g-itemid"}, "g-itemid"),
    ("unknown command", "orderCommand", lambda pad: {"command": pad, "orderId": "g-unknown"}, "SUCCEEDED",
     {"commandStatus": "rejected", "reason": "unsupportedCommand", "orderid": "g-unknown"}, "g-unknown"),
    ("the largest valid order with a huge unknown field", "orderCommand",
     lambda pad: create("g-largest", LARGEST_ITEMS, padding=pad), "SUCCEEDED",
     {"commandStatus": "orderCreated", "orderid": "g-largest"}, None),
    ("createOrder of an existing order", "orderCommand", lambda pad: create("g-existing", padding=pad), "SUCCEEDED",
     {"commandStatus": "rejected", "reason": "orderAlreadyExists", "orderid": "g-existing"}, None),
    ("cancelOrder", "orderCommand", lambda pad: {"command": "cancelOrder", "orderId": "g-to-cancel", "p": pad},
     "SUCCEEDED", {"commandStatus": "orderCancelled", "orderid": "g-to-cancel"}, None),
    ("cancelOrder of an unknown order", "orderCommand",
     lambda pad: {"command": "cancelOrder", "orderId": "g-nobody", "p": pad}, "SUCCEEDED",
     {"commandStatus": "rejected", "reason": "orderNotFound", "orderid": "g-nobody"}, "g-nobody"),
    ("cancelOrder of a cancelled order", "orderCommand",
     lambda pad: {"command": "cancelOrder", "orderId": "g-cancelled", "p": pad}, "SUCCEEDED",
     {"commandStatus": "rejected", "reason": "orderAlreadyCancelled", "orderid": "g-cancelled"}, None),
    ("a crashing validator", "orderCommand", lambda pad: create("crash-validator", padding=pad), "FAILED",
     {"commandStatus": "failed", "reason": "internalError", "orderid": None}, "crash-validator"),
]


@pytest.fixture(scope="module")
def growth_orders(workflow):
    send, _ = workflow
    for order_id in ("g-existing", "g-to-cancel", "g-cancelled"):
        assert send("orderCommand", create(order_id))[2]["commandStatus"] == "orderCreated"
    assert send("orderCommand", {"command": "cancelOrder", "orderId": "g-cancelled"})[2]["commandStatus"] \
        == "orderCancelled"


@pytest.mark.parametrize("name, detail_type, shape, status, expected, never_written", GROWTH,
                         ids=[case[0] for case in GROWTH])
def test_the_largest_input_on_each_path_gets_one_small_response(workflow, growth_orders, name, detail_type, shape,
                                                                 status, expected, never_written):
    send, dynamodb = workflow
    event_id = f"growth-{GROWTH.index(next(c for c in GROWTH if c[0] == name))}"
    outcome, _, response = send(detail_type, at_quota(detail_type, shape, event_id), event_id)
    assert outcome == status
    assert {key: response.get(key) for key in expected} == expected
    assert response.get("commandMessageId", response.get("queryMessageId")) == event_id
    assert len(compact(response).encode()) < RESPONSE_MAX_BYTES
    if never_written:
        assert item(dynamodb, never_written) is None


def test_the_largest_valid_order_is_stored_without_its_unknown_fields(workflow):
    send, dynamodb = workflow
    detail = at_quota("orderCommand", lambda pad: create("g-largest-stored", LARGEST_ITEMS, padding=pad), "stored")
    assert send("orderCommand", detail, "stored")[2]["commandStatus"] == "orderCreated"
    stored = item(dynamodb, "g-largest-stored")
    assert stored is not None and set(stored) == {"orderId", "status", "orderDate", "items", "version", "createdBy"}
    assert [line["M"]["itemid"]["S"] for line in stored["items"]["L"]] == [i["itemid"] for i in LARGEST_ITEMS]


def test_an_unsupported_query_of_131500_characters_is_answered(workflow):
    # The event: the Pass state that echoed the query copied it next to the input (States.DataLimitExceeded).
    send, _ = workflow
    status, _, response = send("orderQuery", {"query": "x" * 131_500})
    assert status == "SUCCEEDED" and response["queryStatus"] == 400
    assert len(compact(response).encode()) < RESPONSE_MAX_BYTES
