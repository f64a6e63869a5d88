"""Hot items across shards: 1, 2 and 4 projector streams at once over the same database, as several shards of the
orders stream are projected on AWS, with a skewed item popularity: one item in half the orders and the others
Zipf-distributed, so that every concurrent batch upserts the same totals rows.

Each stream is a process of its own (a Lambda container per shard: no GIL shared between them) that runs the real
projector handler over its share of the orders (split by a hash of the order id, as shards split keys), in batches
of the event source mapping's size, one after another. Reported per stream count: orders/s in aggregate (all
orders over the time from the common start to the last stream's end), the batches' p50 and p99 time, the
retries (deadlock victims, 1213, and lock wait timeouts, 1205, seen by the handler's statements; each is retried
by orders_db.connection), the server's row lock waits, and mariadbd's CPU per order. After each run every order,
line and total is checked: orders and lines counted once each, and both totals tables equal to the sums computed
here from the workload (no lost or double-counted line)."""

from __future__ import annotations

import hashlib
import importlib.util
import multiprocessing
import os
import random
import time
from collections import defaultdict
from datetime import timedelta

from bench import FUNCTIONS_DIR, records
from bench.database import MASTER, PASSWORDS, PROJECTOR, BenchDatabase, LambdaContext, handler_output_dropped
from bench.floors import batches
from bench.records import FIRST_DAY, DAYS, Order
from bench.report import emit, latency_ms, ratio, say

FULL = {"orders": 20_000, "batch_size": 100, "streams": (1, 2, 4)}
QUICK = {"orders": 4_000, "batch_size": 100, "streams": (1, 2, 4)}
HOT_ITEM = "item-00000"
TARGET_SCALING = 1.5  # 4 streams >= 1.5 x one stream's orders/s (on 2 cores)
RETRIED = {1213: "deadlocks", 1205: "lock_wait_timeouts"}


def skewed_orders(count: int, items: int = 1_000, seed: int = 11) -> list[Order]:
    """Orders of 1 to 5 lines: the hot item in half of them, the other lines drawn with Zipf weights 1/rank."""
    rng = random.Random(seed)
    others = [f"item-{n:05d}" for n in range(1, items)]
    weights = [1 / rank for rank in range(1, items)]
    orders = []
    for number in range(count):
        lines = rng.choices(others, weights, k=rng.randint(1, 5))
        if rng.random() < 0.5:
            lines[0] = HOT_ITEM
        orders.append(Order(order_id=f"order-{number:010d}",
                            order_date=FIRST_DAY + timedelta(seconds=rng.randrange(DAYS * 86_400)),
                            items=tuple((item, rng.randint(1, 20)) for item in lines)))
    return orders


def run(orders: int, batch_size: int, streams: tuple[int, ...]) -> dict:
    workload = skewed_orders(orders)
    stream = records.insert_records(workload)
    share = {item: sum(any(i == item for i, _ in o.items) for o in workload) / orders
             for item in (HOT_ITEM, "item-00001", "item-00002")}
    say(f"hot items across shards: {orders} orders ({sum(len(o.items) for o in workload)} lines), batches of"
        f" {batch_size}; share of orders holding the three most popular items: "
        + ", ".join(f"{item} {value:.0%}" for item, value in share.items()))
    figures: dict = {"orders": orders, "batch_size": batch_size, "hot_item_share": round(share[HOT_ITEM], 3)}
    with BenchDatabase() as db:
        for count in streams:
            figures[str(count)] = _run_streams(db, workload, stream, batch_size, count)
    base = figures[str(streams[0])]["orders_per_s"]
    for count in streams[1:]:
        figures[str(count)]["vs_one_stream"] = ratio(figures[str(count)]["orders_per_s"], base)
    for count in streams:
        measured = figures[str(count)]
        say(f"  {count} stream(s): {measured['orders_per_s']:7.0f} orders/s"
            + (f" ({measured['vs_one_stream']} x one stream)" if "vs_one_stream" in measured else "")
            + f"; batch p50 {measured['batch_p50_ms']} ms, p99 {measured['batch_p99_ms']} ms;"
            f" retries: {measured['deadlocks']} deadlocks, {measured['lock_wait_timeouts']} lock wait timeouts;"
            f" {measured['row_lock_waits']} row lock waits ({measured['row_lock_wait_ms']} ms in all); mariadbd {measured['server_cpu_ms_per_order']} ms"
            " CPU per order; totals exact")
    top = str(max(streams))
    if "vs_one_stream" in figures[top]:
        met = figures[top]["vs_one_stream"] >= TARGET_SCALING
        say(f"  {top} streams / 1 stream: {figures[top]['vs_one_stream']} (target >= {TARGET_SCALING}:"
            f" {'met' if met else 'MISSED'}); no lost or double-counted line (checked)")
    return emit("hot_items", figures)


def _run_streams(db: BenchDatabase, workload: list[Order], stream: list[dict], batch_size: int, count: int) -> dict:
    database = f"hot_{count}"
    db.create_read_models(database)
    shards: list[list[dict]] = [[] for _ in range(count)]
    for record in stream:
        key = record["dynamodb"]["Keys"]["orderId"]["S"].encode()
        shards[int(hashlib.md5(key).hexdigest(), 16) % count].append(record)
    context = multiprocessing.get_context("spawn")
    barrier, queue = context.Barrier(count + 1), context.Queue()
    processes = [context.Process(target=_stream, args=(db.server.host, db.server.port, database,
                                                       batches(shard, batch_size), barrier, queue))
                 for shard in shards]
    for process in processes:
        process.start()
    try:
        status_before, server_before = _lock_status(db), db.server_cpu_s()
        barrier.wait(timeout=120)  # every stream has loaded its handler and opened its connection: go
        results = [queue.get(timeout=600) for _ in processes]
    finally:
        for process in processes:
            process.join(timeout=10)
            if process.is_alive():
                process.kill()
    failures = [result for result in results if isinstance(result, str)]
    if failures:
        raise AssertionError(f"a projector stream failed: {failures[0]}")
    server_after, status_after = db.server_cpu_s(), _lock_status(db)
    start, finished = min(began for began, _, _, _ in results), max(end for _, end, _, _ in results)
    _check_totals(db, database, workload)
    seconds = [duration for _, _, durations, _ in results for duration in durations]
    retries = {name: sum(counts.get(code, 0) for _, _, _, counts in results) for code, name in RETRIED.items()}
    server = None if server_after is None else round((server_after - server_before) / len(workload) * 1000, 4)
    return {"orders_per_s": round(len(workload) / (finished - start)),
            "batch_p50_ms": latency_ms(seconds)["p50_ms"], "batch_p99_ms": latency_ms(seconds)["p99_ms"],
            **retries, "row_lock_waits": status_after["Innodb_row_lock_waits"] - status_before["Innodb_row_lock_waits"],
            "row_lock_wait_ms": status_after["Innodb_row_lock_time"] - status_before["Innodb_row_lock_time"],
            "server_cpu_ms_per_order": server}


def _lock_status(db: BenchDatabase) -> dict[str, int]:
    with db.connect(MASTER, "mysql") as connection, connection.cursor() as cursor:
        cursor.execute("SHOW GLOBAL STATUS WHERE Variable_name IN ('Innodb_row_lock_waits', 'Innodb_row_lock_time')")
        return {name: int(value) for name, value in cursor.fetchall()}


def _stream(host: str, port: int, database: str, events: list[list[dict]], barrier, queue) -> None:
    """One shard's projector container; puts (when it started and finished, each batch's seconds, retried errors
    by code) on the queue, or the error's text."""
    try:
        queue.put(_project_shard(host, port, database, events, barrier))
    except BaseException as error:  # noqa: BLE001 - reported to the parent, which raises it
        barrier.abort()
        queue.put(f"{type(error).__name__}: {error}")


def _project_shard(host: str, port: int, database: str, events: list[list[dict]], barrier) -> tuple:
    import pymysql

    from orders_db import connection

    os.environ.update({"DB_HOST": host, "DB_PORT": str(port), "DB_NAME": database, "DB_USER": PROJECTOR,
                       "DB_TLS": "disabled", "AWS_REGION": "us-east-1", "POWERTOOLS_SERVICE_NAME": "bench-hot"})
    connection.auth_token = lambda host, port, user: PASSWORDS[user]
    retried: dict[int, int] = defaultdict(int)
    execute = pymysql.cursors.Cursor.execute

    def counting_execute(cursor, query, args=None):
        try:
            return execute(cursor, query, args)
        except pymysql.MySQLError as error:
            if error.args and error.args[0] in RETRIED:
                retried[error.args[0]] += 1
            raise

    pymysql.cursors.Cursor.execute = counting_execute
    spec = importlib.util.spec_from_file_location("bench_hot_projector", FUNCTIONS_DIR / "projector" / "handler.py")
    module = importlib.util.module_from_spec(spec)
    context = LambdaContext(function_name="projector")
    durations = []
    with handler_output_dropped():
        spec.loader.exec_module(module)
        module.database().read(lambda cursor: cursor.execute("SELECT 1"))  # a warm container: connection open
        barrier.wait()
        began = time.monotonic()
        for records_ in events:
            started = time.monotonic()
            response = module.handler({"Records": records_}, context)
            durations.append(time.monotonic() - started)
            if response != {"batchItemFailures": []}:
                raise AssertionError(f"the projector failed records: {response}")
    return began, time.monotonic(), durations, dict(retried)


def _check_totals(db: BenchDatabase, database: str, workload: list[Order]) -> None:
    """Every order and line once, and the totals equal to the workload's sums: nothing lost, nothing counted twice."""
    per_item: dict[bytes, list] = defaultdict(lambda: [0, None])
    per_month: dict[tuple[bytes, str], int] = defaultdict(int)
    for order in workload:
        day = order.order_date.date()
        for item, quantity in order.items:
            total = per_item[item.encode()]
            total[0] += quantity
            total[1] = day if total[1] is None else max(total[1], day)
            per_month[(item.encode(), day.strftime("%Y-%m-01"))] += quantity
    with db.connect(MASTER, database) as connection, connection.cursor() as cursor:
        cursor.execute("SELECT (SELECT COUNT(*) FROM orders), (SELECT COUNT(*) FROM order_lines)")
        found = tuple(cursor.fetchone())
        expected = (len(workload), sum(len(order.items) for order in workload))
        cursor.execute("SELECT item_id, total_ordered, last_order_date FROM item_totals")
        items = {item: [total, day] for item, total, day in cursor.fetchall()}
        cursor.execute("SELECT item_id, DATE_FORMAT(order_month, '%Y-%m-01'), total_ordered FROM item_monthly_totals")
        months = {(item, month): total for item, month, total in cursor.fetchall()}
    if found != expected or items != dict(per_item) or months != dict(per_month):
        raise AssertionError(f"{database}: the read model does not hold each order's lines exactly once")
