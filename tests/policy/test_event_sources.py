"""Event source mapping rules."""

from tests.policy.helpers import UNKNOWN_STRING, check, messages, resource

ESM = "aws:lambda/eventSourceMapping:EventSourceMapping"
STREAM = "arn:aws:dynamodb:us-east-1:123456789012:table/orders/stream/2026-01-01T00:00:00.000"
KINESIS = "arn:aws:kinesis:us-east-1:123456789012:stream/orders"
QUEUE = "arn:aws:sqs:us-east-1:123456789012:work"
GOOD = {"eventSourceArn": STREAM, "functionResponseTypes": ["ReportBatchItemFailures"], "maximumRetryAttempts": 10.0,
        "maximumRecordAgeInSeconds": 86400.0, "bisectBatchOnFunctionError": True,
        "destinationConfig": {"onFailure": {"destinationArn": "arn:aws:sqs:us-east-1:123456789012:dlq"}}}
RULES = ("event-source-partial-batch-failures", "event-source-on-failure-destination", "event-source-bounded-retries",
         "event-source-bisect-on-error")


def test_a_well_configured_stream_mapping_passes():
    for policy in RULES:
        assert messages(policy, ESM, GOOD) == [], policy


def test_partial_batch_failures_for_streams_and_queues():
    for source in (STREAM, KINESIS, QUEUE):
        [message] = messages("event-source-partial-batch-failures", ESM, {"eventSourceArn": source}, name="m")
        assert "'m'" in message and "ReportBatchItemFailures" in message
    # Kafka and MQ sources cannot report partial failures.
    assert messages("event-source-partial-batch-failures", ESM,
                    {"eventSourceArn": "arn:aws:kafka:us-east-1:123456789012:cluster/c/1"}) == []


def test_streams_need_an_on_failure_destination_queues_use_their_redrive_policy():
    no_destination = {**GOOD, "destinationConfig": {}}
    assert "destination_config" in messages("event-source-on-failure-destination", ESM, no_destination)[0]
    assert messages("event-source-on-failure-destination", ESM, {**no_destination, "eventSourceArn": KINESIS})
    assert messages("event-source-on-failure-destination", ESM, {**no_destination, "eventSourceArn": QUEUE}) == []
    # A queue created in the same preview has no ARN yet: the destination is set all the same.
    unknown = {**GOOD, "destinationConfig": {"onFailure": {"destinationArn": UNKNOWN_STRING}}}
    assert messages("event-source-on-failure-destination", ESM, unknown) == []


def test_retries_are_bounded_by_the_config():
    unbounded = {k: v for k, v in GOOD.items() if k != "maximumRetryAttempts"}  # the record age stays bounded
    assert "without bound" in messages("event-source-bounded-retries", ESM, unbounded)[0]
    assert "without bound" in messages("event-source-bounded-retries", ESM, {**GOOD, "maximumRetryAttempts": -1.0})[0]
    many = {**GOOD, "maximumRetryAttempts": 50.0}
    [message] = messages("event-source-bounded-retries", ESM, many)
    assert "50 times" in message and "between 0 and 10" in message
    assert messages("event-source-bounded-retries", ESM, many, config={"maximumRetryAttempts": 50}) == []
    assert messages("event-source-bounded-retries", ESM, {"eventSourceArn": QUEUE}) == []


def test_record_age_is_bounded_by_the_config():
    for age in (None, -1.0):
        props = {**GOOD, "maximumRecordAgeInSeconds": age} if age else {
            k: v for k, v in GOOD.items() if k != "maximumRecordAgeInSeconds"}
        [message] = messages("event-source-bounded-retries", ESM, props, name="m")
        assert "'m' retries records of any age" in message and "maximum_record_age_in_seconds" in message
    week = {**GOOD, "maximumRecordAgeInSeconds": 604800.0}
    [message] = messages("event-source-bounded-retries", ESM, week)
    assert "up to 604800 s old" in message and "between 60 and 86400" in message
    assert messages("event-source-bounded-retries", ESM, week, config={"maximumRecordAgeSeconds": 604800}) == []


def test_stream_batches_are_bisected_on_error():
    [message] = messages("event-source-bisect-on-error", ESM, {**GOOD, "bisectBatchOnFunctionError": False})
    assert "bisect_batch_on_function_error=True" in message
    assert messages("event-source-bisect-on-error", ESM, {"eventSourceArn": QUEUE}) == []  # SQS: the queue redrives


def test_a_source_unknown_in_preview_cannot_be_checked_yet():
    [violation] = check("event-source-bounded-retries", [resource(ESM, {**GOOD, "eventSourceArn": UNKNOWN_STRING})])
    assert violation.level == "advisory" and "can't run policy" in violation.message
    assert "during preview" in violation.message and violation.resource == "subject"


def queue(name: str = "work", **props):
    return resource("aws:sqs/queue:Queue", props, name=name,
                    state={**props, "arn": f"arn:aws:sqs:us-east-1:123456789012:{name}",
                           "url": f"https://sqs.us-east-1.amazonaws.com/123456789012/{name}"})


REDRIVE = '{"deadLetterTargetArn": "arn:aws:sqs:us-east-1:123456789012:work-dlq", "maxReceiveCount": 5}'


def test_an_sqs_source_queue_needs_a_redrive_policy():
    mapping = resource(ESM, {"eventSourceArn": QUEUE}, name="m")
    [violation] = check("event-source-queue-redrive", [mapping, queue()])
    assert violation.resource == "work"
    assert "'work' (read by event source mapping 'm') has no dead-letter queue" in violation.message
    assert "redrive_policy" in violation.message
    assert check("event-source-queue-redrive", [mapping, queue(redrivePolicy=REDRIVE)]) == []
    # A redrive policy without a target is no dead-letter queue.
    assert check("event-source-queue-redrive", [mapping, queue(redrivePolicy='{"maxReceiveCount": 5}')])


def test_a_separate_redrive_policy_resource_counts_for_its_queue():
    mapping = resource(ESM, {"eventSourceArn": QUEUE}, name="m")
    redrive = resource("aws:sqs/redrivePolicy:RedrivePolicy", {
        "queueUrl": "https://sqs.us-east-1.amazonaws.com/123456789012/work", "redrivePolicy": REDRIVE})
    assert check("event-source-queue-redrive", [mapping, queue(), redrive]) == []
    elsewhere = resource("aws:sqs/redrivePolicy:RedrivePolicy", {
        "queueUrl": "https://sqs.us-east-1.amazonaws.com/123456789012/other", "redrivePolicy": REDRIVE})
    assert check("event-source-queue-redrive", [mapping, queue(), elsewhere])


def test_a_source_queue_outside_the_stack_cannot_be_checked_and_fails():
    [violation] = check("event-source-queue-redrive", [resource(ESM, {"eventSourceArn": QUEUE}, name="m")])
    assert violation.resource == "m" and f"reads queue {QUEUE}, which is not in this stack" in violation.message


def test_stream_sources_need_no_queue():
    assert check("event-source-queue-redrive", [resource(ESM, GOOD), resource(ESM, {"eventSourceArn": KINESIS})]) == []
