"""EventBridge's own rules, without the emulator: PutEvents entry size as AWS computes it, and which failures of
a state machine target are retried before the dead-letter queue."""

import json
from types import SimpleNamespace

from botocore.exceptions import ClientError

from localcloud.eventbridge import MAX_ENTRY_BYTES, EventBridge, _entry_error, entry_size

DETAIL = '{"command": "createOrder", "note": "ünï 🙂"}'


def test_entry_size_is_aws_formula():
    entry = {"Time": 1665687600, "Source": "orderPipeline", "DetailType": "orderCommand", "Detail": DETAIL,
             "Resources": ["arn:aws:s3:::a", "arn:aws:s3:::bc"], "EventBusName": "ignored-by-the-formula"}
    assert entry_size(entry) == 14 + 13 + 12 + len(DETAIL.encode()) + 14 + 15
    assert entry_size({"Source": "s", "DetailType": "d"}) == 2  # no Time, no Detail, no Resources


def test_an_entry_of_exactly_256_kb_is_accepted_and_one_byte_more_is_not():
    def padded(size: int) -> dict:
        entry = {"Time": 0, "Source": "orderPipeline", "DetailType": "orderCommand", "Detail": '{"p": ""}'}
        room = size - entry_size(entry)
        entry["Detail"] = '{"p": "' + "é" * (room // 2) + "x" * (room % 2) + '"}'  # é: 2 bytes in UTF-8
        return entry

    assert len(json.dumps(padded(MAX_ENTRY_BYTES))) > 2 * MAX_ENTRY_BYTES  # \u00e9 escapes: 6 bytes each
    assert entry_size(padded(MAX_ENTRY_BYTES)) == MAX_ENTRY_BYTES and _entry_error(padded(MAX_ENTRY_BYTES)) is None
    assert _entry_error(padded(MAX_ENTRY_BYTES + 1))[0] == "EntrySizeExceeded"


def deliver(failure: Exception) -> tuple[int, list]:
    """Deliver one event to a state machine target whose StartExecution always fails with `failure`."""
    attempts, queued = [], []

    def start_execution(arn, name, envelope):
        attempts.append(name)
        raise failure

    bridge = EventBridge(start_execution, lambda arn, body, attributes: queued.append(attributes))
    target = {"Arn": "arn:aws:states:us-east-1:123456789012:stateMachine:m", "RetryPolicy": {"MaximumRetryAttempts": 3},
              "DeadLetterConfig": {"Arn": "arn:aws:sqs:us-east-1:123456789012:dlq"}}
    bridge._to_state_machine(SimpleNamespace(arn="arn:rule"), target, {"id": "e"})
    return len(attempts), queued


def error(code: str, status: int) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": "m"}, "ResponseMetadata": {"HTTPStatusCode": status}},
                       "StartExecution")


def test_a_client_error_is_dead_lettered_at_once_and_other_failures_after_the_retries():
    attempts, [attributes] = deliver(error("ValidationException", 400))
    assert attempts == 1 and "ValidationException" in attributes["ERROR_MESSAGE"]
    for failure in (error("ThrottlingException", 400), error("InternalFailure", 500), ConnectionError("reset")):
        attempts, queued = deliver(failure)
        assert attempts == 4 and len(queued) == 1
