"""Pulumi mocks that provision each resource the real program registers into the emulator, and answer with the
emulator's real outputs (ARNs, the stream ARN, queue URLs). The Aurora cluster maps to the local MariaDB.

Resource types that need no emulation offline are accepted and listed as inert; an unknown type is an error
naming it, so the topology can never silently diverge from the program.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import pulumi

from harness.fake_cloud import FakeCloudMocks, computed_outputs, physical_name
from localcloud import http_api

INERT = {
    "aws:ec2/vpc:Vpc", "aws:ec2/subnet:Subnet", "aws:ec2/securityGroup:SecurityGroup",
    "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
    "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule", "aws:rds/subnetGroup:SubnetGroup",
    "aws:rds/clusterParameterGroup:ClusterParameterGroup", "aws:rds/clusterInstance:ClusterInstance",
    "aws:cloudwatch/metricAlarm:MetricAlarm", "aws:sns/topicSubscription:TopicSubscription",
    "aws:ec2/flowLog:FlowLog",
    "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup",
    # Nothing fires on a schedule offline (run `python -m ops reconcile`), and no dashboard is drawn.
    "aws:scheduler/schedule:Schedule", "aws:cloudwatch/dashboard:Dashboard",
    # The REST API's deployment is its body (served as deployed), and the account's logging role is not needed to
    # write access logs offline (the stage's method settings are provisioned: localcloud/http_api.py throttles).
    "aws:apigateway/deployment:Deployment", "aws:apigateway/account:Account",
}


class UnsupportedResource(RuntimeError):
    pass


class DeployFailed(RuntimeError):
    pass


@dataclass
class Provisioned:
    type: str
    name: str
    inert: bool
    seconds: float


@dataclass
class LocalDatabase:
    host: str
    port: int
    master_user: str
    master_password: str
    create_database: Callable[[str], None]
    set_global: Callable[[str, int], None]  # SET GLOBAL name = value, as a parameter group applies it


def _archive_bytes(archive: Any) -> bytes:
    return Path(archive.path).read_bytes()


class LocalCloudMocks(FakeCloudMocks):
    """Invokes (availability zones) are answered as by the harness's fake cloud; resources are provisioned."""

    def __init__(self, clients: dict, database: LocalDatabase, add_stream_mapping: Callable[[str, dict], None],
                 on_provisioned: Callable[[Provisioned], None], apis: http_api.Deployed | None = None,
                 api_endpoint: str = "http://127.0.0.1:4567"):
        self.apis = apis if apis is not None else http_api.Deployed()  # what localcloud.http_api serves
        self.api_endpoint = api_endpoint
        self.c = clients
        self.database = database
        self.add_stream_mapping = add_stream_mapping
        self.on_provisioned = on_provisioned
        self.provisioned: list[Provisioned] = []
        self.inert: dict[str, dict] = {}  # resource id -> the inputs and outputs of an inert resource
        self._lock = threading.Lock()

    def new_resource(self, args: pulumi.runtime.MockResourceArgs):
        if not args.custom:
            return "", {}
        started = time.monotonic()
        inert = args.typ in INERT
        if inert:
            resource_id, state = computed_outputs(args.typ, args.name, args.inputs)
            self.inert[resource_id] = {**args.inputs, **state}
        else:
            provision = _PROVISIONERS.get(args.typ)
            if provision is None:
                raise UnsupportedResource(f"localcloud cannot emulate resource type {args.typ} ({args.name}): "
                                          "add it to localcloud/mocks.py, as provisioned or inert")
            resource_id, state = provision(self, args.name, args.inputs)
        record = Provisioned(args.typ, args.name, inert, time.monotonic() - started)
        with self._lock:
            self.provisioned.append(record)
        self.on_provisioned(record)
        return resource_id, {**args.inputs, **state}

    def vpc_of(self, subnet_ids: list[str]) -> str | None:
        """The VPC the program put these (inert) subnets in, as Lambda reports it for a function in them."""
        return next((self.inert[s]["vpcId"] for s in subnet_ids if "vpcId" in self.inert.get(s, {})), None)

    # -- provisioners, one per emulated type ------------------------------------------------------------

    def layer(self, name: str, inputs: dict):
        layer = self.c["lambda"].publish_layer_version(
            LayerName=inputs["layerName"], Content={"ZipFile": _archive_bytes(inputs["code"])},
            Description=inputs.get("description", ""), CompatibleRuntimes=inputs.get("compatibleRuntimes", []),
            CompatibleArchitectures=inputs.get("compatibleArchitectures", []))
        return layer["LayerVersionArn"], {"arn": layer["LayerVersionArn"], "layerArn": layer["LayerArn"],
                                          "version": str(layer["Version"])}

    def table(self, name: str, inputs: dict):
        physical = physical_name(name, inputs)
        table = self.c["dynamodb"].create_table(
            TableName=physical, BillingMode=inputs.get("billingMode", "PROVISIONED"),
            KeySchema=[{"AttributeName": inputs["hashKey"], "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": a["name"], "AttributeType": a["type"]}
                                  for a in inputs["attributes"]],
            StreamSpecification={"StreamEnabled": bool(inputs.get("streamEnabled")),
                                 "StreamViewType": inputs.get("streamViewType", "NEW_AND_OLD_IMAGES")},
            SSESpecification={"Enabled": bool(inputs.get("serverSideEncryption", {}).get("enabled"))},
            DeletionProtectionEnabled=bool(inputs.get("deletionProtectionEnabled")))["TableDescription"]
        recovery = bool(inputs.get("pointInTimeRecovery", {}).get("enabled"))
        self.c["dynamodb"].update_continuous_backups(
            TableName=physical, PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": recovery})
        return physical, {"name": physical, "arn": table["TableArn"], "streamArn": table.get("LatestStreamArn", "")}

    def event_bus(self, name: str, inputs: dict):
        physical = physical_name(name, inputs)
        bus = self.c["events"].create_event_bus(Name=physical)
        return physical, {"name": physical, "arn": bus["EventBusArn"]}

    def log_group(self, name: str, inputs: dict):
        physical = physical_name(name, inputs)
        self.c["logs"].create_log_group(logGroupName=physical)
        if inputs.get("retentionInDays"):
            self.c["logs"].put_retention_policy(logGroupName=physical, retentionInDays=int(inputs["retentionInDays"]))
        group = self.c["logs"].describe_log_groups(logGroupNamePrefix=physical)["logGroups"][0]
        return physical, {"name": physical, "arn": group["arn"].removesuffix(":*")}

    def role(self, name: str, inputs: dict):
        physical = physical_name(name, inputs)
        role = self.c["iam"].create_role(RoleName=physical, AssumeRolePolicyDocument=inputs["assumeRolePolicy"])
        return physical, {"name": physical, "arn": role["Role"]["Arn"], "uniqueId": role["Role"]["RoleId"]}

    def role_policy(self, name: str, inputs: dict):
        physical = physical_name(name, inputs)
        self.c["iam"].put_role_policy(RoleName=inputs["role"], PolicyName=physical, PolicyDocument=inputs["policy"])
        return f"{inputs['role']}:{physical}", {"name": physical}

    def queue(self, name: str, inputs: dict):
        physical = physical_name(name, inputs)
        attributes = {"SqsManagedSseEnabled": str(bool(inputs.get("sqsManagedSseEnabled"))).lower()}
        if inputs.get("messageRetentionSeconds"):
            attributes["MessageRetentionPeriod"] = str(int(inputs["messageRetentionSeconds"]))
        url = self.c["sqs"].create_queue(QueueName=physical, Attributes=attributes)["QueueUrl"]
        arn = self.c["sqs"].get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        return url, {"name": physical, "url": url, "arn": arn}

    def queue_policy(self, name: str, inputs: dict):
        self.c["sqs"].set_queue_attributes(QueueUrl=inputs["queueUrl"], Attributes={"Policy": inputs["policy"]})
        return inputs["queueUrl"], {}

    def function(self, name: str, inputs: dict):
        physical = physical_name(name, inputs)
        options = {}
        if inputs.get("loggingConfig"):
            options["LoggingConfig"] = {key[0].upper() + key[1:]: value for key, value in inputs["loggingConfig"].items()}
        if inputs.get("vpcConfig"):
            options["VpcConfig"] = {"SubnetIds": inputs["vpcConfig"].get("subnetIds", []),
                                    "SecurityGroupIds": inputs["vpcConfig"].get("securityGroupIds", [])}
        function = self.c["lambda"].create_function(**options,
            FunctionName=physical, Runtime=inputs["runtime"], Role=inputs["role"], Handler=inputs["handler"],
            Code={"ZipFile": _archive_bytes(inputs["code"])}, Description=inputs.get("description", ""),
            Timeout=int(inputs.get("timeout", 3)), MemorySize=int(inputs.get("memorySize", 128)),
            Environment={"Variables": inputs.get("environment", {}).get("variables", {})},
            Layers=inputs.get("layers", []), Architectures=inputs.get("architectures", ["x86_64"]),
            TracingConfig={"Mode": inputs.get("tracingConfig", {}).get("mode", "PassThrough")})
        if int(inputs.get("reservedConcurrentExecutions", -1)) >= 0:  # -1: unreserved
            self.c["lambda"].put_function_concurrency(
                FunctionName=physical, ReservedConcurrentExecutions=int(inputs["reservedConcurrentExecutions"]))
        arn = function["FunctionArn"]
        return physical, {"name": physical, "arn": arn, "qualifiedArn": f"{arn}:$LATEST",
                          "invokeArn": f"arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/{arn}/invocations"}

    def event_source_mapping(self, name: str, inputs: dict):
        """Created in Lambda (ListEventSourceMappings shows it); localcloud's StreamPoller delivers by it."""
        settings = {"BatchSize": "batchSize", "StartingPosition": "startingPosition",
                    "MaximumBatchingWindowInSeconds": "maximumBatchingWindowInSeconds",
                    "MaximumRetryAttempts": "maximumRetryAttempts",
                    "MaximumRecordAgeInSeconds": "maximumRecordAgeInSeconds",
                    "BisectBatchOnFunctionError": "bisectBatchOnFunctionError",
                    "ParallelizationFactor": "parallelizationFactor", "FunctionResponseTypes": "functionResponseTypes"}
        numbers = {"BatchSize", "MaximumBatchingWindowInSeconds", "MaximumRetryAttempts", "MaximumRecordAgeInSeconds",
                   "ParallelizationFactor"}
        request = {key: int(inputs[source]) if key in numbers else inputs[source]
                   for key, source in settings.items() if inputs.get(source) is not None}
        on_failure = inputs.get("destinationConfig", {}).get("onFailure", {}).get("destinationArn")
        if on_failure:
            request["DestinationConfig"] = {"OnFailure": {"Destination": on_failure}}
        mapping = self.c["lambda"].create_event_source_mapping(
            EventSourceArn=inputs["eventSourceArn"], FunctionName=inputs["functionName"],
            Enabled=inputs.get("enabled", True), **request)
        self.add_stream_mapping(mapping["UUID"], inputs)
        return mapping["UUID"], {"uuid": mapping["UUID"], "state": mapping.get("State", "Enabled"),
                                 "arn": mapping.get("EventSourceMappingArn", ""),
                                 "functionArn": mapping["FunctionArn"]}

    def invocation(self, name: str, inputs: dict):
        response = self.c["lambda"].invoke(FunctionName=inputs["functionName"], Payload=inputs["input"].encode())
        payload = response["Payload"].read().decode()
        if response.get("FunctionError"):
            raise DeployFailed(f"{name}: invoking {inputs['functionName']} failed: {payload}")
        return f"{inputs['functionName']}_{uuid.uuid4().hex[:8]}", {"result": payload}

    def state_machine(self, name: str, inputs: dict):
        physical = physical_name(name, inputs)
        logging = inputs.get("loggingConfiguration") or {}
        options = {"tracingConfiguration": {"enabled": bool(inputs.get("tracingConfiguration", {}).get("enabled"))},
                   "loggingConfiguration": {"level": logging.get("level", "OFF"),
                                            "includeExecutionData": bool(logging.get("includeExecutionData"))}}
        if logging.get("logDestination"):
            options["loggingConfiguration"]["destinations"] = [
                {"cloudWatchLogsLogGroup": {"logGroupArn": logging["logDestination"]}}]
        machine = self.c["stepfunctions"].create_state_machine(
            name=physical, definition=inputs["definition"], roleArn=inputs["roleArn"],
            type=inputs.get("type", "STANDARD"), **options)
        return machine["stateMachineArn"], {"name": physical, "arn": machine["stateMachineArn"]}

    def event_rule(self, name: str, inputs: dict):
        physical = physical_name(name, inputs)
        rule = self.c["events"].put_rule(Name=physical, EventBusName=inputs["eventBusName"],
                                         EventPattern=inputs["eventPattern"], State=inputs.get("state", "ENABLED"),
                                         Description=inputs.get("description", ""))
        return f"{inputs['eventBusName']}/{physical}", {"name": physical, "arn": rule["RuleArn"]}

    def event_target(self, name: str, inputs: dict):
        target = {"Id": physical_name(name, inputs), "Arn": inputs["arn"]}
        if inputs.get("roleArn"):
            target["RoleArn"] = inputs["roleArn"]
        if inputs.get("retryPolicy"):
            target["RetryPolicy"] = {"MaximumRetryAttempts": int(inputs["retryPolicy"]["maximumRetryAttempts"]),
                                     "MaximumEventAgeInSeconds": int(inputs["retryPolicy"]["maximumEventAgeInSeconds"])}
        if inputs.get("deadLetterConfig"):
            target["DeadLetterConfig"] = {"Arn": inputs["deadLetterConfig"]["arn"]}
        self.c["events"].put_targets(Rule=inputs["rule"], EventBusName=inputs["eventBusName"], Targets=[target])
        return f"{inputs['eventBusName']}-{inputs['rule']}-{target['Id']}", {"targetId": target["Id"]}

    def topic(self, name: str, inputs: dict):
        physical = physical_name(name, inputs)
        arn = self.c["sns"].create_topic(Name=physical)["TopicArn"]
        return arn, {"name": physical, "arn": arn}

    def cluster(self, name: str, inputs: dict):
        """Aurora maps to the local MariaDB: its endpoints, port and managed master secret point there."""
        resource_id, state = computed_outputs("aws:rds/cluster:Cluster", name, inputs)
        self.database.create_database(inputs["databaseName"])
        secret = self.c["secretsmanager"].create_secret(
            Name=f"rds!{resource_id}", SecretString=json.dumps({"username": self.database.master_user,
                                                                "password": self.database.master_password}))
        return resource_id, {**state, "endpoint": self.database.host, "readerEndpoint": self.database.host,
                             "port": self.database.port, "masterUserSecrets": [{"secretArn": secret["ARN"],
                                                                                "secretStatus": "active"}]}

    def parameter_group(self, name: str, inputs: dict):
        """The instances' parameter group: the idle-session timeouts apply to the local server as to every Aurora
        instance (MariaDB closes a session idle for wait_timeout, Aurora for the smaller of the two)."""
        for parameter in inputs.get("parameters", []):
            if parameter["name"] not in _SERVER_PARAMETERS:
                raise UnsupportedResource(f"localcloud cannot apply parameter {parameter['name']} of {name}: add it "
                                          "to localcloud/mocks.py if MariaDB has it")
            self.database.set_global(parameter["name"], int(parameter["value"]))
        return computed_outputs("aws:rds/parameterGroup:ParameterGroup", name, inputs)


# Instance parameters the local server applies (the cluster parameter group's are inert: TLS is required at start,
# and MariaDB has no Aurora audit plugin).
_SERVER_PARAMETERS = {"wait_timeout", "interactive_timeout"}

_PROVISIONERS = {
    "aws:lambda/layerVersion:LayerVersion": LocalCloudMocks.layer,
    "aws:dynamodb/table:Table": LocalCloudMocks.table,
    "aws:cloudwatch/eventBus:EventBus": LocalCloudMocks.event_bus,
    "aws:cloudwatch/logGroup:LogGroup": LocalCloudMocks.log_group,
    "aws:iam/role:Role": LocalCloudMocks.role,
    "aws:iam/rolePolicy:RolePolicy": LocalCloudMocks.role_policy,
    "aws:sqs/queue:Queue": LocalCloudMocks.queue,
    "aws:sqs/queuePolicy:QueuePolicy": LocalCloudMocks.queue_policy,
    "aws:lambda/function:Function": LocalCloudMocks.function,
    "aws:lambda/eventSourceMapping:EventSourceMapping": LocalCloudMocks.event_source_mapping,
    "aws:lambda/invocation:Invocation": LocalCloudMocks.invocation,
    "aws:sfn/stateMachine:StateMachine": LocalCloudMocks.state_machine,
    "aws:cloudwatch/eventRule:EventRule": LocalCloudMocks.event_rule,
    "aws:cloudwatch/eventTarget:EventTarget": LocalCloudMocks.event_target,
    "aws:sns/topic:Topic": LocalCloudMocks.topic,
    "aws:rds/cluster:Cluster": LocalCloudMocks.cluster,
    "aws:rds/parameterGroup:ParameterGroup": LocalCloudMocks.parameter_group,
}
_PROVISIONERS.update(http_api.PROVISIONERS)  # the REST API and its stage
