"""Stack-level: every dead-letter queue and every function has an alarm that notifies someone, and the SNS topics
the alarms notify have a subscriber.

Alarms are matched on their dimensions (QueueName, FunctionName) against the other resources' outputs. The engine
runs stack policies on outputs: during `pulumi preview` those of resources not created yet (e.g. a new queue's ARN)
are unknown, and the engine reports "can't run policy ... during preview" as an advisory instead; `pulumi up` runs
them again on the final outputs and fails the update on a violation."""

from .support import ADVISORY, as_list, get, is_set, label, redrive_target, stack_policy

ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
QUEUE = "aws:sqs/queue:Queue"
FUNCTION = "aws:lambda/function:Function"
TOPIC = "aws:sns/topic:Topic"
SUBSCRIPTION = "aws:sns/topicSubscription:TopicSubscription"

# type -> path of the ARN that receives what the resource failed to process
DEAD_LETTER_TARGETS = {
    "aws:cloudwatch/eventTarget:EventTarget": ("deadLetterConfig", "arn"),
    "aws:lambda/eventSourceMapping:EventSourceMapping": ("destinationConfig", "onFailure", "destinationArn"),
    "aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig": ("destinationConfig", "onFailure",
                                                                       "destination"),
    FUNCTION: ("deadLetterConfig", "targetArn"),
}
# types whose `redrivePolicy` is a JSON redrive policy naming a deadLetterTargetArn
REDRIVE_POLICIES = {QUEUE, "aws:sqs/redrivePolicy:RedrivePolicy", "aws:sns/topicSubscription:TopicSubscription"}
DEAD_LETTER_METRICS = {"ApproximateNumberOfMessagesVisible", "ApproximateAgeOfOldestMessage"}


def _watched(resources, namespace: str, metrics: set[str], dimension: str) -> set[str]:
    """Values of `dimension` of the alarms on one of `metrics` that notify someone (have alarm actions)."""
    watched = set()
    for alarm in resources:
        if alarm.resource_type != ALARM or not is_set(alarm.props, "alarmActions"):
            continue
        # A plain metric alarm, or the metrics of a metric-math alarm.
        for metric in [alarm.props, *(get(q, "metric") for q in as_list(get(alarm.props, "metricQueries")))]:
            if get(metric, "namespace") == namespace and get(metric, "metricName") in metrics:
                watched.add(get(metric, "dimensions", dimension))
    watched.discard(None)  # an alarm without the dimension watches no particular queue or function
    return watched


def _dead_letter_queues(resources) -> dict:
    """ARN of each SQS queue that receives failures -> the first resource sending them to it."""
    queues: dict = {}
    for resource in resources:
        arns = []
        if resource.resource_type in DEAD_LETTER_TARGETS:
            arns.append(get(resource.props, *DEAD_LETTER_TARGETS[resource.resource_type]))
        if resource.resource_type in REDRIVE_POLICIES:
            arns.append(redrive_target(get(resource.props, "redrivePolicy")))
        for arn in arns:
            if isinstance(arn, str) and arn.split(":")[2:3] == ["sqs"]:
                queues.setdefault(arn, resource)
    return queues


@stack_policy("dead-letter-queues-alarmed",
              "Every dead-letter queue (of an EventBridge target, an event source mapping, a function or a redrive "
              "policy) has a CloudWatch alarm on its backlog (AWS/SQS ApproximateNumberOfMessagesVisible or "
              "ApproximateAgeOfOldestMessage, dimension QueueName) with alarm actions.")
def dead_letter_queues_alarmed(args, report_violation):
    watched = _watched(args.resources, "AWS/SQS", DEAD_LETTER_METRICS, "QueueName")
    queues = {get(r.props, "arn"): r for r in args.resources if r.resource_type == QUEUE}
    for arn, sender in _dead_letter_queues(args.resources).items():
        name = arn.rsplit(":", 1)[-1]  # arn:aws:sqs:<region>:<account>:<name>
        if name not in watched:
            report_violation(f"dead-letter queue '{name}' (failures of {label(sender.resource_type, sender.name)}) "
                             "has no alarm: add an aws.cloudwatch.MetricAlarm on AWS/SQS "
                             "ApproximateNumberOfMessagesVisible with dimensions={'QueueName': queue.name} and "
                             "alarm_actions.",
                             (queues.get(arn) or sender).urn)


@stack_policy("functions-error-alarmed",
              "Every Lambda function has a CloudWatch alarm on its errors (AWS/Lambda Errors, dimension "
              "FunctionName) with alarm actions.")
def functions_error_alarmed(args, report_violation):
    watched = _watched(args.resources, "AWS/Lambda", {"Errors"}, "FunctionName")
    for function in (r for r in args.resources if r.resource_type == FUNCTION):
        name = get(function.props, "name")
        if name not in watched:
            report_violation(f"Lambda function '{name}' has no error alarm: add an aws.cloudwatch.MetricAlarm on "
                             "AWS/Lambda Errors with dimensions={'FunctionName': function.name} and alarm_actions.",
                             function.urn)


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


POLICIES = [dead_letter_queues_alarmed, functions_error_alarmed, alarm_topics_subscribed]
