"""Query latency at scale: the three query handlers over read models of 1,000,000 order lines (and of a tenth
of that, for how latency grows), against the sample's stored procedures over the same orders and lines.

The data set is generated inside the server by set-based INSERT ... SELECT over MariaDB's Sequence engine
tables (seq_0_to_N), in seconds: orders of 1 to 5 lines (3 on average) over 36 UTC months and `items` items,
all counted (status orderCreated; the sample knows no cancellation). The totals tables are aggregated from the
lines in SQL, so they hold what the projector would have written, and the sample's tables are copied from ours.

Handlers are called as a warm Lambda container calls them (connection open), on the reader user; the sample's
procedures on a connection of the sample's user, every row fetched. Percentiles are of wall-clock time per call.
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable

from bench import sample_approach
from bench.database import MASTER, READER, SAMPLE, BenchDatabase, LambdaContext, handler_output_dropped
from bench.records import DAYS, FIRST_DAY
from bench.report import emit, latency_ms, ratio, say

FULL = {"lines": 1_000_000, "baseline_lines": 100_000, "items": 1_000, "calls": 1_000,
        "sample_report_calls": 5, "sample_monthly_calls": 20}
QUICK = {"lines": 20_000, "baseline_lines": 2_000, "items": 1_000, "calls": 200,
         "sample_report_calls": 5, "sample_monthly_calls": 20}
QUERIES = {"itemsSalesReport": "items_sales_report", "monthlySalesByItem": "monthly_sales_by_item",
           "getOrder": "get_order"}
WARM_UP_CALLS = 20
LOAD_TIMEOUT_S = 600  # one statement inserts up to 1,000,000 rows, and the sample's report reads them all
# Lines come in blocks of 15: five orders of 1, 2, 3, 4 and 5 lines. Line r of a block (0..14) belongs to the
# block's order j with j(j+1)/2 <= r < (j+1)(j+2)/2.
BLOCK_LINES, BLOCK_ORDERS = 15, 5
_ORDER_IN_BLOCK = f"FLOOR((SQRT(8 * (seq MOD {BLOCK_LINES}) + 1) - 1) / 2)"


def run(lines: int, baseline_lines: int, items: int, calls: int, sample_report_calls: int,
        sample_monthly_calls: int) -> dict:
    say(f"query latency: {baseline_lines} and {lines} order lines, {items} items, {calls} calls per query")
    with BenchDatabase() as db:
        baseline = _data_set(db, baseline_lines, items, calls, sample_report_calls, sample_monthly_calls)
        large = _data_set(db, lines, items, calls, sample_report_calls, sample_monthly_calls)
    figures: dict = {"lines": lines, "orders": orders_for(lines), "baseline_lines": baseline_lines, "items": items,
                     "calls": calls, "load_s": large["load_s"], "ours": {}, "sample": {}, "speedup_vs_sample": {}}
    for query in QUERIES:
        ours, before = large["ours"][query], baseline["ours"][query]
        figures["ours"][query] = {**ours, "baseline_p50_ms": before["p50_ms"], "baseline_p95_ms": before["p95_ms"],
                                  "growth_p50": ratio(ours["p50_ms"], before["p50_ms"]),
                                  "growth_p95": ratio(ours["p95_ms"], before["p95_ms"])}
    for query, sample in large["sample"].items():
        figures["sample"][query] = {**sample, "baseline_p50_ms": baseline["sample"][query]["p50_ms"]}
        figures["speedup_vs_sample"][query] = ratio(sample["p50_ms"], figures["ours"][query]["p50_ms"], 0)
    say(f"  at {lines} lines (p50 / p95 / p99 ms; growth of p50 and p95 from {baseline_lines} lines):")
    for query, row in figures["ours"].items():
        say(f"    ours   {query:<19} {row['p50_ms']:9.3f} {row['p95_ms']:9.3f} {row['p99_ms']:9.3f}"
            f"   growth {row['growth_p50']} / {row['growth_p95']}")
    for query, row in figures["sample"].items():
        say(f"    sample {query:<19} {row['p50_ms']:9.1f} {row['p95_ms']:9.1f} {row['p99_ms']:9.1f}"
            f"   ({row['calls']} calls; {row['baseline_p50_ms']:.1f} ms at {baseline_lines} lines)"
            f"   ours is {figures['speedup_vs_sample'][query]:.0f} x faster (p50)")
    return emit("query_latency", figures)


def orders_for(lines: int) -> int:
    """How many orders the data set of `lines` lines has (its last order may hold fewer lines than its block says)."""
    last = lines - 1
    within = last % BLOCK_LINES
    return last // BLOCK_LINES * BLOCK_ORDERS + (math.isqrt(8 * within + 1) - 1) // 2 + 1


def _order_date(order: str) -> str:
    """SQL for the date of order number `order`: spread over the 36 months by a multiplicative hash."""
    return (f"TIMESTAMP'{FIRST_DAY:%Y-%m-%d %H:%M:%S}'"
            f" + INTERVAL ({order} * 2654435761) MOD {DAYS * 86_400} SECOND")


def _load(db: BenchDatabase, database: str, lines: int, items: int) -> None:
    orders = orders_for(lines)
    with db.connect(MASTER, database, read_timeout=LOAD_TIMEOUT_S) as connection, connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO orders (order_id, version, status, order_date)"
            f" SELECT CONCAT('order-', LPAD(seq, 10, '0')), 1, 'orderCreated', {_order_date('seq')}"
            f" FROM seq_0_to_{orders - 1}")
        cursor.execute(
            "INSERT INTO order_lines (order_id, line_no, item_id, quantity, order_date, counted)"
            " SELECT CONCAT('order-', LPAD(o, 10, '0')), line_no, CONCAT('item-', LPAD((k * 7919) MOD %s, 5, '0')),"
            f" 1 + (k * 37) MOD 20, {_order_date('o')}, 1"
            f" FROM (SELECT seq AS k, seq DIV {BLOCK_LINES} * {BLOCK_ORDERS} + j AS o,"
            f"             seq MOD {BLOCK_LINES} - j * (j + 1) DIV 2 + 1 AS line_no"
            f"       FROM (SELECT seq, {_ORDER_IN_BLOCK} AS j FROM seq_0_to_{lines - 1}) numbered) generated",
            (items,))
        cursor.execute(
            "INSERT INTO item_monthly_totals (item_id, order_month, total_ordered)"
            " SELECT item_id, CAST(DATE_FORMAT(order_date, '%Y-%m-01') AS DATE), SUM(quantity)"
            " FROM order_lines WHERE counted = 1"
            " GROUP BY item_id, CAST(DATE_FORMAT(order_date, '%Y-%m-01') AS DATE)")
        # Item totals from the monthly ones, last dates by a loose scan of the (item, counted, date) index: one
        # step per item instead of a lookup per line.
        cursor.execute(
            "INSERT INTO item_totals (item_id, total_ordered, last_order_date)"
            " SELECT months.item_id, months.total, DATE(latest.order_date)"
            " FROM (SELECT item_id, SUM(total_ordered) AS total FROM item_monthly_totals GROUP BY item_id) months"
            " JOIN (SELECT item_id, MAX(order_date) AS order_date FROM order_lines WHERE counted = 1"
            "       GROUP BY item_id) latest ON latest.item_id = months.item_id")
        connection.commit()
        cursor.execute("SELECT (SELECT COUNT(*) FROM orders), (SELECT COUNT(*) FROM order_lines),"
                       " (SELECT SUM(quantity) FROM order_lines), (SELECT SUM(total_ordered) FROM item_totals),"
                       " (SELECT SUM(total_ordered) FROM item_monthly_totals)")
        found_orders, found_lines, quantity, *totals = (int(value) for value in cursor.fetchone())
        if (found_orders, found_lines, totals) != (orders, lines, [quantity, quantity]):
            raise AssertionError(f"{database}: generated {found_orders} orders, {found_lines} lines, totals {totals}")
        cursor.execute("ANALYZE TABLE orders, order_lines, item_totals, item_monthly_totals")
        cursor.fetchall()


def _data_set(db: BenchDatabase, lines: int, items: int, calls: int, sample_report_calls: int,
              sample_monthly_calls: int) -> dict:
    database, sample_database = f"orders_{lines}", f"sample_{lines}"
    db.create_read_models(database)
    start = time.perf_counter()
    _load(db, database, lines, items)
    load_s = round(time.perf_counter() - start, 2)
    start = time.perf_counter()
    sample_approach.create_database(db, sample_database)
    with db.connect(MASTER, sample_database, read_timeout=LOAD_TIMEOUT_S) as connection, connection.cursor() as cursor:
        sample_approach.copy_read_models(cursor, database)
        connection.commit()
        cursor.execute("ANALYZE TABLE orders, orderitems")
        cursor.fetchall()
    say(f"  {lines} lines: read models loaded in {load_s} s, the sample's tables in"
        f" {time.perf_counter() - start:.2f} s")
    rng = random.Random(lines)
    orders = orders_for(lines)

    def item() -> str:
        return f"item-{rng.randrange(items):05d}"

    events = {
        "itemsSalesReport": lambda: {"query": "itemsSalesReport"},
        "monthlySalesByItem": lambda: {"query": "monthlySalesByItem", "itemid": item()},
        "getOrder": lambda: {"query": "getOrder", "orderId": f"order-{rng.randrange(orders):010d}"},
    }
    ours = {}
    for query, function in QUERIES.items():
        handler, context = db.handler(function, READER, database), LambdaContext(function_name=function)
        with handler_output_dropped():
            samples = _timed_calls(lambda event: _answered(handler(event, context)),
                                   [events[query]() for _ in range(WARM_UP_CALLS + calls)])
        ours[query] = latency_ms(samples[WARM_UP_CALLS:])
    with (db.connect(SAMPLE, sample_database, autocommit=True, read_timeout=LOAD_TIMEOUT_S) as connection,
          connection.cursor() as cursor):
        report = _timed_calls(lambda _: _rows(sample_approach.items_sales_report(cursor)),
                              [None] * (1 + sample_report_calls))
        monthly = _timed_calls(lambda item_id: _rows(sample_approach.monthly_sales_by_item(cursor, item_id)),
                               [item() for _ in range(1 + sample_monthly_calls)])
    sample = {"itemsSalesReport": {**latency_ms(report[1:]), "calls": sample_report_calls},
              "monthlySalesByItem": {**latency_ms(monthly[1:]), "calls": sample_monthly_calls}}
    db.server.drop_database(database)
    db.server.drop_database(sample_database)
    return {"load_s": load_s, "ours": ours, "sample": sample}


def _timed_calls(call: Callable, arguments: list) -> list[float]:
    samples = []
    for argument in arguments:
        start = time.perf_counter()
        call(argument)
        samples.append(time.perf_counter() - start)
    return samples


def _answered(response: dict) -> None:
    """Latency counts only for real answers: status 200 with a non-empty result."""
    if response.get("queryStatus") != 200 or not response.get("queryResult"):
        raise AssertionError(f"unexpected query response: {response}")


def _rows(rows: list) -> None:
    if not rows:
        raise AssertionError("the sample's query returned no rows")
