"""The deployed side of the operations (`cqrs:index:ReadSideOps`): what `python -m ops` drives on AWS.

- the read-side function, in the VPC beside the projector: the database only, as the `cqrs_ops` user (IAM
  database authentication, like the other functions); it calls no AWS API, so the VPC still needs no endpoint;
- the driver function, outside the VPC: the orders table (parallel scan, consistent batch reads), its streams
  (the records an on-failure message points to), the projector's on-failure queue, and the read side through
  Lambda. Splitting the two keeps the VPC without NAT and without endpoints: a DynamoDB gateway endpoint would be
  free, but the queue would still need an SQS interface endpoint (about $15/month in two zones);
- the ops state machine (STANDARD: runs last longer than EXPRESS's 5 minutes, and each step is retried
  and recorded): rebuild and reconcile, a Map over the table's segments (ops/definition.py);
- optionally, an EventBridge Scheduler schedule that starts a reconcile (a report, no repair) on a rate or cron.
Each function has a role of its own, scoped to exactly these resources."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping, Optional

import pulumi
import pulumi_aws as aws

from components.database import OPS_DB_USER
from components.function import (XRAY_ACTIONS, PythonFunction, PythonFunctionArgs, VpcPlacement, service_role,
                                 statement, unscoped)
from components.packaging import FUNCTIONS_DIR, ROOT, tree_archive
from components.routing import LOG_DELIVERY_ACTIONS
from ops.core import DRIFT_METRIC
from ops.definition import build_definition, execution_input

METRICS_NAMESPACE = "CqrsOrders"  # components/function.py's POWERTOOLS_METRICS_NAMESPACE
DRIVER_TIMEOUT_S = 900  # Lambda's maximum: a step uses what is left of it, less a margin (ops.core.handlers)
SCHEDULED_RECONCILE_SEGMENTS = 4


@dataclass
class ReadSideOpsArgs:
    table_name: pulumi.Input[str]
    table_arn: pulumi.Input[str]
    projector_dlq_url: pulumi.Input[str]
    projector_dlq_arn: pulumi.Input[str]
    layer_arn: pulumi.Input[str]
    vpc: VpcPlacement
    database_environment: Mapping[str, pulumi.Input[str]]  # DB_HOST (the writer), DB_PORT, DB_NAME, DB_TLS, ...
    ops_user_arn: pulumi.Input[str]  # the rds-db:connect resource of OPS_DB_USER
    log_retention_days: int
    state_machine_log_retention_days: int
    reserved_concurrency: int
    reconcile_schedule: str  # an EventBridge Scheduler expression, or "" for none
    extra_files: dict[str, Path] = field(default_factory=dict)  # e.g. the RDS CA bundle, as the other functions


def ops_archive(extra_files: dict[str, Path]):
    """ops/core/ with its package marker, and orders_db: the code both ops functions run."""
    return tree_archive("ops", {"ops/core": ROOT / "ops" / "core", "orders_db": FUNCTIONS_DIR / "orders_db"},
                        {"ops/__init__.py": ROOT / "ops" / "__init__.py", **extra_files})


class ReadSideOps(pulumi.ComponentResource):
    read_side: PythonFunction
    driver: PythonFunction
    state_machine: aws.sfn.StateMachine
    functions: dict[str, PythonFunction]

    def __init__(self, name: str, args: ReadSideOpsArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("cqrs:index:ReadSideOps", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        code = ops_archive(args.extra_files)
        self.read_side = PythonFunction(f"{name}-read-side", PythonFunctionArgs(
            code=code, handler="ops.core.handlers.read_side",
            description="Rebuild, reconcile and redrive: the read-model side (in the VPC, database only)",
            layer_arn=args.layer_arn, log_retention_days=args.log_retention_days,
            environment={**args.database_environment, "DB_USER": OPS_DB_USER}, vpc=args.vpc,
            timeout=120, memory_size=512, reserved_concurrency=args.reserved_concurrency,
            statements=[statement(["rds-db:connect"], [args.ops_user_arn])]), opts=child)
        self.driver = PythonFunction(f"{name}-driver", PythonFunctionArgs(
            code=code, handler="ops.core.handlers.driver",
            description="Rebuild, reconcile and redrive: the orders table, its streams and the on-failure queue",
            layer_arn=args.layer_arn, log_retention_days=args.log_retention_days,
            environment={"ORDERS_TABLE_NAME": args.table_name, "PROJECTOR_DLQ_URL": args.projector_dlq_url,
                         "READ_SIDE_FUNCTION_NAME": self.read_side.function.name},
            timeout=DRIVER_TIMEOUT_S, memory_size=512,
            statements=[
                statement(["dynamodb:DescribeTable", "dynamodb:Scan", "dynamodb:BatchGetItem"], [args.table_arn]),
                # Any stream of the table: an on-failure message may name the stream of an earlier incarnation.
                statement(["dynamodb:DescribeStream", "dynamodb:GetShardIterator", "dynamodb:GetRecords"],
                          [pulumi.Output.concat(args.table_arn, "/stream/*")]),
                statement(["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility",
                           "sqs:GetQueueAttributes"], [args.projector_dlq_arn]),
                statement(["lambda:InvokeFunction"], [self.read_side.function.arn])]), opts=child)
        self.functions = {"ops-read-side": self.read_side, "ops-driver": self.driver}
        # What the driver publishes after each reconcile (Powertools adds the service dimension from the function's
        # POWERTOOLS_SERVICE_NAME, ops.core.handlers the table): the alarm and the dashboard watch it.
        self.drift_metric = (METRICS_NAMESPACE, DRIFT_METRIC,
                             {"service": f"cqrs-orders-{name}-driver", "table": args.table_name})
        self._state_machine(name, args)
        if args.reconcile_schedule:
            self._schedule(name, args.reconcile_schedule)
        self.register_outputs({"stateMachineArn": self.state_machine.arn,
                               "driverFunctionName": self.driver.function.name,
                               "readSideFunctionName": self.read_side.function.name})

    def _state_machine(self, name: str, args: ReadSideOpsArgs) -> None:
        child = pulumi.ResourceOptions(parent=self)
        log_group = aws.cloudwatch.LogGroup(
            f"{name}-workflow-logs",
            name_prefix=f"/aws/vendedlogs/states/{pulumi.get_project()}-{pulumi.get_stack()}-ops-",
            retention_in_days=args.state_machine_log_retention_days, opts=child)
        role, policy = service_role(f"{name}-workflow", "states.amazonaws.com", [
            statement(["lambda:InvokeFunction"], [self.driver.function.arn]),
            unscoped(LOG_DELIVERY_ACTIONS),
            unscoped(XRAY_ACTIONS),
        ], self)
        self.state_machine = aws.sfn.StateMachine(
            f"{name}-workflow",
            type="STANDARD",
            role_arn=role.arn,
            definition=pulumi.Output.json_dumps(build_definition(self.driver.function.arn)),
            # Errors only, without execution data: inputs and outputs are counts and order ids.
            logging_configuration={"level": "ERROR", "include_execution_data": False,
                                   "log_destination": pulumi.Output.concat(log_group.arn, ":*")},
            tracing_configuration={"enabled": True},
            opts=pulumi.ResourceOptions(parent=self, depends_on=[policy]))

    def _schedule(self, name: str, expression: str) -> None:
        role, policy = service_role(f"{name}-schedule", "scheduler.amazonaws.com",
                                    [statement(["states:StartExecution"], [self.state_machine.arn])], self)
        aws.scheduler.Schedule(
            f"{name}-reconcile-schedule",
            description="A reconcile of the read models (report only): publishes ReconcileDrift",
            schedule_expression=expression,
            flexible_time_window={"mode": "FLEXIBLE", "maximum_window_in_minutes": 15},
            target={"arn": self.state_machine.arn, "role_arn": role.arn,
                    "input": json.dumps(execution_input("reconcile", SCHEDULED_RECONCILE_SEGMENTS)),
                    "retry_policy": {"maximum_retry_attempts": 3, "maximum_event_age_in_seconds": 3600}},
            opts=pulumi.ResourceOptions(parent=self, depends_on=[policy]))
