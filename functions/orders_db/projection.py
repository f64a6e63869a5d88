"""Applies order changes to the read models with a handful of multi-row statements per batch.

Every applied change replaces the order's whole row and lines, so the read model of an order depends only
on its newest change, whatever the delivery order. The per-item totals move by the difference between the
lines that counted before (status orderCreated) and the lines that count now; rows that fall to zero are
deleted, so the totals too depend only on the orders' current states. The caller runs `apply_changes` in
one transaction: the orders, their lines and the totals change together or not at all."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Sequence
from datetime import date, datetime

from pymysql.cursors import Cursor

from orders_db.stream_records import CREATED, REMOVED, OrderChange

# Rows per IN (...) list; multi-row INSERTs are split by pymysql's executemany by statement size instead.
CHUNK = 500


class InconsistentReadModel(RuntimeError):
    """The read model contradicts itself (totals missing for counted lines): the change is not applied."""


def apply_changes(cursor: Cursor, changes: Sequence[OrderChange]) -> list[bool]:
    """Apply what is newer than the read model; per change, whether it was applied (else it was stale).

    Of several changes to one order in the batch only the newest is written (the first of equal ones):
    the result is the same as applying them one by one in delivery order."""
    newest: dict[str, int] = {}
    for index, change in enumerate(changes):
        best = newest.get(change.order_id)
        if best is None or change.revision > changes[best].revision:
            newest[change.order_id] = index
    stored = _lock_orders(cursor, sorted(newest))
    winners = sorted(
        (index for order_id, index in newest.items() if changes[index].revision > stored.get(order_id, (0, False))),
        key=lambda index: changes[index].order_id,
    )
    if winners:
        _write(cursor, [changes[index] for index in winners], stored)
    applied = set(winners)
    return [index in applied for index in range(len(changes))]


def _lock_orders(cursor: Cursor, order_ids: list[str]) -> dict[str, tuple[int, bool]]:
    """Stored revisions of the orders, locked until commit (one batch per order at a time)."""
    stored = {}
    for chunk in _chunks(order_ids):
        cursor.execute(
            f"SELECT order_id, version, status FROM orders WHERE order_id IN ({_placeholders(chunk)}) FOR UPDATE",
            [order_id.encode() for order_id in chunk],
        )
        for order_id, version, status in cursor.fetchall():
            stored[order_id.decode()] = (version, status == REMOVED)
    return stored


def _write(cursor: Cursor, changes: list[OrderChange], stored: dict[str, tuple[int, bool]]) -> None:
    removed = _RemovedLines()
    # Only orders already in the read model have lines to replace: a batch of new orders reads and deletes none.
    existing = [change.order_id.encode() for change in changes if change.order_id in stored]
    for chunk in _chunks(existing):
        cursor.execute(
            "SELECT item_id, quantity, order_date FROM order_lines"
            f" WHERE order_id IN ({_placeholders(chunk)}) AND counted = 1",
            chunk,
        )
        for item_id, quantity, order_date in cursor.fetchall():
            removed.add(item_id, order_date, quantity)

    # PyMySQL escapes a datetime five times slower than the same text: each order's date is formatted once.
    dates = [change.order_date.isoformat(" ", "milliseconds") for change in changes]
    cursor.executemany(
        "INSERT INTO orders (order_id, version, status, order_date) VALUES (%s, %s, %s, %s)"
        " ON DUPLICATE KEY UPDATE version = VALUES(version), status = VALUES(status),"
        " order_date = VALUES(order_date)",
        [(change.order_id.encode(), change.version, change.status, date_) for change, date_ in zip(changes, dates)],
    )
    for chunk in _chunks(existing):
        cursor.execute(f"DELETE FROM order_lines WHERE order_id IN ({_placeholders(chunk)})", chunk)
    lines = [
        (change.order_id.encode(), line_no, item_id.encode(), quantity, date_, change.status == CREATED)
        for change, date_ in zip(changes, dates)
        for line_no, (item_id, quantity) in enumerate(change.items, start=1)
    ]
    if lines:
        cursor.executemany(
            "INSERT INTO order_lines (order_id, line_no, item_id, quantity, order_date, counted)"
            " VALUES (%s, %s, %s, %s, %s, %s)",
            lines,
        )
    # The lines that stopped counting leave the totals, the lines that count now join them.
    _decrease(cursor, "item_totals", ("item_id",), sorted(((item,), -q) for item, q in removed.per_item.items()))
    _decrease(cursor, "item_monthly_totals", ("item_id", "order_month"),
              sorted((key, -q) for key, q in removed.per_month.items()))
    written = [change.order_id.encode() for change in changes if change.status == CREATED]
    for chunk in _chunks(written):
        _add_counted_lines(cursor, chunk)
    _settle_items_that_lost_lines(cursor, sorted(removed.per_item), sorted(removed.per_month))


class _RemovedLines:
    """Quantities of the replaced lines that counted, per item and per item and UTC month."""

    def __init__(self) -> None:
        self.per_item: dict[bytes, int] = defaultdict(int)
        self.per_month: dict[tuple[bytes, date], int] = defaultdict(int)

    def add(self, item_id: bytes, order_date: datetime, quantity: int) -> None:
        self.per_item[item_id] += quantity
        self.per_month[(item_id, date(order_date.year, order_date.month, 1))] += quantity


def _add_counted_lines(cursor: Cursor, order_ids: list[bytes]) -> None:
    """Add the orders' counted lines, just written, to the totals: summed by the server from order_lines, so
    that only the order ids travel, not a row per item and per item and month. Rows are upserted in key order,
    as every other statement here touches them, so that concurrent batches lock them in the same order."""
    cursor.execute(
        "INSERT INTO item_totals (item_id, total_ordered, last_order_date)"
        " SELECT item_id, SUM(quantity), DATE(MAX(order_date)) FROM order_lines"
        f" WHERE order_id IN ({_placeholders(order_ids)}) AND counted = 1 GROUP BY item_id ORDER BY item_id"
        " ON DUPLICATE KEY UPDATE total_ordered = total_ordered + VALUES(total_ordered),"
        " last_order_date = GREATEST(last_order_date, VALUES(last_order_date))",
        order_ids,
    )
    cursor.execute(
        "INSERT INTO item_monthly_totals (item_id, order_month, total_ordered)"
        " SELECT item_id, DATE(order_date) - INTERVAL (DAYOFMONTH(order_date) - 1) DAY AS order_month,"
        " SUM(quantity) FROM order_lines"
        f" WHERE order_id IN ({_placeholders(order_ids)}) AND counted = 1"
        " GROUP BY item_id, order_month ORDER BY item_id, order_month"
        " ON DUPLICATE KEY UPDATE total_ordered = total_ordered + VALUES(total_ordered)",
        order_ids,
    )


def _settle_items_that_lost_lines(cursor: Cursor, items: list[bytes], months: list[tuple[bytes, date]]) -> None:
    """Only a total that lost lines can fall to zero (its row goes) or see its last date move back."""
    for chunk in _chunks(items):
        cursor.execute(
            f"DELETE FROM item_totals WHERE item_id IN ({_placeholders(chunk)}) AND total_ordered = 0", chunk
        )
        # One backward step on order_lines_item_counted_date per item, however long its history.
        cursor.execute(
            "UPDATE item_totals t SET last_order_date = ("
            " SELECT DATE(l.order_date) FROM order_lines l WHERE l.item_id = t.item_id AND l.counted = 1"
            " ORDER BY l.order_date DESC LIMIT 1)"
            f" WHERE t.item_id IN ({_placeholders(chunk)})",
            chunk,
        )
    for chunk in _chunks(months):
        cursor.execute(
            "DELETE FROM item_monthly_totals WHERE total_ordered = 0"
            f" AND (item_id, order_month) IN ({', '.join(['(%s, %s)'] * len(chunk))})",
            [value for key in chunk for value in key],
        )


def _decrease(cursor: Cursor, table: str, key_columns: tuple[str, ...], decreases: list[tuple[tuple, int]]) -> None:
    """Subtract from existing total rows, one UPDATE per chunk. Not through INSERT ... ON DUPLICATE KEY
    UPDATE: the engines check the inserted row, negative, against the table's CHECK before the update."""
    match = " AND ".join(f"{column} = %s" for column in key_columns)
    row = f"({', '.join(['%s'] * len(key_columns))})"
    for chunk in _chunks(decreases):
        keys = [value for key, _ in chunk for value in key]
        cursor.execute(
            f"UPDATE {table} SET total_ordered = total_ordered + CASE"
            f" {' '.join([f'WHEN {match} THEN %s'] * len(chunk))} END"
            f" WHERE ({', '.join(key_columns)}) IN ({', '.join([row] * len(chunk))})",
            [value for key, delta in chunk for value in (*key, delta)] + keys,
        )
        if cursor.rowcount != len(chunk):
            raise InconsistentReadModel(f"{table} lacks rows that lines being replaced were counted in")


def _chunks(values: list) -> Iterator[list]:
    for start in range(0, len(values), CHUNK):
        yield values[start : start + CHUNK]


def _placeholders(values: list) -> str:
    return ", ".join(["%s"] * len(values))
