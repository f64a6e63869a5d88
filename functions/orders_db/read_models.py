"""The queries' SQL: each reads O(result) rows through a primary key."""

from __future__ import annotations

from datetime import datetime

from pymysql.cursors import Cursor

# English on purpose: the contract's "October 2022", whatever the locale of the function or the database.
MONTH_NAMES = (
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
)  # fmt: skip


def item_totals_page(cursor: Cursor, after: str | None, limit: int) -> tuple[list[dict], bool]:
    """Items in itemid order after `after` (exclusive), at most `limit`, and whether more follow."""
    if after is None:
        cursor.execute(
            "SELECT item_id, total_ordered, last_order_date FROM item_totals ORDER BY item_id LIMIT %s",
            (limit + 1,),
        )
    else:
        cursor.execute(
            "SELECT item_id, total_ordered, last_order_date FROM item_totals"
            " WHERE item_id > %s ORDER BY item_id LIMIT %s",
            (after.encode(), limit + 1),
        )
    rows = cursor.fetchall()
    page = [
        {"itemid": item_id.decode(), "totalordered": int(total), "lastorderdate": last_date.isoformat()}
        for item_id, total, last_date in rows[:limit]
    ]
    return page, len(rows) > limit


def monthly_totals(cursor: Cursor, item_id: str, months: int) -> list[dict]:
    """The item's newest `months` months with sales, newest first."""
    cursor.execute(
        "SELECT order_month, total_ordered FROM item_monthly_totals"
        " WHERE item_id = %s ORDER BY order_month DESC LIMIT %s",
        (item_id.encode(), months),
    )
    return [
        {"monthyear": f"{MONTH_NAMES[month.month - 1]} {month.year}", "monthlyordered": int(total)}
        for month, total in cursor.fetchall()
    ]


def order(cursor: Cursor, order_id: str) -> dict | None:
    cursor.execute(
        "SELECT o.status, o.order_date, l.item_id, l.quantity"
        " FROM orders o JOIN order_lines l ON l.order_id = o.order_id"
        " WHERE o.order_id = %s AND o.status IN ('orderCreated', 'orderCancelled')"
        " ORDER BY l.line_no",
        (order_id.encode(),),
    )
    rows = cursor.fetchall()
    if not rows:
        return None
    status, order_date = rows[0][0], rows[0][1]
    return {
        "orderid": order_id,
        "status": status,
        "orderdate": _iso_utc(order_date),
        "items": [{"itemid": item_id.decode(), "quantity": int(quantity)} for _, _, item_id, quantity in rows],
    }


def _iso_utc(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds" if moment.microsecond else "seconds") + "Z"
