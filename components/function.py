"""One Lambda function with its own role, its own log group and nothing more than the permissions it needs."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping, Optional, Sequence

import pulumi
import pulumi_aws as aws

from components.packaging import Archive

# Actions AWS does not let you scope to a resource, so they must name "*". Every `*` resource in this program
# comes from this table; tests and the policy pack check against it.
UNSCOPED_ACTIONS = {
    # Lambda creates, describes and deletes the ENIs of a VPC function before any ARN exists (exactly the EC2
    # actions of AWSLambdaVPCAccessExecutionRole).
    "ec2:CreateNetworkInterface": "Lambda VPC networking: ENIs are created before their ARN exists",
    "ec2:DescribeNetworkInterfaces": "Lambda VPC networking: Describe* actions support no resource ARN",
    "ec2:DeleteNetworkInterface": "Lambda VPC networking: ENIs are deleted by Lambda on scale-in",
    "ec2:AssignPrivateIpAddresses": "Lambda VPC networking: address assignment on Lambda-managed ENIs",
    "ec2:UnassignPrivateIpAddresses": "Lambda VPC networking: address release on Lambda-managed ENIs",
    "ec2:DescribeSubnets": "Lambda VPC networking: Describe* actions support no resource ARN",
    # X-Ray has no resource-level permissions for trace ingestion.
    "xray:PutTraceSegments": "X-Ray ingestion supports no resource ARN",
    "xray:PutTelemetryRecords": "X-Ray ingestion supports no resource ARN",
    "xray:GetSamplingRules": "X-Ray sampling supports no resource ARN",
    "xray:GetSamplingTargets": "X-Ray sampling supports no resource ARN",
    # Step Functions sets up vended log delivery through account-level log delivery APIs.
    "logs:CreateLogDelivery": "Step Functions log delivery supports no resource ARN",
    "logs:GetLogDelivery": "Step Functions log delivery supports no resource ARN",
    "logs:UpdateLogDelivery": "Step Functions log delivery supports no resource ARN",
    "logs:DeleteLogDelivery": "Step Functions log delivery supports no resource ARN",
    "logs:ListLogDeliveries": "Step Functions log delivery supports no resource ARN",
    "logs:PutResourcePolicy": "Step Functions log delivery edits the account's log resource policy",
    "logs:DescribeResourcePolicies": "Step Functions log delivery reads the account's log resource policy",
    "logs:DescribeLogGroups": "Step Functions log delivery lists log groups, which supports no resource ARN",
}

VPC_ACCESS_ACTIONS = ["ec2:CreateNetworkInterface", "ec2:DescribeNetworkInterfaces", "ec2:DeleteNetworkInterface",
                      "ec2:AssignPrivateIpAddresses", "ec2:UnassignPrivateIpAddresses", "ec2:DescribeSubnets"]
XRAY_ACTIONS = ["xray:PutTraceSegments", "xray:PutTelemetryRecords", "xray:GetSamplingRules",
                "xray:GetSamplingTargets"]


def statement(actions: Sequence[str], resources: Sequence[Any]) -> dict:
    return {"Effect": "Allow", "Action": list(actions), "Resource": list(resources)}


def unscoped(actions: Sequence[str]) -> dict:
    unknown = [a for a in actions if a not in UNSCOPED_ACTIONS]
    if unknown:
        raise ValueError(f"{unknown} may not use a '*' resource: scope them or add them to UNSCOPED_ACTIONS")
    return statement(actions, ["*"])


def service_role(name: str, service: str, statements: Sequence[dict], parent: pulumi.Resource,
                 source_arn: Optional[pulumi.Input[str]] = None) -> tuple[aws.iam.Role, aws.iam.RolePolicy]:
    """A role only `service` can assume, with one inline policy."""
    trust: dict[str, Any] = {"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}
    if source_arn is not None:
        trust["Condition"] = {"ArnEquals": {"aws:SourceArn": source_arn}}
    role = aws.iam.Role(f"{name}-role", assume_role_policy=pulumi.Output.json_dumps(
        {"Version": "2012-10-17", "Statement": [trust]}), opts=pulumi.ResourceOptions(parent=parent))
    policy = aws.iam.RolePolicy(f"{name}-policy", role=role.id, policy=pulumi.Output.json_dumps(
        {"Version": "2012-10-17", "Statement": list(statements)}), opts=pulumi.ResourceOptions(parent=parent))
    return role, policy


@dataclass
class VpcPlacement:
    subnet_ids: pulumi.Input[Sequence[str]]
    security_group_ids: pulumi.Input[Sequence[str]]


@dataclass
class PythonFunctionArgs:
    code: Archive
    handler: str
    description: str
    layer_arn: pulumi.Input[str]
    log_retention_days: int
    environment: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    statements: Sequence[dict] = ()
    vpc: Optional[VpcPlacement] = None
    timeout: int = 30
    memory_size: int = 256
    reserved_concurrency: int = -1


class PythonFunction(pulumi.ComponentResource):
    """A python3.12 arm64 function: JSON logs into its own log group, X-Ray tracing, a role of its own that
    may write only to that log group."""

    function: aws.lambda_.Function
    role: aws.iam.Role
    log_group: aws.cloudwatch.LogGroup

    def __init__(self, name: str, args: PythonFunctionArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("cqrs:index:PythonFunction", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.log_group = aws.cloudwatch.LogGroup(
            f"{name}-logs", name_prefix=f"/aws/lambda/{pulumi.get_project()}-{pulumi.get_stack()}-{name}-",
            retention_in_days=args.log_retention_days, opts=child)
        statements = [statement(["logs:CreateLogStream", "logs:PutLogEvents"],
                                [pulumi.Output.concat(self.log_group.arn, ":log-stream:*")]),
                      unscoped(XRAY_ACTIONS)]
        if args.vpc is not None:
            statements.append(unscoped(VPC_ACCESS_ACTIONS))
        statements += list(args.statements)
        self.role, policy = service_role(name, "lambda.amazonaws.com", statements, self)
        self.function = aws.lambda_.Function(
            f"{name}-function",
            description=args.description,
            runtime=aws.lambda_.Runtime.PYTHON3D12,
            architectures=["arm64"],
            handler=args.handler,
            code=pulumi.FileArchive(str(args.code.path)),
            source_code_hash=args.code.sha256_base64,
            layers=[args.layer_arn],
            role=self.role.arn,
            timeout=args.timeout,
            memory_size=args.memory_size,
            reserved_concurrent_executions=args.reserved_concurrency,
            environment={"variables": {
                "POWERTOOLS_SERVICE_NAME": f"cqrs-orders-{name}",
                "POWERTOOLS_METRICS_NAMESPACE": "CqrsOrders",
                "POWERTOOLS_LOG_LEVEL": "INFO",
                **args.environment,
            }},
            logging_config={"log_format": "JSON", "log_group": self.log_group.name,
                            "application_log_level": "INFO", "system_log_level": "WARN"},
            tracing_config={"mode": "Active"},
            vpc_config=None if args.vpc is None else {"subnet_ids": args.vpc.subnet_ids,
                                                      "security_group_ids": args.vpc.security_group_ids},
            # The role's policy must exist before Lambda validates the VPC permissions and writes logs.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[policy, self.log_group]))
        self.register_outputs({"functionArn": self.function.arn, "functionName": self.function.name})
