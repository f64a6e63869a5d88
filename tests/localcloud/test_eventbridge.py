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


def test_a_request_is_refused_whole_outside_1_to_10_entries_or_over_256_kb_in_all():
    from moto.events.exceptions import ValidationException

    from localcloud.eventbridge import check_request

    small = {"Source": "s", "DetailType": "d", "Detail": "{}"}
    check_request([small] * 10)
    for entries, message in (([], "greater than or equal to 1"), ([small] * 11, "less than or equal to 10"),
                             ([{**small, "Detail": '{"p": "' + "x" * 140_000 + '"}'}] * 2, "Total size")):
        try:
            check_request(entries)
        except ValidationException as error:
            assert message in str(error)
        else:
            raise AssertionError(f"{len(entries)} entries accepted")
    # One entry over the size is that entry's failure (EntrySizeExceeded), not the request's.
    check_request([{**small, "Detail": '{"p": "' + "x" * MAX_ENTRY_BYTES + '"}'}])


def test_a_detail_is_read_within_eventbridges_json_limits():
    def error(detail: str):
        return _entry_error({"Source": "s", "DetailType": "d", "Detail": detail})

    assert error('{"a": "[[[[ not nesting, \\" still a string {{{{"}') is None
    assert error('{"n": 9223372036854775807, "m": -9223372036854775808}') is None
    for detail in ('{"n": 9223372036854775808}', '{"n": -9223372036854775809}', "[1]", '"text"', "{",
                   '{"a": ' + "[" * 1100 + "]" * 1100 + "}"):
        assert error(detail) == ("MalformedDetail", "Detail is malformed."), detail[:40]
