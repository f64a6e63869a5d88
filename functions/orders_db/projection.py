"""Applies order changes to the read models with a handful of multi-row statements per batch.

Every applied change replaces the order's whole row and lines, so the read model of an order depends only
on its newest change, whatever the delivery order. The per-item totals move by the difference between the
lines that counted before (status orderCreated) and the lines that count now; rows that fall to zero are
deleted, so the totals too depend only on the orders' current states. The caller runs `apply_changes` in
one transaction: the orders, their lines and the totals change together or not at all.

"Newer" is `Revision.supersedes`: by the stream's epoch (the table's incarnation), then by version. The
operations' tools reuse all of this: the rebuild applies table items through `apply_changes`, the reconcile
repair forces the table's state through `repair_changes` and `recompute_totals`, and compares the read models
with `order_row`, `line_rows` and the totals rule (`ITEM_TOTALS_FROM_LINES`, `MONTHLY_TOTALS_FROM_LINES`)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Sequence
from datetime import date, datetime

import pymysql
from pymysql.cursors import Cursor

from orders_db.db_errors import DUPLICATE_KEY, error_code
from orders_db.stream_records import CREATED, REMOVED, OrderChange, Revision

# Rows per IN (...) list, and per multi-row INSERT (a few hundred KB at most: within every max_allowed_packet).
CHUNK = 500
ROWS_PER_INSERT = 2000


class InconsistentReadModel(RuntimeError):
    """The read model contradicts itself (totals missing for counted lines): the change is not applied."""


def apply_changes(cursor: Cursor, changes: Sequence[OrderChange]) -> list[bool]:
    """Apply what is newer than the read model; per change, whether it was applied (else it was stale).

    Of several changes to one order in the batch only the newest is written (the first of equal ones):
    the result is the same as applying them one by one in delivery order."""
    newest: dict[str, int] = {}
    for index, change in enumerate(changes):
        best = newest.get(change.order_id)
        if best is None or change.revision.supersedes(changes[best].revision):
            newest[change.order_id] = index
    order_ids = sorted(newest)
    if _insert_first_changes(cursor, [changes[newest[order_id]] for order_id in order_ids]):
        applied = set(newest.values())
    else:
        stored = _lock_orders(cursor, order_ids)
        winners = [newest[order_id] for order_id in order_ids
                   if changes[newest[order_id]].revision.supersedes(stored.get(order_id))]
        if winners:
            _write(cursor, [changes[index] for index in winners], stored)
        applied = set(winners)
    return [index in applied for index in range(len(changes))]


def _insert_first_changes(cursor: Cursor, changes: list[OrderChange]) -> bool:
    """The stream's usual batch: orders just created (every change at version 1), none in the read model yet.
    Their rows are inserted without reading and locking the stored revisions first (a round trip and a twentieth
    of the server's work per batch). Whether the batch is one is found out by the plain INSERT of the orders rows:
    on a stored order it fails with a duplicate key, and InnoDB rolls back that statement, not the transaction (MySQL
    reference manual, "InnoDB Error Handling"; the locks it took, on these orders, stay until the commit). Then
    nothing was written, False, and the caller takes the general path in the same transaction. True: all applied.
    A batch holding a later version (a cancellation) takes the general path at once, as every batch did before.
    Two batches failing so on the same stored order at once (a rebuild beside the projector) each hold a shared lock
    on it: one is chosen as a deadlock victim and runs again (Database retries deadlocks)."""
    if len(changes) > ROWS_PER_INSERT or any(change.version != 1 for change in changes):
        return False  # several statements could not fail as one; a later version's order is most likely stored
    try:
        _write(cursor, changes, {}, new_orders=True)
    except _OrderStored:
        return False
    return True


class _OrderStored(Exception):
    """An order _write was to insert as new is in the read model: its INSERT failed as a whole, wrote nothing."""


def repair_changes(cursor: Cursor, changes: Sequence[OrderChange], observed: dict[str, Revision | None]) -> list[bool]:
    """Write each order's change (one per order) whatever its revision, if the read model still holds the revision
    `observed` when the drift was found (else the projector has moved it since, and it is left alone). The totals
    of every item the old and new lines name are recomputed from the lines, since the stored ones may be wrong."""
    by_order = {change.order_id: index for index, change in enumerate(changes)}
    stored = _lock_orders(cursor, sorted(by_order))
    winners = sorted((index for order_id, index in by_order.items() if stored.get(order_id) == observed.get(order_id)),
                     key=lambda index: changes[index].order_id)
    if winners:
        _write(cursor, [changes[index] for index in winners], stored, recompute=True)
    applied = set(winners)
    return [index in applied for index in range(len(changes))]


def stored_revisions(cursor: Cursor, order_ids: list[str], lock: bool = False) -> dict[str, Revision]:
    """Revisions of the orders the read model holds (locked until commit with `lock`)."""
    stored = {}
    for chunk in _chunks(order_ids):
        cursor.execute(
            f"SELECT order_id, version, status, stream_epoch FROM orders WHERE order_id IN ({_placeholders(chunk)})"
            + (" FOR UPDATE" if lock else ""),
            [order_id.encode() for order_id in chunk],
        )
        for order_id, version, status, epoch in cursor.fetchall():
            stored[order_id.decode()] = Revision(epoch, version, status == REMOVED)
    return stored


def _lock_orders(cursor: Cursor, order_ids: list[str]) -> dict[str, Revision]:
    """Stored revisions of the orders, locked until commit (one batch per order at a time)."""
    return stored_revisions(cursor, order_ids, lock=True)


def order_row(change: OrderChange, date_: str) -> tuple:
    """The orders row of a change (order_id, version, status, order_date, stream_epoch)."""
    return (change.order_id.encode(), change.version, change.status, date_, change.epoch)


def line_rows(change: OrderChange, date_: str) -> list[tuple]:
    """The order_lines rows of a change (order_id, line_no, item_id, quantity, order_date, counted): its items in
    order, counted in the totals while the order stands created. A tombstone has none."""
    counted = change.status == CREATED
    return [(change.order_id.encode(), line_no, item_id.encode(), quantity, date_, counted)
            for line_no, (item_id, quantity) in enumerate(change.items, start=1)]


def format_date(moment: datetime) -> str:
    # PyMySQL escapes a datetime five times slower than the same text: each order's date is formatted once.
    return moment.isoformat(" ", "milliseconds")


def _write(cursor: Cursor, changes: list[OrderChange], stored: dict[str, Revision], recompute: bool = False,
           new_orders: bool = False) -> None:
    """Write the changes' orders rows, lines and totals; `stored`: the revisions the read model holds of them.
    With `new_orders`, the orders rows are inserted as new, and raise _OrderStored if one is there."""
    removed = _RemovedLines()
    # Only orders already in the read model have lines to replace: a batch of new orders reads and deletes none.
    existing = [change.order_id.encode() for change in changes if change.order_id in stored]
    for chunk in _chunks(existing):
        cursor.execute(
            "SELECT item_id, quantity, order_date FROM order_lines"
            f" WHERE order_id IN ({_placeholders(chunk)})" + ("" if recompute else " AND counted = 1"),
            chunk,
        )
        for item_id, quantity, order_date in cursor.fetchall():
            removed.add(item_id, order_date, quantity)

    dates = [format_date(change.order_date) for change in changes]
    orders = "INSERT INTO orders (order_id, version, status, order_date, stream_epoch)"
    rows = [order_row(change, date_) for change, date_ in zip(changes, dates)]
    if new_orders:
        try:
            _insert_rows(cursor, orders, rows)
        except pymysql.IntegrityError as error:
            if error_code(error) == DUPLICATE_KEY:
                raise _OrderStored from error
            raise
    else:
        _insert_rows(cursor, orders, rows, " ON DUPLICATE KEY UPDATE version = VALUES(version),"
                     " status = VALUES(status), order_date = VALUES(order_date), stream_epoch = VALUES(stream_epoch)")
    for chunk in _chunks(existing):
        cursor.execute(f"DELETE FROM order_lines WHERE order_id IN ({_placeholders(chunk)})", chunk)
    lines = [row for change, date_ in zip(changes, dates) for row in line_rows(change, date_)]
    _insert_rows(cursor, "INSERT INTO order_lines (order_id, line_no, item_id, quantity, order_date, counted)", lines)
    if recompute:
        recompute_totals(cursor, sorted(set(removed.per_item) | {line[2] for line in lines}))
        return
    # The lines that stopped counting leave the totals, the lines that count now join them. Every statement here
    # touches the monthly rows before the overall ones, in key order: concurrent batches lock rows in one order
    # (no deadlock), and an item's overall row, which every batch naming a popular item upserts, is locked last,
    # shortly before the commit (`python -m bench --only hot_items`).
    _decrease(cursor, "item_monthly_totals", ("item_id", "order_month"),
              sorted((key, -q) for key, q in removed.per_month.items()))
    _decrease(cursor, "item_totals", ("item_id",), sorted(((item,), -q) for item, q in removed.per_item.items()))
    _add_counted_lines(cursor, lines)
    _settle_items_that_lost_lines(cursor, sorted(removed.per_item), sorted(removed.per_month))


class _RemovedLines:
    """Quantities of the replaced lines that counted, per item and per item and UTC month."""

    def __init__(self) -> None:
        self.per_item: dict[bytes, int] = defaultdict(int)
        self.per_month: dict[tuple[bytes, date], int] = defaultdict(int)

    def add(self, item_id: bytes, order_date: datetime, quantity: int) -> None:
        self.per_item[item_id] += quantity
        self.per_month[(item_id, date(order_date.year, order_date.month, 1))] += quantity


# The totals rule, in one place: an item's totals are the sums of its lines that count (their order stands
# created), overall with the date of its latest such order, and per UTC month. `{where}` narrows the lines.
ITEM_TOTALS_FROM_LINES = (
    "SELECT item_id, SUM(quantity) AS lines_total, DATE(MAX(order_date)) AS lines_last_date FROM order_lines"
    " WHERE {where} AND counted = 1 GROUP BY item_id ORDER BY item_id"
)
MONTHLY_TOTALS_FROM_LINES = (
    "SELECT item_id, DATE(order_date) - INTERVAL (DAYOFMONTH(order_date) - 1) DAY AS order_month,"
    " SUM(quantity) AS lines_total FROM order_lines WHERE {where} AND counted = 1"
    " GROUP BY item_id, order_month ORDER BY item_id, order_month"
)


def _add_counted_lines(cursor: Cursor, lines: list[tuple]) -> None:
    """Add the counted lines just written (rows of `line_rows`) to the totals, summed here per item and per item
    and UTC month, one multi-row upsert per table: the server then does only the writes (summing them with
    INSERT ... SELECT ... GROUP BY from order_lines cost it half as much again as the writes, measured with
    `python -m bench --only projector_throughput`). Rows are upserted in key order, monthly rows first, as every
    other statement here touches them, so that concurrent batches lock them in the same order."""
    per_item: dict[bytes, list] = {}
    per_month: dict[tuple[bytes, str], int] = defaultdict(int)
    for _, _, item_id, quantity, date_, counted in lines:
        if not counted:
            continue
        day = date_[:10]  # the formatted date: 'YYYY-MM-DD hh:mm:ss.fff', UTC
        total = per_item.get(item_id)
        if total is None:
            per_item[item_id] = [quantity, day]
        else:
            total[0] += quantity
            if day > total[1]:
                total[1] = day
        per_month[(item_id, day[:8] + "01")] += quantity
    _insert_rows(
        cursor, "INSERT INTO item_monthly_totals (item_id, order_month, total_ordered)",
        [(item_id, month, total) for (item_id, month), total in sorted(per_month.items())],
        " ON DUPLICATE KEY UPDATE total_ordered = total_ordered + VALUES(total_ordered)",
    )
    _insert_rows(
        cursor, "INSERT INTO item_totals (item_id, total_ordered, last_order_date)",
        [(item_id, total, day) for item_id, (total, day) in sorted(per_item.items())],
        " ON DUPLICATE KEY UPDATE total_ordered = total_ordered + VALUES(total_ordered),"
        " last_order_date = GREATEST(last_order_date, VALUES(last_order_date))",
    )


def recompute_totals(cursor: Cursor, item_ids: list[bytes]) -> None:
    """Replace the items' totals rows with what their lines add up to (the repair path: whatever the rows held)."""
    for chunk in _chunks(sorted(item_ids)):
        where = f"item_id IN ({_placeholders(chunk)})"
        # Monthly rows first, as the projector locks them (_write).
        for table, columns, rule in (("item_monthly_totals", "item_id, order_month, total_ordered",
                                      MONTHLY_TOTALS_FROM_LINES),
                                     ("item_totals", "item_id, total_ordered, last_order_date", ITEM_TOTALS_FROM_LINES)):
            cursor.execute(f"DELETE FROM {table} WHERE {where}", chunk)
            cursor.execute(f"INSERT INTO {table} ({columns}) " + rule.format(where=where), chunk)


def _settle_items_that_lost_lines(cursor: Cursor, items: list[bytes], months: list[tuple[bytes, date]]) -> None:
    """Only a total that lost lines can fall to zero (its row goes) or see its last date move back. Monthly rows
    first, as everywhere in _write."""
    for chunk in _chunks(months):
        cursor.execute(
            "DELETE FROM item_monthly_totals WHERE total_ordered = 0"
            f" AND (item_id, order_month) IN ({', '.join(['(%s, %s)'] * len(chunk))})",
            [value for key in chunk for value in key],
        )
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


def _insert_rows(cursor: Cursor, insert: str, rows: list[tuple], tail: str = "") -> None:
    """`insert` VALUES (row), (row), ... `tail`, as few statements as ROWS_PER_INSERT allows, every value a parameter.

    Each distinct value of a statement is one named parameter, however often it recurs (an order's id and date in
    each of its lines, an item's id, a month, a small quantity): pymysql escapes every parameter once, and escaping
    was a third of the projector's CPU (`python -m bench --only projector_throughput`). Values that compare equal
    escape alike for the types written here (str, bytes, int and bool: True and 1 are both 1)."""
    for start in range(0, len(rows), ROWS_PER_INSERT):
        chunk = rows[start:start + ROWS_PER_INSERT]
        names: dict[object, str] = {}
        for row in chunk:
            for value in row:
                if value not in names:
                    names[value] = f"%(p{len(names)})s"
        name = names.__getitem__
        values = ", ".join(["(" + ", ".join(map(name, row)) + ")" for row in chunk])
        parameters = {placeholder[2:-2]: value for value, placeholder in names.items()}
        cursor.execute(f"{insert} VALUES {values}{tail}", parameters)


def _chunks(values: list) -> Iterator[list]:
    for start in range(0, len(values), CHUNK):
        yield values[start : start + CHUNK]


def _placeholders(values: list) -> str:
    return ", ".join(["%s"] * len(values))
