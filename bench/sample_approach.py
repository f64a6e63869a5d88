"""The read side of the AWS "CQRS Design Pattern" sample (aws-samples/step-functions-workflows-collection,
folder cqrs/), reproduced in a database of its own on the benchmark's MariaDB server, to compare with ours.

Reproduced from function/initialize-database/app.js, function/process-order-table-records/app.js and
template.yaml: the two tables (no index besides the primary keys and the foreign key's), the four stored
procedures, and the projector: one stream record per invocation (BatchSize: 1), one CALL per order and one per
line, autocommit, on a connection the container keeps. The query functions CALL GetItemReport() and
GetMonthlyItemOrders(itemid) and return every row.

Adapted, each time in the sample's favour or only to make it run:
- UUID_TO_BIN(UUID()) (MySQL 8 only) is UNHEX(REPLACE(UUID(), '-', '')): the same 16 bytes, on MariaDB.
- GetMonthlyItemOrders formats and orders by MAX(orderdate): the original selects and orders by the bare
  column, which ONLY_FULL_GROUP_BY (Aurora MySQL 3's default) rejects (contract defect 5). Same result.
- The projector reads our records' attribute names (orderId and orderDate, not orderid and lastUpdateDate)
  and hands the date to the DATETIME parameter as a datetime, not as the unparsed ISO string.
- It issues the line CALLs one after another (the sample overlaps them on a connection pool), does not log
  each record as indented JSON, and lets SQL errors raise instead of swallowing them (contract defect 2).
"""

from __future__ import annotations

from datetime import datetime, timezone

import pymysql
from boto3.dynamodb.types import TypeDeserializer

from bench.database import MASTER, SAMPLE, BenchDatabase

TABLES = (
    """CREATE TABLE orders(
        orderid VARCHAR(40) PRIMARY KEY,
        orderstatus VARCHAR(255),
        orderdate DATETIME
    )""",
    """CREATE TABLE orderitems(
        orderitemid BINARY(16) PRIMARY KEY,
        itemid VARCHAR(40),
        quantity SMALLINT,
        orderid VARCHAR(40),
        CONSTRAINT fk_order FOREIGN KEY (orderid) REFERENCES orders(orderid)
    )""",
)
PROCEDURES = (
    """CREATE PROCEDURE InsertOrder(IN p_orderid VARCHAR(40), IN p_orderstatus VARCHAR(255), IN p_orderdate DATETIME)
    BEGIN
        INSERT INTO orders (orderid, orderstatus, orderdate) VALUES (p_orderid, p_orderstatus, p_orderdate);
    END""",
    """CREATE PROCEDURE InsertOrderItem(IN p_orderid VARCHAR(40), IN p_itemid VARCHAR(40), IN p_quantity SMALLINT)
    BEGIN
        INSERT INTO orderitems (orderitemid, orderid, itemid, quantity)
        VALUES (UNHEX(REPLACE(UUID(), '-', '')), p_orderid, p_itemid, p_quantity);
    END""",
    """CREATE PROCEDURE GetItemReport()
    BEGIN
        SELECT a.itemid, SUM(a.quantity) AS totalordered, DATE_FORMAT(MAX(b.orderdate), '%Y-%m-%d') AS lastorderdate
        FROM orderitems a LEFT JOIN orders b ON a.orderid = b.orderid
        GROUP BY a.itemid;
    END""",
    """CREATE PROCEDURE GetMonthlyItemOrders(IN p_itemid VARCHAR(40))
    BEGIN
        SELECT DATE_FORMAT(MAX(b.orderdate), '%M %Y') AS monthyear, SUM(a.quantity) AS monthlyordered
        FROM orderitems a LEFT JOIN orders b ON a.orderid = b.orderid
        WHERE itemid = p_itemid
        GROUP BY YEAR(b.orderdate), MONTH(b.orderdate)
        ORDER BY MAX(b.orderdate) DESC;
    END""",
)
_deserializer = TypeDeserializer()


def create_database(db: BenchDatabase, name: str) -> None:
    """The sample's initialize-database function, run by the master user; the sample's user works in it."""
    db.server.create_database(name)
    db.server.execute(f"GRANT ALL PRIVILEGES ON `{name}`.* TO %s@'%%'", (SAMPLE,))
    with db.connect(MASTER, name, autocommit=True) as connection, connection.cursor() as cursor:
        for statement in (*TABLES, *PROCEDURES):
            cursor.execute(statement)


def copy_read_models(cursor, source_database: str) -> None:
    """The same orders and lines as our read models in `source_database`, as the sample stores them."""
    cursor.execute(
        "INSERT INTO orders (orderid, orderstatus, orderdate)"
        f" SELECT CONVERT(order_id USING utf8mb4), status, order_date FROM `{source_database}`.orders"
    )
    cursor.execute(
        "INSERT INTO orderitems (orderitemid, orderid, itemid, quantity)"
        " SELECT UNHEX(REPLACE(UUID(), '-', '')), CONVERT(order_id USING utf8mb4), CONVERT(item_id USING utf8mb4),"
        f" quantity FROM `{source_database}`.order_lines"
    )


class Projector:
    """process-order-table-records: the container's autocommit connection, one record per invocation."""

    def __init__(self, connection: pymysql.Connection):
        connection.autocommit(True)
        self.connection = connection

    def handler(self, event: dict, context=None) -> dict:
        with self.connection.cursor() as cursor:
            for record in event["Records"]:
                if record["eventName"] != "INSERT":
                    continue  # the sample ignores MODIFY and REMOVE (contract defect 1)
                image = record["dynamodb"]["NewImage"]
                order = {name: _deserializer.deserialize(value) for name, value in image.items()}
                cursor.execute("CALL InsertOrder(%s, %s, %s)",
                               (order["orderId"], order["status"], _datetime(order["orderDate"])))
                for item in order["items"]:
                    cursor.execute("CALL InsertOrderItem(%s, %s, %s)",
                                   (order["orderId"], item["itemid"], int(item["quantity"])))
        return {"statusCode": 200, "body": f"Processed {len(event['Records'])} records."}


def items_sales_report(cursor) -> list[tuple]:
    """query-item-sales-report: every item, aggregated over every line, on each call."""
    cursor.execute("CALL GetItemReport()")
    return list(cursor.fetchall())


def monthly_sales_by_item(cursor, item_id: str) -> list[tuple]:
    cursor.execute("CALL GetMonthlyItemOrders(%s)", (item_id,))
    return list(cursor.fetchall())


def _datetime(iso: str) -> datetime:
    return datetime.fromisoformat(iso).astimezone(timezone.utc).replace(tzinfo=None)
