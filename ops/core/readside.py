"""The read-model side of the operations, run by the in-VPC ops function (or in process): JSON in, JSON out.

Everything that writes goes through the projector's own code (orders_db.projection and orders_db.batches):
table items are parsed by `parse_image` with the epoch of the table's current stream and applied by
`project_changes` (newer revisions only), repaired by `repair_changes` (the table's state whatever the stored
revision, if the row still holds the revision seen when the drift was found) and totals by `recompute_totals`.
The comparisons use the same rules: `order_row`, `line_rows` and the totals-from-lines SQL."""

from __future__ import annotations

import json
import time
from datetime import datetime
from typing import Callable

from pymysql.cursors import Cursor

from ops.core import runs
from orders_db.batches import FAILED, project_changes
from orders_db.connection import Database
from orders_db.projection import (ITEM_TOTALS_FROM_LINES, MONTHLY_TOTALS_FROM_LINES, format_date, line_rows,
                                  recompute_totals, repair_changes)
from orders_db.stream_records import REMOVED, OrderChange, PoisonRecord, Revision, parse_image

MISSING, ORDER, LINES, INVALID, EXTRA = "missing", "order", "lines", "invalid", "extra"
ITEM_TOTALS, MONTHLY_TOTALS = "item_totals", "item_monthly_totals"
# A consistent snapshot for the comparisons: the orders and lines rows read by one call belong together.
_SNAPSHOT = "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ"


def revision_json(revision: Revision | None) -> dict | None:
    return None if revision is None else {"epoch": revision.epoch, "version": revision.version,
                                          "removed": revision.removed}


def revision_of(value: dict | None) -> Revision | None:
    return None if value is None else Revision(value["epoch"], value["version"], value["removed"])


def _parse(items: list[dict], epoch: str) -> tuple[list[OrderChange], list[dict]]:
    changes, invalid = [], []
    for item in items:
        try:
            changes.append(parse_image(item, epoch))
        except PoisonRecord as error:
            order_id = item.get("orderId", {}).get("S") if isinstance(item, dict) else None
            invalid.append({"orderId": order_id if isinstance(order_id, str) else None, "error": str(error)})
    return changes, invalid


def project(database: Database, epoch: str, items: list[dict]) -> dict:
    """Apply table items where newer than the read model: {"applied", "stale", "failed": [ids], "errors"}."""
    changes, invalid = _parse(items, epoch)
    result: dict = {"applied": [], "stale": [], "failed": [i["orderId"] for i in invalid],
                    "errors": [i["error"] for i in invalid]}
    for change, outcome in zip(changes, project_changes(database, changes)):
        result[{"applied": "applied", "stale": "stale"}.get(outcome.status, "failed")].append(change.order_id)
        if outcome.status == FAILED:
            result["errors"].append(f"{change.order_id}: {type(outcome.error).__name__}: {outcome.error}")
    return result


def apply_page(database: Database, run_id: str, segment: int, epoch: str, items: list[dict], next_key: object,
               seconds: float) -> dict:
    """A rebuild's page: project it, then move the segment's checkpoint past it (`seconds`: the scan's time)."""
    started = time.monotonic()
    result = project(database, epoch, items)
    counts = {name: len(result[name]) for name in ("applied", "stale", "failed")}
    state = database.transaction(lambda cursor: runs.record_step(
        cursor, run_id, segment, next_key, next_key is None, len(items), counts, {"failed": result["failed"]},
        seconds + time.monotonic() - started))
    return {**state, "page": counts, "errors": result["errors"][:runs.MAX_SAMPLES]}


def compare(database: Database, epoch: str, items: list[dict]) -> dict:
    """Drift between table items and the read model: [{"kind", "orderId", "observed"}] (observed: the stored
    revision, for a repair that must find it unchanged)."""
    changes, invalid = _parse(items, epoch)
    drifts = [{"kind": INVALID, "orderId": i["orderId"], "observed": None, "error": i["error"]} for i in invalid]
    ids = [change.order_id for change in changes]
    stored, lines = database.read(lambda cursor: _stored_orders(cursor, ids))
    for change in changes:
        row = stored.get(change.order_id)
        kind = None
        if row is None or row[0].removed:
            kind = MISSING
        else:
            date_ = format_date(change.order_date)
            if row[0] != change.revision or row[1] != date_:
                kind = ORDER
            elif lines.get(change.order_id, []) != [line[1:] for line in line_rows(change, date_)]:
                kind = LINES
        if kind:
            drifts.append({"kind": kind, "orderId": change.order_id,
                           "observed": revision_json(row[0] if row else None)})
    return {"drifts": drifts}


def _stored_orders(cursor: Cursor, order_ids: list[str]) -> tuple[dict, dict]:
    cursor.execute(_SNAPSHOT)
    stored, lines = {}, {}
    for chunk in _chunks(order_ids, 500):
        keys = [order_id.encode() for order_id in chunk]
        marks = ", ".join(["%s"] * len(keys))
        cursor.execute(f"SELECT order_id, version, status, order_date, stream_epoch FROM orders"
                       f" WHERE order_id IN ({marks})", keys)
        for order_id, version, status, order_date, epoch in cursor.fetchall():
            stored[order_id.decode()] = (Revision(epoch, version, status == REMOVED), format_date(order_date))
        cursor.execute(f"SELECT order_id, line_no, item_id, quantity, order_date, counted FROM order_lines"
                       f" WHERE order_id IN ({marks}) ORDER BY order_id, line_no", keys)
        for order_id, line_no, item_id, quantity, order_date, counted in cursor.fetchall():
            lines.setdefault(order_id.decode(), []).append(
                (line_no, item_id, quantity, format_date(order_date), bool(counted)))
    return stored, lines


def repair(database: Database, epoch: str, items: list[dict], observed: dict[str, dict | None]) -> dict:
    """Force the table's state of each order onto the read model (see orders_db.projection.repair_changes)."""
    changes, invalid = _parse(items, epoch)
    expected = {order_id: revision_of(value) for order_id, value in observed.items()}
    done = database.transaction(lambda cursor: repair_changes(cursor, changes, expected))
    return {"repaired": [c.order_id for c, ok in zip(changes, done) if ok],
            "moved": [c.order_id for c, ok in zip(changes, done) if not ok],
            "failed": [i["orderId"] for i in invalid]}


def standing_orders(database: Database, after: str = "", limit: int = 500, except_epoch: str | None = None,
                    order_ids: list[str] | None = None) -> dict:
    """The read model's orders that are not tombstones, in id order after `after` (optionally only those not
    projected from the stream epoch `except_epoch`), or those of `order_ids`: [{"orderId", "revision",
    "orderDate"}] and the next `after` (None after the last page)."""
    def read(cursor: Cursor) -> list:
        sql = "SELECT order_id, version, status, order_date, stream_epoch FROM orders WHERE status <> %s"
        args: list = [REMOVED]
        if order_ids is not None:
            sql += f" AND order_id IN ({', '.join(['%s'] * len(order_ids))})"
            args += [order_id.encode() for order_id in order_ids]
        else:
            sql += " AND order_id > %s"
            args.append(after.encode())
        if except_epoch is not None:
            sql += " AND stream_epoch <> %s"
            args.append(except_epoch)
        cursor.execute(sql + " ORDER BY order_id LIMIT %s", [*args, limit if order_ids is None else len(order_ids)])
        return cursor.fetchall()

    rows = database.read(read) if order_ids is None or order_ids else []
    orders = [{"orderId": order_id.decode(), "revision": revision_json(Revision(epoch, version, False)),
               "orderDate": format_date(order_date)} for order_id, version, status, order_date, epoch in rows]
    more = order_ids is None and len(rows) == limit
    return {"orders": orders, "next": orders[-1]["orderId"] if more else None}


def tombstone(database: Database, orders: list[dict]) -> dict:
    """Mark orders the table no longer holds as removed, each only if its row still holds the revision seen."""
    changes = [OrderChange(o["orderId"], o["revision"]["version"], REMOVED, datetime.fromisoformat(o["orderDate"]),
                           (), o["revision"]["epoch"]) for o in orders]
    observed = {o["orderId"]: revision_of(o["revision"]) for o in orders}
    done = database.transaction(lambda cursor: repair_changes(cursor, changes, observed))
    return {"removed": [c.order_id for c, ok in zip(changes, done) if ok],
            "moved": [c.order_id for c, ok in zip(changes, done) if not ok]}


def totals_drift(database: Database, after: str, limit: int, fix: bool) -> dict:
    """The items after `after` (at most `limit`) whose totals rows differ from what their lines add up to, per
    table; with `fix`, those items' totals are recomputed and checked again."""
    items, drifts = database.read(lambda cursor: _totals_drift(cursor, after.encode(), limit))
    repaired: list[str] = []
    if fix and drifts:
        affected = sorted({item for item, _ in drifts})
        database.transaction(lambda cursor: recompute_totals(cursor, affected))
        _, left = database.read(lambda cursor: _totals_drift(cursor, affected[0], len(affected), affected[-1]))
        repaired = sorted({item.decode() for item in affected} - {item.decode() for item, _ in left})
    return {"checked": len(items), "drifts": [{"kind": kind, "itemId": item.decode()} for item, kind in drifts],
            "repaired": repaired, "next": items[-1].decode() if len(items) == limit else None}


def _totals_drift(cursor: Cursor, after: bytes, limit: int, last: bytes | None = None) -> tuple[list, list]:
    """(items checked, [(item, kind)]): each comparison is one statement, so it sees one committed state."""
    if last is None:
        cursor.execute("(SELECT item_id FROM item_totals WHERE item_id > %s ORDER BY item_id LIMIT %s) UNION"
                       " (SELECT DISTINCT item_id FROM order_lines WHERE item_id > %s AND counted = 1"
                       " ORDER BY item_id LIMIT %s) ORDER BY item_id LIMIT %s", (after, limit, after, limit, limit))
    else:  # exactly the items from `after` to `last`, both included
        cursor.execute("(SELECT item_id FROM item_totals WHERE item_id BETWEEN %s AND %s) UNION"
                       " (SELECT DISTINCT item_id FROM order_lines WHERE item_id BETWEEN %s AND %s AND counted = 1)"
                       " ORDER BY item_id", (after, last, after, last))
    items = [item for (item,) in cursor.fetchall()]
    if not items:
        return items, []
    where = f"item_id IN ({', '.join(['%s'] * len(items))})"
    drifts = []
    for kind, rule, key, values in ((ITEM_TOTALS, ITEM_TOTALS_FROM_LINES, ("item_id",),
                                     (("lines_total", "total_ordered"), ("lines_last_date", "last_order_date"))),
                                    (MONTHLY_TOTALS, MONTHLY_TOTALS_FROM_LINES, ("item_id", "order_month"),
                                     (("lines_total", "total_ordered"),))):
        expected = rule.format(where=where)
        join = " AND ".join(f"e.{column} = t.{column}" for column in key)
        differs = " OR ".join(f"NOT (e.{mine} <=> t.{theirs})" for mine, theirs in values)
        cursor.execute(
            f"SELECT e.item_id FROM ({expected}) e LEFT JOIN {kind} t ON {join} WHERE {differs}"
            f" UNION SELECT t.item_id FROM {kind} t LEFT JOIN ({expected}) e ON {join}"
            f" WHERE t.{where} AND e.item_id IS NULL",
            items * 3,  # the IN list of each expected side, and of the stored side
        )
        drifts += [(item, kind) for (item,) in cursor.fetchall()]
    return items, sorted(set(drifts))


def count_orders(database: Database) -> int:
    return database.read(lambda cursor: _scalar(cursor, "SELECT COUNT(*) FROM orders WHERE status <> %s", (REMOVED,)))


def _scalar(cursor: Cursor, sql: str, args: tuple) -> int:
    cursor.execute(sql, args)
    return int(cursor.fetchone()[0])


def _chunks(values: list, size: int):
    for start in range(0, len(values), size):
        yield values[start:start + size]


# -- the JSON interface the ops function and the in-process runner both use ---------------------------------

def _in_transaction(work: Callable) -> Callable:
    return lambda database, **kwargs: database.transaction(lambda cursor: work(cursor, **kwargs))


OPERATIONS: dict[str, Callable] = {
    "open_run": _in_transaction(runs.open_run),
    "segment_state": lambda database, **kwargs: database.read(lambda cursor: runs.segment_state(cursor, **kwargs)),
    "record_step": _in_transaction(runs.record_step),
    "progress": lambda database, **kwargs: database.read(lambda cursor: runs.progress(cursor, **kwargs)),
    "finish_run": _in_transaction(runs.finish_run),
    "last_success": lambda database, **kwargs: database.read(lambda cursor: runs.last_success(cursor, **kwargs)),
    "project": project,
    "apply_page": apply_page,
    "compare": compare,
    "repair": repair,
    "standing_orders": standing_orders,
    "tombstone": tombstone,
    "totals_drift": totals_drift,
    "count_orders": count_orders,
}


def dispatch(database: Database, request: dict) -> dict:
    """{"op": name, ...arguments} -> {"result": ...}. Unknown operations and arguments are errors."""
    if not isinstance(request, dict) or request.get("op") not in OPERATIONS:
        raise ValueError(f"unknown read-side operation {request.get('op') if isinstance(request, dict) else request!r}")
    arguments = {key: value for key, value in request.items() if key != "op"}
    return {"result": json.loads(json.dumps(OPERATIONS[request["op"]](database, **arguments)))}
