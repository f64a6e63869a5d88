"""The query handlers against read models written by the projector: the contract's worked example, paging,
input validation, hostile strings, and reconnection."""

import base64
import json

import pymysql
import pytest

from orders_db.queries import MAX_MONTHS, encode_token
from orders_test_support import PROJECTOR, READER, cancelled, created, query, removed


@pytest.fixture
def project(function_handler, lambda_context):
    handler = function_handler("projector", PROJECTOR)

    def run(*records):
        assert handler({"Records": list(records)}, lambda_context) == {"batchItemFailures": []}

    return run


@pytest.fixture
def ask(function_handler, lambda_context):
    """ask(detail) -> the response of the handler of detail["query"], checked to be plain JSON."""
    handlers = {
        "itemsSalesReport": function_handler("items_sales_report", READER),
        "monthlySalesByItem": function_handler("monthly_sales_by_item", READER),
        "getOrder": function_handler("get_order", READER),
    }

    def run(detail, handler_name=None):
        response = handlers[handler_name or detail["query"]](detail, lambda_context)
        assert json.loads(json.dumps(response, allow_nan=False)) == response
        return response

    return run


def test_the_contracts_worked_example(project, ask):
    sample_items = [("z3333", 6), ("z4444", 3)]
    project(created("6101", sample_items, "2022-10-13T19:00:00Z"))
    project(created("6102", sample_items, "2022-10-13T19:00:00Z"))

    assert ask({"query": "itemsSalesReport"}) == {
        "query": "itemsSalesReport",
        "queryStatus": 200,
        "queryResult": [
            {"itemid": "z3333", "totalordered": 12, "lastorderdate": "2022-10-13"},
            {"itemid": "z4444", "totalordered": 6, "lastorderdate": "2022-10-13"},
        ],
    }
    assert ask({"query": "monthlySalesByItem", "itemid": "z4444"}) == {
        "query": "monthlySalesByItem",
        "queryStatus": 200,
        "queryResult": [{"monthyear": "October 2022", "monthlyordered": 6}],
        "queryItemId": "z4444",
    }
    assert ask({"query": "getOrder", "orderId": "6101"}) == {
        "query": "getOrder",
        "queryStatus": 200,
        "queryResult": {
            "orderid": "6101",
            "status": "orderCreated",
            "orderdate": "2022-10-13T19:00:00Z",
            "items": [{"itemid": "z3333", "quantity": 6}, {"itemid": "z4444", "quantity": 3}],
        },
    }


def test_items_sales_report_pages_through_every_item_once_in_itemid_order(project, ask):
    item_ids = ["b", "a", "A", "é", "e\u0301", "a ", "z" * 64, "🧾", "10", "9"]
    project(*(created(f"order-{n}", [(item_id, n + 1)]) for n, item_id in enumerate(item_ids)))
    seen, token, pages = [], None, 0
    while True:
        response = ask({"query": "itemsSalesReport", "limit": 3, **({"nextToken": token} if token else {})})
        assert response["queryStatus"] == 200 and len(response["queryResult"]) <= 3
        seen += response["queryResult"]
        pages += 1
        token = response.get("nextToken")
        if token is None:
            break
    assert pages == 4
    assert [row["itemid"] for row in seen] == sorted(item_ids)  # code point order, every id distinct
    assert {row["itemid"]: row["totalordered"] for row in seen} == {i: n + 1 for n, i in enumerate(item_ids)}
    assert "nextToken" not in ask({"query": "itemsSalesReport", "limit": len(item_ids)})


def test_a_page_of_long_unicode_itemids_stays_far_below_the_256_kb_event_limit(project, ask):
    item_ids = [f"{n:04d}" + "🧾" * 60 for n in range(600)]
    project(*(created(f"order-{n}", [(i, 1) for i in item_ids[n * 100 : n * 100 + 100]]) for n in range(6)))
    seen, token = [], None
    while True:
        response = ask({"query": "itemsSalesReport", "limit": 1000, **({"nextToken": token} if token else {})})
        assert len(json.dumps(response).encode()) < 200_000
        seen += [row["itemid"] for row in response["queryResult"]]
        token = response.get("nextToken")
        if token is None:
            break
    assert seen == item_ids


def test_a_full_last_page_has_no_next_token(project, ask):
    project(created("1", [("a", 1), ("b", 1)]))
    first = ask({"query": "itemsSalesReport", "limit": 1})
    second = ask({"query": "itemsSalesReport", "limit": 1, "nextToken": first["nextToken"]})
    assert [row["itemid"] for row in second["queryResult"]] == ["b"] and "nextToken" not in second


def test_a_crafted_next_token_is_only_ever_a_value(project, ask, root):
    project(created("1", [("a", 1), ("b", 2)]))
    crafted = encode_token("a' OR '1'='1'; DROP TABLE item_totals; -- ")
    response = ask({"query": "itemsSalesReport", "nextToken": crafted})
    assert response["queryStatus"] == 200
    assert [row["itemid"] for row in response["queryResult"]] == ["b"]  # 'b' sorts after the crafted text
    assert query(root, "SELECT COUNT(*) FROM item_totals") == [(2,)]


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode()


@pytest.mark.parametrize(
    ("detail", "message"),
    [
        ({"query": "itemsSalesReport", "limit": 0}, "limit"),
        ({"query": "itemsSalesReport", "limit": 1001}, "limit"),
        ({"query": "itemsSalesReport", "limit": -5}, "limit"),
        ({"query": "itemsSalesReport", "limit": True}, "limit"),
        ({"query": "itemsSalesReport", "limit": "10"}, "limit"),
        ({"query": "itemsSalesReport", "limit": 10.0}, "limit"),
        ({"query": "itemsSalesReport", "nextToken": 5}, "nextToken"),
        ({"query": "itemsSalesReport", "nextToken": ""}, "nextToken"),
        ({"query": "itemsSalesReport", "nextToken": "not base64 at all!"}, "nextToken"),
        ({"query": "itemsSalesReport", "nextToken": "ünïcode"}, "nextToken"),
        ({"query": "itemsSalesReport", "nextToken": _b64(b"' OR 1=1 --")}, "nextToken"),
        ({"query": "itemsSalesReport", "nextToken": _b64(b'["a"]')}, "nextToken"),
        ({"query": "itemsSalesReport", "nextToken": _b64(b'{"after": "a", "x": 1}')}, "nextToken"),
        ({"query": "itemsSalesReport", "nextToken": _b64(b'{"after": 7}')}, "nextToken"),
        ({"query": "itemsSalesReport", "nextToken": encode_token("x" * 65)}, "nextToken"),
        ({"query": "itemsSalesReport", "nextToken": "A" * 513}, "nextToken"),
        ({"query": "monthlySalesByItem"}, "itemid"),
        ({"query": "monthlySalesByItem", "itemid": ""}, "itemid"),
        ({"query": "monthlySalesByItem", "itemid": "x" * 65}, "itemid"),
        ({"query": "monthlySalesByItem", "itemid": ["z4444"]}, "itemid"),
        ({"query": "getOrder"}, "orderId"),
        ({"query": "getOrder", "orderId": 6101}, "orderId"),
        ({"query": "getOrder", "orderId": None}, "orderId"),
        # A lone surrogate is a valid JSON escape but no text: a client error, not an encoding exception.
        ({"query": "getOrder", "orderId": "bad\ud800id"}, "orderId"),
        ({"query": "monthlySalesByItem", "itemid": "\udfffz"}, "itemid"),
        ({"query": "itemsSalesReport", "nextToken": _b64(b'{"after": "\\ud800"}')}, "nextToken"),
    ],
)
def test_bad_parameters_are_a_400_naming_the_parameter(ask, detail, message):
    response = ask(detail)
    assert response["queryStatus"] == 400 and response["queryResult"] is None
    assert message in response["error"]
    assert "nextToken" not in response


@pytest.mark.parametrize("handler_name", ["itemsSalesReport", "monthlySalesByItem", "getOrder"])
@pytest.mark.parametrize("event", [None, "getOrder", ["itemsSalesReport"], {"query": "somethingElse"}, {}])
def test_an_event_that_is_not_this_query_is_a_400(ask, handler_name, event):
    response = ask(event, handler_name)
    assert (response["query"], response["queryStatus"], response["queryResult"]) == (handler_name, 400, None)
    if handler_name == "monthlySalesByItem":
        assert response["queryItemId"] is None


def test_monthly_sales_are_newest_first_per_utc_month_without_cancelled_orders(project, ask):
    project(
        created("1", [("z", 1)], "2021-12-31T23:30:00-01:00"),  # January 2022 in UTC
        created("2", [("z", 2), ("z", 3)], "2022-10-01T00:00:00Z"),
        created("3", [("z", 4)], "2022-10-31T23:59:59.999Z"),
        created("4", [("z", 8)], "2021-12-31T00:00:00Z"),
        created("5", [("z", 100)], "2022-11-05T00:00:00Z"),
        created("6", [("y", 7)], "2022-10-05T00:00:00Z"),
    )
    project(cancelled("5", [("z", 100)], "2022-11-05T00:00:00Z"))
    assert ask({"query": "monthlySalesByItem", "itemid": "z"})["queryResult"] == [
        {"monthyear": "October 2022", "monthlyordered": 9},
        {"monthyear": "January 2022", "monthlyordered": 1},
        {"monthyear": "December 2021", "monthlyordered": 8},
    ]
    assert ask({"query": "monthlySalesByItem", "itemid": "unknown"}) == {
        "query": "monthlySalesByItem",
        "queryStatus": 200,
        "queryResult": [],
        "queryItemId": "unknown",
    }


def test_monthly_sales_stop_at_the_newest_120_months(project, ask):
    months = [(2000 + n // 12, n % 12 + 1) for n in range(MAX_MONTHS + 5)]
    project(*(created(f"o{y}-{m}", [("z", m)], f"{y}-{m:02d}-15T12:00:00Z") for y, m in months))
    result = ask({"query": "monthlySalesByItem", "itemid": "z"})["queryResult"]
    assert len(result) == MAX_MONTHS
    assert result[0] == {"monthyear": "May 2010", "monthlyordered": 5}
    assert result[-1] == {"monthyear": "June 2000", "monthlyordered": 6}


def test_get_order_returns_lines_in_order_with_status_and_404s(project, ask):
    lines = [("b", 2), ("a", 1), ("b", 5)]
    project(created("1", lines, "2022-10-13T19:00:00.250+00:00"), created("2", lines), created("3", lines))
    project(cancelled("2", lines), removed("3", lines))
    assert ask({"query": "getOrder", "orderId": "1"})["queryResult"] == {
        "orderid": "1",
        "status": "orderCreated",
        "orderdate": "2022-10-13T19:00:00.250Z",
        "items": [{"itemid": "b", "quantity": 2}, {"itemid": "a", "quantity": 1}, {"itemid": "b", "quantity": 5}],
    }
    assert ask({"query": "getOrder", "orderId": "2"})["queryResult"]["status"] == "orderCancelled"
    for unknown in ("3", "4", "1 ", "%"):
        response = ask({"query": "getOrder", "orderId": unknown})
        assert (response["queryStatus"], response["queryResult"]) == (404, None) and response["error"]


HOSTILE = [
    "'",
    '"',
    "\\",
    "\\'",
    "'; DROP TABLE orders; --",
    "\"; DROP TABLE item_totals; #",
    "%s",
    "%(x)s",
    "a\x00b",
    "line\nbreak\ttab",
    "Ωμέγα ünïcödé " + "漢" * 50,
    "ü" * 64,
    "🧾📦🚚" * 21 + "!",
    "👩‍👩‍👧‍👦",
    "a",
    "A",
    "a ",
    "é",
    "e\u0301",
]


def test_hostile_strings_round_trip_literally(project, ask, root):
    assert all(1 <= len(text) <= 64 for text in HOSTILE)
    project(*(created(text, [(text, n + 1), ("plain", 1)]) for n, text in enumerate(HOSTILE)))
    for n, text in enumerate(HOSTILE):
        assert ask({"query": "getOrder", "orderId": text})["queryResult"]["items"] == [
            {"itemid": text, "quantity": n + 1},
            {"itemid": "plain", "quantity": 1},
        ]
        assert ask({"query": "monthlySalesByItem", "itemid": text})["queryResult"] == [
            {"monthyear": "October 2022", "monthlyordered": n + 1}
        ]
    report = ask({"query": "itemsSalesReport", "limit": 1000})["queryResult"]
    assert [row["itemid"] for row in report] == sorted([*HOSTILE, "plain"])
    assert query(root, "SELECT COUNT(*) FROM orders") == [(len(HOSTILE),)]


def _reader_sessions(mariadb) -> set[int]:
    admin = mariadb.root_connection()
    try:
        return {row[0] for row in query(admin, "SELECT id FROM information_schema.processlist WHERE user = %s", (READER,))}
    finally:
        admin.close()


def test_a_dropped_connection_is_reopened_and_a_dead_database_raises(project, ask, mariadb):
    project(created("1", [("a", 1)]))
    # The server is shared by the worker's tests: sessions that fault tests cut off at a proxy linger server side.
    before = _reader_sessions(mariadb)
    assert ask({"query": "getOrder", "orderId": "1"})["queryStatus"] == 200
    assert ask({"query": "getOrder", "orderId": "1"})["queryStatus"] == 200
    opened = _reader_sessions(mariadb) - before
    assert len(opened) == 1  # one connection, reused across invocations
    mariadb.execute("KILL CONNECTION %s", (opened.pop(),))
    assert ask({"query": "getOrder", "orderId": "1"})["queryStatus"] == 200

    mariadb.kill()
    try:
        with pytest.raises(pymysql.err.OperationalError):  # a system fault: the workflow retries, then 500
            ask({"query": "itemsSalesReport"})
    finally:
        mariadb.restart()
    assert ask({"query": "itemsSalesReport"})["queryStatus"] == 200
