"""State growth, end to end (issue 15): every path of the workflow gets the largest event that still starts an
execution (its envelope exactly Step Functions' 256 KiB input quota), shaped to stress that path. Each gets exactly
one small response, client errors end in a successful execution and system faults in a failed one, and nothing is
written for rejected input. (One byte more and the event goes to the target's dead-letter queue: test_faults.py.)"""

import json
from pathlib import Path

import pytest

from localcloud.__main__ import run_steps
from localcloud.cloud import MAX_EXECUTION_INPUT_BYTES
from localcloud.eventbridge import MAX_ENTRY_BYTES, entry_size, utf8_size
from tests.localcloud.conftest import function_name

pytestmark = pytest.mark.xdist_group("localcloud")

RESPONSE_MAX_BYTES = 4096  # a whole published event, envelope included
TIME = "2024-02-29T23:59:59Z"
LARGEST_ITEMS = [{"itemid": f"{n:02d}" + "\U0001F355" * 62, "quantity": 10000} for n in range(100)]


def compact(value) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def entry(detail_type: str, detail: dict, resources: list[str] | None = None) -> dict:
    entry = {"Time": TIME, "DetailType": detail_type, "Source": "orderPipeline", "Detail": compact(detail)}
    return entry | ({"Resources": resources} if resources is not None else {})


def envelope_bytes(entry: dict, account: str, region: str) -> int:
    """The execution input EventBridge builds from the entry (localcloud/eventbridge.py), as UTF-8 bytes."""
    envelope = {"version": "0", "id": "0" * 36, "detail-type": entry["DetailType"], "source": entry["Source"],
                "account": account, "time": TIME, "region": region, "resources": entry.get("Resources", []),
                "detail": json.loads(entry["Detail"])}
    return utf8_size(compact(envelope))


def create(order_id, items=None, **extra) -> dict:
    return {"command": "createOrder", "orderId": order_id, "items": items or [{"itemid": "g-item", "quantity": 1}],
            **extra}


def cancel(order_id, **extra) -> dict:
    return {"command": "cancelOrder", "orderId": order_id, **extra}


# name -> (detail type, shape: pad -> (detail, resources or None), expected response fields, orderId never written)
# `pad` is a string of "x" sized so that the envelope is exactly the quota.
CLIENT_ERRORS_AND_ANSWERS = {
    # Queries
    "unsupported query string (the issue's event, grown to the quota)": (
        "orderQuery", lambda pad: ({"query": pad}, None), {"queryStatus": 400, "query": None}, None),
    "unsupported query object": (
        "orderQuery", lambda pad: ({"query": {"nested": [pad]}}, None), {"queryStatus": 400, "query": None}, None),
    "missing query, huge other field": (
        "orderQuery", lambda pad: ({"itemid": pad}, None), {"queryStatus": 400, "query": None}, None),
    "itemsSalesReport with a huge nextToken": (
        "orderQuery", lambda pad: ({"query": "itemsSalesReport", "nextToken": pad}, None),
        {"queryStatus": 400, "query": "itemsSalesReport", "queryResult": None}, None),
    "itemsSalesReport with a huge limit": (
        "orderQuery", lambda pad: ({"query": "itemsSalesReport", "limit": pad}, None),
        {"queryStatus": 400, "query": "itemsSalesReport"}, None),
    "itemsSalesReport with a huge unknown field": (
        "orderQuery", lambda pad: ({"query": "itemsSalesReport", "limit": 1, "padding": pad}, None),
        {"queryStatus": 200, "query": "itemsSalesReport"}, None),
    "monthlySalesByItem with a huge itemid": (
        "orderQuery", lambda pad: ({"query": "monthlySalesByItem", "itemid": pad}, None),
        {"queryStatus": 400, "query": "monthlySalesByItem", "queryItemId": None}, None),
    "monthlySalesByItem with a huge unknown field": (
        "orderQuery", lambda pad: ({"query": "monthlySalesByItem", "itemid": "g-item", "padding": pad}, None),
        {"queryStatus": 200, "queryItemId": "g-item"}, None),
    "getOrder with a huge orderId": (
        "orderQuery", lambda pad: ({"query": "getOrder", "orderId": pad}, None),
        {"queryStatus": 400, "query": "getOrder", "queryResult": None}, None),
    "getOrder with a huge unknown field": (
        "orderQuery", lambda pad: ({"query": "getOrder", "orderId": "g-existing", "padding": pad}, None),
        {"queryStatus": 200, "query": "getOrder"}, None),
    "getOrder with huge resources": (
        "orderQuery", lambda pad: ({"query": "getOrder", "orderId": "g-existing"}, [pad[:len(pad) // 2],
                                                                                     pad[len(pad) // 2:]]),
        {"queryStatus": 200, "query": "getOrder"}, None),
    # Commands
    "createOrder with a huge orderId": (
        "orderCommand", lambda pad: (create(pad), None),
        {"commandStatus": "rejected", "reason": "invalidCommand", "orderid": None}, None),
    "createOrder with a huge items list": (
        "orderCommand", lambda pad: (create("g-items", [{"itemid": "i", "quantity": 1}] * 8000, padding=pad), None),
        {"commandStatus": "rejected", "reason": "invalidCommand", "orderid": "g-items"}, "g-items"),
    "createOrder with a huge itemid": (
        "orderCommand", lambda pad: (create("g-itemid", [{"itemid": pad, "quantity": 1}]), None),
        {"commandStatus": "rejected", "reason": "invalidCommand", "orderid": "g-itemid"}, "g-itemid"),
    "createOrder with a huge quantity": (
        "orderCommand", lambda pad: (create("g-quantity", [{"itemid": "i", "quantity": pad}]), None),
        {"commandStatus": "rejected", "reason": "invalidCommand", "orderid": "g-quantity"}, "g-quantity"),
    "unknown command, huge": (
        "orderCommand", lambda pad: ({"command": pad, "orderId": "g-unknown"}, None),
        {"commandStatus": "rejected", "reason": "unsupportedCommand", "orderid": "g-unknown"}, "g-unknown"),
    "command as a huge object": (
        "orderCommand", lambda pad: ({"command": {"createOrder": pad}, "orderId": "g-object"}, None),
        {"commandStatus": "rejected", "reason": "invalidCommand", "orderid": "g-object"}, "g-object"),
    "no command, only a huge unknown field": (
        "orderCommand", lambda pad: ({"padding": pad}, None),
        {"commandStatus": "rejected", "reason": "invalidCommand", "orderid": None}, None),
    "the largest valid order with a huge unknown field": (
        "orderCommand", lambda pad: (create("g-largest", LARGEST_ITEMS, padding=pad), None),
        {"commandStatus": "orderCreated", "orderid": "g-largest"}, None),
    "createOrder with huge resources": (
        "orderCommand", lambda pad: (create("g-resources"), [pad]),
        {"commandStatus": "orderCreated", "orderid": "g-resources"}, None),
    "createOrder of an existing order": (
        "orderCommand", lambda pad: (create("g-existing", padding=pad), None),
        {"commandStatus": "rejected", "reason": "orderAlreadyExists", "orderid": "g-existing"}, None),
    "cancelOrder with a huge orderId": (
        "orderCommand", lambda pad: (cancel(pad), None),
        {"commandStatus": "rejected", "reason": "invalidCommand", "orderid": None}, None),
    "cancelOrder with a huge unknown field": (
        "orderCommand", lambda pad: (cancel("g-to-cancel", padding=pad), None),
        {"commandStatus": "orderCancelled", "orderid": "g-to-cancel"}, None),
    "cancelOrder of an unknown order": (
        "orderCommand", lambda pad: (cancel("g-nobody", padding=pad), None),
        {"commandStatus": "rejected", "reason": "orderNotFound", "orderid": "g-nobody"}, "g-nobody"),
    "cancelOrder of a cancelled order": (
        "orderCommand", lambda pad: (cancel("g-cancelled", padding=pad), None),
        {"commandStatus": "rejected", "reason": "orderAlreadyCancelled", "orderid": "g-cancelled"}, None),
}
# System faults: (function that fails, detail type, shape, expected response fields, orderId never written)
FAULTS = {
    "a failing validator": (
        "validate_command", "orderCommand", lambda pad: (create("g-fault", padding=pad), None),
        {"commandStatus": "failed", "reason": "internalError", "orderid": None}, "g-fault"),
    "a failing itemsSalesReport function": (
        "items_sales_report", "orderQuery", lambda pad: ({"query": "itemsSalesReport", "padding": pad}, None),
        {"queryStatus": 500, "query": "itemsSalesReport", "queryResult": None}, None),
    "a failing monthlySalesByItem function": (
        "monthly_sales_by_item", "orderQuery",
        lambda pad: ({"query": "monthlySalesByItem", "itemid": "g-item", "padding": pad}, None),
        {"queryStatus": 500, "query": "monthlySalesByItem", "queryResult": None}, None),
    "a failing getOrder function": (
        "get_order", "orderQuery", lambda pad: ({"query": "getOrder", "orderId": "g-existing", "padding": pad}, None),
        {"queryStatus": 500, "query": "getOrder", "queryResult": None}, None),
}
SETUP = [[entry("orderCommand", create(order_id)) for order_id in ("g-existing", "g-to-cancel", "g-cancelled")],
         [entry("orderCommand", cancel("g-cancelled"))]]
ACCEPTED_ORDERS = {"g-existing", "g-to-cancel", "g-cancelled", "g-largest", "g-resources"}


def largest(detail_type: str, shape, account: str, region: str) -> dict:
    """The entry of `shape` whose envelope is exactly the execution input quota."""
    detail, resources = shape("")
    pad = "x" * (MAX_EXECUTION_INPUT_BYTES - envelope_bytes(entry(detail_type, detail, resources), account, region))
    result = entry(detail_type, *shape(pad))
    assert envelope_bytes(result, account, region) == MAX_EXECUTION_INPUT_BYTES
    assert entry_size(result) <= MAX_ENTRY_BYTES
    return result


@pytest.fixture(scope="module")
def outcome(cloud):
    _, _, _, region, account, _ = cloud.outputs["EventBridgeARN"].split(":", 5)
    executions = len(cloud.executions)
    cases = {name: largest(detail_type, shape, account, region)
             for name, (detail_type, shape, _, _) in CLIENT_ERRORS_AND_ANSWERS.items()}
    steps = [*SETUP, list(cases.values())]
    results = {}
    for sent in run_steps(cloud, steps)[len(SETUP):]:
        results |= {name: result for name, (_, result) in zip(cases, sent)}
    for name, (function, detail_type, shape, _, _) in FAULTS.items():
        failing = function_name(cloud, function)
        cloud.runtime.fault = lambda called, event: \
            {"error": {"errorType": "RuntimeError", "errorMessage": "injected"}} if called == failing else None
        try:
            [[(_, results[name])]] = run_steps(cloud, [[largest(detail_type, shape, account, region)]])
        finally:
            cloud.runtime.fault = None
    responses: dict[str, list[dict]] = {}
    for event in cloud.published():
        detail = event["detail"]
        responses.setdefault(detail.get("commandMessageId") or detail.get("queryMessageId"), []).append(event)
    runs = {}
    for arn in cloud.executions[executions:]:
        execution = cloud.describe_execution(arn)  # EXPRESS: the API refuses DescribeExecution, as AWS does
        runs[json.loads(execution["input"])["id"]] = (execution["status"], utf8_size(execution["input"]))
    return {"cloud": cloud, "results": results, "responses": responses, "runs": runs}


def check(outcome, name: str, status: str, expected: dict, never_written: str | None):
    result = outcome["results"][name]
    assert "EventId" in result, result  # PutEvents took it
    event_status, input_bytes = outcome["runs"][result["EventId"]]
    assert input_bytes == MAX_EXECUTION_INPUT_BYTES  # the largest input that starts an execution
    assert event_status == status
    events = outcome["responses"].get(result["EventId"], [])
    assert len(events) == 1, "exactly one response per event"
    assert utf8_size(compact(events[0])) < RESPONSE_MAX_BYTES
    detail = events[0]["detail"]
    assert {key: detail.get(key, "absent") for key in expected} == expected
    if never_written:
        table = outcome["cloud"].outputs["OrdersTableName"]
        stored = outcome["cloud"].clients["dynamodb"].get_item(TableName=table, Key={"orderId": {"S": never_written}})
        assert "Item" not in stored


@pytest.mark.parametrize("name", CLIENT_ERRORS_AND_ANSWERS)
def test_each_path_answers_its_largest_event_once_and_small(outcome, name):
    _, _, expected, never_written = CLIENT_ERRORS_AND_ANSWERS[name]
    check(outcome, name, "SUCCEEDED", expected, never_written)


@pytest.mark.parametrize("name", FAULTS)
def test_each_fault_answers_its_largest_event_once_and_small_and_fails_the_execution(outcome, name):
    _, _, _, expected, never_written = FAULTS[name]
    check(outcome, name, "FAILED", expected, never_written)


def test_what_was_written_is_what_was_accepted_and_nothing_more(outcome):
    cloud = outcome["cloud"]
    table = cloud.outputs["OrdersTableName"]
    items = cloud.clients["dynamodb"].scan(TableName=table)["Items"]
    assert {i["orderId"]["S"] for i in items} == ACCEPTED_ORDERS
    largest_order = next(i for i in items if i["orderId"]["S"] == "g-largest")
    assert set(largest_order) == {"orderId", "status", "orderDate", "items", "version", "createdBy"}  # no padding
    assert [line["M"]["itemid"]["S"] for line in largest_order["items"]["L"]] == [i["itemid"] for i in LARGEST_ITEMS]
    read_model = {r.decode() if isinstance(r, bytes) else r for (r,) in cloud.read_model("SELECT order_id FROM orders")}
    assert read_model == ACCEPTED_ORDERS


def test_the_answers_carry_what_they_found(outcome):
    def detail(name):
        return outcome["responses"][outcome["results"][name]["EventId"]][0]["detail"]
    assert detail("getOrder with a huge unknown field")["queryResult"]["orderid"] == "g-existing"
    assert detail("getOrder with huge resources")["queryResult"]["orderid"] == "g-existing"
    assert detail("monthlySalesByItem with a huge unknown field")["queryResult"][0]["monthlyordered"] >= 1
    assert len(detail("itemsSalesReport with a huge unknown field")["queryResult"]) == 1  # limit 1


def test_the_readme_reliability_table_counts_these_cases():
    readme = (Path(__file__).parent.parent.parent / "README.md").read_text()
    answers = [case for case in CLIENT_ERRORS_AND_ANSWERS.values()
               if case[2].get("queryStatus") == 200 or case[2].get("commandStatus", "rejected") != "rejected"]
    rejected = len(CLIENT_ERRORS_AND_ANSWERS) - len(answers)
    assert (f"| {len(CLIENT_ERRORS_AND_ANSWERS) + len(FAULTS)} | {rejected} (the other {len(answers)} are valid and "
            f"answered) | {len(FAULTS)} |") in readme
