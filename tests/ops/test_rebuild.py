"""The rebuild, in process against moto and a real MariaDB: from dropped rows or a dropped database, while
commands keep arriving, resumed after a stop, after a re-created table, and with an item it cannot apply."""

from __future__ import annotations

import threading

import pytest

from ops.core import inline, rebuild
from ops.core.clients import DirectReadSide
from tests.ops.support import TABLES


def rebuild_now(ops, **options) -> dict:
    table, _, readside = ops
    return inline.run("rebuild", table, readside, **{"segments": 4, **options})


def test_dropped_read_model_rows_are_rebuilt_row_for_row(world, ops):
    world.traffic(120)
    assert world.project_stream() == []
    for table in ("order_lines", "orders", "item_totals", "item_monthly_totals"):
        world.sql(f"DELETE FROM {table}")

    summary = rebuild_now(ops)

    assert world.snapshot() == world.reference()
    assert summary["scanned"] == 120 and summary["applied"] == 120 and summary["failed"] == 0
    assert summary["readModelOrders"] == 120 and summary["countsMatch"]


def test_a_dropped_database_is_rebuilt_into_a_fresh_one(world, ops):
    world.traffic(60)
    world.project_stream()
    empty = world.make_database()  # the whole database gone, migrated again by the next deployment
    table, _, _ = ops

    summary = inline.run("rebuild", table, DirectReadSide(lambda: world.connect_ops(empty)), segments=3)

    assert world.connect_ops(empty).read(_all_rows) == world.reference()
    assert summary["applied"] == 60


def test_a_rebuild_while_commands_keep_arriving_ends_equal_to_the_table(world, ops):
    world.traffic(150)
    world.project_stream()
    for table in ("order_lines", "orders", "item_totals", "item_monthly_totals"):
        world.sql(f"DELETE FROM {table}")
    stop = threading.Event()

    def commands():
        n = 0
        while not stop.is_set():
            world.put(f"live-{n:04d}", [("item-1", 1), ("item-live", 2)], day=n % 30)
            if n % 2:
                world.cancel(f"live-{n - 1:04d}")
            world.project_stream(batch_size=7)
            n += 1

    thread = threading.Thread(target=commands)
    thread.start()
    try:
        summary = rebuild_now(ops, segments=4, step_budget_s=0.05)  # many short steps, interleaved with commands
    finally:
        stop.set()
        thread.join()
    world.project_stream()

    assert summary["failed"] == 0
    assert world.snapshot() == world.reference()


def test_a_rebuild_stopped_halfway_continues_where_each_segment_stopped(world, ops):
    world.traffic(200)
    table, _, readside = ops
    run = rebuild.start(table, readside, segments=2, page_size=25)
    for segment in run["segments"]:  # one step of a few pages per segment, then the rebuild "stops"
        _pages(table, readside, run, segment, pages=2)
    pages = []
    counting = _CountingTable(table, pages)

    summary = inline.run("rebuild", counting, readside, segments=2)

    assert summary["resumed"] is True and summary["runId"] == run["runId"]
    assert summary["scanned"] == 200 and summary["applied"] == 200  # each order scanned once in all
    assert pages and all(start_key is not None for _, _, start_key, _ in pages)  # no segment started again
    assert world.snapshot() == world.reference()
    restarted = rebuild_now(ops, resume=False)
    assert restarted["runId"] != run["runId"] and restarted["stale"] == 200


def test_after_the_table_is_re_created_the_rebuild_leaves_only_the_new_table_s_orders(world, ops):
    world.put("6101", [("z3333", 6), ("z4444", 3)])
    world.put("6102", [("z3333", 6)])
    world.project_stream()
    world.drop_table()
    world.create_table()  # empty, with a new stream
    world.put("6101", [("z9999", 1)], day=3)  # version 1 again
    world.project_stream()
    assert world.sql("SELECT order_id, status FROM orders ORDER BY order_id") == [
        (b"6101", "orderCreated"), (b"6102", "orderCreated")]  # 6102 lingers from the old table

    summary = rebuild_now(ops)

    assert summary["removed"] == 1 and summary["readModelOrders"] == 1 and summary["countsMatch"]
    assert world.snapshot() == world.reference()
    assert world.sql("SELECT item_id, total_ordered FROM item_totals") == [(b"z9999", 1)]


def test_an_item_the_projector_cannot_apply_is_counted_and_named_not_skipped(world, ops):
    world.traffic(10)
    bad = world.put("broken", [("z1", 1)])
    bad["orderDate"] = {"S": "yesterday"}
    world.clients["dynamodb"].put_item(TableName=world.table_name, Item=bad)

    summary = rebuild_now(ops)

    assert summary["failed"] == 1 and summary["failedOrderIds"] == ["broken"]
    assert summary["applied"] == 10


class _CountingTable:
    def __init__(self, table, pages: list):
        self.table, self.pages, self.name = table, pages, table.name

    def describe(self):
        return self.table.describe()

    def scan(self, *args, **kwargs):
        self.pages.append(args)
        return self.table.scan(*args, **kwargs)

    def get(self, *args, **kwargs):
        return self.table.get(*args, **kwargs)


def _pages(table, readside, run, segment, pages):
    state = readside.call("segment_state", run_id=run["runId"], segment=segment)
    for _ in range(pages):
        items, last = table.scan(segment, run["totalSegments"], state["nextKey"], 25)
        state = readside.call("apply_page", run_id=run["runId"], segment=segment, epoch=run["epoch"], items=items,
                              next_key=last, seconds=0.0)


def _all_rows(cursor):
    rows = {}
    for table, key in TABLES.items():
        cursor.execute(f"SELECT * FROM {table} ORDER BY {key}")
        rows[table] = list(cursor.fetchall())
    return rows


@pytest.fixture(autouse=True)
def _quick_steps(monkeypatch):
    monkeypatch.setattr(rebuild, "SWEEP_PAGE", 7)  # several pages in the sweep, too
