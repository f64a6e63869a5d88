"""Projector throughput: created orders as real-shaped stream records through the real projector handler, in
batches as the event source mapping delivers them, against the sample's approach and two floors, on one server.

- ours: `projector.handler.handler`, one invocation per batch, as the projector user;
- sample: one record per invocation, one stored-procedure CALL per order and per line, autocommit;
- same-work floor: the end state ours produces (orders, lines and both totals tables), from statements built
  before the clock starts, the totals pre-aggregated per batch, multi-row upserts, one transaction per batch;
- rows-only floor: only the orders and lines rows, the same way (what storing the rows costs, before the totals).
(bench/floors.py.) Each approach writes into a database of its own and is checked before its time counts: ours
and the same-work floor row for row against each other, the others by counts. Besides the wall-clock rate, the
CPU time of this process (the handler) and of mariadbd per order shows where time goes, and stays meaningful when
other work shares the machine. The targets compare ours with the same-work floor, in this run."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from bench import floors, records, sample_approach
from bench.database import MASTER, PROJECTOR, SAMPLE, BenchDatabase, LambdaContext, handler_output_dropped
from bench.records import Order
from bench.report import emit, ratio, say

FULL = {"orders": 20_000, "batch_size": 100, "repeats": 3}
QUICK = {"orders": 2_000, "batch_size": 100, "repeats": 3}
TARGET_WALL_VS_SAME_WORK = 0.5  # ours >= 0.5 x the same-work floor's orders/s
TARGET_SERVER_CPU_VS_SAME_WORK = 1.2  # mariadbd CPU per order <= 1.2 x the same-work floor's
APPROACHES = (("ours", "ours"), ("sample", "sample's approach"), ("same_work_floor", "same-work floor"),
              ("rows_floor", "rows-only floor"))
TABLES = {"orders": "order_id", "order_lines": "order_id, line_no", "item_totals": "item_id",
          "item_monthly_totals": "item_id, order_month"}


@dataclass(frozen=True)
class Measurement:
    wall_s: float
    client_cpu_s: float
    server_cpu_s: float | None  # None without /proc
    statements: int  # round trips to the server


def run(orders: int, batch_size: int, repeats: int = 1) -> dict:
    workload = records.orders(orders)
    stream = records.insert_records(workload)
    lines = sum(len(order.items) for order in workload)
    say(f"projector throughput: {orders} orders ({lines} lines) as stream records, batches of {batch_size};"
        f" ours and the floors in turns, {repeats} times (the median run of each), the sample once")
    runs: dict[str, list[Measurement]] = {"ours": [], "same_work_floor": [], "rows_floor": []}
    with BenchDatabase() as db:
        for turn in range(repeats):  # in turns, so that a burst of load elsewhere falls on each approach alike
            runs["ours"].append(_ours(db, f"ours_{turn}", stream, batch_size))
            runs["same_work_floor"].append(
                _floor(db, f"same_work_floor_{turn}", workload, batch_size, floors.same_work))
            runs["rows_floor"].append(_floor(db, f"rows_floor_{turn}", workload, batch_size, floors.rows_only))
            _same_state(db, f"ours_{turn}", f"same_work_floor_{turn}")
        results = {name: sorted(measured, key=lambda m: m.wall_s)[len(measured) // 2]
                   for name, measured in runs.items()}
        results["sample"] = _sample(db, stream)
    figures: dict = {"orders": orders, "lines": lines, "batch_size": batch_size, "repeats": repeats}
    for name, label in APPROACHES:
        measured = results[name]
        figures[f"{name}_orders_per_s"] = round(orders / measured.wall_s)
        figures[f"{name}_client_cpu_ms_per_order"] = round(measured.client_cpu_s / orders * 1000, 4)
        server = None if measured.server_cpu_s is None else round(measured.server_cpu_s / orders * 1000, 4)
        figures[f"{name}_server_cpu_ms_per_order"] = server
        figures[f"{name}_statements_per_order"] = round(measured.statements / orders, 3)
        say(f"  {label:<18} {measured.wall_s:7.2f} s {orders / measured.wall_s:8.0f} orders/s   per order:"
            f" {figures[f'{name}_statements_per_order']:6.3f} statements, CPU"
            f" {figures[f'{name}_client_cpu_ms_per_order']:.3f} ms in the handler and {server} ms in mariadbd")
    figures["ours_vs_same_work_floor"] = ratio(figures["ours_orders_per_s"], figures["same_work_floor_orders_per_s"])
    figures["ours_vs_rows_floor"] = ratio(figures["ours_orders_per_s"], figures["rows_floor_orders_per_s"])
    figures["ours_vs_sample"] = ratio(figures["ours_orders_per_s"], figures["sample_orders_per_s"])
    say(f"  ours / same-work floor {figures['ours_vs_same_work_floor']} by wall time"
        f" (target >= {TARGET_WALL_VS_SAME_WORK}: {_verdict(figures['ours_vs_same_work_floor'] >= TARGET_WALL_VS_SAME_WORK)});"
        f" ours / rows-only floor {figures['ours_vs_rows_floor']}; ours / sample {figures['ours_vs_sample']}")
    if all(results[name].server_cpu_s for name in results):
        server = {name: measured.server_cpu_s for name, measured in results.items()}
        cpu = {name: measured.client_cpu_s + measured.server_cpu_s for name, measured in results.items()}
        figures["server_cpu_ours_vs_same_work_floor"] = ratio(server["ours"], server["same_work_floor"])
        # By CPU time spent (handler and mariadbd) per order: what the rates would be on an otherwise idle machine.
        figures["ours_vs_same_work_floor_by_cpu"] = ratio(cpu["same_work_floor"], cpu["ours"])
        figures["ours_vs_sample_by_cpu"] = ratio(cpu["sample"], cpu["ours"])
        met = figures["server_cpu_ours_vs_same_work_floor"] <= TARGET_SERVER_CPU_VS_SAME_WORK
        say(f"  mariadbd CPU per order, ours / same-work floor {figures['server_cpu_ours_vs_same_work_floor']}"
            f" (target <= {TARGET_SERVER_CPU_VS_SAME_WORK}: {_verdict(met)}); by all CPU time per order:"
            f" ours / same-work floor {figures['ours_vs_same_work_floor_by_cpu']},"
            f" ours / sample {figures['ours_vs_sample_by_cpu']}")
    return emit("projector_throughput", figures)


def _verdict(met: bool) -> str:
    return "met" if met else "MISSED"


def _measure(db: BenchDatabase, work: Callable[[], None]) -> Measurement:
    statements_before = db.statements()
    server_before, client_before, start = db.server_cpu_s(), time.process_time(), time.perf_counter()
    work()
    wall, client, server_after = time.perf_counter() - start, time.process_time() - client_before, db.server_cpu_s()
    statements = db.statements() - statements_before - 1  # not the first SHOW STATUS itself
    return Measurement(wall, client, None if server_after is None else server_after - server_before, statements)


def _ours(db: BenchDatabase, database: str, stream: list[dict], batch_size: int) -> Measurement:
    db.create_read_models(database)
    handler = db.handler("projector", PROJECTOR, database)
    context = LambdaContext(function_name="projector")
    events = [{"Records": batch} for batch in floors.batches(stream, batch_size)]

    def project() -> None:
        with handler_output_dropped():
            for event in events:
                response = handler(event, context)
                if response != {"batchItemFailures": []}:
                    raise AssertionError(f"the projector failed records: {response}")

    measured = _measure(db, project)
    lines = [item["M"] for record in stream for item in record["dynamodb"]["NewImage"]["items"]["L"]]
    quantity = sum(int(line["quantity"]["N"]) for line in lines)
    _check(db, database, "SELECT (SELECT COUNT(*) FROM orders), (SELECT COUNT(*) FROM order_lines),"
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


def _floor(db: BenchDatabase, database: str, workload: list[Order], batch_size: int, build) -> Measurement:
    db.create_read_models(database)
    connection = db.connect(PROJECTOR, database)
    try:
        measured = _measure(db, floors.writer(connection, workload, batch_size, build))
    finally:
        connection.close()
    _check(db, database, "SELECT (SELECT COUNT(*) FROM orders), (SELECT COUNT(*) FROM order_lines)",
           (len(workload), sum(len(order.items) for order in workload)))
    return measured


def _check(db: BenchDatabase, database: str, sql: str, expected: tuple) -> None:
    with db.connect(MASTER, database) as connection, connection.cursor() as cursor:
        cursor.execute(sql)
        found = tuple(int(value) for value in cursor.fetchone())
    if found != expected:
        raise AssertionError(f"{database}: {sql} gave {found}, expected {expected}")


def _same_state(db: BenchDatabase, database: str, other: str) -> None:
    """Both read models hold the same rows in every table (the same-work floor does the same work)."""
    with db.connect(MASTER, database) as connection, connection.cursor() as cursor:
        for table, key in TABLES.items():
            rows = []
            for schema in (database, other):
                cursor.execute(f"SELECT * FROM {schema}.{table} ORDER BY {key}")
                rows.append(cursor.fetchall())
            if rows[0] != rows[1]:
                raise AssertionError(f"{database}.{table} and {other}.{table} differ")
