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

from statemachine.definition import QUERIES, WorkflowRefs, build_definition
from validate_command.validation import validate

ORDER = {"command": "createOrder", "orderId": "6101",
         "items": [{"itemid": "z3333", "quantity": 6}, {"itemid": "z4444", "quantity": 3}]}


def fake_functions(self, event=None):
    payload = json.loads(event) if isinstance(event, str) else event
    if self.function_name == "validator":
        return json.dumps(validate(payload.get("detail"), payload.get("time"))), False, ""
    if payload.get("itemid") == "crash":
        return json.dumps({"errorType": "OperationalError", "errorMessage": "database unreachable"}), True, ""
    return json.dumps({"query": payload["query"], "queryStatus": 200, "queryResult": [],
                       "queryItemId": payload.get("itemid")}), False, ""


@pytest.fixture(scope="module")
def workflow():
    original = LambdaFunction._invoke_lambda
    LambdaFunction._invoke_lambda = fake_functions
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
            event = {"version": "0", "id": event_id or f"event-{number}", "detail-type": detail_type,
                     "source": "orderPipeline", "account": "123456789012", "time": "2022-10-13T19:00:00Z",
                     "region": "us-east-1", "resources": [], "detail": detail}
            execution = clients["stepfunctions"].start_execution(
                stateMachineArn=machine, name=f"execution-{number}", input=json.dumps(event))["executionArn"]
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


@pytest.mark.parametrize("detail, query", [({"query": "topSellers"}, "topSellers"), ({"limit": 5}, None),
                                           ({"query": 42}, 42)])
def test_unsupported_or_missing_query_is_a_400(workflow, detail, query):
    send, _ = workflow
    status, _, response = send("orderQuery", detail)
    assert status == "SUCCEEDED"
    assert (response["queryStatus"], response["query"], response["queryResult"]) == (400, query, None)
    assert "itemsSalesReport" in response["error"]


def test_a_crashing_query_function_is_a_500_and_a_failed_execution(workflow):
    send, _ = workflow
    status, _, response = send("orderQuery", {"query": "monthlySalesByItem", "itemid": "crash"})
    assert status == "FAILED"
    assert (response["queryStatus"], response["queryResult"]) == (500, None)
