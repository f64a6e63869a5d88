"""Helpers of the end-to-end tests: run `python -m ops` against a localcloud stack as an operator would (the
outputs file `serve` writes, the emulator's endpoint), and project the orders table afresh for comparison."""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path

from components.database import MASTER_USERNAME
from localcloud.cloud import REGION, LocalCloud
from ops.cli import main
from ops.stack import write_outputs_file
from orders_db.connection import Settings, open_connection
from orders_db.projection import apply_changes
from orders_db.schema_migrations import DatabaseUsers, load_migrations, migrate
from orders_db.stream_records import parse_image, stream_epoch

ROOT = Path(__file__).resolve().parents[2]
TABLES = {"orders": "order_id", "order_lines": "order_id, line_no", "item_totals": "item_id",
          "item_monthly_totals": "item_id, order_month"}


def ops(cloud: LocalCloud, tmp_path: Path, *arguments: str) -> tuple[int, dict, str]:
    """(exit code, the JSON summary, stderr) of `python -m ops <arguments> --json` against the cloud."""
    outputs = tmp_path / "dev-outputs.json"
    write_outputs_file(outputs, "dev", cloud.endpoint, REGION, cloud.outputs)
    stdout, stderr = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        code = main([*arguments, "--outputs", str(outputs), "--endpoint-url", cloud.endpoint, "--json"])
    return code, json.loads(stdout.getvalue()), stderr.getvalue()


def table_items(cloud: LocalCloud) -> list[dict]:
    paginator = cloud.clients["dynamodb"].get_paginator("scan")
    name = cloud.outputs["OrdersTableName"]
    return [item for page in paginator.paginate(TableName=name, ConsistentRead=True) for item in page["Items"]]


def read_models(cloud: LocalCloud, database: str = "orders") -> dict[str, list[tuple]]:
    """Every read-model row (tombstones of orders the table does not hold left out), in key order."""
    connection = cloud.database.root_connection(database)
    try:
        rows = {}
        with connection.cursor() as cursor:
            for table, key in TABLES.items():
                where = " WHERE status <> 'removed'" if table == "orders" else ""
                cursor.execute(f"SELECT * FROM {table}{where} ORDER BY {key}")
                rows[table] = list(cursor.fetchall())
        return rows
    finally:
        connection.close()


def fresh_projection(cloud: LocalCloud, name: str) -> dict[str, list[tuple]]:
    """The table's items projected by the projector's code into a new database of the same server, row for row."""
    settings = Settings("127.0.0.1", cloud.database.port, name, MASTER_USERNAME, "required")
    master = open_connection(settings, cloud.db_passwords[MASTER_USERNAME])
    try:
        migrate(master, name, load_migrations(ROOT / "functions" / "migrations"),
                DatabaseUsers("cqrs_projector", "cqrs_reader", "password", ops="cqrs_ops"))
        table = cloud.clients["dynamodb"].describe_table(TableName=cloud.outputs["OrdersTableName"])["Table"]
        epoch = stream_epoch(table["LatestStreamArn"])
        with master.cursor() as cursor:
            apply_changes(cursor, [parse_image(item, epoch) for item in table_items(cloud)])
        master.commit()
    finally:
        master.close()
    try:
        return read_models(cloud, name)
    finally:
        cloud.database.drop_database(name)


def sql(cloud: LocalCloud, statement: str, args: tuple = ()) -> None:
    connection = cloud.database.root_connection("orders")
    try:
        with connection.cursor() as cursor:
            cursor.execute(statement, args)
    finally:
        connection.close()
