"""DynamoDB streams with several shards, as a partitioned table has on AWS.

moto gives each table's stream one shard. `install(shards)` gives every stream created afterwards that many: a
record goes to the shard of its item's partition key (so one item's records stay in order, in one shard, as on
AWS), sequence numbers grow across the whole stream, and DescribeStream, GetShardIterator (every iterator type,
ResourceNotFoundException for a shard the stream does not have) and GetRecords work per shard. localcloud's
StreamPoller then projects the shards in parallel, as Lambda's event source mapping does.
"""

from __future__ import annotations

import bisect
import threading
import zlib
from typing import Any, Callable

from moto.core.utils import utcnow
from moto.dynamodb.exceptions import ResourceNotFoundException
from moto.dynamodb.models import table as tables
from moto.dynamodb.models.table import StreamRecord
from moto.dynamodbstreams.models import DynamoDBStreamsBackend, ShardIterator

FIRST_SEQUENCE = 1100000000017454423009  # the form of DynamoDB's sequence numbers (moto's first one)


class _Shard:
    """One shard: its records in sequence order (the interface moto's ShardIterator reads)."""

    def __init__(self, table, shard_id: str):
        self.table = table
        self.id = shard_id
        self.starting_sequence_number = FIRST_SEQUENCE
        self.items: list[StreamRecord] = []
        self.sequences: list[int] = []

    def to_json(self) -> dict[str, Any]:
        return {"ShardId": self.id, "SequenceNumberRange": {"StartingSequenceNumber": str(FIRST_SEQUENCE)}}

    def get(self, start: int, quantity: int) -> list[dict[str, Any]]:
        first = bisect.bisect_left(self.sequences, start)
        return [record.to_json() for record in self.items[first:first + quantity]]


class ShardedStream:
    """Takes the place of moto's StreamShard on a table (moto calls `add` for every write)."""

    count = 2  # shards per stream (install() sets it)

    def __init__(self, account_id: str, table):
        self.account_id = account_id
        self.table = table
        self.created_on = utcnow()
        stamp = int(self.created_on.timestamp() * 1000)
        self.shards = [_Shard(table, f"shardId-{stamp:020d}-{zlib.crc32(f'{table.name}/{index}'.encode()):08x}")
                       for index in range(self.count)]
        self.next_sequence = FIRST_SEQUENCE
        self._lock = threading.Lock()

    def add(self, old, new) -> None:
        item = old if old is not None else new
        shard = self.shards[zlib.crc32(repr(item.hash_key.value).encode()) % len(self.shards)]
        event = "INSERT" if old is None else "REMOVE" if new is None else "MODIFY"
        with self._lock:
            sequence, self.next_sequence = self.next_sequence, self.next_sequence + 1
            shard.items.append(StreamRecord(self.table, self.table.stream_specification["StreamViewType"], event,
                                            old, new, sequence))
            shard.sequences.append(sequence)

    def shard(self, shard_id: str) -> _Shard:
        for shard in self.shards:
            if shard.id == shard_id:
                return shard
        raise ResourceNotFoundException(f"Requested resource not found: Shard does not exist: {shard_id}")


def _describe_stream(original: Callable) -> Callable:
    def describe_stream(backend: DynamoDBStreamsBackend, arn: str) -> dict[str, Any]:
        table = backend._get_table_from_arn(arn)
        stream = table.stream_shard
        if not isinstance(stream, ShardedStream):
            return original(backend, arn)
        return {"StreamArn": arn, "StreamLabel": table.latest_stream_label,
                "StreamStatus": "ENABLED" if table.latest_stream_label else "DISABLED",
                "StreamViewType": table.stream_specification["StreamViewType"],
                "CreationRequestDateTime": stream.created_on, "TableName": table.name, "KeySchema": table.schema,
                "Shards": [shard.to_json() for shard in stream.shards]}
    return describe_stream


def _get_shard_iterator(original: Callable) -> Callable:
    def get_shard_iterator(backend: DynamoDBStreamsBackend, arn: str, shard_id: str, iterator_type: str,
                           sequence_number: int | None = None) -> ShardIterator:
        stream = backend._get_table_from_arn(arn).stream_shard
        if not isinstance(stream, ShardedStream):
            return original(backend, arn, shard_id, iterator_type, sequence_number)
        shard = stream.shard(shard_id)
        if iterator_type == "LATEST":  # moto counts from the shard's first number; numbers here span the stream
            iterator_type, sequence_number = "AT_SEQUENCE_NUMBER", stream.next_sequence
        iterator = ShardIterator(backend, shard, iterator_type, sequence_number)
        backend.shard_iterators[iterator.arn] = iterator
        return iterator
    return get_shard_iterator


def install(shards: int) -> Callable[[], None]:
    """Streams created from now on have `shards` shards; returns the function that restores moto."""
    if shards < 1:
        raise ValueError(f"a stream needs at least one shard, not {shards}")
    ShardedStream.count = shards
    saved = [(tables, "StreamShard", tables.StreamShard),
             (DynamoDBStreamsBackend, "describe_stream", DynamoDBStreamsBackend.describe_stream),
             (DynamoDBStreamsBackend, "get_shard_iterator", DynamoDBStreamsBackend.get_shard_iterator)]
    tables.StreamShard = ShardedStream
    DynamoDBStreamsBackend.describe_stream = _describe_stream(saved[1][2])
    DynamoDBStreamsBackend.get_shard_iterator = _get_shard_iterator(saved[2][2])

    def restore() -> None:
        for owner, name, value in saved:
            setattr(owner, name, value)

    return restore

