"""Alarms that mean "something is broken": dead letters, a lagging projector, failed executions, function
errors and throttles, read models that drifted from the orders table, the HTTP API answering 5xx. All notify one
SNS topic."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

import pulumi
import pulumi_aws as aws

ITERATOR_AGE_ALARM_MS = 5 * 60 * 1000


@dataclass
class AlarmsArgs:
    email: str
    dead_letter_queues: dict[str, aws.sqs.Queue]  # short name -> queue
    functions: dict[str, aws.lambda_.Function]  # short name -> function
    stream_function: aws.lambda_.Function  # the stream consumer, for iterator age
    state_machine_arn: pulumi.Input[str]
    # More state machines whose failed executions mean something is broken: short name -> ARN
    other_state_machines: dict[str, pulumi.Input[str]] = field(default_factory=dict)
    # The metric a reconcile publishes (namespace, name, dimensions): any drift it found raises the alarm
    drift_metric: Optional[tuple[str, str, dict]] = None
    # The HTTP API (REST API name, stage name), whose 5xx answers (a system fault, no answer within 29 s, the JWT
    # issuer unreachable) raise an alarm: None without the API
    http_api: Optional[tuple[pulumi.Input[str], pulumi.Input[str]]] = None


class Alarms(pulumi.ComponentResource):
    topic: aws.sns.Topic

    def __init__(self, name: str, args: AlarmsArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("cqrs:index:Alarms", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        # Not KMS-encrypted: CloudWatch cannot publish to a topic under the AWS managed SNS key, and alarm
        # notifications carry no order data.
        self.topic = aws.sns.Topic(f"{name}-topic", opts=child)
        if args.email:
            aws.sns.TopicSubscription(f"{name}-email", topic=self.topic.arn, protocol="email",
                                      endpoint=args.email, opts=child)

        def alarm(alarm_name: str, description: str, namespace: str, metric: str, dimensions: dict,
                  statistic: str = "Sum", threshold: float = 0, period: int = 60) -> None:
            aws.cloudwatch.MetricAlarm(
                f"{name}-{alarm_name}", alarm_description=description, namespace=namespace, metric_name=metric,
                dimensions=dimensions, statistic=statistic, period=period, evaluation_periods=1,
                threshold=threshold, comparison_operator="GreaterThanThreshold",
                treat_missing_data="notBreaching", alarm_actions=[self.topic.arn], ok_actions=[self.topic.arn],
                opts=child)

        for queue_name, queue in args.dead_letter_queues.items():
            alarm(f"{queue_name}-messages", f"a message reached the {queue_name} dead-letter queue", "AWS/SQS",
                  "ApproximateNumberOfMessagesVisible", {"QueueName": queue.name}, statistic="Maximum")
        for function_name, function in args.functions.items():
            alarm(f"{function_name}-errors", f"the {function_name} function failed", "AWS/Lambda", "Errors",
                  {"FunctionName": function.name})
            alarm(f"{function_name}-throttles", f"the {function_name} function was throttled", "AWS/Lambda",
                  "Throttles", {"FunctionName": function.name})
        alarm("projector-iterator-age", "the projector lags the orders stream by more than 5 minutes",
              "AWS/Lambda", "IteratorAge", {"FunctionName": args.stream_function.name}, statistic="Maximum",
              threshold=ITERATOR_AGE_ALARM_MS)
        for metric in ("ExecutionsFailed", "ExecutionsTimedOut"):
            alarm(f"workflow-{metric.lower()}", f"order workflow {metric}: a system fault, not a client error",
                  "AWS/States", metric, {"StateMachineArn": args.state_machine_arn})
            for machine_name, machine_arn in args.other_state_machines.items():
                alarm(f"{machine_name}-{metric.lower()}", f"{machine_name} workflow {metric}: a step kept failing",
                      "AWS/States", metric, {"StateMachineArn": machine_arn})
        if args.drift_metric is not None:
            namespace, metric, dimensions = args.drift_metric
            alarm("reconcile-drift", "a reconcile found the read models unlike the orders table (see the README's "
                  "runbook: python -m ops reconcile --repair)", namespace, metric, dimensions, statistic="Maximum",
                  period=3600)
        if args.http_api is not None:
            api_name, stage = args.http_api
            alarm("http-api-5xx", "the HTTP API answered 5xx: a system fault (500), the workflow not answering "
                  "within 29 s (504) or the authorizer failing", "AWS/ApiGateway", "5XXError",
                  {"ApiName": api_name, "Stage": stage})
        self.register_outputs({"topicArn": self.topic.arn})
