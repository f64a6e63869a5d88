"""Command validation against SEED-CONTRACT.md's limits: the checks the workflow's ASL cannot express.

`validate` never raises for bad input: it returns a rejection naming the offending field, so the workflow
publishes a clear `rejected` response instead of failing (the sample's defect 4).
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

COMMANDS = ("createOrder", "cancelOrder")
ID_MAX_CHARS = 64
ITEMS_MAX = 100
QUANTITY_MAX = 10000


class Rejection(Exception):
    def __init__(self, reason: str, message: str):
        super().__init__(message)
        self.reason = reason
        self.message = message


def _invalid(message: str) -> Rejection:
    return Rejection("invalidCommand", message)


def _describe(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _identifier(value: Any, field: str) -> str:
    if value is None:
        raise _invalid(f"missing field {field}")
    if not isinstance(value, str):
        raise _invalid(f"{field} must be a string of 1 to {ID_MAX_CHARS} characters, got {type(value).__name__}")
    if not 1 <= len(value) <= ID_MAX_CHARS:
        raise _invalid(f"{field} must be a string of 1 to {ID_MAX_CHARS} characters, got {len(value)} characters")
    if not _is_text(value):  # a lone surrogate: a valid JSON escape, but no storable text
        raise _invalid(f"{field} must be valid Unicode text")
    return value


def _is_text(value: str) -> bool:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _quantity(value: Any, field: str) -> int:
    # JSON booleans and floats are not quantities, even when they equal a whole number.
    if value is None:
        raise _invalid(f"missing field {field}")
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= QUANTITY_MAX:
        raise _invalid(f"{field} must be an integer from 1 to {QUANTITY_MAX}, got {_describe(value)}")
    return value


def _items(value: Any) -> list[dict]:
    if value is None:
        raise _invalid("missing field items")
    if not isinstance(value, list) or not 1 <= len(value) <= ITEMS_MAX:
        size = f"{len(value)} entries" if isinstance(value, list) else type(value).__name__
        raise _invalid(f"items must be a list of 1 to {ITEMS_MAX} entries, got {size}")
    items = []
    for index, entry in enumerate(value):
        field = f"items[{index}]"
        if not isinstance(entry, dict):
            raise _invalid(f"{field} must be an object with itemid and quantity, got {type(entry).__name__}")
        items.append({"itemid": _identifier(entry.get("itemid"), f"{field}.itemid"),
                      "quantity": _quantity(entry.get("quantity"), f"{field}.quantity")})
    return items


def _order_date(time: Any) -> str:
    """The envelope's time is the order date; stored as ISO-8601 UTC with a Z."""
    try:
        parsed = datetime.fromisoformat(time.replace("Z", "+00:00"))
    except (AttributeError, ValueError):
        raise _invalid(f"the event time must be an ISO-8601 timestamp, got {_describe(time)}") from None
    if parsed.tzinfo is None:
        raise _invalid(f"the event time must carry a time zone, got {_describe(time)}")
    return parsed.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _order_id_or_none(detail: Any) -> str | None:
    if isinstance(detail, dict):
        value = detail.get("orderId")
        if isinstance(value, str) and 1 <= len(value) <= ID_MAX_CHARS and _is_text(value):
            return value
    return None  # the response must not echo an id it could not publish


def check_command(detail: Any, time: Any) -> dict:
    """The normalised command, or raises Rejection."""
    if not isinstance(detail, dict):
        raise _invalid(f"the event detail must be a JSON object, got {type(detail).__name__}")
    command = detail.get("command")
    if command is None:
        raise _invalid("missing field command: expected one of " + ", ".join(COMMANDS))
    if not isinstance(command, str):
        raise _invalid(f"command must be a string, got {type(command).__name__}")
    if command not in COMMANDS:
        raise Rejection("unsupportedCommand",
                        f"unsupported command {_describe(command)}: expected one of " + ", ".join(COMMANDS))
    order_id = _identifier(detail.get("orderId"), "orderId")
    if command == "cancelOrder":
        return {"command": command, "orderId": order_id}
    items = _items(detail.get("items"))
    return {"command": command, "orderId": order_id, "orderDate": _order_date(time), "items": items,
            "dynamoItems": [{"M": {"itemid": {"S": i["itemid"]}, "quantity": {"N": str(i["quantity"])}}}
                            for i in items]}


def validate(detail: Any, time: Any) -> dict:
    """`{"valid": True, ...command}` or `{"valid": False, "orderId", "reason", "message"}`."""
    try:
        return {"valid": True, **check_command(detail, time)}
    except Rejection as rejection:
        return {"valid": False, "orderId": _order_id_or_none(detail), "reason": rejection.reason,
                "message": rejection.message}
