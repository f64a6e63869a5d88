"""DynamoDB stream records of the orders table, parsed and validated into order changes.

The stream view is NEW_AND_OLD_IMAGES. INSERT and MODIFY carry the order's new state in NewImage; REMOVE
carries the deleted item in OldImage and becomes a tombstone. A record that does not hold a valid order is a
poison record: it fails on its own and is never dropped silently.

Versions count the changes of one incarnation of the table: a re-created or restored table starts its orders at
version 1 again, on a new stream. Each change therefore carries its stream's label (the stream's creation time,
the last part of the stream ARN), the epoch: a change from a newer epoch outranks every change from an older one,
whatever their versions. The rebuild gives table items the label of the table's current stream."""

from __future__ import annotations

import functools
from datetime import datetime, timezone
from typing import NamedTuple

CREATED = "orderCreated"
CANCELLED = "orderCancelled"
REMOVED = "removed"
MAX_ID_LENGTH = 64
MAX_ITEMS = 100
MAX_QUANTITY = 10_000
MAX_VERSION = 2**32 - 1  # orders.version is INT UNSIGNED
MIN_YEAR = 1000  # DATETIME starts at 1000-01-01
MAX_EPOCH_LENGTH = 64  # orders.stream_epoch
UNKNOWN_EPOCH = ""  # rows projected before epochs were recorded, and records that name no stream


@functools.cache
def _deserializer():
    """boto3's TypeDeserializer as Powertools vendors it: the same conversions without importing boto3 (a third of
    a second of every cold start). Imported when first needed: `_deserialize` reads what the workflow writes
    without it, so the projector's cold start does not pay for it (nor for `decimal`, which it imports)."""
    from aws_lambda_powertools.shared.dynamodb_deserializer import TypeDeserializer

    return TypeDeserializer()


class PoisonRecord(ValueError):
    """The record cannot be applied however often it is retried."""


class OrderChange(NamedTuple):
    order_id: str
    version: int
    status: str  # CREATED, CANCELLED or REMOVED
    order_date: datetime  # naive UTC, millisecond precision (the DATETIME(3) columns)
    items: tuple[tuple[str, int], ...]  # (itemid, quantity) in line order; empty for REMOVED
    epoch: str = UNKNOWN_EPOCH  # the label of the stream (of the table incarnation) the change comes from

    @property
    def revision(self) -> Revision:
        return Revision(self.epoch, self.version, self.status == REMOVED)


class Revision(NamedTuple):
    """Where a change stands in the history of one order id: by epoch (table incarnation), then by version; a
    removal outranks the version it removed, not the next one."""

    epoch: str
    version: int
    removed: bool

    def supersedes(self, other: Revision | None) -> bool:
        """Whether a change at this revision replaces what `other` (None: nothing stored) recorded. Epochs are
        compared only when both are known; a known epoch at the same version fills in an unknown one."""
        if other is None:
            return True
        if self.epoch and other.epoch and self.epoch != other.epoch:
            return self.epoch > other.epoch  # normalised ISO-8601 labels: text order is time order
        if self.epoch and not other.epoch:
            return (self.version, self.removed) >= (other.version, other.removed)
        return (self.version, self.removed) > (other.version, other.removed)


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
    change = parse_image(image, stream_epoch(record.get("eventSourceARN")), image_name)
    if event_name == "REMOVE":
        return change._replace(status=REMOVED, items=())
    return change


def parse_image(image: dict, epoch: str, what: str = "item") -> OrderChange:
    """An order as DynamoDB JSON (a stream image, or an item read from the table) into the change that sets it."""
    if not isinstance(image, dict):
        raise PoisonRecord(f"{what} is not a DynamoDB item")
    try:
        order = {name: _deserialize(value) for name, value in image.items()}
    except (TypeError, ValueError, ArithmeticError, AttributeError, LookupError) as error:
        raise PoisonRecord(f"{what} is not valid DynamoDB JSON: {error}") from None
    return _order_change(order, epoch)


def _deserialize(value: object) -> object:
    """`_deserializer().deserialize(value)`, about twice as fast for what the table holds: single-type strings,
    lists, maps and whole numbers of up to nine digits (as int, equal to the Decimal it would give) are read
    here; anything else, malformed values included, by the deserializer itself, so that the result (or the
    error) is the same."""
    if type(value) is dict and len(value) == 1:
        if "S" in value:
            text = value["S"]
            if type(text) is str:
                return text
        elif "N" in value:
            digits = value["N"]
            if type(digits) is str and 0 < len(digits) <= 9 and digits.isascii() and digits.isdigit():
                return int(digits)
        elif "M" in value:
            members = value["M"]
            if type(members) is dict:
                return {name: _deserialize(member) for name, member in members.items()}
        elif "L" in value:
            elements = value["L"]
            if type(elements) is list:
                return [_deserialize(element) for element in elements]
    return _deserializer().deserialize(value)


def stream_epoch(stream_arn: object) -> str:
    """The epoch of a stream ARN (`arn:aws:dynamodb:...:table/NAME/stream/LABEL`): its label, as ISO-8601 with
    microseconds when it is a date-time (AWS labels are), so that text order is time order. No ARN: unknown."""
    if stream_arn is None or stream_arn == "":
        return UNKNOWN_EPOCH
    if not isinstance(stream_arn, str) or "/stream/" not in stream_arn:
        raise PoisonRecord("eventSourceARN is not a DynamoDB stream ARN")
    return _label_epoch(stream_arn.rsplit("/stream/", 1)[1])


@functools.lru_cache(maxsize=16)  # one stream per batch: its label is parsed once
def _label_epoch(label: str) -> str:
    try:
        moment = datetime.fromisoformat(label)
    except ValueError:
        moment = None
    if moment is not None and moment.tzinfo is None:
        return moment.strftime("%Y-%m-%dT%H:%M:%S.%f")
    if not label or len(label) > MAX_EPOCH_LENGTH or not label.isascii() or not label.isprintable():
        raise PoisonRecord(f"the stream label of eventSourceARN must be 1..{MAX_EPOCH_LENGTH} ASCII characters")
    return label


def _order_change(order: dict, epoch: str) -> OrderChange:
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
        item_id, quantity = item.get("itemid"), item.get("quantity")
        if type(item_id) is str and 0 < len(item_id) <= MAX_ID_LENGTH and item_id.isascii() \
                and type(quantity) is int and 1 <= quantity <= MAX_QUANTITY:
            lines.append((item_id, quantity))  # the common case, valid at a glance (ASCII is valid UTF-8)
            continue
        lines.append(
            (
                _identifier(item_id, f"items[{position}].itemid"),
                _integer(quantity, f"items[{position}].quantity", 1, MAX_QUANTITY),
            )
        )
    return OrderChange(
        order_id=_identifier(order.get("orderId"), "orderId"),
        version=_integer(order.get("version"), "version", 1, MAX_VERSION),
        status=status,
        order_date=_utc_datetime(order.get("orderDate"), "orderDate"),
        items=tuple(lines),
        epoch=epoch,
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
    if type(value) is int:  # a plain whole number (_deserialize), never a bool
        if not low <= value <= high:
            raise PoisonRecord(f"{field} must be between {low} and {high}")
        return value
    # Other numbers arrive as Decimal (from the deserializer, which imported decimal); 3.0 is an integer, 3.5 and
    # NaN are not.
    from decimal import Decimal

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
        # Already UTC ("Z", as the workflow writes it): the same instant without the conversion's cost.
        utc = parsed.replace(tzinfo=None) if parsed.tzinfo is timezone.utc \
            else parsed.astimezone(timezone.utc).replace(tzinfo=None)
    except OverflowError:
        raise PoisonRecord(f"{field} is out of range") from None
    if utc.year < MIN_YEAR:
        raise PoisonRecord(f"{field} is before the year {MIN_YEAR}")
    # Truncate here, not in SQL: MySQL rounds extra fractional digits and MariaDB truncates them.
    return utc.replace(microsecond=utc.microsecond // 1000 * 1000) if utc.microsecond % 1000 else utc
