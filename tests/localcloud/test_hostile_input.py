"""Hostile input, end to end: every case of tests/data/hostile-events.json gets exactly the contract's answer,
nothing is written for rejected input, no execution fails for a client error, and valid hostile ids round-trip."""

import json
from pathlib import Path

import pytest

from localcloud.__main__ import run_steps

pytestmark = pytest.mark.xdist_group("localcloud")

CORPUS = json.loads((Path(__file__).parent.parent / "data" / "hostile-events.json").read_text())
CASES = CORPUS["cases"]
CREATED = [c for c in CASES if c["expect"].get("commandStatus") == "orderCreated"]


def entry(case: dict) -> dict:
    detail = case["detailRaw"] if "detailRaw" in case else json.dumps(case["detail"])
    if "padDetailToBytes" in case:
        document = json.loads(detail)
        document["padding"] = "x" * (case["padDetailToBytes"] - len(detail))
        detail = json.dumps(document)
    return {"DetailType": case["detailType"], "Source": "orderPipeline", "Detail": detail,
            "Time": "2024-02-29T23:59:59Z"}


@pytest.fixture(scope="module")
def outcome(cloud):
    table = cloud.outputs["OrdersTableName"]
    before = {"items": cloud.clients["dynamodb"].scan(TableName=table, Select="COUNT")["Count"],
              "executions": len(cloud.executions)}
    setup = [entry(c) for c in CORPUS["setup"]]
    round_trips = [{"DetailType": "orderQuery", "Source": "orderPipeline",
                    "Detail": json.dumps({"query": "getOrder", "orderId": c["detail"]["orderId"]})} for c in CREATED]
    sent = run_steps(cloud, [setup[:2], setup[2:], [entry(c) for c in CASES], round_trips])
    responses: dict[str, list[dict]] = {}
    for event in cloud.published():
        detail = event["detail"]
        responses.setdefault(detail.get("commandMessageId") or detail.get("queryMessageId"), []).append(event)
    results = [result for _, result in sent[2]]
    return {"before": before, "cloud": cloud, "table": table, "responses": responses,
            "cases": {c["name"]: result for c, result in zip(CASES, results)},
            "round_trips": [responses[result["EventId"]][0]["detail"] for _, result in sent[3]]}


def test_the_corpus_is_large_and_named_uniquely():
    assert len(CASES) >= 40
    assert len({c["name"] for c in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_each_case_gets_the_contracts_answer(outcome, case):
    result, expect = outcome["cases"][case["name"]], case["expect"]
    if "putEventsError" in expect:
        assert result.get("ErrorCode") == expect["putEventsError"] and "EventId" not in result
        return
    events = outcome["responses"].get(result["EventId"], [])
    assert len(events) == 1, "exactly one response per event"
    detail = events[0]["detail"]
    if case["detailType"] == "orderCommand":
        assert events[0]["detail-type"] == "orderCommandResponse"
        assert detail["commandStatus"] == expect["commandStatus"]
        assert detail.get("reason") == expect.get("reason")
        assert expect.get("messageContains", "") in detail.get("message", "")
        order_id = case["detail"].get("orderId")
        if expect["commandStatus"] == "orderCreated" or expect.get("reason") in (
                "orderAlreadyExists", "orderNotFound", "orderAlreadyCancelled"):
            assert detail["orderid"] == order_id
    else:
        assert events[0]["detail-type"] == "orderQueryResponse"
        assert detail["queryStatus"] == expect["queryStatus"]
        if expect["queryStatus"] != 200:
            assert detail["queryResult"] is None
        assert expect.get("errorContains", "") in detail.get("error", "")


def test_rejected_input_writes_nothing(outcome):
    cloud, table = outcome["cloud"], outcome["table"]
    items = cloud.clients["dynamodb"].scan(TableName=table)["Items"]
    stored = {i["orderId"]["S"] for i in items}
    assert len(items) == outcome["before"]["items"] + 2 + len(CREATED)  # the setup's two orders, the valid cases
    assert {"h-1", "h-2", "big"}.isdisjoint(stored)
    existing = next(i for i in items if i["orderId"]["S"] == "h-existing")
    assert existing["items"]["L"] == [{"M": {"itemid": {"S": "h-item"}, "quantity": {"N": "1"}}}]  # not overwritten
    read_model = {row[0] for row in cloud.read_model("SELECT order_id FROM orders")}
    assert {r.decode() if isinstance(r, bytes) else r for r in read_model} == stored


def test_no_execution_fails_for_client_errors(outcome):
    statuses = outcome["cloud"].execution_statuses()[outcome["before"]["executions"]:]
    assert statuses and set(statuses) == {"SUCCEEDED"}


def test_valid_hostile_ids_round_trip_literally(outcome):
    for case, response in zip(CREATED, outcome["round_trips"]):
        assert response["queryStatus"] == 200, case["name"]
        assert response["queryResult"]["orderid"] == case["detail"]["orderId"]
        assert response["queryResult"]["items"] == case["detail"]["items"]


def test_the_readme_reliability_table_counts_this_corpus():
    readme = (Path(__file__).parent.parent.parent / "README.md").read_text()
    accepted = [c for c in CASES if c["expect"].get("commandStatus") == "orderCreated"
                or c["expect"].get("queryStatus") == 200]
    not_found = [c for c in CASES if c["expect"].get("queryStatus") == 404]
    assert (f"| {len(CASES)} | {len(CASES) - len(accepted)}, {len(not_found)} of them getOrder 404s"
            f" (the other {len(accepted)} are valid and accepted) |") in readme
