"""Helpers of the query-side function tests: users, migrations, read-model snapshots, stream records."""

from __future__ import annotations

import itertools
import uuid
from dataclasses import dataclass
from pathlib import Path

from boto3.dynamodb.types import TypeSerializer

from orders_db.connection import Settings, open_connection
from orders_db.schema_migrations import DatabaseUsers, load_migrations, migrate

ROOT = Path(__file__).resolve().parents[2]
MIGRATIONS_DIR = ROOT / "functions" / "migrations"
MASTER, PROJECTOR, READER = "master", "cqrs_projector", "cqrs_reader"
# Offline stand-ins for IAM tokens: the function users have plain passwords.
PASSWORDS = {MASTER: "master-secret", PROJECTOR: "projector-secret", READER: "reader-secret"}
_KEYS = {
    "orders": "order_id",
    "order_lines": "order_id, line_no",
    "item_totals": "item_id",
    "item_monthly_totals": "item_id, order_month",
}


@dataclass
class LambdaContext:
    function_name: str = "test-function"
    memory_limit_in_mb: int = 256
    invoked_function_arn: str = "arn:aws:lambda:eu-west-1:123456789012:function:test-function"
    aws_request_id: str = "11111111-2222-3333-4444-555555555555"
    remaining_ms: int = 30_000  # as get_remaining_time_in_millis() reports at the start of an invocation

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_ms


def settings_for(user: str, database: str | None = None) -> Settings:
    settings = Settings.from_env(user=user)
    return settings._replace(database=database) if database else settings


def run_migrations(migrations_dir: Path = MIGRATIONS_DIR, database: str | None = None) -> dict:
    """What the migrate function does, as the master user (the environment comes from db_env)."""
    settings = settings_for(MASTER, database)
    master = open_connection(settings, PASSWORDS[MASTER])
    try:
        users = DatabaseUsers(PROJECTOR, READER, "password")
        return migrate(master, settings.database, load_migrations(migrations_dir), users)
    finally:
        master.close()


def query(connection, sql: str, args: tuple = ()) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, args)
        return list(cursor.fetchall())


def read_model(connection) -> dict[str, list[tuple]]:
    """Every read-model row in key order: two runs that should agree must give equal snapshots."""
    return {table: query(connection, f"SELECT * FROM {table} ORDER BY {key}") for table, key in _KEYS.items()}


def clear_read_model(connection) -> None:
    with connection.cursor() as cursor:
        for table in ("order_lines", "orders", "item_totals", "item_monthly_totals"):  # lines before orders
            cursor.execute(f"DELETE FROM {table}")


# -- DynamoDB stream records, as the orders table's stream delivers them (NEW_AND_OLD_IMAGES) ---------------

_serializer = TypeSerializer()
_sequence = itertools.count(100_000_000_000_000_000_000)


def image(order_id, version, status, order_date, items, **extra) -> dict:
    order = {
        "orderId": order_id,
        "status": status,
        "orderDate": order_date,
        "items": [{"itemid": item_id, "quantity": quantity} for item_id, quantity in items],
        "version": version,
        "createdBy": str(uuid.uuid4()),
        **extra,
    }
    return {name: _serializer.serialize(value) for name, value in order.items()}


def record(event_name: str, order_id: str, new: dict | None = None, old: dict | None = None) -> dict:
    stream = {"Keys": {"orderId": {"S": order_id}}, "SequenceNumber": str(next(_sequence)), "SizeBytes": 200}
    stream["StreamViewType"] = "NEW_AND_OLD_IMAGES"
    if new is not None:
        stream["NewImage"] = new
    if old is not None:
        stream["OldImage"] = old
    return {
        "eventID": uuid.uuid4().hex,
        "eventName": event_name,
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        "awsRegion": "eu-west-1",
        "dynamodb": stream,
        "eventSourceARN": "arn:aws:dynamodb:eu-west-1:123456789012:table/orders/stream/2022-10-13T19:00:00.000",
    }


def created(order_id, items, order_date="2022-10-13T19:00:00Z") -> dict:
    return record("INSERT", order_id, new=image(order_id, 1, "orderCreated", order_date, items))


def cancelled(order_id, items, order_date="2022-10-13T19:00:00Z", version=2) -> dict:
    old = image(order_id, version - 1, "orderCreated", order_date, items)
    new = image(order_id, version, "orderCancelled", order_date, items, cancelledAt=order_date, cancelledBy="m")
    return record("MODIFY", order_id, new=new, old=old)


def removed(order_id, items, order_date="2022-10-13T19:00:00Z", version=1, status="orderCreated") -> dict:
    return record("REMOVE", order_id, old=image(order_id, version, status, order_date, items))


def history(order_id, items, order_date, fate: str) -> list[dict]:
    """The stream records of one order's life; fate: created, cancelled, removed or cancelled+removed."""
    records = [created(order_id, items, order_date)]
    if fate in ("cancelled", "cancelled+removed"):
        records.append(cancelled(order_id, items, order_date))
    if fate == "removed":
        records.append(removed(order_id, items, order_date))
    if fate == "cancelled+removed":
        records.append(removed(order_id, items, order_date, version=2, status="orderCancelled"))
    return records
