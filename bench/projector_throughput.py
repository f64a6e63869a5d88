"""Projector throughput: created orders as real-shaped stream records through the real projector handler, in
batches as the event source mapping delivers them, against the sample's approach and the floor, on one server.

- ours: `projector.handler.handler`, one invocation per batch, as the projector user;
- sample: one record per invocation, one stored-procedure CALL per order and per line, autocommit;
- floor: the same orders and lines rows, written with multi-row INSERTs built before the clock starts, one
  transaction per batch, no handler: what storing the rows costs on this server, before any projection logic.
Each approach writes into a database of its own and is checked row for row before its time counts. Besides the
wall-clock rate, the CPU time of this process (the handler) and of mariadbd per order shows where time goes,
and stays meaningful when other work shares the machine."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import pymysql

from bench import records, sample_approach
from bench.database import MASTER, PROJECTOR, SAMPLE, BenchDatabase, LambdaContext, handler_output_dropped
from bench.records import Order
from bench.report import emit, ratio, say

FULL = {"orders": 20_000, "batch_size": 100}
QUICK = {"orders": 2_000, "batch_size": 100}


@dataclass(frozen=True)
class Measurement:
    wall_s: float
    client_cpu_s: float
    server_cpu_s: float | None  # None without /proc
    statements: int  # round trips to the server


def run(orders: int, batch_size: int) -> dict:
    workload = records.orders(orders)
    stream = records.insert_records(workload)
    lines = sum(len(order.items) for order in workload)
    say(f"projector throughput: {orders} orders ({lines} lines) as stream records, batches of {batch_size}")
    with BenchDatabase() as db:
        results = {"ours": _ours(db, stream, batch_size), "sample": _sample(db, stream),
                   "floor": _floor(db, workload, batch_size)}
    figures: dict = {"orders": orders, "lines": lines, "batch_size": batch_size}
    for name, label in (("ours", "ours"), ("sample", "sample's approach"), ("floor", "floor")):
        measured = results[name]
        figures[f"{name}_orders_per_s"] = round(orders / measured.wall_s)
        figures[f"{name}_client_cpu_ms_per_order"] = round(measured.client_cpu_s / orders * 1000, 4)
        server = None if measured.server_cpu_s is None else round(measured.server_cpu_s / orders * 1000, 4)
        figures[f"{name}_server_cpu_ms_per_order"] = server
        figures[f"{name}_statements_per_order"] = round(measured.statements / orders, 3)
        say(f"  {label:<18} {measured.wall_s:7.2f} s {orders / measured.wall_s:8.0f} orders/s   per order:"
            f" {figures[f'{name}_statements_per_order']:6.3f} statements, CPU"
            f" {figures[f'{name}_client_cpu_ms_per_order']:.3f} ms in the handler and {server} ms in mariadbd")
    figures["ours_vs_floor"] = ratio(figures["ours_orders_per_s"], figures["floor_orders_per_s"])
    figures["ours_vs_sample"] = ratio(figures["ours_orders_per_s"], figures["sample_orders_per_s"])
    say(f"  ours/floor {figures['ours_vs_floor']} (target >= 0.5), ours/sample {figures['ours_vs_sample']}")
    if all(results[name].server_cpu_s is not None for name in results):
        cpu = {name: measured.client_cpu_s + measured.server_cpu_s for name, measured in results.items()}
        # By CPU time spent (handler and mariadbd) per order: what the rates would be on an otherwise idle machine.
        figures["ours_vs_floor_by_cpu"] = ratio(cpu["floor"], cpu["ours"])
        figures["ours_vs_sample_by_cpu"] = ratio(cpu["sample"], cpu["ours"])
        say(f"  by CPU time per order: ours/floor {figures['ours_vs_floor_by_cpu']},"
            f" ours/sample {figures['ours_vs_sample_by_cpu']}")
    return emit("projector_throughput", figures)


def _measure(db: BenchDatabase, work: Callable[[], None]) -> Measurement:
    statements_before = db.statements()
    server_before, client_before, start = db.server_cpu_s(), time.process_time(), time.perf_counter()
    work()
    wall, client, server_after = time.perf_counter() - start, time.process_time() - client_before, db.server_cpu_s()
    statements = db.statements() - statements_before - 1  # not the first SHOW STATUS itself
    return Measurement(wall, client, None if server_after is None else server_after - server_before, statements)


def _batches(items: list, size: int) -> list[list]:
    return [items[start:start + size] for start in range(0, len(items), size)]


def _ours(db: BenchDatabase, stream: list[dict], batch_size: int) -> Measurement:
    db.create_read_models("ours")
    handler = db.handler("projector", PROJECTOR, "ours")
    context = LambdaContext(function_name="projector")
    events = [{"Records": batch} for batch in _batches(stream, batch_size)]

    def project() -> None:
        with handler_output_dropped():
            for event in events:
                response = handler(event, context)
                if response != {"batchItemFailures": []}:
                    raise AssertionError(f"the projector failed records: {response}")

    measured = _measure(db, project)
    lines = [item["M"] for record in stream for item in record["dynamodb"]["NewImage"]["items"]["L"]]
    quantity = sum(int(line["quantity"]["N"]) for line in lines)
    _check(db, "ours", "SELECT (SELECT COUNT(*) FROM orders), (SELECT COUNT(*) FROM order_lines),"
           " (SELECT SUM(total_ordered) FROM item_totals), (SELECT SUM(total_ordered) FROM item_monthly_totals)",
           (len(stream), len(lines), quantity, quantity))
    return measured


def _sample(db: BenchDatabase, stream: list[dict]) -> Measurement:
    sample_approach.create_database(db, "sample")
    projector = sample_approach.Projector(db.connect(SAMPLE, "sample", autocommit=True))
    try:
        measured = _measure(db, lambda: [projector.handler({"Records": [record]}) for record in stream])
    finally:
        projector.connection.close()
    lines = sum(len(record["dynamodb"]["NewImage"]["items"]["L"]) for record in stream)
    _check(db, "sample", "SELECT (SELECT COUNT(*) FROM orders), (SELECT COUNT(*) FROM orderitems)",
           (len(stream), lines))
    return measured


def _floor(db: BenchDatabase, workload: list[Order], batch_size: int) -> Measurement:
    db.create_read_models("floor")
    connection = db.connect(PROJECTOR, "floor")
    try:
        with connection.cursor() as cursor:
            statements = [_floor_statements(cursor, batch) for batch in _batches(workload, batch_size)]

            def write() -> None:
                for batch in statements:
                    for statement in batch:
                        cursor.execute(statement)
                    connection.commit()

            measured = _measure(db, write)
    finally:
        connection.close()
    _check(db, "floor", "SELECT (SELECT COUNT(*) FROM orders), (SELECT COUNT(*) FROM order_lines)",
           (len(workload), sum(len(order.items) for order in workload)))
    return measured


def _floor_statements(cursor: pymysql.cursors.Cursor, batch: list[Order]) -> tuple[str, str]:
    """The batch's rows as our projector writes them, as two multi-row INSERT statements."""
    orders = [cursor.mogrify("(%s, 1, 'orderCreated', %s)", (o.order_id.encode(), _naive(o.order_date)))
              for o in batch]
    lines = [cursor.mogrify("(%s, %s, %s, %s, %s, 1)",
                            (o.order_id.encode(), line_no, item_id.encode(), quantity, _naive(o.order_date)))
             for o in batch for line_no, (item_id, quantity) in enumerate(o.items, start=1)]
    return (f"INSERT INTO orders (order_id, version, status, order_date) VALUES {', '.join(orders)}",
            "INSERT INTO order_lines (order_id, line_no, item_id, quantity, order_date, counted)"
            f" VALUES {', '.join(lines)}")


def _naive(moment: datetime) -> datetime:
    """UTC without its zone, as the DATETIME columns hold it."""
    return moment.replace(tzinfo=None)


def _check(db: BenchDatabase, database: str, sql: str, expected: tuple) -> None:
    with db.connect(MASTER, database) as connection, connection.cursor() as cursor:
        cursor.execute(sql)
        found = tuple(int(value) for value in cursor.fetchone())
    if found != expected:
        raise AssertionError(f"{database}: {sql} gave {found}, expected {expected}")
