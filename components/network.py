"""Private networking for the read side: no internet route, no NAT gateway, the database reachable only from
the functions' security group."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Sequence

import pulumi
import pulumi_aws as aws

from components.function import service_role, statement

MYSQL_PORT = 3306


@dataclass
class PrivateNetworkArgs:
    existing_vpc_id: str = ""
    existing_subnet_ids: Sequence[str] = ()
    cidr_block: str = "10.42.0.0/16"
    # Flow logs of the created VPC (an existing VPC's flow logs are its owner's), and their log group's retention.
    flow_logs: bool = False
    flow_log_retention_days: int = 7


class PrivateNetwork(pulumi.ComponentResource):
    """A VPC with private subnets in two AZs (or existing ones), and the two security groups.

    The functions inside call no AWS API (IAM database tokens are signed locally; the migration's master secret
    is read outside the VPC), so there is no NAT gateway and no interface endpoint: nothing costs money idle."""

    vpc_id: pulumi.Output[str]
    subnet_ids: pulumi.Output[list]
    functions_security_group: aws.ec2.SecurityGroup
    database_security_group: aws.ec2.SecurityGroup

    def __init__(self, name: str, args: PrivateNetworkArgs, opts: Optional[pulumi.ResourceOptions] = None):
        super().__init__("cqrs:index:PrivateNetwork", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        if args.existing_vpc_id:
            self.vpc_id = pulumi.Output.from_input(args.existing_vpc_id)
            self.subnet_ids = pulumi.Output.from_input(list(args.existing_subnet_ids))
        else:
            vpc = aws.ec2.Vpc(f"{name}-vpc", cidr_block=args.cidr_block, enable_dns_support=True,
                              enable_dns_hostnames=True, tags={"Name": f"{name}-vpc"}, opts=child)
            zones = aws.get_availability_zones_output(state="available", opts=pulumi.InvokeOutputOptions(parent=self))
            subnets = [aws.ec2.Subnet(f"{name}-private-{index}", vpc_id=vpc.id,
                                      cidr_block=f"10.42.{index * 16}.0/20",
                                      availability_zone=zones.names[index],
                                      map_public_ip_on_launch=False,
                                      tags={"Name": f"{name}-private-{index}"}, opts=child)
                       for index in range(2)]
            self.vpc_id = vpc.id
            self.subnet_ids = pulumi.Output.all(*[s.id for s in subnets])
            # A new VPC's default security group lets its members reach each other and anything outside. Nothing
            # here uses it (every function and the cluster name their own groups), so it is adopted and stripped of
            # every rule: anything that falls back to it gets no traffic. Free.
            aws.ec2.DefaultSecurityGroup(f"{name}-default-sg", vpc_id=vpc.id, ingress=[], egress=[],
                                         tags={"Name": f"{name}-default-sg (no rules)"}, opts=child)
            if args.flow_logs:
                self._flow_logs(name, vpc, args.flow_log_retention_days)
        self.functions_security_group = aws.ec2.SecurityGroup(
            f"{name}-functions-sg", vpc_id=self.vpc_id, description="cqrs-orders functions that reach the database",
            opts=child)
        self.database_security_group = aws.ec2.SecurityGroup(
            f"{name}-database-sg", vpc_id=self.vpc_id, description="cqrs-orders read-model database", opts=child)
        # Only rule-resources, no inline rules: the groups start with no ingress and no egress at all.
        aws.vpc.SecurityGroupIngressRule(
            f"{name}-database-from-functions", security_group_id=self.database_security_group.id,
            referenced_security_group_id=self.functions_security_group.id, ip_protocol="tcp",
            from_port=MYSQL_PORT, to_port=MYSQL_PORT, description="MySQL from the functions only", opts=child)
        aws.vpc.SecurityGroupEgressRule(
            f"{name}-functions-to-database", security_group_id=self.functions_security_group.id,
            referenced_security_group_id=self.database_security_group.id, ip_protocol="tcp",
            from_port=MYSQL_PORT, to_port=MYSQL_PORT, description="MySQL to the database only", opts=child)
        self.register_outputs({"vpcId": self.vpc_id, "subnetIds": self.subnet_ids})

    def _flow_logs(self, name: str, vpc: aws.ec2.Vpc, retention_days: int) -> None:
        """Every flow of the VPC (traffic type ALL) into a log group of its own, through a role only VPC Flow Logs
        of this account and region can assume, allowed to write to that log group and nothing else.

        ALL rather than REJECT: the VPC has no route to anything outside it, so rejected flows would be nearly
        always absent; accepted flows show which network interfaces reached the database, the network side of the
        audit log's connections. Volume follows traffic (one record per flow and 10-minute window), next to
        nothing when idle."""
        child = pulumi.ResourceOptions(parent=self)
        log_group = aws.cloudwatch.LogGroup(
            f"{name}-flow-logs", name_prefix=f"/aws/vpc/flow-logs/{pulumi.get_project()}-{pulumi.get_stack()}-",
            retention_in_days=retention_days, opts=child)
        # arn:<partition>:ec2:<region>:<account>:vpc/<id> -> the flow logs of the same account and region.
        flow_logs_of_account = vpc.arn.apply(lambda arn: arn.rsplit(":", 1)[0] + ":vpc-flow-log/*")
        role, policy = service_role(
            f"{name}-flow-logs", "vpc-flow-logs.amazonaws.com",
            [statement(["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"],
                       [log_group.arn, pulumi.Output.concat(log_group.arn, ":log-stream:*")])],
            self, source_arn=flow_logs_of_account)
        aws.ec2.FlowLog(
            f"{name}-flow-log", vpc_id=vpc.id, traffic_type="ALL", log_destination_type="cloud-watch-logs",
            log_destination=log_group.arn, iam_role_arn=role.arn, max_aggregation_interval=600,
            tags={"Name": f"{name}-flow-log"},
            # The role's policy must exist before the service first delivers.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[policy]))
