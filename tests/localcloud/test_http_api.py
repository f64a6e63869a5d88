"""The HTTP API end to end, as a user drives it: `python -m localcloud serve`, then every route and status code
with a SigV4-signed Python client and with curl from the README, the answers published on the bus too, nothing
written for a rejected request, and `aws stepfunctions start-sync-execution` answering as on AWS."""

import json
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import boto3
import pytest
from botocore.config import Config

from tests.localcloud.api_client import Api
from tests.localcloud.serve_process import serving

pytestmark = pytest.mark.xdist_group("http-api")

AWS = str(Path(sys.executable).with_name("aws"))
ITEMS = [{"itemid": "z3333", "quantity": 6}, {"itemid": "z4444", "quantity": 3}]


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    with serving(tmp_path_factory.mktemp("serve")) as serve:
        yield serve


@pytest.fixture(scope="module")
def api(served) -> Api:
    return Api(served.outputs()["HttpApiUrl"])


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def answered(response, status: int) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"] == "application/json"
    body = response.json()
    request_id = response.headers["x-amzn-RequestId"]
    assert request_id in (body.get("commandMessageId"), body.get("queryMessageId"), body.get("requestId")), body
    return body


def table(served):
    client = boto3.client("dynamodb", endpoint_url=served.endpoint, region_name="us-east-1",
                          aws_access_key_id="localcloud", aws_secret_access_key="localcloud")
    return client, served.outputs()["OrdersTableName"]


def stored(served, order_id: str) -> dict | None:
    client, name = table(served)
    return client.get_item(TableName=name, Key={"orderId": {"S": order_id}}, ConsistentRead=True).get("Item")


def test_commands_answer_with_the_contracts_response_and_publish_it(served, api):
    order = unique("h")
    created = answered(api.create(order, ITEMS), 201)
    assert created == {"orderid": order, "commandMessageId": created["commandMessageId"],
                       "commandStatus": "orderCreated"}
    # The same answer went to the bus, for subscribers, whichever door the command came through.
    assert served.response_to(created["commandMessageId"]) == created
    assert stored(served, order)["createdBy"] == {"S": created["commandMessageId"]}
    again = answered(api.create(order, ITEMS), 409)
    assert again["reason"] == "orderAlreadyExists" and again["orderid"] == order
    assert answered(api.cancel(order), 200)["commandStatus"] == "orderCancelled"
    assert answered(api.cancel(order), 409)["reason"] == "orderAlreadyCancelled"
    assert answered(api.cancel(unique("nobody")), 404)["reason"] == "orderNotFound"
    assert stored(served, order)["status"] == {"S": "orderCancelled"}


@pytest.mark.parametrize("body, message", [
    ({"items": ITEMS}, "missing field orderId"),
    ({"orderId": "x" * 65, "items": ITEMS}, "orderId must be a string of 1 to 64 characters"),
    ({"orderId": "ok", "items": [{"itemid": "z", "quantity": 0}]}, "items[0].quantity must be an integer"),
    ({"orderId": "ok", "items": []}, "items must be a list of 1 to 100 entries"),
])
def test_invalid_commands_are_400_with_the_workflows_reason_and_write_nothing(served, api, body, message):
    body = {**body, "orderId": unique("bad")} if body.get("orderId") == "ok" else body
    answer = answered(api.call("POST", "/orders", body), 400)
    assert answer["commandStatus"] == "rejected" and answer["reason"] == "invalidCommand"
    assert answer["message"].startswith(message)
    if isinstance(body.get("orderId"), str) and len(body["orderId"]) <= 64:
        assert stored(served, body["orderId"]) is None


def eventually(call, status: int, timeout: float = 30):
    """The read models follow the table through its stream: a read after a write waits for the projection."""
    deadline = time.monotonic() + timeout
    while (response := call()).status_code != status and time.monotonic() < deadline:
        time.sleep(0.2)
    return answered(response, status)


def test_queries_answer_with_the_contracts_response(served, api):
    order = unique("q")
    items = [{"itemid": order, "quantity": 4}, {"itemid": order + "-b", "quantity": 1}]
    created = answered(api.create(order, items), 201)
    got = eventually(lambda: api.get(order), 200)
    assert got["queryResult"]["orderid"] == order and got["queryResult"]["items"] == items
    assert got["queryResult"]["orderdate"][:10] == served_date(created, served)
    assert answered(api.get(unique("nobody")), 404)["queryResult"] is None
    assert answered(api.get("x" * 65), 400)["error"] == "orderId must be a string of 1 to 64 characters"
    monthly = answered(api.call("GET", f"/reports/monthly-sales/{order}"), 200)
    assert monthly["queryItemId"] == order and monthly["queryResult"][0]["monthlyordered"] == 4
    assert answered(api.call("GET", "/reports/monthly-sales/" + "y" * 65), 400)["queryStatus"] == 400
    first = answered(api.call("GET", "/reports/items-sales", params={"limit": "1"}), 200)
    assert len(first["queryResult"]) == 1 and first["nextToken"]
    second = answered(api.call("GET", "/reports/items-sales", params={"limit": "1", "nextToken": first["nextToken"]}),
                      200)
    assert second["queryResult"][0]["itemid"] > first["queryResult"][0]["itemid"]
    for limit in ("0", "1001", "ten", "01"):
        assert answered(api.call("GET", "/reports/items-sales", params={"limit": limit}), 400)["error"] == \
            "limit must be an integer from 1 to 1000"
    assert answered(api.call("GET", "/reports/items-sales", params={"nextToken": "forged"}), 400)["queryStatus"] == 400


def served_date(created: dict, served) -> str:
    """The date of the request that created an order: its response event's time (the request's time)."""
    event = next(e for e in served.published() if e["detail"].get("commandMessageId") == created["commandMessageId"])
    return event["time"][:10]


def test_the_gateway_refuses_what_never_reaches_the_workflow(served, api):
    order = unique("gw")
    assert answered(api.call("POST", "/orders", {"orderId": order, "items": ITEMS}, sign=False), 403)["message"] == \
        "Missing Authentication Token"
    forged = api.call("GET", f"/orders/{order}", headers={
        "Authorization": "AWS4-HMAC-SHA256 Credential=localcloud/20260101/us-east-1/execute-api/aws4_request, "
                         "SignedHeaders=host;x-amz-date, Signature=" + "0" * 64,
        "X-Amz-Date": "20260101T000000Z"}, sign=False)
    assert answered(forged, 403)["message"].startswith("The request signature we calculated does not match")
    assert answered(api.call("GET", "/no/such/route"), 403)["message"] == "Missing Authentication Token"
    assert answered(api.call("POST", "/orders", data=json.dumps({"orderId": order, "items": ITEMS}),
                             headers={"Content-Type": "text/plain"}), 415)["message"] == "Unsupported Media Type"
    for text in ('{"orderId": ', "[1, 2]", '"text"'):
        assert answered(api.call("POST", "/orders", data=text, headers={"Content-Type": "application/json"}), 400)[
            "message"] == "Invalid request body"
    huge = {"orderId": order, "items": [{"itemid": "i" * 64, "quantity": 1}] * 4000}  # ~330 KB
    assert "262144" in answered(api.call("POST", "/orders", huge), 413)["message"]
    assert stored(served, order) is None


def test_curl_from_the_readme_creates_and_reads_an_order(served):
    url, order = served.outputs()["HttpApiUrl"], unique("curl")
    sign = ["--aws-sigv4", "aws:amz:us-east-1:execute-api", "--user", "localcloud:localcloud"]
    created = subprocess.run(["curl", "-s", *sign, "-H", "Content-Type: application/json", "-d",
                              json.dumps({"orderId": order, "items": ITEMS}), f"{url}/orders"],
                             capture_output=True, text=True, timeout=60)
    assert json.loads(created.stdout)["commandStatus"] == "orderCreated", created.stdout + created.stderr
    for _ in range(100):  # the read model follows the table through its stream
        read = json.loads(subprocess.run(["curl", "-s", *sign, f"{url}/orders/{order}"], capture_output=True,
                                         text=True, timeout=60).stdout)
        if read["queryStatus"] == 200:
            break
        time.sleep(0.2)
    assert read["queryResult"]["orderid"] == order


def _envelope(detail_type: str, detail: dict) -> str:
    return json.dumps({"version": "0", "id": str(uuid.uuid4()), "detail-type": detail_type, "source": "orderPipeline",
                       "account": "123456789012", "time": "2024-01-01T00:00:00Z", "region": "us-east-1",
                       "resources": [], "detail": detail})


def test_start_sync_execution_answers_as_on_aws_with_the_cli_and_boto3(served):
    machine = served.outputs()["StateMachineArn"]
    env = {**os.environ, "AWS_ACCESS_KEY_ID": "localcloud", "AWS_SECRET_ACCESS_KEY": "localcloud",
           "AWS_DEFAULT_REGION": "us-east-1", "AWS_PAGER": "", "AWS_DISABLE_HOST_PREFIX_INJECTION": "true"}
    envelope = _envelope("orderQuery", {"query": "getOrder", "orderId": "nobody"})
    result = subprocess.run([AWS, "--endpoint-url", served.endpoint, "--output", "json", "stepfunctions",
                             "start-sync-execution", "--state-machine-arn", machine, "--input", envelope],
                            capture_output=True, text=True, timeout=120, env=env)
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout)
    assert answer["status"] == "SUCCEEDED" and ":express:" in answer["executionArn"]
    assert json.loads(answer["output"]) == {"query": "getOrder", "queryStatus": 404, "queryResult": None,
                                            "error": "no order has this orderId",
                                            "queryMessageId": json.loads(envelope)["id"]}
    assert answer["billingDetails"]["billedDurationInMilliseconds"] >= 100
    client = boto3.client("stepfunctions", endpoint_url=served.endpoint, region_name="us-east-1",
                          aws_access_key_id="localcloud", aws_secret_access_key="localcloud",
                          config=Config(inject_host_prefix=False))
    failed = client.start_sync_execution(stateMachineArn=machine, input=json.dumps({"detail-type": "other"}))
    assert failed["status"] == "FAILED" and failed["error"] == "UnsupportedEvent" and "output" not in failed
    with pytest.raises(client.exceptions.ClientError) as refused:
        client.start_sync_execution(stateMachineArn=machine, input="{" + " " * 262_144 + "}")
    assert refused.value.response["Error"]["Code"] == "ValidationException"


def test_each_request_writes_an_access_log_line(served, api):
    request_id = api.get(unique("log")).headers["x-amzn-RequestId"]
    logs = boto3.client("logs", endpoint_url=served.endpoint, region_name="us-east-1",
                        aws_access_key_id="localcloud", aws_secret_access_key="localcloud")
    groups = [g["logGroupName"] for g in logs.describe_log_groups(logGroupNamePrefix="/aws/apigateway/")["logGroups"]]
    assert len(groups) == 1
    lines = [json.loads(e["message"]) for e in logs.filter_log_events(logGroupName=groups[0])["events"]]
    line = next(line for line in lines if line["requestId"] == request_id)
    assert line["status"] == "404" and line["httpMethod"] == "GET" and line["resourcePath"] == "/orders/{orderId}"
