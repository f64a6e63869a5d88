"""The pack as a whole: every policy can fail, levels and config schemas are sound, the pack boots as the CLI runs
it, and its unscoped-action list is the program's."""

import re
import subprocess
import sys
from pathlib import Path

import pytest

from components.function import UNSCOPED_ACTIONS as PROGRAM_UNSCOPED_ACTIONS
from policy.offline import SCHEMA_KEYWORDS, SCHEMA_TYPES, load_config, resolve_config
from policy.rules import POLICIES
from policy.rules.unscoped_actions import UNSCOPED_ACTIONS
from pulumi_policy import EnforcementLevel, StackValidationPolicy
from tests.policy.helpers import BY_NAME, check, document, resource

PACK_DIR = Path(__file__).resolve().parents[2] / "policy"
SQS_ARN = "arn:aws:sqs:us-east-1:123456789012:dead-letters"
STREAM_ARN = "arn:aws:dynamodb:us-east-1:123456789012:table/orders/stream/2026-01-01T00:00:00.000"
TABLE, CLUSTER, FUNCTION = "aws:dynamodb/table:Table", "aws:rds/cluster:Cluster", "aws:lambda/function:Function"
ESM, MACHINE = "aws:lambda/eventSourceMapping:EventSourceMapping", "aws:sfn/stateMachine:StateMachine"
TARGET, ROLE_POLICY = "aws:cloudwatch/eventTarget:EventTarget", "aws:iam/rolePolicy:RolePolicy"

# One violating input per policy; test_every_policy_has_a_violating_case keeps this complete.
VIOLATING = {
    "dynamodb-encryption": [resource(TABLE, {"serverSideEncryption": {"enabled": False}})],
    "dynamodb-point-in-time-recovery": [resource(TABLE, {"pointInTimeRecovery": {"enabled": False}})],
    "dynamodb-deletion-protection": [resource(TABLE, {"deletionProtectionEnabled": False})],
    "dynamodb-orders-stream": [resource(TABLE, {"streamEnabled": True, "streamViewType": "KEYS_ONLY"},
                                        name="command-orders", state={"streamArn": STREAM_ARN}),
                               resource(ESM, {"eventSourceArn": STREAM_ARN})],
    "aurora-storage-encrypted": [resource(CLUSTER, {"storageEncrypted": False})],
    "aurora-managed-master-password": [resource(CLUSTER, {"masterPassword": "hunter2"})],
    "aurora-backup-retention": [resource(CLUSTER, {"backupRetentionPeriod": 1.0})],
    "aurora-deletion-protection": [resource(CLUSTER, {"deletionProtection": False})],
    "aurora-not-publicly-accessible": [resource("aws:rds/clusterInstance:ClusterInstance",
                                                {"publiclyAccessible": True})],
    "aurora-max-capacity": [resource(CLUSTER, {"serverlessv2ScalingConfiguration": {"maxCapacity": 64.0}})],
    "aurora-tls-enforced": [resource(CLUSTER, {"engine": "aurora-mysql"})],
    "aurora-log-exports": [resource(CLUSTER, {"engine": "aurora-mysql", "enabledCloudwatchLogsExports": ["error"]})],
    "aurora-audit-logging": [resource(CLUSTER, {"engine": "aurora-mysql"})],
    "aurora-idle-session-timeout": [resource("aws:rds/clusterInstance:ClusterInstance", {"engine": "aurora-mysql"})],
    "lambda-timeout": [resource(FUNCTION, {"handler": "app.handler", "timeout": 3.0})],
    "lambda-json-logs": [resource(FUNCTION, {"loggingConfig": {"logFormat": "Text"}})],
    "lambda-tracing": [resource(FUNCTION, {"tracingConfig": {"mode": "PassThrough"}})],
    "lambda-database-in-vpc": [resource(FUNCTION, {"environment": {"variables": {"DB_HOST": "db.internal"}}})],
    "lambda-no-secret-environment": [resource(FUNCTION, {"environment": {"variables": {"DB_PASSWORD": "hunter2"}}})],
    "event-source-partial-batch-failures": [resource(ESM, {"eventSourceArn": SQS_ARN})],
    "event-source-on-failure-destination": [resource(ESM, {"eventSourceArn": STREAM_ARN})],
    "event-source-bounded-retries": [resource(ESM, {
        "eventSourceArn": "arn:aws:kinesis:us-east-1:123456789012:stream/orders", "maximumRetryAttempts": -1.0})],
    "event-source-queue-redrive": [resource(ESM, {"eventSourceArn": SQS_ARN}),
                                   resource("aws:sqs/queue:Queue", {}, state={"arn": SQS_ARN})],
    "step-functions-logging": [resource(MACHINE, {"loggingConfiguration": {"level": "OFF"}})],
    "step-functions-execution-data": [resource(MACHINE, {"loggingConfiguration": {"includeExecutionData": True}})],
    "step-functions-tracing": [resource(MACHINE, {"tracingConfiguration": {"enabled": False}})],
    "log-group-retention": [resource("aws:cloudwatch/logGroup:LogGroup", {"name": "/aws/lambda/f"})],
    "iam-no-wildcard-actions": [resource(ROLE_POLICY, {"policy": document(
        {"Effect": "Allow", "Action": "s3:*", "Resource": "arn:aws:s3:::bucket/*"})})],
    "iam-no-wildcard-resources": [resource(ROLE_POLICY, {"policy": document(
        {"Effect": "Allow", "Action": ["dynamodb:GetItem"], "Resource": "*"})})],
    "iam-no-admin-managed-policies": [resource("aws:iam/rolePolicyAttachment:RolePolicyAttachment",
                                               {"policyArn": "arn:aws:iam::aws:policy/AdministratorAccess"})],
    "iam-trust-service-principal": [resource("aws:iam/role:Role", {"assumeRolePolicy": document(
        {"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"})})],
    "eventbridge-target-retry-policy": [resource(TARGET, {"arn": "arn:aws:states:us-east-1:123456789012:x"})],
    "eventbridge-target-dead-letter-queue": [resource(TARGET, {"arn": "arn:aws:states:us-east-1:123456789012:x"})],
    "sqs-queue-encrypted": [resource("aws:sqs/queue:Queue", {"sqsManagedSseEnabled": False})],
    "dead-letter-queues-alarmed": [resource(TARGET, {"deadLetterConfig": {"arn": SQS_ARN}})],
    "functions-error-alarmed": [resource(FUNCTION, {"name": "orders-fn"})],
    "alarm-topics-subscribed": [
        resource("aws:sns/topic:Topic", {"arn": "arn:aws:sns:us-east-1:123456789012:alarms"}),
        resource("aws:cloudwatch/metricAlarm:MetricAlarm",
                 {"alarmActions": ["arn:aws:sns:us-east-1:123456789012:alarms"]}, name="alarm")],
    "vpc-flow-logs": [resource("aws:ec2/vpc:Vpc", {"cidrBlock": "10.42.0.0/16"})],
    "vpc-default-security-group-closed": [resource("aws:ec2/vpc:Vpc", {"cidrBlock": "10.42.0.0/16"})],
    "security-group-ingress-restricted": [resource("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
                                                   {"ipProtocol": "tcp", "fromPort": 3306, "toPort": 3306,
                                                    "cidrIpv4": "0.0.0.0/0"})],
    "security-group-egress-restricted": [resource("aws:ec2/securityGroup:SecurityGroup", {"egress": [
        {"protocol": "-1", "fromPort": 0, "toPort": 0, "cidrBlocks": ["0.0.0.0/0"]}]})],
    "subnet-no-public-ip": [resource("aws:ec2/subnet:Subnet", {"mapPublicIpOnLaunch": True})],
    "vpc-no-internet-gateway": [resource("aws:ec2/internetGateway:InternetGateway", {"vpcId": "vpc-1"})],
    "resource-policy-no-public-principal": [resource("aws:sqs/queuePolicy:QueuePolicy", {"policy": document(
        {"Effect": "Allow", "Principal": "*", "Action": "sqs:SendMessage", "Resource": SQS_ARN})})],
    "resource-policy-service-source": [resource("aws:lambda/permission:Permission",
                                                {"principal": "events.amazonaws.com", "function": "fn"})],
    "lambda-function-url-iam-auth": [resource("aws:lambda/functionUrl:FunctionUrl", {"authorizationType": "NONE"})],
    "iam-no-privilege-escalation": [resource("aws:iam/role:Role", {"name": "app", "inlinePolicies": [
        {"name": "deploy", "policy": document({"Effect": "Allow", "Action": ["iam:PassRole", "lambda:CreateFunction"],
                                               "Resource": ["arn:aws:iam::123456789012:role/other"]})}]})],
    "alarms-notify": [resource("aws:cloudwatch/metricAlarm:MetricAlarm", {"actionsEnabled": False,
                                                                          "alarmActions": ["arn:aws:sns:x"]})],
    "state-machines-failure-alarmed": [resource(MACHINE, {"arn": "arn:aws:states:us-east-1:123456789012:x"})],
    "stream-consumers-lag-alarmed": [resource(ESM, {"eventSourceArn": STREAM_ARN, "functionName": "projector"})],
    "aurora-iam-authentication": [resource(CLUSTER, {"iamDatabaseAuthenticationEnabled": False})],
    "aurora-auto-minor-version-upgrade": [resource("aws:rds/clusterInstance:ClusterInstance",
                                                   {"autoMinorVersionUpgrade": False})],
    "aurora-final-snapshot": [resource(CLUSTER, {"skipFinalSnapshot": True})],
    "aurora-failover-reader": [resource(CLUSTER, {"clusterIdentifier": "orders"})],
    "aurora-engine-supported": [resource(CLUSTER, {"engine": "aurora-mysql",
                                                   "engineVersion": "5.7.mysql_aurora.2.12.4"})],
    "lambda-runtime-supported": [resource(FUNCTION, {"runtime": "python3.8"})],
    "lambda-database-reserved-concurrency": [resource(FUNCTION, {"environment": {"variables": {"DB_HOST": "db"}},
                                                                 "reservedConcurrentExecutions": -1.0})],
    "log-groups-in-stack": [resource(FUNCTION, {"name": "orders-fn"})],
    "event-source-bisect-on-error": [resource(ESM, {"eventSourceArn": STREAM_ARN})],
    "sqs-dead-letter-retention": [resource(TARGET, {"deadLetterConfig": {"arn": SQS_ARN}}),
                                  resource("aws:sqs/queue:Queue", {"messageRetentionSeconds": 60.0}, name="dlq",
                                           state={"messageRetentionSeconds": 60.0, "arn": SQS_ARN})],
    "api-authorization-required": [resource("aws:apigateway/restApi:RestApi", {"body": '{"paths": {"/orders": '
                                                                                       '{"get": {}}}}'})],
    "api-access-logs": [resource("aws:apigateway/stage:Stage", {"restApi": "a", "stageName": "v1"})],
    "api-throttling-set": [resource("aws:apigateway/stage:Stage", {"restApi": "a", "stageName": "v1"}),
                           resource("aws:apigateway/methodSettings:MethodSettings", {
                               "restApi": "a", "stageName": "v1", "methodPath": "*/*",
                               "settings": {"throttlingRateLimit": -1.0, "throttlingBurstLimit": 100.0}})],
}


def test_every_policy_has_a_violating_case():
    assert set(VIOLATING) == set(BY_NAME)


@pytest.mark.parametrize("name", sorted(BY_NAME))
def test_every_policy_fires_on_a_violating_resource(name: str):
    found = check(name, VIOLATING[name])
    assert found, f"{name} did not fire"
    level = BY_NAME[name].enforcement_level.value
    assert all(v.policy == name and v.level == level and v.resource for v in found), found


def test_policy_names_are_unique_kebab_case_and_levels_explicit():
    names = [p.name for p in POLICIES]
    assert len(names) == len(set(names))
    assert all(re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)+", name) for name in names)
    # Set per policy, so the offline runner and the engine agree without relying on the pack's default level.
    assert all(p.enforcement_level in (EnforcementLevel.MANDATORY, EnforcementLevel.ADVISORY) for p in POLICIES)
    assert [p.name for p in POLICIES if p.enforcement_level is EnforcementLevel.ADVISORY] == [
        "aurora-max-capacity", "alarm-topics-subscribed"]
    assert {p.name for p in POLICIES if isinstance(p, StackValidationPolicy)} == {
        "aurora-tls-enforced", "dead-letter-queues-alarmed", "functions-error-alarmed", "dynamodb-orders-stream",
        "event-source-queue-redrive", "alarm-topics-subscribed", "aurora-audit-logging", "aurora-idle-session-timeout",
        "vpc-flow-logs", "vpc-default-security-group-closed", "iam-no-privilege-escalation", "aurora-failover-reader",
        "state-machines-failure-alarmed", "stream-consumers-lag-alarmed", "log-groups-in-stack",
        "sqs-dead-letter-retention", "api-throttling-set"}
    assert all(p.description.endswith(".") for p in POLICIES)


def test_config_schemas_stay_within_what_the_offline_runner_validates():
    for policy in (p for p in POLICIES if p.config_schema):
        for key, spec in policy.config_schema.properties.items():
            assert set(spec) <= SCHEMA_KEYWORDS and spec["type"] in SCHEMA_TYPES, (policy.name, key)
            assert "default" in spec and spec["description"], (policy.name, key)
    defaults = resolve_config(POLICIES, {}, "defaults")  # every default passes its own schema
    assert defaults["log-group-retention"].config == {"minimumDays": 7, "maximumDays": 365}


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_stack_configs_are_valid_and_set_every_threshold(stack: str):
    path = PACK_DIR / f"config.{stack}.json"
    config = load_config(path)
    resolve_config(POLICIES, config, str(path))
    configurable = {p.name: set(p.config_schema.properties) for p in POLICIES if p.config_schema}
    thresholds = {name: set(values) for name, values in config.items() if "enforcementLevel" not in values}
    assert thresholds == configurable
    # dev's alarms notify nobody on purpose (no alarmEmail): the only policy a stack turns off.
    disabled = {name for name, values in config.items() if values.get("enforcementLevel") == "disabled"}
    assert disabled == ({"alarm-topics-subscribed"} if stack == "dev" else set())


def test_unscoped_actions_are_the_programs_and_each_has_a_reason():
    assert UNSCOPED_ACTIONS == PROGRAM_UNSCOPED_ACTIONS
    assert all(reason.strip() for reason in UNSCOPED_ACTIONS.values())
    assert all("*" not in action for action in UNSCOPED_ACTIONS)


def test_pack_boots_the_way_the_cli_runs_it():
    """The CLI starts a Python pack through its pulumi-analyzer-policy-python shim, `python -u -m pulumi.policy
    <engine> <pack dir>`, which runs __main__.py with the pack directory on sys.path; PolicyPack then serves over
    gRPC and prints its port."""
    server = subprocess.Popen([sys.executable, "-u", "-m", "pulumi.policy", "127.0.0.1:0", str(PACK_DIR)],
                              cwd=PACK_DIR, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        port = server.stdout.readline().strip()
        assert port.isdigit(), server.stderr.read() if server.poll() is not None else port
    finally:
        server.terminate()
        server.wait(timeout=10)
