"""EventBridge target and SQS rules."""

from tests.policy.helpers import UNKNOWN_STRING, messages

TARGET = "aws:cloudwatch/eventTarget:EventTarget"
QUEUE = "aws:sqs/queue:Queue"
GOOD = {"retryPolicy": {"maximumRetryAttempts": 10.0, "maximumEventAgeInSeconds": 3600.0},
        "deadLetterConfig": {"arn": "arn:aws:sqs:us-east-1:123456789012:target-dlq"}}


def test_a_target_with_retries_and_a_dead_letter_queue_passes():
    assert messages("eventbridge-target-retry-policy", TARGET, GOOD) == []
    assert messages("eventbridge-target-dead-letter-queue", TARGET, GOOD) == []


def test_retry_policy_sets_both_bounds():
    [message] = messages("eventbridge-target-retry-policy", TARGET,
                         {**GOOD, "retryPolicy": {"maximumRetryAttempts": 3.0}}, name="target")
    assert "'target'" in message and "maximum_event_age_in_seconds" in message


def test_dead_letter_queue():
    [message] = messages("eventbridge-target-dead-letter-queue", TARGET, {**GOOD, "deadLetterConfig": {}})
    assert "dead_letter_config" in message
    # The queue of the same preview has no ARN yet: it is set all the same.
    assert messages("eventbridge-target-dead-letter-queue", TARGET, {"deadLetterConfig": {"arn": UNKNOWN_STRING}}) == []


def test_queues_are_encrypted_with_sse_sqs_or_kms():
    assert messages("sqs-queue-encrypted", QUEUE, {"sqsManagedSseEnabled": True}) == []
    assert messages("sqs-queue-encrypted", QUEUE, {"kmsMasterKeyId": "alias/aws/sqs"}) == []
    [message] = messages("sqs-queue-encrypted", QUEUE, {}, name="dlq")
    assert "'dlq'" in message and "sqs_managed_sse_enabled=True" in message
