"""Mocks that answer like AWS would, without provisioning anything: auto-named physical names, ARNs in each
service's format, and the computed outputs the program reads (stream ARN, cluster endpoints, master secret)."""

from __future__ import annotations

import hashlib

import pulumi

ACCOUNT = "123456789012"
REGION = "us-east-1"


def physical_name(logical: str, inputs: dict) -> str:
    """Pulumi's auto-naming: the logical name (or namePrefix) plus a random-looking suffix."""
    if inputs.get("name"):
        return inputs["name"]
    suffix = hashlib.sha256(logical.encode()).hexdigest()[:7]
    return f"{inputs['namePrefix']}{suffix}" if inputs.get("namePrefix") else f"{logical}-{suffix}"


def arn(service: str, resource: str, region: str = REGION) -> str:
    return f"arn:aws:{service}:{region}:{ACCOUNT}:{resource}"


def computed_outputs(typ: str, name: str, inputs: dict) -> tuple[str, dict]:
    """The (id, extra state) AWS would return for a resource of type `typ`."""
    physical = physical_name(name, inputs)
    region = inputs.get("region") or REGION
    if typ == "aws:dynamodb/table:Table":
        table_arn = arn("dynamodb", f"table/{physical}", region)
        return physical, {"name": physical, "arn": table_arn,
                          "streamArn": f"{table_arn}/stream/2026-01-01T00:00:00.000"}
    if typ == "aws:rds/cluster:Cluster":
        physical = inputs.get("clusterIdentifier") or physical  # an explicit identifier is the cluster's id
        host = f"{physical}.cluster-abcdefghijkl.{region}.rds.amazonaws.com"
        return physical, {"arn": arn("rds", f"cluster:{physical}", region), "clusterIdentifier": physical,
                          "clusterResourceId": "cluster-" + hashlib.sha256(physical.encode()).hexdigest()[:26].upper(),
                          "endpoint": host, "readerEndpoint": host.replace(".cluster-", ".cluster-ro-"),
                          "port": inputs.get("port", 3306),
                          "masterUserSecrets": [{"secretArn": arn("secretsmanager", f"secret:rds!{physical}-AbCdEf",
                                                                  region), "secretStatus": "active"}]}
    if typ == "aws:lambda/function:Function":
        function_arn = arn("lambda", f"function:{physical}", region)
        return physical, {"name": physical, "arn": function_arn, "qualifiedArn": f"{function_arn}:$LATEST",
                          "invokeArn": f"arn:aws:apigateway:{region}:lambda:path/2015-03-31/functions/"
                                       f"{function_arn}/invocations"}
    if typ == "aws:lambda/layerVersion:LayerVersion":
        layer_arn = arn("lambda", f"layer:{inputs['layerName']}", region)
        return f"{layer_arn}:1", {"arn": f"{layer_arn}:1", "layerArn": layer_arn, "version": "1"}
    if typ == "aws:sqs/queue:Queue":
        url = f"https://sqs.{region}.amazonaws.com/{ACCOUNT}/{physical}"
        return url, {"name": physical, "url": url, "arn": arn("sqs", physical, region)}
    if typ == "aws:cloudwatch/logGroup:LogGroup":
        return physical, {"name": physical, "arn": arn("logs", f"log-group:{physical}", region)}
    if typ == "aws:sfn/stateMachine:StateMachine":
        machine_arn = arn("states", f"stateMachine:{physical}", region)
        return machine_arn, {"name": physical, "arn": machine_arn}
    if typ == "aws:cloudwatch/eventBus:EventBus":
        return physical, {"name": physical, "arn": arn("events", f"event-bus/{physical}", region)}
    if typ == "aws:cloudwatch/eventRule:EventRule":
        bus = inputs.get("eventBusName", "default")
        return f"{bus}/{physical}", {"name": physical, "arn": arn("events", f"rule/{bus}/{physical}", region)}
    if typ == "aws:iam/role:Role":
        return physical, {"name": physical, "arn": f"arn:aws:iam::{ACCOUNT}:role/{physical}",
                          "uniqueId": "AROA" + hashlib.sha256(physical.encode()).hexdigest()[:17].upper()}
    if typ == "aws:sns/topic:Topic":
        topic_arn = arn("sns", physical, region)
        return topic_arn, {"name": physical, "arn": topic_arn}
    if typ in ("aws:ec2/vpc:Vpc", "aws:ec2/subnet:Subnet", "aws:ec2/securityGroup:SecurityGroup"):
        prefix = {"aws:ec2/vpc:Vpc": "vpc", "aws:ec2/subnet:Subnet": "subnet",
                  "aws:ec2/securityGroup:SecurityGroup": "sg"}[typ]
        resource_id = f"{prefix}-{hashlib.sha256(name.encode()).hexdigest()[:17]}"
        return resource_id, {"arn": arn("ec2", f"{prefix}/{resource_id}", region)}
    if typ == "aws:rds/clusterInstance:ClusterInstance":
        return physical, {"identifier": physical, "arn": arn("rds", f"db:{physical}", region)}
    if typ == "aws:apigateway/restApi:RestApi":
        api_id = hashlib.sha256(name.encode()).hexdigest()[:10]
        return api_id, {"name": physical, "rootResourceId": api_id[:6],
                        "arn": f"arn:aws:apigateway:{region}::/restapis/{api_id}",
                        "executionArn": arn("execute-api", api_id, region)}
    if typ == "aws:apigateway/stage:Stage":
        api_id, stage = inputs.get("restApi", ""), inputs.get("stageName", "")
        return f"ags-{api_id}-{stage}", {"invokeUrl": f"https://{api_id}.execute-api.{region}.amazonaws.com/{stage}",
                                         "arn": f"arn:aws:apigateway:{region}::/restapis/{api_id}/stages/{stage}",
                                         "executionArn": arn("execute-api", f"{api_id}/{stage}", region)}
    return physical, {"name": physical}


class FakeCloudMocks(pulumi.runtime.Mocks):
    def new_resource(self, args: pulumi.runtime.MockResourceArgs):
        if not args.custom:  # component resources carry no state
            return "", {}
        resource_id, extra = computed_outputs(args.typ, args.name, args.inputs)
        return resource_id, {**args.inputs, **extra}

    def call(self, args: pulumi.runtime.MockCallArgs):
        if args.token == "aws:index/getAvailabilityZones:getAvailabilityZones":
            return {"names": [f"{REGION}a", f"{REGION}b", f"{REGION}c"],
                    "zoneIds": ["use1-az1", "use1-az2", "use1-az4"], "id": REGION}
        raise NotImplementedError(f"no mock answer for the invoke {args.token}")
