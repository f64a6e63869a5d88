"""The operator's CloudWatch dashboard (`cqrs:index:OperatorDashboard`), one per stack, beside the alarms: what
the system does (orders created, cancelled and rejected; queries answered, failed, how fast) and whether it keeps
up (stream lag, dead letters, failed executions, Aurora capacity and connections, reconcile drift).

Orders created, cancelled and rejected are counted by three rules on the bus that match the workflow's
`orderCommandResponse` events by `commandStatus` and have no target: EventBridge counts each rule's matched events
(AWS/Events MatchedEvents), so nothing is invoked or paid per event."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Optional

import pulumi
import pulumi_aws as aws

from statemachine.definition import SOURCE

COMMAND_OUTCOMES = {"created": "orderCreated", "cancelled": "orderCancelled", "rejected": "rejected"}
PERIOD_S = 300


@dataclass
class OperatorDashboardArgs:
    region: pulumi.Input[str]
    event_bus_name: pulumi.Input[str]
    query_functions: dict[str, pulumi.Input[str]]  # query name -> function name
    projector_function: pulumi.Input[str]  # function name
    dead_letter_queues: dict[str, pulumi.Input[str]]  # short name -> queue name
    state_machines: dict[str, pulumi.Input[str]]  # short name -> ARN
    cluster_identifier: pulumi.Input[str]
    drift_metric: tuple[str, str, dict]  # namespace, name, dimensions


class OperatorDashboard(pulumi.ComponentResource):
    dashboard: aws.cloudwatch.Dashboard

    def __init__(self, name: str, args: OperatorDashboardArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("cqrs:index:OperatorDashboard", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        counters = {outcome: aws.cloudwatch.EventRule(
            f"{name}-orders-{outcome}", event_bus_name=args.event_bus_name, state="ENABLED",
            description=f"counts commands answered {status} (no target: for the dashboard's MatchedEvents)",
            event_pattern=json.dumps({"source": [SOURCE], "detail-type": ["orderCommandResponse"],
                                      "detail": {"commandStatus": [status]}}), opts=child)
            for outcome, status in COMMAND_OUTCOMES.items()}

        def metric(namespace: str, metric_name: str, dimensions: dict, stat: str = "Sum", label: str = "") -> list:
            return [namespace, metric_name, *[v for pair in dimensions.items() for v in pair],
                    {"stat": stat, "label": label or metric_name}]

        def widget(title: str, metrics: list, x: int, y: int, width: int = 8) -> dict:
            return {"type": "metric", "x": x, "y": y, "width": width, "height": 6,
                    "properties": {"title": title, "region": args.region, "period": PERIOD_S, "view": "timeSeries",
                                   "stacked": False, "metrics": metrics}}

        queries = args.query_functions.items()
        widgets = [
            widget("Orders: created, cancelled, rejected", [
                metric("AWS/Events", "MatchedEvents", {"EventBusName": args.event_bus_name, "RuleName": rule.name},
                       label=outcome) for outcome, rule in counters.items()], 0, 0),
            widget("Queries answered and failed", [
                *[metric("AWS/Lambda", "Invocations", {"FunctionName": f}, label=q) for q, f in queries],
                *[metric("AWS/Lambda", "Errors", {"FunctionName": f}, label=f"{q} errors") for q, f in queries]],
                8, 0),
            widget("Query duration p50 / p99 (ms)", [
                metric("AWS/Lambda", "Duration", {"FunctionName": f}, stat=stat, label=f"{q} {stat}")
                for q, f in queries for stat in ("p50", "p99")], 16, 0),
            widget("Stream iterator age (ms)", [
                metric("AWS/Lambda", "IteratorAge", {"FunctionName": args.projector_function}, stat="Maximum")], 0, 6),
            widget("Dead-letter queue depths", [
                metric("AWS/SQS", "ApproximateNumberOfMessagesVisible", {"QueueName": queue}, stat="Maximum",
                       label=short) for short, queue in args.dead_letter_queues.items()], 8, 6),
            widget("Failed executions", [
                metric("AWS/States", "ExecutionsFailed", {"StateMachineArn": arn}, label=short)
                for short, arn in args.state_machines.items()], 16, 6),
            widget("Aurora capacity (ACU) and connections", [
                metric("AWS/RDS", "ServerlessDatabaseCapacity", {"DBClusterIdentifier": args.cluster_identifier},
                       stat="Maximum", label="ACU"),
                metric("AWS/RDS", "DatabaseConnections", {"DBClusterIdentifier": args.cluster_identifier},
                       stat="Maximum", label="connections")], 0, 12),
            widget("Reconcile drift (orders and items unlike the table)", [
                metric(*args.drift_metric, stat="Maximum", label="drift")], 8, 12),
        ]
        self.dashboard = aws.cloudwatch.Dashboard(
            f"{name}-dashboard", dashboard_name=f"{pulumi.get_project()}-{pulumi.get_stack()}",
            dashboard_body=pulumi.Output.json_dumps({"widgets": widgets}), opts=child)
        self.register_outputs({"dashboardName": self.dashboard.dashboard_name})
