"""Rebuild rate: orders per second a rebuild applies from the orders table into empty read models, at growing table
sizes (how the rate holds as the table grows), and over read models that already hold every order (all stale: what
a resumed or repeated rebuild costs).

The real steps run in one process (`ops.core.inline.run`: the start, every segment on a thread of its own, the
final sweep) with the real read side (`ops.core.readside` through JSON, one connection per segment, as the ops
user) against a private MariaDB. The table is an in-memory stand-in that splits the items into segments by a hash
of their key and pages them as a parallel Scan does: DynamoDB's own time is not measured (on AWS a segment's 1 MB
page takes tens of milliseconds and segments scan in parallel; moto's scan, linear in the table per page, would
measure moto). Every run is checked: each order applied exactly once, the totals equal to the orders' lines."""

from __future__ import annotations

import hashlib
import time

from bench import FUNCTIONS_DIR, records
from bench.database import MASTER, PASSWORDS, BenchDatabase
from bench.report import emit, ratio, say
from ops.core import inline
from ops.core.clients import DirectReadSide
from orders_db import connection
from orders_db.batches import PROJECTOR_SESSION
from orders_db.connection import Database, open_connection
from orders_db.schema_migrations import DatabaseUsers, load_migrations, migrate
from orders_db.stream_records import stream_epoch

FULL = {"sizes": (10_000, 30_000, 100_000), "segments": 4}
QUICK = {"sizes": (1_000, 5_000), "segments": 4}
OPS, OPS_PASSWORD = "cqrs_ops", "ops-secret"


class MemoryTable:
    """The orders table as the rebuild reads it (describe, parallel scan pages, consistent gets), in memory."""

    def __init__(self, items: list[dict], stream_arn: str):
        self.name, self.stream_arn = "bench-orders", stream_arn
        self.items = {item["orderId"]["S"]: item for item in items}
        self._segments: dict[int, list[list[dict]]] = {}

    def describe(self) -> dict:
        return {"streamArn": self.stream_arn, "epoch": stream_epoch(self.stream_arn), "itemCount": len(self.items)}

    def scan(self, segment: int, total: int, start_key: dict | None, limit: int, consistent: bool = False):
        if total not in self._segments:
            self._segments[total] = self._split(total)
        keys = self._segments[total][segment]
        start = 0 if start_key is None else int(start_key["position"]["N"])
        page = [self.items[key] for key in keys[start:start + limit]]
        more = start + limit < len(keys)
        return page, ({"orderId": page[-1]["orderId"], "position": {"N": str(start + limit)}} if more else None)

    def get(self, order_ids: list[str], keys_only: bool = False) -> dict[str, dict]:
        return {order_id: self.items[order_id] for order_id in order_ids if order_id in self.items}

    def _split(self, total: int) -> list[list[str]]:
        segments: list[list[str]] = [[] for _ in range(total)]
        for key in self.items:
            segments[int(hashlib.md5(key.encode()).hexdigest(), 16) % total].append(key)
        return segments


def run(sizes: tuple[int, ...], segments: int) -> dict:
    say(f"rebuild rate: {', '.join(f'{size:,}' for size in sizes)} orders in the table, {segments} segments, "
        f"pages of {inline.rebuild.PAGE_SIZE}, read side in process against MariaDB (the scan itself not timed)")
    figures: dict = {"segments": segments, "page_size": inline.rebuild.PAGE_SIZE}
    with BenchDatabase() as db:
        db.server.create_user(OPS, OPS_PASSWORD)
        saved, connection.auth_token = connection.auth_token, \
            lambda host, port, user: OPS_PASSWORD if user == OPS else PASSWORDS[user]
        try:
            for size in sizes:
                figures[str(size)] = _measure(db, size, segments)
        finally:
            connection.auth_token = saved
    largest, smallest = figures[str(sizes[-1])], figures[str(sizes[0])]
    figures["rate_ratio_largest_vs_smallest"] = ratio(largest["empty_orders_per_s"], smallest["empty_orders_per_s"])
    say(f"  rate at {sizes[-1]:,} orders / rate at {sizes[0]:,}: {figures['rate_ratio_largest_vs_smallest']}"
        " (1.0: the time grows in proportion to the table)")
    return emit("rebuild_rate", figures)


def _measure(db: BenchDatabase, size: int, segments: int) -> dict:
    workload = records.orders(size)
    table = MemoryTable([record["dynamodb"]["NewImage"] for record in records.insert_records(workload)],
                        records.STREAM_ARN)
    name = f"rebuild_{size}"
    master = open_connection(db.settings(MASTER, name), PASSWORDS[MASTER])
    try:
        migrate(master, name, load_migrations(FUNCTIONS_DIR / "migrations"),
                DatabaseUsers("cqrs_projector", "cqrs_reader", "password", ops=OPS))
    finally:
        master.close()
    readside = DirectReadSide(lambda: Database(db.settings(OPS, name), session_sql=PROJECTOR_SESSION))
    result = {}
    try:
        for phase in ("empty", "current"):  # into empty read models, then again over what it wrote (all stale)
            started = time.perf_counter()
            summary = inline.run("rebuild", table, readside, segments=segments, resume=False)
            seconds = time.perf_counter() - started
            expected = {"empty": (size, 0), "current": (0, size)}[phase]
            assert (summary["applied"], summary["stale"], summary["failed"]) == (*expected, 0), summary
            result[f"{phase}_s"] = round(seconds, 2)
            result[f"{phase}_orders_per_s"] = round(size / seconds)
        _check_totals(db, name, workload)
    finally:
        readside.close()
        db.server.drop_database(name)
    say(f"  {size:>9,} orders: {result['empty_orders_per_s']:>6,} orders/s into empty read models "
        f"({result['empty_s']} s), {result['current_orders_per_s']:>6,} orders/s over current ones "
        f"({result['current_s']} s)")
    return result


def _check_totals(db: BenchDatabase, name: str, workload: list) -> None:
    connection_ = db.server.root_connection(name)
    try:
        with connection_.cursor() as cursor:
            cursor.execute("SELECT COUNT(*), (SELECT SUM(total_ordered) FROM item_totals),"
                           " (SELECT SUM(total_ordered) FROM item_monthly_totals) FROM orders")
            orders, total, monthly = cursor.fetchone()
    finally:
        connection_.close()
    quantity = sum(quantity for order in workload for _, quantity in order.items)
    assert (orders, int(total), int(monthly)) == (len(workload), quantity, quantity), (orders, total, monthly)

