"""Regressions of who may reach what, which the pack must catch: the network (security groups, subnets, flow logs,
the default security group, an internet gateway), resource policies and Lambda permissions, and identity policies.
Each is one change to the recorded resource graph of dev or prod, with the policy that must report it (mandatory
unless said otherwise)."""

from __future__ import annotations

import json

from .graph import ResourceGraph, add_statement, allow
from .mutant import Mutant

ACCOUNT = "123456789012"
ANYWHERE = "0.0.0.0/0"


def _open_database_ingress(protocol: str, from_port: float, to_port: float):
    def mutate(g: ResourceGraph) -> None:
        rule = "query-network-database-from-functions"
        g.delete(rule, "referencedSecurityGroupId")
        g.set(rule, "cidrIpv4", ANYWHERE)
        g.set(rule, "ipProtocol", protocol)
        g.set(rule, "fromPort", from_port)
        g.set(rule, "toPort", to_port)
    return mutate


def _functions_egress_to_anywhere(g: ResourceGraph) -> None:
    rule = "query-network-functions-to-database"
    g.delete(rule, "referencedSecurityGroupId")
    g.set(rule, "cidrIpv4", ANYWHERE)
    g.set(rule, "ipProtocol", "-1")


def _document(*statements: dict) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def _open_to(principal, action: str, resource_arn: str) -> dict:
    """A resource policy statement that allows `principal` with no condition."""
    return {"Effect": "Allow", "Principal": principal, "Action": action, "Resource": resource_arn}


def _alarm_topic_policy_public(g: ResourceGraph) -> None:
    topic = g.output("alarms-topic", "arn")
    g.add("aws:sns/topicPolicy:TopicPolicy", "alarms-topic-policy",
          {"arn": topic, "policy": _document(_open_to({"AWS": "*"}, "sns:Publish", topic))})


def _projector_dlq_inline_policy_public(g: ResourceGraph) -> None:
    queue = g.output("query-projector-dlq", "arn")
    g.set("query-projector-dlq", "policy", _document(_open_to("*", "sqs:SendMessage", queue)))


def _event_bus_policy_public(g: ResourceGraph) -> None:
    g.add("aws:cloudwatch/eventBusPolicy:EventBusPolicy", "routing-bus-policy", {
        "eventBusName": g.output("routing-bus", "name"),
        "policy": _document(_open_to("*", "events:PutEvents", g.output("routing-bus", "arn")))})


def _remove_condition(document: dict) -> None:
    del document["Statement"][0]["Condition"]


def _make_public(document: dict) -> None:
    document["Statement"][0]["Principal"] = "*"
    del document["Statement"][0]["Condition"]


def _wildcard_dynamodb(document: dict) -> None:
    statement = next(s for s in document["Statement"] if "dynamodb:PutItem" in s["Action"])
    statement["Action"] = ["dynamodb:*"]


def _dynamodb_on_every_resource(document: dict) -> None:
    statement = next(s for s in document["Statement"] if "dynamodb:PutItem" in s["Action"])
    statement["Resource"] = ["*"]


def _trust_everyone(document: dict) -> None:
    document["Statement"][0]["Principal"] = {"AWS": "*"}


def _role_arn(g: ResourceGraph, name: str) -> str:
    return f"arn:aws:iam::{ACCOUNT}:role/{g.output(name, 'name')}"


MUTANTS = [
    # Network.
    Mutant("db-ingress-from-anywhere-all-protocols", "prod", "security-group-ingress-restricted",
           "the database security group's ingress rule admits all protocols from 0.0.0.0/0",
           _open_database_ingress("-1", -1, -1)),
    Mutant("db-ingress-from-anywhere-all-tcp-ports", "prod", "security-group-ingress-restricted",
           "the database security group's ingress rule admits TCP 0-65535 from 0.0.0.0/0",
           _open_database_ingress("tcp", 0, 65535)),
    Mutant("db-ingress-from-functions-all-protocols", "prod", "security-group-ingress-restricted",
           "the database admits every protocol and port from the functions' security group",
           lambda g: g.set("query-network-database-from-functions", "ipProtocol", "-1")),
    Mutant("db-ingress-rule-ipv6-anywhere", "prod", "security-group-ingress-restricted",
           "an aws.ec2.SecurityGroupRule admits MySQL from ::/0 to the database",
           lambda g: g.add("aws:ec2/securityGroupRule:SecurityGroupRule", "db-from-ipv6", {
               "type": "ingress", "protocol": "tcp", "fromPort": 3306, "toPort": 3306, "ipv6CidrBlocks": ["::/0"],
               "securityGroupId": g.output("query-network-database-sg", "id")})),
    Mutant("functions-egress-to-anywhere", "prod", "security-group-egress-restricted",
           "the functions' egress rule sends everything to 0.0.0.0/0", _functions_egress_to_anywhere),
    Mutant("functions-sg-inline-egress-to-anywhere", "prod", "security-group-egress-restricted",
           "the functions' security group gains an inline egress rule to 0.0.0.0/0",
           lambda g: g.set("query-network-functions-sg", "egress", [
               {"protocol": "-1", "fromPort": 0, "toPort": 0, "cidrBlocks": [ANYWHERE]}])),
    Mutant("private-subnet-maps-public-ips", "prod", "subnet-no-public-ip",
           "a private subnet maps public IPs on launch",
           lambda g: g.set("query-network-private-0", "mapPublicIpOnLaunch", True)),
    Mutant("flow-log-removed", "prod", "vpc-flow-logs", "the VPC's flow log is removed",
           lambda g: g.remove("query-network-flow-log")),
    Mutant("flow-log-rejected-only", "prod", "vpc-flow-logs", "the flow log records only rejected traffic",
           lambda g: g.set("query-network-flow-log", "trafficType", "REJECT")),
    Mutant("default-sg-allows-members", "prod", "vpc-default-security-group-closed",
           "the default security group lets its members reach each other",
           lambda g: g.set("query-network-default-sg", "ingress", [
               {"protocol": "-1", "fromPort": 0, "toPort": 0, "self": True}])),
    Mutant("default-sg-not-adopted", "prod", "vpc-default-security-group-closed",
           "the default security group is no longer adopted (it keeps AWS's allow rules)",
           lambda g: g.remove("query-network-default-sg")),
    Mutant("internet-gateway-added", "prod", "vpc-no-internet-gateway", "an internet gateway is attached to the VPC",
           lambda g: g.add("aws:ec2/internetGateway:InternetGateway", "query-network-igw",
                           {"vpcId": g.output("query-network-vpc", "id")})),
    Mutant("dev-db-ingress-from-anywhere", "dev", "security-group-ingress-restricted",
           "dev: the database admits MySQL from 0.0.0.0/0", _open_database_ingress("tcp", 3306, 3306)),
    # Resource policies and public access.
    Mutant("target-dlq-policy-public", "prod", "resource-policy-no-public-principal",
           "the target DLQ's queue policy allows Principal \"*\" with no condition",
           lambda g: g.edit_document("routing-target-dlq-policy", "policy", _make_public)),
    Mutant("target-dlq-policy-any-source", "prod", "resource-policy-service-source",
           "the target DLQ's queue policy lets events.amazonaws.com send for any rule (condition removed)",
           lambda g: g.edit_document("routing-target-dlq-policy", "policy", _remove_condition)),
    Mutant("alarm-topic-policy-public", "prod", "resource-policy-no-public-principal",
           "an SNS topic policy lets {\"AWS\": \"*\"} publish to the alarm topic, with no condition",
           _alarm_topic_policy_public),
    Mutant("projector-dlq-inline-policy-public", "prod", "resource-policy-no-public-principal",
           "the projector DLQ gets an inline policy letting anyone send to it",
           _projector_dlq_inline_policy_public),
    Mutant("event-bus-policy-public", "prod", "resource-policy-no-public-principal",
           "an event bus policy lets anyone put events on the bus",
           _event_bus_policy_public),
    Mutant("lambda-permission-public", "prod", "resource-policy-no-public-principal",
           "a Lambda permission lets anyone invoke the get-order function",
           lambda g: g.add("aws:lambda/permission:Permission", "get-order-public", {
               "action": "lambda:InvokeFunction", "function": g.output("query-get-order-function", "name"),
               "principal": "*"})),
    Mutant("lambda-permission-service-any-source", "prod", "resource-policy-service-source",
           "a Lambda permission lets events.amazonaws.com invoke the projector for any rule (no source_arn)",
           lambda g: g.add("aws:lambda/permission:Permission", "projector-from-events", {
               "action": "lambda:InvokeFunction", "function": g.output("query-projector-function", "name"),
               "principal": "events.amazonaws.com"})),
    Mutant("function-url-without-auth", "prod", "lambda-function-url-iam-auth",
           "a function URL with authorization_type NONE exposes the get-order function",
           lambda g: g.add("aws:lambda/functionUrl:FunctionUrl", "get-order-url", {
               "functionName": g.output("query-get-order-function", "name"), "authorizationType": "NONE"})),
    # Identity policies.
    Mutant("launcher-passrole-and-create-function", "prod", "iam-no-privilege-escalation",
           "the migration launcher's role gains iam:PassRole with lambda:CreateFunction (named ARNs)",
           lambda g: g.edit_document("query-migrate-launcher-policy", "policy", add_statement(
               allow(["iam:PassRole"], [_role_arn(g, "query-migrate-role")]),
               allow(["lambda:CreateFunction"], [f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:launched"])))),
    Mutant("projector-puts-another-roles-policy", "prod", "iam-no-privilege-escalation",
           "the projector's role gains iam:PutRolePolicy on the workflow's role (a named ARN)",
           lambda g: g.edit_document("query-projector-stream-policy", "policy", add_statement(
               allow(["iam:PutRolePolicy"], [_role_arn(g, "routing-workflow-role")])))),
    Mutant("validator-updates-projector-code", "prod", "iam-no-privilege-escalation",
           "the validator's role gains lambda:UpdateFunctionCode on the projector",
           lambda g: g.edit_document("routing-validate-command-policy", "policy", add_statement(
               allow(["lambda:UpdateFunctionCode"], [g.output("query-projector-function", "arn")])))),
    Mutant("ops-driver-creates-policy-versions", "prod", "iam-no-privilege-escalation",
           "the ops driver's role gains iam:CreatePolicyVersion on a named policy",
           lambda g: g.edit_document("ops-driver-policy", "policy", add_statement(
               allow(["iam:CreatePolicyVersion"], [f"arn:aws:iam::{ACCOUNT}:policy/deployers"])))),
    Mutant("workflow-wildcard-dynamodb-actions", "prod", "iam-no-wildcard-actions",
           "the workflow's role is allowed dynamodb:* on the table",
           lambda g: g.edit_document("routing-workflow-policy", "policy", _wildcard_dynamodb)),
    Mutant("workflow-writes-every-table", "prod", "iam-no-wildcard-resources",
           "the workflow's role may write to every table (Resource \"*\")",
           lambda g: g.edit_document("routing-workflow-policy", "policy", _dynamodb_on_every_resource)),
    Mutant("projector-role-administrator", "prod", "iam-no-admin-managed-policies",
           "AdministratorAccess is attached to the projector's role",
           lambda g: g.add("aws:iam/rolePolicyAttachment:RolePolicyAttachment", "projector-admin", {
               "role": g.output("query-projector-role", "name"),
               "policyArn": "arn:aws:iam::aws:policy/AdministratorAccess"})),
    Mutant("projector-role-trusts-everyone", "prod", "iam-trust-service-principal",
           "the projector's role may be assumed by {\"AWS\": \"*\"}",
           lambda g: g.edit_document("query-projector-role", "assumeRolePolicy", _trust_everyone)),
]
