"""The AWS side of the operations, run by the ops driver function (outside the VPC) or in process: the orders
table (parallel scan, consistent batch reads, its current stream), the stream records an on-failure message
points to, and the projector's on-failure queue. Items stay DynamoDB JSON, as the stream's images are."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass

from botocore.exceptions import ClientError, ParamValidationError

from orders_db.stream_records import stream_epoch

BATCH_GET_KEYS = 100  # BatchGetItem's limit
# Errors that mean the records of an on-failure message can no longer be read: trimmed after the stream's 24 h,
# a shard or stream that is gone (an older stream of a re-created or restored table), a sequence number unknown.
_RECORDS_GONE = {"TrimmedDataAccessException", "ResourceNotFoundException", "ExpiredIteratorException",
                 "ValidationException"}


class OrdersTable:
    def __init__(self, dynamodb, streams, name: str):
        self.dynamodb, self.streams, self.name = dynamodb, streams, name

    def describe(self) -> dict:
        """{"streamArn", "epoch", "itemCount"}: the epoch given to items read now, and DynamoDB's item count
        (refreshed about every six hours: an estimate, for progress)."""
        table = self.dynamodb.describe_table(TableName=self.name)["Table"]
        stream_arn = table.get("LatestStreamArn", "")
        return {"streamArn": stream_arn, "epoch": stream_epoch(stream_arn), "itemCount": int(table.get("ItemCount", 0))}

    def scan(self, segment: int, total_segments: int, start_key: dict | None, limit: int,
             consistent: bool = False) -> tuple[list[dict], dict | None]:
        """One page of a segment of a parallel scan: (items, the key to continue after, None at the end)."""
        request = {"TableName": self.name, "Segment": segment, "TotalSegments": total_segments, "Limit": limit,
                   "ConsistentRead": consistent}
        if start_key:
            request["ExclusiveStartKey"] = start_key
        page = self.dynamodb.scan(**request)
        return page.get("Items", []), page.get("LastEvaluatedKey")

    def get(self, order_ids: list[str], keys_only: bool = False) -> dict[str, dict]:
        """The items of the orders the table holds (strongly consistent), by order id; absent ids are absent."""
        found: dict[str, dict] = {}
        unique = list(dict.fromkeys(order_ids))
        for start in range(0, len(unique), BATCH_GET_KEYS):
            keys = [{"orderId": {"S": order_id}} for order_id in unique[start:start + BATCH_GET_KEYS]]
            request: dict = {"Keys": keys, "ConsistentRead": True}
            if keys_only:
                request["ProjectionExpression"] = "orderId"
            pending, pause = {self.name: request}, 0.05
            while pending:
                response = self.dynamodb.batch_get_item(RequestItems=pending)
                for item in response.get("Responses", {}).get(self.name, []):
                    found[item["orderId"]["S"]] = item
                pending = response.get("UnprocessedKeys") or {}
                if pending:  # throttled: back off, then ask again for what was left
                    time.sleep(pause)
                    pause = min(pause * 2, 2.0)
        return found

    def stream_keys(self, batch: dict) -> list[str] | None:
        """The order ids of the records an on-failure message's DDBStreamBatchInfo describes, or None when those
        records can no longer be read."""
        try:
            iterator = self.streams.get_shard_iterator(
                StreamArn=batch["streamArn"], ShardId=batch["shardId"], ShardIteratorType="AT_SEQUENCE_NUMBER",
                SequenceNumber=batch["startSequenceNumber"])["ShardIterator"]
            first, last, ids = int(batch["startSequenceNumber"]), int(batch["endSequenceNumber"]), []
            while iterator:
                response = self.streams.get_records(ShardIterator=iterator, Limit=1000)
                for record in response.get("Records", []):
                    sequence = int(record["dynamodb"]["SequenceNumber"])
                    if not ids and sequence != first:
                        return None  # not the batch's records: they are gone
                    if sequence > last:
                        return list(dict.fromkeys(ids))
                    ids.append(record["dynamodb"]["Keys"]["orderId"]["S"])
                if not response.get("Records"):
                    break  # the shard holds nothing more yet
                iterator = response.get("NextShardIterator")
            return list(dict.fromkeys(ids)) if ids else None
        except ParamValidationError:
            return None  # not a shard or sequence number this stream could have had
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in _RECORDS_GONE:
                return None
            raise


@dataclass(frozen=True)
class FailureMessage:
    message_id: str
    receipt: str
    sent_at: float  # epoch seconds
    batch: dict | None  # DDBStreamBatchInfo, None when the body is not an on-failure message
    body: str


class FailureQueue:
    """The projector's on-failure queue (Lambda's DynamoDB stream on-failure messages)."""

    def __init__(self, sqs, url: str):
        self.sqs, self.url = sqs, url

    def receive_all(self, hide_for: int, limit: int = 1000) -> list[FailureMessage]:
        """Every message visible now (up to `limit`), each hidden from other readers for `hide_for` seconds."""
        messages: dict[str, FailureMessage] = {}
        while len(messages) < limit:
            batch = self.sqs.receive_message(QueueUrl=self.url, MaxNumberOfMessages=10, VisibilityTimeout=hide_for,
                                             AttributeNames=["SentTimestamp"], WaitTimeSeconds=0).get("Messages", [])
            if not batch:
                break
            for message in batch:
                messages.setdefault(message["MessageId"], _failure_message(message))
        return list(messages.values())

    def delete(self, message: FailureMessage) -> None:
        self.sqs.delete_message(QueueUrl=self.url, ReceiptHandle=message.receipt)

    def release(self, message: FailureMessage) -> None:
        """Visible again at once: it stays in the queue, for the next redrive and for the alarm."""
        self.sqs.change_message_visibility(QueueUrl=self.url, ReceiptHandle=message.receipt, VisibilityTimeout=0)

    def depth(self) -> int:
        attributes = self.sqs.get_queue_attributes(QueueUrl=self.url, AttributeNames=[
            "ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"])["Attributes"]
        return int(attributes["ApproximateNumberOfMessages"]) + int(attributes["ApproximateNumberOfMessagesNotVisible"])


def _failure_message(message: dict) -> FailureMessage:
    try:
        batch = json.loads(message["Body"]).get("DDBStreamBatchInfo")
        if not all(isinstance(batch.get(key), str) for key in
                   ("streamArn", "shardId", "startSequenceNumber", "endSequenceNumber")):
            batch = None
    except (ValueError, AttributeError):
        batch = None
    sent_at = int(message.get("Attributes", {}).get("SentTimestamp", "0")) / 1000
    return FailureMessage(message["MessageId"], message["ReceiptHandle"], sent_at, batch, message["Body"])
