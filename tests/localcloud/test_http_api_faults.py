"""The HTTP API's 5xx end to end through `python -m localcloud serve`, caused by real faults, not by our code:
504 when the workflow does not answer within API Gateway's integration limit (the database process stopped with
SIGSTOP while a query waits on it; the limit lowered to 3 s for this test by LOCALCLOUD_API_INTEGRATION_TIMEOUT_MS,
which only localcloud reads), the execution still finishing and publishing its answer once the database runs again;
and 500 with the contract's failed answer when the orders table is gone (deleted over the DynamoDB API)."""

import os
import signal
import time
import uuid
from pathlib import Path

import boto3
import pytest

from tests.localcloud.api_client import Api
from tests.localcloud.serve_process import serving

pytestmark = pytest.mark.xdist_group("http-api-faults")
LIMIT_S = 3
ITEMS = [{"itemid": "f1", "quantity": 1}]


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    env = {"LOCALCLOUD_API_INTEGRATION_TIMEOUT_MS": str(LIMIT_S * 1000)}
    with serving(tmp_path_factory.mktemp("serve-faults"), env=env) as serve:
        yield serve


@pytest.fixture(scope="module")
def api(served) -> Api:
    return Api(served.outputs()["HttpApiUrl"])


def database_pid(serve) -> int:
    """The MariaDB server `serve` started (Aurora's stand-in): its child process mariadbd."""
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            name = stat.read_text().split("(", 1)[1].rsplit(")", 1)[0]
        except (OSError, IndexError):
            continue
        if name == "mariadbd" and int(fields[1]) == serve.process.pid:
            return int(stat.parent.name)
    raise AssertionError("no mariadbd child of serve")


def test_a_workflow_slower_than_the_limit_is_504_and_still_publishes_its_answer(served, api):
    order = f"slow-{uuid.uuid4().hex[:6]}"
    assert api.create(order, ITEMS).status_code == 201
    deadline = time.monotonic() + 60
    while api.get(order).status_code != 200:  # projected into the read model (and the reader's connection warm)
        assert time.monotonic() < deadline, "never projected"
        time.sleep(0.3)
    pid = database_pid(served)
    os.kill(pid, signal.SIGSTOP)  # the database stops answering; connections stay open
    try:
        started = time.monotonic()
        response = api.get(order)
        waited = time.monotonic() - started
    finally:
        os.kill(pid, signal.SIGCONT)
    assert response.status_code == 504, response.text
    request_id = response.headers["x-amzn-RequestId"]
    body = response.json()
    assert body["requestId"] == request_id and "did not answer within" in body["message"]
    assert LIMIT_S <= waited < LIMIT_S + 5
    # The execution went on: once the database runs again it answers, on the bus, correlated by the request id.
    answer = served.response_to(request_id, timeout=90)
    assert answer["queryStatus"] == 200 and answer["queryResult"]["orderid"] == order


def test_a_system_fault_is_500_with_the_contracts_failed_answer(served, api):
    """Runs last: the table stays deleted."""
    dynamodb = boto3.client("dynamodb", endpoint_url=served.endpoint, region_name="us-east-1",
                            aws_access_key_id="localcloud", aws_secret_access_key="localcloud")
    dynamodb.delete_table(TableName=served.outputs()["OrdersTableName"])
    order = f"fault-{uuid.uuid4().hex[:6]}"
    response = api.create(order, ITEMS)
    assert response.status_code == 500, response.text
    body = response.json()
    assert (body["commandStatus"], body["reason"], body["orderid"]) == ("failed", "internalError", order)
    assert body["commandMessageId"] == response.headers["x-amzn-RequestId"]
    assert served.response_to(body["commandMessageId"]) == body  # published too
