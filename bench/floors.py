"""The projector benchmark's two floors: what the server costs for a stream of created orders when every statement
is built before the clock starts and no projection logic runs.

- rows-only: the orders and order_lines rows, two multi-row INSERTs per batch;
- same work: the end state our projector produces (orders with their stream epoch, lines, `item_totals` and
  `item_monthly_totals`), the totals pre-aggregated per batch and written with multi-row upserts: four statements
  per batch. The projector maintains the totals in the same transaction as the rows, so this is the floor it is
  judged against; the rows-only floor says what the totals cost on top of the rows.
Both run one transaction per batch on one connection, as the projector user."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable

import pymysql

from bench.records import STREAM_ARN, Order
from orders_db.projection import format_date
from orders_db.stream_records import stream_epoch


def batches(items: list, size: int) -> list[list]:
    return [items[start:start + size] for start in range(0, len(items), size)]


def rows_only(cursor: pymysql.cursors.Cursor, batch: list[Order]) -> list[str]:
    """The batch's orders and lines rows as our projector writes them, as two multi-row INSERT statements."""
    return [_orders(cursor, batch), _lines(cursor, batch)]


def same_work(cursor: pymysql.cursors.Cursor, batch: list[Order]) -> list[str]:
    """The rows, then both totals tables raised by the batch's lines, pre-aggregated per item and per item and UTC
    month, in key order, as multi-row upserts."""
    per_item: dict[bytes, list] = defaultdict(lambda: [0, ""])
    per_month: dict[tuple[bytes, str], int] = defaultdict(int)
    for order in batch:
        day = format_date(_naive(order)).split(" ")[0]
        for item_id, quantity in order.items:
            key = item_id.encode()
            total = per_item[key]
            total[0] += quantity
            total[1] = max(total[1], day)
            per_month[(key, day[:8] + "01")] += quantity
    items = [cursor.mogrify("(%s, %s, %s)", (item, total, day)) for item, (total, day) in sorted(per_item.items())]
    months = [cursor.mogrify("(%s, %s, %s)", (item, month, total))
              for (item, month), total in sorted(per_month.items())]
    return [
        _orders(cursor, batch),
        _lines(cursor, batch),
        f"INSERT INTO item_totals (item_id, total_ordered, last_order_date) VALUES {', '.join(items)}"
        " ON DUPLICATE KEY UPDATE total_ordered = total_ordered + VALUES(total_ordered),"
        " last_order_date = GREATEST(last_order_date, VALUES(last_order_date))",
        f"INSERT INTO item_monthly_totals (item_id, order_month, total_ordered) VALUES {', '.join(months)}"
        " ON DUPLICATE KEY UPDATE total_ordered = total_ordered + VALUES(total_ordered)",
    ]


def writer(connection: pymysql.Connection, workload: list[Order], batch_size: int,
           build: Callable[[pymysql.cursors.Cursor, list[Order]], list[str]]) -> Callable[[], None]:
    """The statements of every batch, built now; the returned function runs them, one transaction per batch."""
    cursor = connection.cursor()
    statements = [build(cursor, batch) for batch in batches(workload, batch_size)]

    def write() -> None:
        for batch in statements:
            for statement in batch:
                cursor.execute(statement)
            connection.commit()

    return write


def _orders(cursor: pymysql.cursors.Cursor, batch: list[Order]) -> str:
    epoch = stream_epoch(STREAM_ARN)
    rows = [cursor.mogrify("(%s, 1, 'orderCreated', %s, %s)", (o.order_id.encode(), format_date(_naive(o)), epoch))
            for o in batch]
    return f"INSERT INTO orders (order_id, version, status, order_date, stream_epoch) VALUES {', '.join(rows)}"


def _lines(cursor: pymysql.cursors.Cursor, batch: list[Order]) -> str:
    rows = [cursor.mogrify("(%s, %s, %s, %s, %s, 1)",
                           (o.order_id.encode(), line_no, item_id.encode(), quantity, format_date(_naive(o))))
            for o in batch for line_no, (item_id, quantity) in enumerate(o.items, start=1)]
    return ("INSERT INTO order_lines (order_id, line_no, item_id, quantity, order_date, counted)"
            f" VALUES {', '.join(rows)}")


def _naive(order: Order):
    """UTC without its zone, as the DATETIME columns hold it."""
    return order.order_date.replace(tzinfo=None)
