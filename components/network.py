"""Private networking for the read side: no internet route, no NAT gateway, the database reachable only from
the functions' security group."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Sequence

import pulumi
import pulumi_aws as aws

MYSQL_PORT = 3306


@dataclass
class PrivateNetworkArgs:
    existing_vpc_id: str = ""
    existing_subnet_ids: Sequence[str] = ()
    cidr_block: str = "10.42.0.0/16"


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
