"""Event source mapping semantics of the stream poller, against a stream of numbered records."""

import collections
import json
import threading
import time

from botocore.exceptions import ClientError

from localcloud import streams
from localcloud.streams import Mapping, StreamPoller

STREAM = "arn:aws:dynamodb:us-east-1:123456789012:table/t/stream/1"


class FakeStream:
    """Records numbered 0..count-1, record n in shard n % shards, keyed by n % keys."""

    def __init__(self, count: int, age: float = 0, shards: int = 1, keys: int | None = None):
        now = time.time() - age
        self.records = [{"eventID": str(n), "eventName": "INSERT",
                         "dynamodb": {"SequenceNumber": str(1000 + n), "ApproximateCreationDateTime": now,
                                      "Keys": {"orderId": {"S": str(n % (keys or count))}}}}
                        for n in range(count)]
        self.shards = [f"shard-{index}" for index in range(shards)]

    def describe_stream(self, StreamArn):
        return {"StreamDescription": {"Shards": [{"ShardId": shard} for shard in self.shards]}}

    def get_shard_iterator(self, StreamArn, ShardId, ShardIteratorType):
        return {"ShardIterator": f"{ShardId}/0"}

    def get_records(self, ShardIterator, Limit):
        shard, start = ShardIterator.split("/")
        records = [r for n, r in enumerate(self.records) if self.shards[n % len(self.shards)] == shard]
        batch = records[int(start):int(start) + Limit]
        return {"Records": batch, "NextShardIterator": f"{shard}/{int(start) + len(batch)}"}


def mapping(**overrides) -> Mapping:
    inputs = {"eventSourceArn": STREAM, "functionName": "projector", "batchSize": 10,
              "bisectBatchOnFunctionError": True, "maximumRetryAttempts": 3, "maximumRecordAgeInSeconds": 3600,
              "functionResponseTypes": ["ReportBatchItemFailures"],
              "destinationConfig": {"onFailure": {"destinationArn": "arn:aws:sqs:us-east-1:123456789012:dlq"}}}
    return Mapping.from_inputs("uuid", inputs | overrides)


def run(stream: FakeStream, handler, **overrides):
    calls, dead = [], []

    def invoke(function_arn, event):
        numbers = [int(r["eventID"]) for r in event["Records"]]
        calls.append(numbers)
        assert all(r["eventSourceARN"] == STREAM for r in event["Records"])
        return handler(numbers, event["Records"])

    poller = StreamPoller(stream, invoke, lambda arn, body, attributes: dead.append(json.loads(body)))
    poller.add(mapping(**overrides))
    handled = poller.poll()
    return calls, dead, poller, handled


def test_batches_follow_the_batch_size_and_later_polls_get_only_new_records():
    stream = FakeStream(25)
    calls, dead, poller, handled = run(stream, lambda numbers, records: ({"batchItemFailures": []}, False))
    assert [len(c) for c in calls] == [10, 10, 5] and handled == 25 and dead == []
    assert poller.poll() == 0


def test_partial_failure_retries_from_the_first_failed_record():
    seen = set()

    def handler(numbers, records):
        if 3 in numbers and 3 not in seen:
            seen.add(3)
            return {"batchItemFailures": [{"itemIdentifier": records[numbers.index(3)]["dynamodb"]["SequenceNumber"]}]}, False
        return {"batchItemFailures": []}, False

    calls, dead, poller, _ = run(FakeStream(6), handler, bisectBatchOnFunctionError=False)
    assert calls == [[0, 1, 2, 3, 4, 5], [3, 4, 5]] and dead == []
    assert poller.delivery.records_delivered == 6


def test_a_poison_record_is_bisected_down_to_itself_and_sent_to_the_on_failure_destination():
    def handler(numbers, records):
        if 5 in numbers:
            index = numbers.index(5)
            return {"batchItemFailures": [{"itemIdentifier": records[index]["dynamodb"]["SequenceNumber"]}]}, False
        return {"batchItemFailures": []}, False

    calls, dead, poller, _ = run(FakeStream(10), handler)
    assert len(dead) == 1
    info = dead[0]["DDBStreamBatchInfo"]
    assert (info["startSequenceNumber"], info["endSequenceNumber"], info["batchSize"]) == ("1005", "1005", 1)
    assert dead[0]["requestContext"]["condition"] == "RetryAttemptsExhausted"
    delivered = {n for c in calls for n in c}
    assert delivered == set(range(10))  # the records after the poison one were delivered too
    assert poller.delivery.records_to_on_failure == 1


def test_function_errors_are_retried_a_bounded_number_of_times():
    calls, dead, _, _ = run(FakeStream(1), lambda numbers, records: ({"errorType": "Boom"}, True))
    assert len(calls) == 4  # the first try and three retries
    assert dead[0]["requestContext"]["approximateInvokeCount"] == 4


def test_without_partial_failure_reporting_a_response_is_success():
    calls, dead, _, _ = run(FakeStream(3), lambda n, r: ({"batchItemFailures": [{"itemIdentifier": "1000"}]}, False),
                            functionResponseTypes=[])
    assert calls == [[0, 1, 2]] and dead == []


def test_an_unknown_item_identifier_fails_the_whole_batch():
    attempts = []

    def handler(numbers, records):
        attempts.append(numbers)
        return ({"batchItemFailures": [{"itemIdentifier": "nope"}]} if len(attempts) == 1 else {}), False

    calls, dead, _, _ = run(FakeStream(2), handler, bisectBatchOnFunctionError=False)
    assert calls == [[0, 1], [0, 1]]


def test_records_older_than_the_maximum_age_go_to_the_on_failure_destination_unprocessed():
    calls, dead, _, _ = run(FakeStream(2, age=7200), lambda n, r: ({}, False))
    assert calls == [] and dead[0]["requestContext"]["condition"] == "RecordAgeExceeded"


def _meeting(others: int):
    """A handler that returns only once `others` + 1 invocations ran at the same time (or after 10 s), and a
    function telling whether they did."""
    active, met, lock = [0], threading.Event(), threading.Lock()

    def handler(numbers, records):
        with lock:
            active[0] += 1
            if active[0] > others:
                met.set()
        met.wait(10)
        with lock:
            active[0] -= 1
        return {"batchItemFailures": []}, False

    return handler, met.is_set


def test_shards_are_projected_in_parallel_each_in_its_own_order():
    handler, overlapped = _meeting(1)
    calls, dead, poller, handled = run(FakeStream(40, shards=2), handler)
    assert overlapped() and handled == 40 and dead == []
    for shard in (0, 1):  # each shard's records in stream order, in batches of at most 10
        assert [n for call in calls if call[0] % 2 == shard for n in call] == list(range(shard, 40, 2))
    assert poller.poll() == 0


def test_a_parallelization_factor_runs_batches_of_one_shard_at_once_keeping_each_key_in_order():
    handler, overlapped = _meeting(1)
    calls, dead, _, handled = run(FakeStream(60, keys=12), handler, parallelizationFactor=4, batchSize=5)
    assert overlapped() and handled == 60 and dead == []
    order = collections.defaultdict(list)
    for call in calls:
        for n in call:
            order[n % 12].append(n)
    assert all(numbers == sorted(numbers) for numbers in order.values())  # one key's records never overtake


def test_a_throttled_batch_is_retried_without_counting_as_an_attempt(monkeypatch):
    monkeypatch.setattr(streams, "THROTTLE_BACKOFF_S", (0.001, 0.002))
    throttles = [5]

    def handler(numbers, records):
        if throttles[0]:
            throttles[0] -= 1
            raise ClientError({"Error": {"Code": "TooManyRequestsException", "Message": "Rate Exceeded."}}, "Invoke")
        return {"batchItemFailures": []}, False

    calls, dead, poller, handled = run(FakeStream(3), handler, maximumRetryAttempts=1)
    assert handled == 3 and dead == [] and len(calls) == 6
    assert (poller.delivery.throttles, poller.delivery.invocations, poller.delivery.records_delivered) == (5, 1, 3)
