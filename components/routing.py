"""Routing: the custom bus, the rule, the EXPRESS workflow that handles commands and queries, and the command
validator it calls."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Optional

import pulumi
import pulumi_aws as aws

from components.function import PythonFunction, PythonFunctionArgs, service_role, statement, unscoped, XRAY_ACTIONS
from components.http_api import HttpApi, HttpApiArgs
from components.packaging import function_archive
from components.settings import StackSettings
from statemachine.definition import SOURCE, WorkflowRefs, build_definition

# Exactly the contract's pattern: response events (other detail-types) can never loop back into the workflow.
EVENT_PATTERN = {"source": [SOURCE], "detail-type": ["orderCommand", "orderQuery"]}
LOG_DELIVERY_ACTIONS = ["logs:CreateLogDelivery", "logs:GetLogDelivery", "logs:UpdateLogDelivery",
                        "logs:DeleteLogDelivery", "logs:ListLogDeliveries", "logs:PutResourcePolicy",
                        "logs:DescribeResourcePolicies", "logs:DescribeLogGroups"]


@dataclass
class RoutingArgs:
    settings: StackSettings
    table_name: pulumi.Input[str]
    table_arn: pulumi.Input[str]
    query_functions: dict[str, aws.lambda_.Function]  # query name -> function
    layer_arn: pulumi.Input[str]
    # The HTTP API in front of the workflow (None: none); its state_machine_arn is filled in here.
    http_api: Optional[HttpApiArgs] = None


class Routing(pulumi.ComponentResource):
    bus: aws.cloudwatch.EventBus
    state_machine: aws.sfn.StateMachine
    validator: PythonFunction
    target_dlq: aws.sqs.Queue
    http_api: Optional[HttpApi] = None

    def __init__(self, name: str, args: RoutingArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("cqrs:index:Routing", name, None, opts)
        s = args.settings
        child = pulumi.ResourceOptions(parent=self)
        self.bus = aws.cloudwatch.EventBus(f"{name}-bus", opts=child)
        self.validator = PythonFunction(f"{name}-validate-command", PythonFunctionArgs(
            code=function_archive("validate_command", ()), handler="validate_command.handler.handler",
            description="Validates order commands against the contract's limits",
            layer_arn=args.layer_arn, log_retention_days=s.lambdaLogRetentionDays, timeout=10, memory_size=256),
            opts=child)
        log_group = aws.cloudwatch.LogGroup(
            f"{name}-workflow-logs",
            name_prefix=f"/aws/vendedlogs/states/{pulumi.get_project()}-{pulumi.get_stack()}-workflow-",
            retention_in_days=s.stateMachineLogRetentionDays, opts=child)
        function_arns = [self.validator.function.arn] + [f.arn for f in args.query_functions.values()]
        role, policy = service_role(f"{name}-workflow", "states.amazonaws.com", [
            statement(["lambda:InvokeFunction"], function_arns),
            statement(["dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:GetItem"], [args.table_arn]),
            statement(["events:PutEvents"], [self.bus.arn]),
            unscoped(LOG_DELIVERY_ACTIONS),
            unscoped(XRAY_ACTIONS),
        ], self)
        definition = build_definition(WorkflowRefs(
            table_name=args.table_name, event_bus_name=self.bus.name,
            validator_function_arn=self.validator.function.arn,
            query_function_arns={query: f.arn for query, f in args.query_functions.items()}))
        self.state_machine = aws.sfn.StateMachine(
            f"{name}-workflow",
            type="EXPRESS",
            role_arn=role.arn,
            definition=pulumi.Output.json_dumps(definition),
            logging_configuration={"level": s.stateMachineLogLevel,
                                   "include_execution_data": s.stateMachineIncludeExecutionData,
                                   "log_destination": pulumi.Output.concat(log_group.arn, ":*")},
            tracing_configuration={"enabled": True},
            opts=pulumi.ResourceOptions(parent=self, depends_on=[policy]))
        self._rule(name, s)
        if args.http_api is not None:
            args.http_api.state_machine_arn = self.state_machine.arn
            self.http_api = HttpApi(f"{name}-http", args.http_api, opts=child)
        self.register_outputs({"eventBusArn": self.bus.arn, "stateMachineArn": self.state_machine.arn})

    def _rule(self, name: str, s: StackSettings) -> None:
        child = pulumi.ResourceOptions(parent=self)
        self.rule = aws.cloudwatch.EventRule(
            f"{name}-rule", event_bus_name=self.bus.name, event_pattern=json.dumps(EVENT_PATTERN),
            description="orderCommand and orderQuery events start the order workflow", state="ENABLED", opts=child)
        self.target_dlq = aws.sqs.Queue(f"{name}-target-dlq", sqs_managed_sse_enabled=True,
                                        message_retention_seconds=s.dlqMessageRetentionSeconds, opts=child)
        aws.sqs.QueuePolicy(f"{name}-target-dlq-policy", queue_url=self.target_dlq.url,
                            policy=pulumi.Output.json_dumps({"Version": "2012-10-17", "Statement": [{
                                "Effect": "Allow", "Principal": {"Service": "events.amazonaws.com"},
                                "Action": "sqs:SendMessage", "Resource": self.target_dlq.arn,
                                "Condition": {"ArnEquals": {"aws:SourceArn": self.rule.arn}}}]}), opts=child)
        target_role, target_policy = service_role(
            f"{name}-target", "events.amazonaws.com",
            [statement(["states:StartExecution"], [self.state_machine.arn])], self, source_arn=self.rule.arn)
        aws.cloudwatch.EventTarget(
            f"{name}-target",
            rule=self.rule.name,
            event_bus_name=self.bus.name,
            arn=self.state_machine.arn,
            role_arn=target_role.arn,
            retry_policy={"maximum_event_age_in_seconds": 3600, "maximum_retry_attempts": 10},
            dead_letter_config={"arn": self.target_dlq.arn},
            opts=pulumi.ResourceOptions(parent=self, depends_on=[target_policy]))
