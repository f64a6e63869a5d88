"""The world of the operations' tests: an orders table in moto written as the workflow writes it, the projector
draining its stream into the read model (failures sent on as Lambda's on-failure messages), and the reference: a
fresh projection of the table's items into a read model of its own."""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta, timezone

from orders_db.batches import FAILED, project_batch, project_changes
from orders_db.stream_records import parse_image, stream_epoch

TABLES = {"orders": "order_id", "order_lines": "order_id, line_no", "item_totals": "item_id",
          "item_monthly_totals": "item_id, order_month"}
START = datetime(2022, 10, 1, tzinfo=timezone.utc)


def item(order_id: str, items: list[tuple[str, int]], when: datetime, version: int = 1,
         status: str = "orderCreated") -> dict:
    """The orders table's item, as the workflow's CreateOrder (and CancelOrder) tasks write it."""
    return {"orderId": {"S": order_id}, "status": {"S": status},
            "orderDate": {"S": when.strftime("%Y-%m-%dT%H:%M:%SZ")},
            "items": {"L": [{"M": {"itemid": {"S": i}, "quantity": {"N": str(q)}}} for i, q in items]},
            "version": {"N": str(version)}, "createdBy": {"S": str(uuid.uuid4())}}


class OrdersWorld:
    def __init__(self, clients: dict, projector, ops, sql, make_database, connect_ops):
        self.clients, self.projector, self.ops = clients, projector, ops
        self.sql = sql  # (statement, args=()) -> rows: as root, in the read model's database
        self.make_database = make_database  # () -> the name of a fresh migrated read model
        self.connect_ops = connect_ops  # (database name = the system's) -> the ops user's Database on it
        self.table_name = f"orders-{uuid.uuid4().hex[:8]}"
        self.queue_url = clients["sqs"].create_queue(QueueName=f"projector-dlq-{uuid.uuid4().hex[:8]}")["QueueUrl"]
        self.iterators: dict[str, str] = {}
        self.create_table()

    # -- the command side ------------------------------------------------------------------------------------

    def create_table(self) -> None:
        """(Re-)create the orders table, as `pulumi up` or a restore would: a new stream, a new epoch."""
        table = self.clients["dynamodb"].create_table(
            TableName=self.table_name, BillingMode="PAY_PER_REQUEST",
            KeySchema=[{"AttributeName": "orderId", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "orderId", "AttributeType": "S"}],
            StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"})
        self.stream_arn = table["TableDescription"]["LatestStreamArn"]
        self.iterators = {}

    def drop_table(self) -> None:
        self.clients["dynamodb"].delete_table(TableName=self.table_name)

    def put(self, order_id: str, items: list[tuple[str, int]], day: int = 0, **kwargs) -> dict:
        written = item(order_id, items, START + timedelta(days=day, hours=day % 24), **kwargs)
        self.clients["dynamodb"].put_item(TableName=self.table_name, Item=written)
        return written

    def cancel(self, order_id: str) -> None:
        self.clients["dynamodb"].update_item(
            TableName=self.table_name, Key={"orderId": {"S": order_id}},
            UpdateExpression="SET #s = :c, #v = #v + :one",
            ExpressionAttributeNames={"#s": "status", "#v": "version"},
            ExpressionAttributeValues={":c": {"S": "orderCancelled"}, ":one": {"N": "1"}})

    def delete(self, order_id: str) -> None:
        self.clients["dynamodb"].delete_item(TableName=self.table_name, Key={"orderId": {"S": order_id}})

    def traffic(self, count: int, prefix: str = "o", items: int = 7) -> list[str]:
        """`count` orders over 40 days and `items` items; every third one cancelled."""
        ids = []
        for n in range(count):
            order_id = f"{prefix}-{n:05d}"
            self.put(order_id, [(f"item-{n % items}", n % 5 + 1), (f"item-{(n * 3) % items}", 2)], day=n % 40)
            if n % 3 == 0:
                self.cancel(order_id)
            ids.append(order_id)
        return ids

    # -- the projector -----------------------------------------------------------------------------------------

    def project_stream(self, batch_size: int = 100) -> list[dict]:
        """Deliver the stream's new records through the projector; failed records go on as on-failure messages
        (one per failed record, with its shard and sequence number). Returns the failed records."""
        streams = self.clients["dynamodbstreams"]
        failed = []
        for shard in streams.describe_stream(StreamArn=self.stream_arn)["StreamDescription"]["Shards"]:
            shard_id = shard["ShardId"]
            iterator = self.iterators.get(shard_id) or streams.get_shard_iterator(
                StreamArn=self.stream_arn, ShardId=shard_id, ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
            while True:
                response = streams.get_records(ShardIterator=iterator, Limit=batch_size)
                iterator = self.iterators[shard_id] = response["NextShardIterator"]
                records = [{**json.loads(json.dumps(r, default=str)), "eventSourceARN": self.stream_arn}
                           for r in response["Records"]]
                if not records:
                    break
                for record, outcome in zip(records, project_batch(self.projector, records)):
                    if outcome.status == FAILED:
                        failed.append(record)
                        self.send_failure(shard_id, record["dynamodb"]["SequenceNumber"])
        return failed

    def send_failure(self, shard_id: str, first: str, last: str | None = None, stream_arn: str | None = None) -> None:
        body = {"requestContext": {"condition": "RetryAttemptsExhausted"}, "version": "1.0",
                "DDBStreamBatchInfo": {"shardId": shard_id, "startSequenceNumber": first,
                                       "endSequenceNumber": last or first, "batchSize": 1,
                                       "streamArn": stream_arn or self.stream_arn}}
        self.clients["sqs"].send_message(QueueUrl=self.queue_url, MessageBody=json.dumps(body))

    def queue_depth(self) -> int:
        attributes = self.clients["sqs"].get_queue_attributes(
            QueueUrl=self.queue_url, AttributeNames=["ApproximateNumberOfMessages",
                                                     "ApproximateNumberOfMessagesNotVisible"])["Attributes"]
        return sum(int(value) for value in attributes.values())

    # -- the read models ---------------------------------------------------------------------------------------

    def items(self) -> list[dict]:
        paginator = self.clients["dynamodb"].get_paginator("scan")
        return [i for page in paginator.paginate(TableName=self.table_name, ConsistentRead=True) for i in page["Items"]]

    def reference(self) -> dict[str, list[tuple]]:
        """A fresh projection of the table's items (with its current stream's epoch), row for row."""
        database = self.connect_ops(self.make_database())
        epoch = stream_epoch(self.stream_arn)
        changes = [parse_image(i, epoch) for i in self.items()]
        outcomes = project_changes(database, changes)
        assert all(outcome.status != FAILED for outcome in outcomes)
        return database.read(_snapshot)

    def snapshot(self) -> dict[str, list[tuple]]:
        """The system's read model, row for row (tombstones of orders the table no longer holds left out)."""
        return self.ops.read(_snapshot)

    def close(self) -> None:
        pass


def _snapshot(cursor) -> dict[str, list[tuple]]:
    rows = {}
    for table, key in TABLES.items():
        where = " WHERE status <> 'removed'" if table == "orders" else ""
        cursor.execute(f"SELECT * FROM {table}{where} ORDER BY {key}")
        rows[table] = list(cursor.fetchall())
    return rows
