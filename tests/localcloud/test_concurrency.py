"""Concurrency as on AWS: DynamoDB streams with several shards (localcloud/stream_shards.py), and functions run in
several warm environments at once, bounded by reserved concurrency (localcloud/lambda_runtime.py). Both against
moto in this process, with real worker processes for the functions."""

import io
import json
import os
import threading
import time
import urllib.request
import zipfile
from concurrent.futures import ThreadPoolExecutor

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from moto import mock_aws
from moto.server import ThreadedMotoServer

from localcloud import stream_shards
from localcloud.lambda_runtime import LambdaRuntime
from localcloud.mariadb import free_port

REGION = "us-east-1"
NO_RETRIES = Config(retries={"total_max_attempts": 1})


@pytest.fixture
def credentials(monkeypatch):
    for name, value in {"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test",
                        "AWS_DEFAULT_REGION": REGION}.items():
        monkeypatch.setenv(name, value)


@pytest.fixture
def aws(credentials):
    with mock_aws():
        yield


@pytest.fixture
def sharded(credentials):
    """moto's server in this process: in-process mocking routes DynamoDB Streams to DynamoDB ("Not yet
    implemented")."""
    restore = stream_shards.install(3)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=free_port())
    server.start()
    endpoint = f"http://127.0.0.1:{server._port}"
    try:
        client = boto3.client("dynamodb", region_name=REGION, endpoint_url=endpoint)
        table = client.create_table(TableName="orders", KeySchema=[{"AttributeName": "orderId", "KeyType": "HASH"}],
                                    AttributeDefinitions=[{"AttributeName": "orderId", "AttributeType": "S"}],
                                    BillingMode="PAY_PER_REQUEST",
                                    StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"})
        yield (client, boto3.client("dynamodbstreams", region_name=REGION, endpoint_url=endpoint),
               table["TableDescription"]["LatestStreamArn"])
    finally:
        urllib.request.urlopen(urllib.request.Request(f"{endpoint}/moto-api/reset", method="POST")).close()
        server.stop()
        restore()


def _read(streams, arn: str, shard: str, kind: str = "TRIM_HORIZON") -> list[dict]:
    iterator = streams.get_shard_iterator(StreamArn=arn, ShardId=shard, ShardIteratorType=kind)["ShardIterator"]
    records = []
    while True:
        response = streams.get_records(ShardIterator=iterator, Limit=7)
        if not response["Records"]:
            return records
        records += response["Records"]
        iterator = response["NextShardIterator"]


def test_a_stream_has_the_shards_asked_for_and_each_item_stays_in_one_shard_in_order(sharded):
    dynamodb, streams, arn = sharded
    for version in range(1, 4):
        for key in range(20):
            dynamodb.put_item(TableName="orders", Item={"orderId": {"S": f"o{key}"}, "v": {"N": str(version)}})
    shards = [shard["ShardId"] for shard in streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"]]
    assert len(shards) == len(set(shards)) == 3
    by_shard = {shard: _read(streams, arn, shard) for shard in shards}
    assert all(by_shard.values())  # twenty keys spread over the three shards
    sequences = [int(r["dynamodb"]["SequenceNumber"]) for records in by_shard.values() for r in records]
    assert len(sequences) == len(set(sequences)) == 60
    homes: dict[str, str] = {}
    for shard, records in by_shard.items():
        assert [int(r["dynamodb"]["SequenceNumber"]) for r in records] == \
            sorted(int(r["dynamodb"]["SequenceNumber"]) for r in records)
        for record in records:
            key = record["dynamodb"]["Keys"]["orderId"]["S"]
            assert homes.setdefault(key, shard) == shard
    for key in homes:  # each item's versions in the order they were written
        versions = [r["dynamodb"]["NewImage"]["v"]["N"] for r in by_shard[homes[key]]
                    if r["dynamodb"]["Keys"]["orderId"]["S"] == key]
        assert versions == ["1", "2", "3"]


def test_latest_reads_only_what_follows_and_an_unknown_shard_is_not_found(sharded):
    dynamodb, streams, arn = sharded
    dynamodb.put_item(TableName="orders", Item={"orderId": {"S": "before"}})
    shards = [shard["ShardId"] for shard in streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"]]
    iterators = {shard: streams.get_shard_iterator(StreamArn=arn, ShardId=shard,
                                                   ShardIteratorType="LATEST")["ShardIterator"] for shard in shards}
    dynamodb.put_item(TableName="orders", Item={"orderId": {"S": "after"}})
    seen = [r["dynamodb"]["Keys"]["orderId"]["S"] for iterator in iterators.values()
            for r in streams.get_records(ShardIterator=iterator)["Records"]]
    assert seen == ["after"]
    with pytest.raises(ClientError) as error:
        streams.get_shard_iterator(StreamArn=arn, ShardId="shardId-00000000000000000000-00000000",
                                   ShardIteratorType="TRIM_HORIZON")
    assert error.value.response["Error"]["Code"] == "ResourceNotFoundException"


HANDLER = '''
import os, time

def handler(event, context):
    time.sleep(event.get("sleep", 0))
    return {"pid": os.getpid(), "version": VERSION}
'''


def _archive(version: int) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("app.py", HANDLER.replace("VERSION", str(version)))
    return buffer.getvalue()


@pytest.fixture
def functions(aws, tmp_path):
    """(Lambda client, runtime): functions created in moto run by a LambdaRuntime of at most 3 environments each."""
    runtime = LambdaRuntime(tmp_path, {"PATH": os.environ["PATH"], "LANG": "C.UTF-8"}, {}, max_environments=3)
    restore = runtime.install()
    role = boto3.client("iam").create_role(RoleName="fn", AssumeRolePolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                                "Principal": {"Service": "lambda.amazonaws.com"}}]}))["Role"]["Arn"]
    client = boto3.client("lambda", config=NO_RETRIES)
    for name in ("sleeper", "limited"):
        client.create_function(FunctionName=name, Runtime="python3.12", Role=role, Handler="app.handler",
                               Code={"ZipFile": _archive(1)}, Timeout=30)
    try:
        yield client, runtime
    finally:
        runtime.stop()
        restore()


def _invoke(client, name: str, sleep: float = 0) -> dict:
    response = client.invoke(FunctionName=name, Payload=json.dumps({"sleep": sleep}).encode())
    assert "FunctionError" not in response
    return json.loads(response["Payload"].read())


def test_invocations_run_at_once_in_warm_environments_up_to_the_local_cap(functions):
    client, runtime = functions
    with ThreadPoolExecutor(6) as pool:
        replies = list(pool.map(lambda _: _invoke(client, "sleeper", 1.0), range(6)))
    assert runtime.peak_concurrency("sleeper") == 3  # six at once, three environments: the rest waited
    assert len({reply["pid"] for reply in replies}) == 3
    again = {_invoke(client, "sleeper")["pid"] for _ in range(3)}
    assert again <= {reply["pid"] for reply in replies}  # warm environments are reused


def test_reserved_concurrency_throttles_the_invocation_beyond_it(functions):
    client, runtime = functions
    client.put_function_concurrency(FunctionName="limited", ReservedConcurrentExecutions=1)
    first = threading.Thread(target=_invoke, args=(client, "limited", 3.0))
    first.start()
    try:
        while runtime.peak_concurrency("limited") == 0:  # the first invocation holds the one environment
            time.sleep(0.01)
        with pytest.raises(ClientError) as error:
            client.invoke(FunctionName="limited", Payload=b"{}")
        assert error.value.response["Error"]["Code"] == "TooManyRequestsException"
        assert error.value.response["ResponseMetadata"]["HTTPStatusCode"] == 429
    finally:
        first.join()
    assert _invoke(client, "limited")["version"] == 1  # free again: served
    client.put_function_concurrency(FunctionName="limited", ReservedConcurrentExecutions=0)
    with pytest.raises(ClientError, match="TooManyRequestsException"):  # 0: the function is switched off
        client.invoke(FunctionName="limited", Payload=b"{}")


def test_new_code_runs_in_new_environments(functions):
    client, _ = functions
    before = _invoke(client, "sleeper")
    client.update_function_code(FunctionName="sleeper", ZipFile=_archive(2))
    after = _invoke(client, "sleeper")
    assert (before["version"], after["version"]) == (1, 2) and before["pid"] != after["pid"]
