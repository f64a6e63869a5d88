"""DynamoDB stream delivery with Lambda event source mapping semantics.

moto delivers stream records synchronously inside PutItem, ignores batch item failures and swallows errors, so
localcloud polls the stream itself and applies the mapping's settings: batch size, partial batch failures
(`batchItemFailures`: retry from the first failed record), bisect on function error, bounded retries, maximum
record age, and the on-failure destination (an SQS message in the format Lambda sends). Shards are processed in
parallel, and within a shard up to the mapping's ParallelizationFactor batches at once, records of one partition
key always in order in one lane, as Lambda does. A throttled invocation is retried until the records expire, not
counted as an attempt (Lambda's rule for stream sources).
"""

from __future__ import annotations

import json
import threading
import time
import uuid
import zlib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Callable

from botocore.exceptions import ClientError

MAX_LANES = 64  # shards x parallelization factor processed at once, across mappings
THROTTLE_BACKOFF_S = (0.1, 2.0)  # first and longest wait before invoking a throttled batch again


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
    parallelization: int = 1  # concurrent batches per shard
    iterators: dict[str, str] = field(default_factory=dict)  # shard id -> next iterator
    pending: dict[str, list[dict]] = field(default_factory=dict)  # shard id -> records not yet done

    @classmethod
    def from_inputs(cls, mapping_uuid: str, inputs: dict) -> Mapping:
        return cls(mapping_uuid, inputs["eventSourceArn"], inputs["functionName"],
                   int(inputs.get("batchSize", 100)), bool(inputs.get("bisectBatchOnFunctionError", False)),
                   int(inputs.get("maximumRetryAttempts", -1)), int(inputs.get("maximumRecordAgeInSeconds", -1)),
                   "ReportBatchItemFailures" in inputs.get("functionResponseTypes", []),
                   inputs.get("destinationConfig", {}).get("onFailure", {}).get("destinationArn"),
                   int(inputs.get("parallelizationFactor", 1)))


@dataclass
class Delivery:
    """What happened to the records (for the summary and the tests)."""
    invocations: int = 0
    failed_invocations: int = 0
    records_delivered: int = 0
    records_to_on_failure: int = 0
    throttles: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def add(self, **counts: int) -> None:
        with self._lock:
            for name, count in counts.items():
                setattr(self, name, getattr(self, name) + count)


def _lambda_record(record: dict, stream_arn: str) -> dict:
    record = json.loads(json.dumps(record, default=_epoch))
    record["eventSourceARN"] = stream_arn
    return record


def _epoch(value: Any) -> float:
    if isinstance(value, datetime):
        return value.timestamp()
    raise TypeError(f"cannot serialise {type(value).__name__}")


def _sequence(record: dict) -> int:
    return int(record["dynamodb"]["SequenceNumber"])


def _lanes(records: list[dict], parallelization: int) -> list[list[dict]]:
    """A shard's records split into at most `parallelization` lanes by partition key, each in stream order."""
    if not records:
        return []
    if parallelization == 1:
        return [list(records)]
    lanes: list[list[dict]] = [[] for _ in range(parallelization)]
    for record in records:
        key = json.dumps(record["dynamodb"]["Keys"], sort_keys=True).encode()
        lanes[zlib.crc32(key) % parallelization].append(record)
    return [lane for lane in lanes if lane]


class StreamPoller:
    def __init__(self, streams_client, invoke: Callable[[str, dict], tuple[dict | None, bool]],
                 send_to_queue: Callable[[str, str, dict], None]):
        self.streams = streams_client
        self.invoke = invoke  # (function ARN, event) -> (response payload, function error)
        self.send_to_queue = send_to_queue
        self.mappings: list[Mapping] = []
        self.delivery = Delivery()
        self.before_invoke: Callable[[list[dict]], None] | None = None  # test hook: inject faults per invocation
        self._hook = threading.Lock()  # the hook sees the invocations one at a time, whatever the lanes
        # Long-lived lane threads: a process started from a lane (a test hook restarting the database) dies with the
        # thread that started it (PR_SET_PDEATHSIG, see localcloud/mariadb.py), so lanes must outlive one poll.
        self._lanes = ThreadPoolExecutor(MAX_LANES, thread_name_prefix="stream-lane")

    def add(self, mapping: Mapping) -> None:
        self.mappings.append(mapping)

    def poll(self) -> int:
        """Deliver every record available now, the lanes in parallel; returns how many records were handled."""
        handled = 0
        for mapping in self.mappings:
            self._fetch(mapping)
            lanes = [(shard_id, lane) for shard_id, pending in mapping.pending.items()
                     for lane in _lanes(pending, mapping.parallelization)]
            try:
                handled += sum(self._lanes.map(lambda lane: self._drain(mapping, *lane), lanes))
            finally:  # what a failure (the emulator stopping) left undelivered stays pending, in stream order
                for shard_id in mapping.pending:
                    mapping.pending[shard_id] = sorted((record for lane_shard, lane in lanes if lane_shard == shard_id
                                                        for record in lane), key=_sequence)
        return handled

    def stop(self) -> None:
        self._lanes.shutdown(wait=False, cancel_futures=True)

    def _drain(self, mapping: Mapping, shard_id: str, lane: list[dict]) -> int:
        handled = 0
        while lane:
            batch = lane[:mapping.batch_size]
            self._process(mapping, shard_id, batch, attempt=0)
            del lane[:len(batch)]
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
        wait = THROTTLE_BACKOFF_S[0]
        while batch:
            expired = self._expired(mapping, batch)
            if expired:
                self._on_failure(mapping, shard_id, expired, "RecordAgeExceeded", attempt)
                batch = [r for r in batch if r not in expired]
                continue
            if self.before_invoke:
                with self._hook:
                    self.before_invoke(batch)
            try:
                response, function_error = self.invoke(mapping.function_arn, {"Records": batch})
            except ClientError as error:
                if error.response.get("Error", {}).get("Code") != "TooManyRequestsException":
                    raise
                self.delivery.add(throttles=1)
                time.sleep(wait)
                wait = min(wait * 2, THROTTLE_BACKOFF_S[1])
                continue
            wait = THROTTLE_BACKOFF_S[0]
            self.delivery.add(invocations=1)
            failed_from = self._first_failure(mapping, batch, response, function_error)
            if failed_from is None:
                self.delivery.add(records_delivered=len(batch))
                return
            self.delivery.add(failed_invocations=1, records_delivered=failed_from)
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
        self.delivery.add(records_to_on_failure=len(records))
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
