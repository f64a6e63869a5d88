"""Orders and the DynamoDB stream records the orders table delivers for them, shaped as on AWS (the item the
workflow's CreateOrder task writes, in a NEW_AND_OLD_IMAGES INSERT record), generated from a fixed seed."""

from __future__ import annotations

import json
import random
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

STREAM_ARN = "arn:aws:dynamodb:us-east-1:123456789012:table/orders/stream/2026-01-01T00:00:00.000"
FIRST_DAY = datetime(2022, 1, 1, tzinfo=timezone.utc)
DAYS = 1096  # 2022-01-01 .. 2024-12-31: 36 UTC months


@dataclass(frozen=True)
class Order:
    order_id: str
    order_date: datetime  # UTC, whole seconds
    items: tuple[tuple[str, int], ...]  # (itemid, quantity), 1 to 5 lines

    @property
    def iso_date(self) -> str:
        return self.order_date.strftime("%Y-%m-%dT%H:%M:%SZ")


def orders(count: int, items: int = 1_000, seed: int = 7) -> list[Order]:
    rng = random.Random(seed)
    return [
        Order(
            order_id=f"order-{number:010d}",
            order_date=FIRST_DAY + timedelta(seconds=rng.randrange(DAYS * 86_400)),
            items=tuple((f"item-{rng.randrange(items):05d}", rng.randint(1, 20)) for _ in range(rng.randint(1, 5))),
        )
        for number in range(count)
    ]


def insert_record(order: Order, sequence_number: int) -> dict:
    """The INSERT record of a created order (version 1)."""
    new_image = {
        "orderId": {"S": order.order_id},
        "status": {"S": "orderCreated"},
        "orderDate": {"S": order.iso_date},
        "items": {"L": [{"M": {"itemid": {"S": item_id}, "quantity": {"N": str(quantity)}}}
                        for item_id, quantity in order.items]},
        "version": {"N": "1"},
        "createdBy": {"S": str(uuid.UUID(int=sequence_number))},  # the inbound event's id
    }
    return {
        "eventID": f"{sequence_number:032x}",
        "eventName": "INSERT",
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        "awsRegion": "us-east-1",
        "dynamodb": {
            "ApproximateCreationDateTime": order.order_date.timestamp(),
            "Keys": {"orderId": {"S": order.order_id}},
            "NewImage": new_image,
            "SequenceNumber": str(100_000_000_000_000_000_000 + sequence_number),
            "SizeBytes": len(json.dumps(new_image)),  # close to the item's size; informational only
            "StreamViewType": "NEW_AND_OLD_IMAGES",
        },
        "eventSourceARN": STREAM_ARN,
    }


def insert_records(workload: list[Order]) -> list[dict]:
    return [insert_record(order, number) for number, order in enumerate(workload)]
