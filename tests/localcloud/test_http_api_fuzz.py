"""The HTTP API fuzzed by schemathesis against `python -m localcloud serve`, from the published document
(api/openapi.json): every operation, hundreds of generated requests (valid and invalid), each signed with SigV4;
no 5xx, every response conforms to the document (status, headers, body), and nothing is written for a rejected
request. Then a load run: several concurrent clients, thousands of requests, nothing lost, every answer right."""

import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import boto3
import pytest
import schemathesis
from hypothesis import HealthCheck, settings

from api.openapi import PUBLISHED
from tests.localcloud.api_client import Api, SigV4
from tests.localcloud.serve_process import serving

pytestmark = pytest.mark.xdist_group("http-api-fuzz")

schema = schemathesis.openapi.from_path(str(PUBLISHED))
EXAMPLES = 150  # per operation, valid and invalid data


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    with serving(tmp_path_factory.mktemp("serve")) as serve:
        yield serve


@pytest.fixture(scope="module")
def orders(served):
    client = boto3.client("dynamodb", endpoint_url=served.endpoint, region_name="us-east-1",
                          aws_access_key_id="localcloud", aws_secret_access_key="localcloud")
    name = served.outputs()["OrdersTableName"]
    return lambda order_id: client.get_item(TableName=name, Key={"orderId": {"S": order_id}},
                                            ConsistentRead=True).get("Item")


_created: dict[str, str] = {}  # orderId -> status, as the API answered it


@schema.parametrize()
@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
def test_the_api_conforms_to_its_document_and_writes_nothing_it_rejects(case, served, orders):
    # Signed when the case carries the security scheme's Authorization header (schemathesis's value is replaced
    # by a real signature); a case that drops it to test the API's refusal is sent unsigned.
    signed = "Authorization" in (case.headers or {})
    operation = case.operation.definition.raw.get("operationId")
    checks = schemathesis.specs.openapi.checks
    # API Gateway answers an undeclared method, and a request without its Authorization header, with 403
    # (MissingAuthenticationToken): not 405, 401.
    excluded = [checks.unsupported_method, checks.missing_required_header]
    if operation == "itemsSalesReport":  # a nextToken is opaque: only one the API returned is valid
        excluded.append(checks.positive_data_acceptance)
    response = case.call_and_validate(base_url=served.outputs()["HttpApiUrl"], auth=SigV4() if signed else None,
                                      timeout=60, excluded_checks=excluded)
    assert response.status_code < 500, response.text
    body = case.body if isinstance(case.body, dict) else {}
    order_id = body.get("orderId") if operation == "createOrder" else (case.path_parameters or {}).get("orderId")
    if operation not in ("createOrder", "cancelOrder") or not isinstance(order_id, str) or not order_id:
        return
    if response.status_code in (200, 201):
        _created[order_id] = response.json()["commandStatus"]
    try:
        item = orders(order_id)
    except Exception:  # not a key DynamoDB accepts (e.g. over its size): nothing can be stored under it
        return
    expected = _created.get(order_id)
    assert (item["status"]["S"] if item else None) == expected, (operation, response.status_code, order_id)


CLIENTS, REQUESTS_PER_CLIENT = 8, 128  # 4 requests per order: 1,024 in all


def test_a_load_run_loses_nothing_and_answers_every_request_right(served, orders):
    """8 clients, 1,024 requests: each client creates orders, reads them back, cancels every other one and
    cancels one twice; every answer is the right one, and the table and the bus hold exactly what was answered."""
    url = served.outputs()["HttpApiUrl"]
    errors: list[str] = []
    answered: dict[str, dict] = {}
    lock = threading.Lock()

    def client(number: int) -> None:
        api, run = Api(url), uuid.uuid4().hex[:6]
        for index in range(REQUESTS_PER_CLIENT // 4):
            order = f"load-{run}-{number}-{index}"
            steps = [("create", lambda: api.create(order, [{"itemid": f"load-item-{index % 7}", "quantity": 1}]),
                      201, "orderCreated"),
                     ("create again", lambda: api.create(order, [{"itemid": "x", "quantity": 1}]), 409, "rejected"),
                     ("cancel", lambda: api.cancel(order), 200, "orderCancelled") if index % 2 else
                     ("read", lambda: api.get(f"load-missing-{run}-{number}-{index}"), 404, None),
                     ("cancel again", lambda: api.cancel(order), 409, "rejected") if index % 2 else
                     ("cancel unknown", lambda: api.cancel(f"load-none-{run}-{index}"), 404, "rejected")]
            for what, call, status, outcome in steps:
                response = call()
                body = response.json()
                if response.status_code != status or (outcome and body.get("commandStatus") != outcome):
                    errors.append(f"{order} {what}: {response.status_code} {response.text}")
                with lock:
                    answered[response.headers["x-amzn-RequestId"]] = body
            if not index % 2:
                answered.setdefault(f"open:{order}", {})

    started = time.monotonic()
    with ThreadPoolExecutor(CLIENTS) as pool:
        list(pool.map(client, range(CLIENTS)))
    seconds = time.monotonic() - started
    assert not errors, errors[:5]
    requests = [key for key in answered if not key.startswith("open:")]
    assert len(requests) == CLIENTS * REQUESTS_PER_CLIENT
    print(f"load run: {len(requests)} requests from {CLIENTS} clients in {seconds:.1f} s "
          f"({len(requests) / seconds:.0f} requests/s)")
    # Every answer was also published, exactly as answered.
    deadline = time.monotonic() + 60
    while True:
        published = {e["detail"].get("commandMessageId") or e["detail"].get("queryMessageId"): e["detail"]
                     for e in served.published()}
        if all(key in published for key in requests) or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert all(published.get(key) == answered[key] for key in requests)
    for key in (k for k in answered if k.startswith("open:")):
        assert orders(key[5:])["status"]["S"] == "orderCreated"
