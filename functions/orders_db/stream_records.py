"""DynamoDB stream records of the orders table, parsed and validated into order changes.

The stream view is NEW_AND_OLD_IMAGES. INSERT and MODIFY carry the order's new state in NewImage; REMOVE
carries the deleted item in OldImage and becomes a tombstone. A record that does not hold a valid order is a
poison record: it fails on its own and is never dropped silently."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from decimal import Decimal

# boto3's TypeDeserializer as Powertools vendors it: the same conversions without importing boto3, which would
# add about a third of a second to every cold start of the projector.
from aws_lambda_powertools.shared.dynamodb_deserializer import TypeDeserializer

CREATED = "orderCreated"
CANCELLED = "orderCancelled"
REMOVED = "removed"
MAX_ID_LENGTH = 64
MAX_ITEMS = 100
MAX_QUANTITY = 10_000
MAX_VERSION = 2**32 - 1  # orders.version is INT UNSIGNED
MIN_YEAR = 1000  # DATETIME starts at 1000-01-01

_deserializer = TypeDeserializer()


class PoisonRecord(ValueError):
    """The record cannot be applied however often it is retried."""


@dataclass(frozen=True)
class OrderChange:
    order_id: str
    version: int
    status: str  # CREATED, CANCELLED or REMOVED
    order_date: datetime  # naive UTC, millisecond precision (the DATETIME(3) columns)
    items: tuple[tuple[str, int], ...]  # (itemid, quantity) in line order; empty for REMOVED

    @property
    def revision(self) -> tuple[int, bool]:
        """Order of changes to one order: by version; a removal outranks the version it removed."""
        return (self.version, self.status == REMOVED)


def parse_record(record: dict) -> OrderChange:
    if not isinstance(record, dict) or not isinstance(record.get("dynamodb"), dict):
        raise PoisonRecord("not a DynamoDB stream record")
    event_name = record.get("eventName")
    if event_name in ("INSERT", "MODIFY"):
        image_name = "NewImage"
    elif event_name == "REMOVE":
        image_name = "OldImage"
    else:
        raise PoisonRecord(f"unknown eventName {event_name!r}")
    image = record["dynamodb"].get(image_name)
    if not isinstance(image, dict):
        raise PoisonRecord(f"{event_name} record without {image_name} (the stream must be NEW_AND_OLD_IMAGES)")
    try:
        order = {name: _deserializer.deserialize(value) for name, value in image.items()}
    except (TypeError, ValueError, ArithmeticError, AttributeError, LookupError) as error:
        raise PoisonRecord(f"{image_name} is not valid DynamoDB JSON: {error}") from None
    change = _order_change(order)
    if event_name == "REMOVE":
        return OrderChange(change.order_id, change.version, REMOVED, change.order_date, ())
    return change


def _order_change(order: dict) -> OrderChange:
    status = order.get("status")
    if status not in (CREATED, CANCELLED):
        raise PoisonRecord(f"status must be {CREATED!r} or {CANCELLED!r}")
    items = order.get("items")
    if not isinstance(items, list) or not 1 <= len(items) <= MAX_ITEMS:
        raise PoisonRecord(f"items must be a list of 1..{MAX_ITEMS} entries")
    lines = []
    for position, item in enumerate(items):
        if not isinstance(item, dict):
            raise PoisonRecord(f"items[{position}] must be a map")
        lines.append(
            (
                _identifier(item.get("itemid"), f"items[{position}].itemid"),
                _integer(item.get("quantity"), f"items[{position}].quantity", 1, MAX_QUANTITY),
            )
        )
    return OrderChange(
        order_id=_identifier(order.get("orderId"), "orderId"),
        version=_integer(order.get("version"), "version", 1, MAX_VERSION),
        status=status,
        order_date=_utc_datetime(order.get("orderDate"), "orderDate"),
        items=tuple(lines),
    )


def _identifier(value: object, field: str) -> str:
    if not isinstance(value, str) or not 1 <= len(value) <= MAX_ID_LENGTH:
        raise PoisonRecord(f"{field} must be a string of 1..{MAX_ID_LENGTH} characters")
    try:
        value.encode("utf-8")  # stored as UTF-8 bytes
    except UnicodeEncodeError:
        raise PoisonRecord(f"{field} must be valid Unicode text") from None
    return value


def _integer(value: object, field: str, low: int, high: int) -> int:
    # Numbers arrive as Decimal; 3.0 is an integer, 3.5 and NaN are not.
    if not isinstance(value, Decimal) or not value.is_finite() or value != value.to_integral_value():
        raise PoisonRecord(f"{field} must be an integer")
    if not low <= value <= high:
        raise PoisonRecord(f"{field} must be between {low} and {high}")
    return int(value)


def _utc_datetime(value: object, field: str) -> datetime:
    if not isinstance(value, str):
        raise PoisonRecord(f"{field} must be an ISO-8601 string")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise PoisonRecord(f"{field} is not an ISO-8601 date-time") from None
    if parsed.tzinfo is None:
        raise PoisonRecord(f"{field} must carry a UTC offset, such as Z")
    try:
        utc = parsed.astimezone(timezone.utc).replace(tzinfo=None)
    except OverflowError:
        raise PoisonRecord(f"{field} is out of range") from None
    if utc.year < MIN_YEAR:
        raise PoisonRecord(f"{field} is before the year {MIN_YEAR}")
    # Truncate here, not in SQL: MySQL rounds extra fractional digits and MariaDB truncates them.
    return utc.replace(microsecond=utc.microsecond // 1000 * 1000)
