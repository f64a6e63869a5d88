"""Stack-level alarm rules, on the real program's resources and on small stacks."""

import json

import pytest

from harness.program import RegisteredResource
from tests.policy.helpers import UNKNOWN_STRING, check, program_run, resource

ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
QUEUE = "aws:sqs/queue:Queue"
FUNCTION = "aws:lambda/function:Function"
TOPIC = "arn:aws:sns:us-east-1:123456789012:alarms"
DLQ_ARN = "arn:aws:sqs:us-east-1:123456789012:orders-dlq"


def alarm(namespace: str, metric: str, dimensions: dict, name: str = "alarm", actions=(TOPIC,)):
    return resource(ALARM, {"namespace": namespace, "metricName": metric, "dimensions": dimensions,
                            "alarmActions": list(actions)}, name=name)


def dlq_alarm(queue_name: str = "orders-dlq", **kwargs):
    return alarm("AWS/SQS", "ApproximateNumberOfMessagesVisible", {"QueueName": queue_name}, **kwargs)


def without(resources: list[RegisteredResource], name: str) -> list[RegisteredResource]:
    assert any(r.name == name for r in resources)
    return [r for r in resources if r.name != name]


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_the_programs_queues_and_functions_are_alarmed(stack: str):
    resources = program_run(stack).resources
    assert check("dead-letter-queues-alarmed", resources) == []
    assert check("functions-error-alarmed", resources) == []


def test_a_function_of_the_program_without_its_error_alarm_is_reported():
    resources = without(program_run("prod").resources, "alarms-projector-errors")
    [violation] = check("functions-error-alarmed", resources)
    assert violation.resource == "query-projector-function"
    assert "'query-projector-function-" in violation.message and "AWS/Lambda Errors" in violation.message


def test_a_dead_letter_queue_of_the_program_without_its_alarm_is_reported_on_the_queue():
    # The queue's name and ARN are outputs (auto-named): found in its state, as the engine's stack view has them.
    resources = without(program_run("prod").resources, "alarms-target-dlq-messages")
    [violation] = check("dead-letter-queues-alarmed", resources)
    assert violation.resource == "routing-target-dlq"
    assert "failures of EventTarget 'routing-target'" in violation.message


def test_only_alarms_on_the_right_metric_count():
    target = resource("aws:cloudwatch/eventTarget:EventTarget", {"deadLetterConfig": {"arn": DLQ_ARN}}, name="t")
    assert check("dead-letter-queues-alarmed", [target, dlq_alarm()]) == []
    # An alarm without actions still watches the queue: alarms-notify reports it, once, on the alarm.
    assert check("dead-letter-queues-alarmed", [target, dlq_alarm(actions=())]) == []
    assert check("dead-letter-queues-alarmed", [target, dlq_alarm(queue_name="other-queue")])
    assert check("dead-letter-queues-alarmed",
                 [target, alarm("AWS/SQS", "NumberOfMessagesSent", {"QueueName": "orders-dlq"})])
    age = alarm("AWS/SQS", "ApproximateAgeOfOldestMessage", {"QueueName": "orders-dlq"})
    assert check("dead-letter-queues-alarmed", [target, age]) == []
    metric_math = resource(ALARM, {"alarmActions": [TOPIC], "metricQueries": [
        {"id": "e1", "expression": "m1 > 0", "returnData": True},
        {"id": "m1", "metric": {"namespace": "AWS/SQS", "metricName": "ApproximateNumberOfMessagesVisible",
                                "dimensions": {"QueueName": "orders-dlq"}, "period": 60, "stat": "Maximum"}}]})
    assert check("dead-letter-queues-alarmed", [target, metric_math]) == []


@pytest.mark.parametrize("sender", [
    resource("aws:lambda/eventSourceMapping:EventSourceMapping",
             {"destinationConfig": {"onFailure": {"destinationArn": DLQ_ARN}}}),
    resource(FUNCTION, {"name": "fn", "deadLetterConfig": {"targetArn": DLQ_ARN}}),
    resource("aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig",
             {"destinationConfig": {"onFailure": {"destination": DLQ_ARN}}}),
    resource(QUEUE, {"redrivePolicy": json.dumps({"deadLetterTargetArn": DLQ_ARN, "maxReceiveCount": 5})}),
    resource("aws:sns/topicSubscription:TopicSubscription",
             {"redrivePolicy": json.dumps({"deadLetterTargetArn": DLQ_ARN})}),
], ids=lambda r: r.type.rsplit(":", 1)[-1])
def test_every_way_of_naming_a_dead_letter_queue_needs_its_alarm(sender: RegisteredResource):
    queue = resource(QUEUE, {"sqsManagedSseEnabled": True}, name="orders-dlq",
                     state={"name": "orders-dlq", "arn": DLQ_ARN})
    [violation] = check("dead-letter-queues-alarmed", [sender, queue])
    assert violation.resource == "orders-dlq"
    assert check("dead-letter-queues-alarmed", [sender, queue, dlq_alarm()]) == []


def test_destinations_that_are_not_queues_need_no_queue_alarm():
    topic_destination = resource("aws:lambda/eventSourceMapping:EventSourceMapping",
                                 {"destinationConfig": {"onFailure": {"destinationArn": TOPIC}}})
    assert check("dead-letter-queues-alarmed", [topic_destination]) == []


def test_function_error_alarms():
    function = resource(FUNCTION, {"handler": "h"}, name="fn", state={"name": "fn-1a2b3c"})
    errors = alarm("AWS/Lambda", "Errors", {"FunctionName": "fn-1a2b3c"})
    assert check("functions-error-alarmed", [function, errors]) == []
    throttles = alarm("AWS/Lambda", "Throttles", {"FunctionName": "fn-1a2b3c"})
    [violation] = check("functions-error-alarmed", [function, throttles])
    assert violation.resource == "fn" and "'fn-1a2b3c' has no error alarm" in violation.message


def test_outputs_unknown_in_preview_make_the_check_advisory():
    function = resource(FUNCTION, {}, name="fn", state={"name": UNKNOWN_STRING})
    [violation] = check("functions-error-alarmed", [function])
    assert violation.level == "advisory" and "can't run policy 'functions-error-alarmed' during preview" in \
        violation.message and violation.resource == ""


SUBSCRIBED_TOPIC = "aws:sns/topic:Topic"


def alarm_topic(arn: str = TOPIC, name: str = "alarms"):
    return resource(SUBSCRIBED_TOPIC, {"name": name}, name=name, state={"name": name, "arn": arn})


def test_an_alarm_topic_without_a_subscription_is_reported_as_advisory():
    [violation] = check("alarm-topics-subscribed", [alarm_topic(), dlq_alarm()])
    assert violation.level == "advisory" and violation.resource == "alarms" and "alarmEmail" in violation.message


def test_a_subscribed_or_unused_topic_is_fine():
    subscription = resource("aws:sns/topicSubscription:TopicSubscription", {"topic": TOPIC, "protocol": "email"})
    assert check("alarm-topics-subscribed", [alarm_topic(), dlq_alarm(), subscription]) == []
    assert check("alarm-topics-subscribed", [alarm_topic()]) == []  # no alarm notifies it


def test_the_programs_alarm_topic_reaches_someone_once_alarm_email_is_set():
    from harness.program import run_program

    assert [v.resource for v in check("alarm-topics-subscribed", program_run("prod").resources)] == ["alarms-topic"]
    with_email = run_program("prod", config_overrides={"cqrs-orders:alarmEmail": "oncall@example.org"})
    assert check("alarm-topics-subscribed", with_email.resources) == []


def test_an_alarm_notifies_only_with_actions_enabled():
    assert check("alarms-notify", [dlq_alarm()]) == []
    [disabled] = check("alarms-notify", [resource(ALARM, {"alarmActions": [TOPIC], "actionsEnabled": False}, name="a")])
    assert disabled.resource == "a" and "actions_enabled=False" in disabled.message
    [silent] = check("alarms-notify", [dlq_alarm(actions=())])
    assert "no alarm_actions" in silent.message


@pytest.mark.parametrize("operator, threshold, fires", [
    ("GreaterThanThreshold", 0, True), ("GreaterThanOrEqualToThreshold", 1, True),
    ("GreaterThanThreshold", 1, False), ("GreaterThanOrEqualToThreshold", 2, False),
    ("LessThanThreshold", 1, False)])
def test_a_dead_letter_alarm_fires_on_the_first_message(operator, threshold, fires):
    target = resource("aws:cloudwatch/eventTarget:EventTarget", {"deadLetterConfig": {"arn": DLQ_ARN}}, name="t")
    watching = resource(ALARM, {**dlq_alarm().inputs, "comparisonOperator": operator, "threshold": threshold},
                        name="dlq-alarm")
    found = check("dead-letter-queues-alarmed", [target, watching])
    assert (found == []) == fires
    if not fires:
        assert found[0].resource == "dlq-alarm" and "set threshold=0" in found[0].message


def test_state_machines_need_a_failed_executions_alarm():
    arn = "arn:aws:states:us-east-1:123456789012:stateMachine:orders"
    machine = resource("aws:sfn/stateMachine:StateMachine", {}, name="workflow", state={"arn": arn})
    assert check("state-machines-failure-alarmed",
                 [machine, alarm("AWS/States", "ExecutionsFailed", {"StateMachineArn": arn})]) == []
    [violation] = check("state-machines-failure-alarmed",
                        [machine, alarm("AWS/States", "ExecutionsTimedOut", {"StateMachineArn": arn})])
    assert violation.resource == "workflow" and "ExecutionsFailed" in violation.message


def test_stream_consumers_need_a_lag_alarm_named_by_function_name_or_arn():
    stream = "arn:aws:dynamodb:us-east-1:123456789012:table/orders/stream/2026-01-01T00:00:00.000"
    by_arn = resource("aws:lambda/eventSourceMapping:EventSourceMapping", {
        "eventSourceArn": stream, "functionName": "arn:aws:lambda:us-east-1:123456789012:function:projector-1a"},
        name="mapping")
    lag = alarm("AWS/Lambda", "IteratorAge", {"FunctionName": "projector-1a"})
    assert check("stream-consumers-lag-alarmed", [by_arn, lag]) == []
    [violation] = check("stream-consumers-lag-alarmed", [by_arn])
    assert violation.resource == "mapping" and "'projector-1a'" in violation.message
    queue_mapping = resource("aws:lambda/eventSourceMapping:EventSourceMapping",
                             {"eventSourceArn": DLQ_ARN, "functionName": "worker"})
    assert check("stream-consumers-lag-alarmed", [queue_mapping]) == []  # SQS sources have no iterator age
