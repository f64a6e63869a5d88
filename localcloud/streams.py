"""DynamoDB stream delivery with Lambda event source mapping semantics.

moto delivers stream records synchronously inside PutItem, ignores batch item failures and swallows errors, so
localcloud polls the stream itself and applies the mapping's settings: batch size, partial batch failures
(`batchItemFailures`: retry from the first failed record), bisect on function error, bounded retries, maximum
record age, and the on-failure destination (an SQS message in the format Lambda sends).
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Callable


@dataclass
class Mapping:
    uuid: str
    stream_arn: str
    function_arn: str
    batch_size: int
    bisect: bool
    max_retries: int  # -1: until the records expire
    max_record_age: int  # seconds, -1: unlimited
    report_item_failures: bool
    on_failure_arn: str | None
    iterators: dict[str, str] = field(default_factory=dict)  # shard id -> next iterator
    pending: dict[str, list[dict]] = field(default_factory=dict)  # shard id -> records not yet done

    @classmethod
    def from_inputs(cls, mapping_uuid: str, inputs: dict) -> Mapping:
        return cls(mapping_uuid, inputs["eventSourceArn"], inputs["functionName"],
                   int(inputs.get("batchSize", 100)), bool(inputs.get("bisectBatchOnFunctionError", False)),
                   int(inputs.get("maximumRetryAttempts", -1)), int(inputs.get("maximumRecordAgeInSeconds", -1)),
                   "ReportBatchItemFailures" in inputs.get("functionResponseTypes", []),
                   inputs.get("destinationConfig", {}).get("onFailure", {}).get("destinationArn"))


@dataclass
class Delivery:
    """What happened to the records (for the summary and the tests)."""
    invocations: int = 0
    failed_invocations: int = 0
    records_delivered: int = 0
    records_to_on_failure: int = 0


def _lambda_record(record: dict, stream_arn: str) -> dict:
    record = json.loads(json.dumps(record, default=_epoch))
    record["eventSourceARN"] = stream_arn
    return record


def _epoch(value: Any) -> float:
    if isinstance(value, datetime):
        return value.timestamp()
    raise TypeError(f"cannot serialise {type(value).__name__}")


class StreamPoller:
    def __init__(self, streams_client, invoke: Callable[[str, dict], tuple[dict | None, bool]],
                 send_to_queue: Callable[[str, str, dict], None]):
        self.streams = streams_client
        self.invoke = invoke  # (function ARN, event) -> (response payload, function error)
        self.send_to_queue = send_to_queue
        self.mappings: list[Mapping] = []
        self.delivery = Delivery()
        self.before_invoke: Callable[[list[dict]], None] | None = None  # test hook: inject faults per invocation

    def add(self, mapping: Mapping) -> None:
        self.mappings.append(mapping)

    def poll(self) -> int:
        """Deliver every record available now; returns how many records were handled."""
        handled = 0
        for mapping in self.mappings:
            self._fetch(mapping)
            for shard_id, pending in mapping.pending.items():
                while pending:
                    batch = pending[:mapping.batch_size]
                    self._process(mapping, shard_id, batch, attempt=0)
                    del pending[:len(batch)]
                    handled += len(batch)
        return handled

    def _fetch(self, mapping: Mapping) -> None:
        shards = self.streams.describe_stream(StreamArn=mapping.stream_arn)["StreamDescription"]["Shards"]
        for shard in shards:
            shard_id = shard["ShardId"]
            if shard_id not in mapping.iterators:
                mapping.iterators[shard_id] = self.streams.get_shard_iterator(
                    StreamArn=mapping.stream_arn, ShardId=shard_id, ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
            while True:
                response = self.streams.get_records(ShardIterator=mapping.iterators[shard_id], Limit=1000)
                mapping.iterators[shard_id] = response["NextShardIterator"]
                records = [_lambda_record(r, mapping.stream_arn) for r in response["Records"]]
                mapping.pending.setdefault(shard_id, []).extend(records)
                if not records:
                    break

    def _expired(self, mapping: Mapping, batch: list[dict]) -> list[dict]:
        if mapping.max_record_age < 0:
            return []
        oldest = time.time() - mapping.max_record_age
        return [r for r in batch if r["dynamodb"]["ApproximateCreationDateTime"] < oldest]

    def _process(self, mapping: Mapping, shard_id: str, batch: list[dict], attempt: int) -> None:
        """Invoke until the batch succeeds; bisect, retry and finally hand failures to the on-failure queue."""
        while batch:
            expired = self._expired(mapping, batch)
            if expired:
                self._on_failure(mapping, shard_id, expired, "RecordAgeExceeded", attempt)
                batch = [r for r in batch if r not in expired]
                continue
            if self.before_invoke:
                self.before_invoke(batch)
            response, function_error = self.invoke(mapping.function_arn, {"Records": batch})
            self.delivery.invocations += 1
            failed_from = self._first_failure(mapping, batch, response, function_error)
            if failed_from is None:
                self.delivery.records_delivered += len(batch)
                return
            self.delivery.failed_invocations += 1
            self.delivery.records_delivered += failed_from
            batch = batch[failed_from:]  # records before the first failure are checkpointed
            if 0 <= mapping.max_retries <= attempt:
                self._on_failure(mapping, shard_id, batch, "RetryAttemptsExhausted", attempt + 1)
                return
            attempt += 1
            if mapping.bisect and len(batch) > 1:
                half = len(batch) // 2
                self._process(mapping, shard_id, batch[:half], attempt)
                self._process(mapping, shard_id, batch[half:], attempt)
                return

    @staticmethod
    def _first_failure(mapping: Mapping, batch: list[dict], response: Any, function_error: bool) -> int | None:
        if function_error:
            return 0
        if not mapping.report_item_failures or not isinstance(response, dict):
            return None
        failures = response.get("batchItemFailures") or []
        if not failures:
            return None
        sequence = {r["dynamodb"]["SequenceNumber"]: index for index, r in enumerate(batch)}
        indexes = [sequence.get(f.get("itemIdentifier")) if isinstance(f, dict) else None for f in failures]
        # An identifier that is not in the batch fails the whole batch, as on AWS.
        return 0 if None in indexes else min(indexes)

    def _on_failure(self, mapping: Mapping, shard_id: str, records: list[dict], condition: str,
                    invocations: int) -> None:
        self.delivery.records_to_on_failure += len(records)
        if not mapping.on_failure_arn:
            return
        now = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        arrival = [datetime.fromtimestamp(r["dynamodb"]["ApproximateCreationDateTime"], timezone.utc)
                   .strftime("%Y-%m-%dT%H:%M:%SZ") for r in records]
        body = {
            "requestContext": {"requestId": str(uuid.uuid4()), "functionArn": mapping.function_arn,
                               "condition": condition, "approximateInvokeCount": invocations},
            "responseContext": {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"},
            "version": "1.0", "timestamp": now,
            "DDBStreamBatchInfo": {"shardId": shard_id, "streamArn": mapping.stream_arn, "batchSize": len(records),
                                   "startSequenceNumber": records[0]["dynamodb"]["SequenceNumber"],
                                   "endSequenceNumber": records[-1]["dynamodb"]["SequenceNumber"],
                                   "approximateArrivalOfFirstRecord": arrival[0],
                                   "approximateArrivalOfLastRecord": arrival[-1]},
        }
        self.send_to_queue(mapping.on_failure_arn, json.dumps(body), {})
