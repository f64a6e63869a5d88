"""The provisioning mocks: unknown types are refused by name, inert types are listed, a failing deploy-time
invocation fails the deploy."""

import io

import pulumi
import pytest

from localcloud.mocks import DeployFailed, LocalCloudMocks, UnsupportedResource


class FailingLambda:
    def invoke(self, FunctionName, Payload):
        return {"FunctionError": "Unhandled", "StatusCode": 200,
                "Payload": io.BytesIO(b'{"errorType": "MigrationFailed", "errorMessage": "bad statement"}')}


def mocks(clients=None) -> tuple[LocalCloudMocks, list]:
    seen = []
    return LocalCloudMocks(clients or {}, database=None, add_stream_mapping=lambda *args: None,
                           on_provisioned=seen.append), seen


def args(typ: str, name: str, inputs: dict) -> pulumi.runtime.MockResourceArgs:
    return pulumi.runtime.MockResourceArgs(typ=typ, name=name, inputs=inputs, custom=True)


def test_an_unknown_resource_type_is_an_error_naming_it():
    with pytest.raises(UnsupportedResource, match="aws:ec2/natGateway:NatGateway \\(query-nat\\)"):
        mocks()[0].new_resource(args("aws:ec2/natGateway:NatGateway", "query-nat", {}))


def test_inert_types_are_accepted_and_listed():
    cloud, seen = mocks()
    resource_id, state = cloud.new_resource(args("aws:ec2/vpc:Vpc", "query-network-vpc", {"cidrBlock": "10.42.0.0/16"}))
    assert resource_id.startswith("vpc-") and state["cidrBlock"] == "10.42.0.0/16"
    assert [(p.type, p.inert) for p in seen] == [("aws:ec2/vpc:Vpc", True)]


def test_a_failing_deploy_time_invocation_fails_the_deploy():
    cloud, _ = mocks({"lambda": FailingLambda()})
    with pytest.raises(DeployFailed, match="bad statement"):
        cloud.new_resource(args("aws:lambda/invocation:Invocation", "query-migration",
                                {"functionName": "launcher", "input": "{}"}))
