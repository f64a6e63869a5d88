"""Alarms: every alarm can notify; every dead-letter queue, function, state machine and stream consumer has the alarm
that says it is failing; the SNS topics the alarms notify have a subscriber.

Alarms are matched on their dimensions (QueueName, FunctionName, StateMachineArn) against the other resources'
outputs. The engine runs stack policies on outputs: during `pulumi preview` those of resources not created yet (e.g.
a new queue's ARN) are unknown, and the engine reports "can't run policy ... during preview" as an advisory instead;
`pulumi up` runs them again on the final outputs and fails the update on a violation. Whether an alarm notifies
anyone is alarms-notify's to report, once, on the alarm: the other rules count every alarm on the right metric."""

from .dead_letters import dead_letter_queues
from .event_sources import EVENT_SOURCE_MAPPING, STREAMS, source_service
from .support import ADVISORY, as_list, get, is_set, label, resource_policy, stack_policy

ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
QUEUE = "aws:sqs/queue:Queue"
FUNCTION = "aws:lambda/function:Function"
STATE_MACHINE = "aws:sfn/stateMachine:StateMachine"
TOPIC = "aws:sns/topic:Topic"
SUBSCRIPTION = "aws:sns/topicSubscription:TopicSubscription"
DEAD_LETTER_METRICS = {"ApproximateNumberOfMessagesVisible", "ApproximateAgeOfOldestMessage"}
# comparison operator -> the highest threshold at which one message visible makes the alarm fire
FIRES_ON_ONE_MESSAGE = {"GreaterThanThreshold": 0.999, "GreaterThanOrEqualToThreshold": 1}


def _watching(resources, namespace: str, metrics: set[str], dimension: str) -> dict:
    """Value of `dimension` -> the alarms on one of `metrics` for it (a plain metric alarm, or a metric of a metric-math
    alarm; then the math is not judged)."""
    watching: dict = {}
    for alarm in (r for r in resources if r.resource_type == ALARM):
        for metric in [alarm.props, *(get(q, "metric") for q in as_list(get(alarm.props, "metricQueries")))]:
            if get(metric, "namespace") == namespace and get(metric, "metricName") in metrics:
                value = get(metric, "dimensions", dimension)
                if value is not None:  # an alarm without the dimension watches no particular resource
                    watching.setdefault(value, []).append(alarm)
    return watching


def _fires_on_first_message(alarm) -> bool:
    """Whether a dead-letter alarm fires for a single message (age alarms and metric math: taken as they are)."""
    if get(alarm.props, "metricName") != "ApproximateNumberOfMessagesVisible":
        return True
    threshold, operator = get(alarm.props, "threshold"), get(alarm.props, "comparisonOperator")
    if threshold is None or operator is None:
        return True  # AWS requires both: nothing to judge
    return operator in FIRES_ON_ONE_MESSAGE and threshold <= FIRES_ON_ONE_MESSAGE[operator]


@resource_policy("alarms-notify",
                 "Every metric alarm notifies someone: it has alarm actions and actions_enabled is not false.", {ALARM})
def alarms_notify(args, report_violation):
    if get(args.props, "actionsEnabled") is False:
        report_violation(f"alarm '{args.name}' notifies nobody (actions_enabled=False): set actions_enabled=True.")
    elif not is_set(args.props, "alarmActions"):
        report_violation(f"alarm '{args.name}' notifies nobody (no alarm_actions): set alarm_actions to the alarm "
                         "topic's ARN.")


@stack_policy("dead-letter-queues-alarmed",
              "Every dead-letter queue (of an EventBridge target, an event source mapping, a function or a redrive "
              "policy) has a CloudWatch alarm on its backlog (AWS/SQS ApproximateNumberOfMessagesVisible, firing on "
              "the first message, or ApproximateAgeOfOldestMessage; dimension QueueName).")
def dead_letter_queues_alarmed(args, report_violation):
    watching = _watching(args.resources, "AWS/SQS", DEAD_LETTER_METRICS, "QueueName")
    queues = {get(r.props, "arn"): r for r in args.resources if r.resource_type == QUEUE}
    for arn, sender in dead_letter_queues(args.resources).items():
        name = arn.rsplit(":", 1)[-1]  # arn:aws:sqs:<region>:<account>:<name>
        alarms = watching.get(name, [])
        where = (queues.get(arn) or sender).urn
        if not alarms:
            report_violation(f"dead-letter queue '{name}' (failures of {label(sender.resource_type, sender.name)}) "
                             "has no alarm: add an aws.cloudwatch.MetricAlarm on AWS/SQS "
                             "ApproximateNumberOfMessagesVisible with dimensions={'QueueName': queue.name}, "
                             "threshold=0, comparison_operator='GreaterThanThreshold' and alarm_actions.", where)
        elif not any(_fires_on_first_message(alarm) for alarm in alarms):
            alarm = alarms[0]
            report_violation(f"alarm '{alarm.name}' on dead-letter queue '{name}' stays quiet while messages are lost "
                             f"(threshold={get(alarm.props, 'threshold'):g}, "
                             f"{get(alarm.props, 'comparisonOperator')}): set threshold=0 with "
                             "comparison_operator='GreaterThanThreshold'.", alarm.urn)


@stack_policy("functions-error-alarmed",
              "Every Lambda function has a CloudWatch alarm on its errors (AWS/Lambda Errors, dimension "
              "FunctionName).")
def functions_error_alarmed(args, report_violation):
    watching = _watching(args.resources, "AWS/Lambda", {"Errors"}, "FunctionName")
    for function in (r for r in args.resources if r.resource_type == FUNCTION):
        name = get(function.props, "name")
        if name not in watching:
            report_violation(f"Lambda function '{name}' has no error alarm: add an aws.cloudwatch.MetricAlarm on "
                             "AWS/Lambda Errors with dimensions={'FunctionName': function.name} and alarm_actions.",
                             function.urn)


@stack_policy("state-machines-failure-alarmed",
              "Every state machine has a CloudWatch alarm on its failed executions (AWS/States ExecutionsFailed, "
              "dimension StateMachineArn).")
def state_machines_failure_alarmed(args, report_violation):
    watching = _watching(args.resources, "AWS/States", {"ExecutionsFailed"}, "StateMachineArn")
    for machine in (r for r in args.resources if r.resource_type == STATE_MACHINE):
        if get(machine.props, "arn") not in watching:
            report_violation(f"state machine '{machine.name}' has no alarm on failed executions: add an "
                             "aws.cloudwatch.MetricAlarm on AWS/States ExecutionsFailed with "
                             "dimensions={'StateMachineArn': machine.arn} and alarm_actions.", machine.urn)


def _function_name(reference) -> str:
    """A function's name from the name or ARN (arn:aws:lambda:<region>:<account>:function:<name>[:qualifier])."""
    return reference.split(":")[6] if isinstance(reference, str) and reference.startswith("arn:") else reference


@stack_policy("stream-consumers-lag-alarmed",
              "Every function that reads a DynamoDB or Kinesis stream has a CloudWatch alarm on how far it lags "
              "(AWS/Lambda IteratorAge, dimension FunctionName): a consumer that falls behind loses records when "
              "they expire.")
def stream_consumers_lag_alarmed(args, report_violation):
    watching = _watching(args.resources, "AWS/Lambda", {"IteratorAge"}, "FunctionName")
    for mapping in args.resources:
        if mapping.resource_type != EVENT_SOURCE_MAPPING or source_service(mapping) not in STREAMS:
            continue
        name = _function_name(get(mapping.props, "functionName"))
        if name not in watching:
            report_violation(f"stream consumer '{name}' (event source mapping '{mapping.name}') has no lag alarm: add "
                             "an aws.cloudwatch.MetricAlarm on AWS/Lambda IteratorAge (Maximum) with "
                             "dimensions={'FunctionName': function.name} and alarm_actions.", mapping.urn)


@stack_policy("alarm-topics-subscribed",
              "Every SNS topic of this stack that alarms notify has at least one subscription, so an alarm reaches "
              "someone (advisory: the subscriber may live outside the stack).", level=ADVISORY)
def alarm_topics_subscribed(args, report_violation):
    notified = {action for alarm in args.resources if alarm.resource_type == ALARM
                for action in as_list(get(alarm.props, "alarmActions"))}
    subscribed = {get(s.props, "topic") for s in args.resources if s.resource_type == SUBSCRIPTION}
    for topic in (r for r in args.resources if r.resource_type == TOPIC):
        arn = get(topic.props, "arn")
        if arn in notified and arn not in subscribed:
            report_violation(f"alarm topic '{topic.name}' has no subscription, so its alarms reach nobody: set the "
                             "stack's alarmEmail (pulumi config set alarmEmail ...) or subscribe the topic "
                             "elsewhere.", topic.urn)


POLICIES = [alarms_notify, dead_letter_queues_alarmed, functions_error_alarmed, state_machines_failure_alarmed,
            stream_consumers_lag_alarmed, alarm_topics_subscribed]
