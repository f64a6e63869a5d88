"""The AWS API as a script sees it: the real AWS CLI against `python -m localcloud serve`. Where AWS answers
differently from moto (names, EXPRESS-only refusals, quotas, payload checks, asynchronous delivery, logs, the
configuration the program set), localcloud answers as AWS does, so a script that works here works on AWS."""

import json
import os
import re
import subprocess
import sys
import time
import uuid
from pathlib import Path

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from tests.localcloud.serve_process import Serve, serving

pytestmark = pytest.mark.xdist_group("localcloud")

AWS = str(Path(sys.executable).with_name("aws"))
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "localcloud", "AWS_SECRET_ACCESS_KEY": "localcloud",
               "AWS_DEFAULT_REGION": "us-east-1"}
UUID = "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    with serving(tmp_path_factory.mktemp("serve")) as serve:
        yield serve


def aws(served: Serve, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    result = subprocess.run([AWS, "--endpoint-url", served.endpoint, "--output", "json", *args], capture_output=True,
                            text=True, timeout=120, env={**os.environ, **CREDENTIALS, "AWS_PAGER": ""})
    if check:
        assert result.returncode == 0, result.stderr
    return result


def ok(served: Serve, *args: str):
    stdout = aws(served, *args).stdout
    return json.loads(stdout) if stdout.strip() else None


def refused(served: Serve, *args: str) -> str:
    result = aws(served, *args, check=False)
    assert result.returncode != 0, result.stdout
    return result.stderr


def client(served: Serve, service: str, **config):
    return boto3.client(service, endpoint_url=served.endpoint, region_name="us-east-1",
                        aws_access_key_id="localcloud", aws_secret_access_key="localcloud", config=Config(**config))


def function_named(served: Serve, handler_package: str) -> dict:
    functions = ok(served, "lambda", "list-functions")["Functions"]
    return next(f for f in functions if f["Handler"].startswith(handler_package + "."))


def query_envelope(query: dict) -> str:
    """A workflow input as EventBridge builds it, for a query that writes nothing."""
    return json.dumps({"version": "0", "id": str(uuid.uuid4()), "detail-type": "orderQuery", "source": "orderPipeline",
                       "account": "123456789012", "time": "2024-01-01T00:00:00Z", "region": "us-east-1",
                       "resources": [], "detail": query})


def log_messages(served: Serve, group: str, minimum: int = 1, timeout: float = 30) -> list[dict]:
    """The group's log events (at least `minimum` of them: logs arrive as the work happens)."""
    deadline = time.monotonic() + timeout
    while True:
        events = ok(served, "logs", "filter-log-events", "--log-group-name", group)["events"]
        if len(events) >= minimum or time.monotonic() > deadline:
            return events
        time.sleep(0.5)


# -- Step Functions -------------------------------------------------------------------------------------------

def test_start_execution_without_a_name_gets_a_generated_one_and_express_arns_are_unique(served: Serve):
    machine, name = served.outputs()["StateMachineArn"], served.outputs()["StateMachineName"]
    express = re.compile(rf"^arn:aws:states:us-east-1:\d{{12}}:express:{name}:(?P<name>[^:]+):{UUID}$")
    started = [ok(served, "stepfunctions", "start-execution", "--state-machine-arn", machine,
                  "--input", query_envelope({"query": "getOrder", "orderId": "nobody"}))["executionArn"]
               for _ in range(2)]  # moto: ":None", then ExecutionAlreadyExists
    assert started[0] != started[1]
    assert all(re.fullmatch(UUID, express.match(arn)["name"]) for arn in started)
    # An EXPRESS execution name can be used again at once.
    named = [ok(served, "stepfunctions", "start-execution", "--state-machine-arn", machine, "--name", "again",
                "--input", query_envelope({"query": "getOrder", "orderId": "nobody"}))["executionArn"]
             for _ in range(2)]
    assert named[0] != named[1] and {express.match(arn)["name"] for arn in named} == {"again"}


def test_what_aws_refuses_for_express_workflows_is_refused(served: Serve):
    machine = served.outputs()["StateMachineArn"]
    envelope = query_envelope({"query": "getOrder", "orderId": "nobody"})
    execution = ok(served, "stepfunctions", "start-execution", "--state-machine-arn", machine,
                   "--input", envelope)["executionArn"]
    error = refused(served, "stepfunctions", "list-executions", "--state-machine-arn", machine)
    assert "(StateMachineTypeNotSupported)" in error
    assert "This operation is not supported by this type of state machine" in error
    for command in ("describe-execution", "get-execution-history", "stop-execution",
                    "describe-state-machine-for-execution", "redrive-execution"):
        error = refused(served, "stepfunctions", command, "--execution-arn", execution)
        assert "(InvalidArn)" in error and "Resource type not valid in this context: express" in error, command
    # localcloud's own bookkeeping does not go through the refused API: the execution ran and answered.
    assert served.response_to(json.loads(envelope)["id"])["queryStatus"] == 404


def test_executions_log_to_the_state_machines_log_group_as_configured(served: Serve):
    machine = served.outputs()["StateMachineArn"]
    logging = ok(served, "stepfunctions", "describe-state-machine", "--state-machine-arn", machine)[
        "loggingConfiguration"]
    group = logging["destinations"][0]["cloudWatchLogsLogGroup"]["logGroupArn"].split(":log-group:")[1]
    group = group.removesuffix(":*")
    envelope = query_envelope({"query": "getOrder", "orderId": "logged"})
    execution = ok(served, "stepfunctions", "start-execution", "--state-machine-arn", machine,
                   "--input", envelope)["executionArn"]
    served.response_to(json.loads(envelope)["id"])
    deadline, records = time.monotonic() + 30, []
    while not any(r["type"] == "ExecutionSucceeded" for r in records) and time.monotonic() < deadline:
        records = [json.loads(e["message"]) for e in log_messages(served, group)]
        records = [r for r in records if r["execution_arn"] == execution]
        time.sleep(0.2)
    assert logging["level"] == "ALL"  # dev: every event, with its data
    assert records[0]["type"] == "ExecutionStarted" and json.loads(records[0]["details"]["input"]) == \
        json.loads(envelope)
    assert records[-1]["type"] == "ExecutionSucceeded" and "TaskSucceeded" in {r["type"] for r in records}
    assert [int(r["id"]) for r in records] == list(range(1, len(records) + 1))
    assert all(r["event_timestamp"].isdigit() for r in records)
    streams = ok(served, "logs", "describe-log-streams", "--log-group-name", group)["logStreams"]
    assert all(re.fullmatch(rf"states/{served.outputs()['StateMachineName']}/\d{{4}}(-\d\d){{4}}/[0-9a-f]{{8}}",
                            s["logStreamName"]) for s in streams)


# -- EventBridge ------------------------------------------------------------------------------------------------

def entries(count: int, detail: str = '{"note": "matches no rule"}', detail_type: str = "unrouted") -> str:
    return json.dumps([{"EventBusName": "placeholder", "Source": "localcloud.test", "DetailType": detail_type,
                        "Detail": detail}] * count)


def put_events(served: Serve, tmp_path: Path, batch: list[dict]) -> subprocess.CompletedProcess:
    request = tmp_path / "request.json"
    request.write_text(json.dumps({"Entries": batch}))
    return aws(served, "events", "put-events", "--cli-input-json", f"file://{request}", check=False)


def test_put_events_takes_1_to_10_entries_and_256_kb_in_all(served: Serve, tmp_path: Path):
    bus = served.outputs()["EventBusName"]
    ten = [{**e, "EventBusName": bus} for e in json.loads(entries(10))]
    assert json.loads(put_events(served, tmp_path, ten).stdout)["FailedEntryCount"] == 0
    error = put_events(served, tmp_path, ten + ten[:1]).stderr
    assert "(ValidationException)" in error and "Member must have length less than or equal to 10" in error
    half = {**ten[0], "Detail": json.dumps({"padding": "x" * 150_000})}  # each entry fine, together too large
    error = put_events(served, tmp_path, [half, half]).stderr
    assert "(ValidationException)" in error and "Total size of the entries in the request is over the limit" in error
    with pytest.raises(ClientError, match="greater than or equal to 1"):  # the CLI itself refuses an empty list
        client(served, "events", parameter_validation=False).put_events(Entries=[])


def test_put_events_checks_each_detail_as_eventbridge_reads_it(served: Serve, tmp_path: Path):
    bus = served.outputs()["EventBusName"]
    details = ['{"a": ' + "[" * 1099 + "]" * 1099 + "}", '{"a": ' + "[" * 1100 + "]" * 1100 + "}",  # "nested JSON
               '{"n": 9223372036854775807}', '{"n": 9223372036854775808}',  # up to 1100 levels deep"; an integer
               '{"n": -9223372036854775808}', '{"n": -9223372036854775809}']  # is a 64-bit one
    batch = [{"EventBusName": bus, "Source": "localcloud.test", "DetailType": "unrouted", "Detail": d} for d in details]
    results = json.loads(put_events(served, tmp_path, batch).stdout)["Entries"]
    assert [r.get("ErrorCode") for r in results] == [None, "MalformedDetail"] * 3


def test_put_events_answers_before_the_targets_run(served: Serve):
    """On AWS PutEvents returns in milliseconds and delivery is asynchronous (here it took ~1.9 s per 10)."""
    events = client(served, "events")
    batch = [{"EventBusName": served.outputs()["EventBusName"], "Source": "orderPipeline", "DetailType": "orderQuery",
              "Detail": json.dumps({"query": "getOrder", "orderId": f"quick-{n}"})} for n in range(10)]
    started = time.monotonic()
    results = events.put_events(Entries=batch)["Entries"]
    assert time.monotonic() - started < 0.5
    assert [served.response_to(r["EventId"])["queryStatus"] for r in results] == [404] * 10  # all delivered


# -- Lambda -----------------------------------------------------------------------------------------------------

def test_invoke_with_a_payload_that_is_not_json_is_invalid_request_content(served: Serve, tmp_path: Path):
    name = function_named(served, "get_order")["FunctionName"]
    started = time.monotonic()
    error = refused(served, "lambda", "invoke", "--function-name", name,
                    "--payload", "not json", str(tmp_path / "out.json"))
    assert "(InvalidRequestContentException)" in error and "Could not parse request body into json" in error
    assert time.monotonic() - started < 20  # a client error: no retries on a 500 page


def test_invoke_payload_quotas_dry_run_and_asynchronous_invocations(served: Serve, tmp_path: Path):
    function = function_named(served, "get_order")
    name, group = function["FunctionName"], function["LoggingConfig"]["LogGroup"]
    big = tmp_path / "big.json"
    big.write_text(json.dumps({"padding": "x" * (6 * 1024 * 1024)}))
    for kind, payload in (("RequestResponse", big), ("Event", big)):
        error = refused(served, "lambda", "invoke", "--function-name", name, "--invocation-type", kind,
                        "--payload", f"fileb://{payload}", str(tmp_path / "out.json"))
        assert "(RequestTooLargeException)" in error, kind
    medium = tmp_path / "medium.json"  # within the synchronous quota, over the asynchronous one (1 MB)
    medium.write_text(json.dumps({"query": "getOrder", "orderId": "m", "padding": "x" * (1024 * 1024)}))
    assert "(RequestTooLargeException)" in refused(served, "lambda", "invoke", "--function-name", name,
                                                   "--invocation-type", "Event", "--payload", f"fileb://{medium}",
                                                   str(tmp_path / "out.json"))
    answered = len(log_messages(served, group, minimum=0))
    query = json.dumps({"query": "getOrder", "orderId": "nobody"})
    dry = ok(served, "lambda", "invoke", "--function-name", name, "--invocation-type", "DryRun",
             "--payload", query, str(tmp_path / "out.json"))
    assert dry["StatusCode"] == 204
    started = time.monotonic()
    queued = ok(served, "lambda", "invoke", "--function-name", name, "--invocation-type", "Event",
                "--payload", query, str(tmp_path / "out.json"))
    assert queued["StatusCode"] == 202 and time.monotonic() - started < 10
    logged = [json.loads(e["message"]) for e in log_messages(served, group, minimum=answered + 1)]
    assert len(logged) == answered + 1 and logged[-1]["message"] == "query answered"  # only the Event one ran


def test_function_logs_are_in_the_log_group_the_program_configured(served: Serve):
    function = function_named(served, "get_order")
    config = function["LoggingConfig"]
    assert config["LogFormat"] == "JSON" and config["ApplicationLogLevel"] == "INFO"
    reply = ok(served, "events", "put-events", "--entries", json.dumps([{
        "EventBusName": served.outputs()["EventBusName"], "Source": "orderPipeline", "DetailType": "orderQuery",
        "Detail": json.dumps({"query": "getOrder", "orderId": "log-me"})}]))
    served.response_to(reply["Entries"][0]["EventId"])
    events = log_messages(served, config["LogGroup"])
    records = [json.loads(e["message"]) for e in events]
    assert any(r.get("message") == "query answered" and r.get("function_name") == function["FunctionName"]
               for r in records)
    assert all(r.get("level") in ("INFO", "WARNING", "ERROR", "CRITICAL") for r in records if "level" in r)
    assert not any(str(r.get("type", "")).startswith("platform.") for r in records)  # system log level WARN
    streams = ok(served, "logs", "describe-log-streams", "--log-group-name", config["LogGroup"])["logStreams"]
    assert streams and all(re.fullmatch(r"\d{4}/\d\d/\d\d/\[\$LATEST\][0-9a-f]{32}", s["logStreamName"])
                           for s in streams)


def test_the_projectors_event_source_mapping_is_listed(served: Serve):
    projector = function_named(served, "projector")
    [mapping] = ok(served, "lambda", "list-event-source-mappings", "--function-name",
                   projector["FunctionName"])["EventSourceMappings"]
    table = ok(served, "dynamodb", "describe-table", "--table-name", served.outputs()["OrdersTableName"])["Table"]
    assert mapping["EventSourceArn"] == table["LatestStreamArn"] and mapping["State"] == "Enabled"
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"] and mapping["BisectBatchOnFunctionError"]


# -- the configuration the program set, for every emulated resource ------------------------------------------

# For each provisioned type, the inputs the checks below compare with what the emulated API shows; a new type or
# input in the program fails `test_every_input_of_every_emulated_type_is_checked` until it is emulated and checked.
CHECKED = {
    "aws:lambda/function:Function": {"architectures", "description", "environment", "handler", "layers",
                                     "loggingConfig", "memorySize", "reservedConcurrentExecutions", "role", "runtime",
                                     "timeout", "tracingConfig", "vpcConfig"},
    "aws:sfn/stateMachine:StateMachine": {"definition", "loggingConfiguration", "roleArn", "tracingConfiguration",
                                          "type"},
    "aws:dynamodb/table:Table": {"attributes", "billingMode", "deletionProtectionEnabled", "hashKey",
                                 "pointInTimeRecovery", "serverSideEncryption", "streamEnabled", "streamViewType"},
    "aws:lambda/eventSourceMapping:EventSourceMapping": {
        "batchSize", "bisectBatchOnFunctionError", "destinationConfig", "eventSourceArn", "functionName",
        "functionResponseTypes", "maximumBatchingWindowInSeconds", "maximumRecordAgeInSeconds", "maximumRetryAttempts",
        "startingPosition"},
    "aws:lambda/layerVersion:LayerVersion": {"compatibleArchitectures", "compatibleRuntimes", "description",
                                             "layerName"},
    "aws:sqs/queue:Queue": {"messageRetentionSeconds", "sqsManagedSseEnabled"},
    "aws:sqs/queuePolicy:QueuePolicy": {"policy", "queueUrl"},
    "aws:cloudwatch/logGroup:LogGroup": {"name", "namePrefix", "retentionInDays"},
    "aws:iam/role:Role": {"assumeRolePolicy"},
    "aws:iam/rolePolicy:RolePolicy": {"policy", "role"},
    "aws:cloudwatch/eventBus:EventBus": set(),
    "aws:cloudwatch/eventRule:EventRule": {"description", "eventBusName", "eventPattern", "state"},
    "aws:cloudwatch/eventTarget:EventTarget": {"arn", "deadLetterConfig", "eventBusName", "retryPolicy", "roleArn",
                                               "rule"},
    "aws:sns/topic:Topic": set(),
}
NOT_API_STATE = {  # inputs that are not configuration an API shows, and why
    "code": "the archive itself: the functions run their deployed archives (test_end_to_end)",
    "sourceCodeHash": "a trigger for redeploying the archive, not stored by Lambda",
}
NOT_CONFIGURATION = {  # provisioned types that are no configurable AWS resource offline, and why
    "aws:lambda/invocation:Invocation": "an invocation at deploy time (the schema migration), not a resource",
    "aws:rds/cluster:Cluster": "the local MariaDB stands in for Aurora: endpoints, port and secret point at it",
    "aws:rds/parameterGroup:ParameterGroup": "its parameters are applied to the local MariaDB (SET GLOBAL)",
    "aws:apigateway/restApi:RestApi": "served by localcloud/http_api.py, not by moto's API Gateway",
    "aws:apigateway/stage:Stage": "served by localcloud/http_api.py, not by moto's API Gateway",
    "aws:apigateway/methodSettings:MethodSettings": "its throttling is enforced by localcloud/api_throttle.py",
    "aws:lambda/permission:Permission": "recorded: the API invokes its authorizer only with it (api_authorizer.py)",
}


@pytest.fixture(scope="module")
def program():
    from harness.program import run_program
    return run_program("dev")  # the same program and stack `serve` deployed, recorded without a cloud


def camel(inputs: dict) -> dict:
    return {key[0].upper() + key[1:]: value for key, value in inputs.items()}


def emulator_neutral(document: dict) -> str:
    """A document without what only the service decides: a stream ARN's creation time, a secret ARN's random
    suffix (placeholders in the program recorded without a cloud)."""
    text = re.sub(r"/stream/[0-9T:.-]+", "/stream/<created>", json.dumps(document, sort_keys=True))
    return re.sub(r"(:secret:[^\"]+)-[A-Za-z0-9]{6}\b", r"\1-<random>", text)


def test_every_input_of_every_emulated_type_is_checked(program):
    from localcloud.mocks import INERT, _PROVISIONERS
    assert set(_PROVISIONERS) == set(CHECKED) | set(NOT_CONFIGURATION)
    for resource in program.resources:
        if resource.type in CHECKED:
            unchecked = set(resource.inputs) - CHECKED[resource.type] - set(NOT_API_STATE)
            assert not unchecked, f"{resource.type} {resource.name}: {sorted(unchecked)} not emulated or not checked"
        else:
            assert not resource.type.startswith("aws:") or resource.type in INERT | set(NOT_CONFIGURATION)


def test_functions_show_what_the_program_configured(served: Serve, program):
    for resource in program.of_type("aws:lambda/function:Function"):
        inputs, name = resource.inputs, resource.state["name"]
        shown = ok(served, "lambda", "get-function", "--function-name", name)
        config = shown["Configuration"]
        assert (config["Runtime"], config["Handler"], config["Timeout"], config["MemorySize"], config["Description"],
                config["Role"]) == (inputs["runtime"], inputs["handler"], inputs["timeout"], inputs["memorySize"],
                                    inputs.get("description", ""), inputs["role"]), name
        assert config["Architectures"] == inputs["architectures"]
        assert config["TracingConfig"] == {"Mode": inputs["tracingConfig"]["mode"]}
        assert config["LoggingConfig"] == camel(inputs["loggingConfig"]), name
        assert set(config["Environment"]["Variables"]) == set(inputs["environment"]["variables"])
        assert [layer["Arn"].split(":")[-2] for layer in config["Layers"]] == \
            [arn.split(":")[-2] for arn in inputs["layers"]]
        reserved = int(inputs.get("reservedConcurrentExecutions", -1))
        assert shown.get("Concurrency", {}).get("ReservedConcurrentExecutions") == (None if reserved < 0 else reserved)
        if inputs.get("vpcConfig"):
            groups = {g.id: g for g in program.of_type("aws:ec2/securityGroup:SecurityGroup")}
            vpc = groups[inputs["vpcConfig"]["securityGroupIds"][0]].inputs["vpcId"]
            assert config["VpcConfig"] == {"SubnetIds": inputs["vpcConfig"]["subnetIds"],
                                           "SecurityGroupIds": inputs["vpcConfig"]["securityGroupIds"],
                                           "VpcId": vpc, "Ipv6AllowedForDualStack": False}, name
        else:
            assert "VpcConfig" not in config, name


def test_state_machines_show_what_the_program_configured(served: Serve, program):
    for resource in program.of_type("aws:sfn/stateMachine:StateMachine"):
        inputs = resource.inputs
        shown = ok(served, "stepfunctions", "describe-state-machine", "--state-machine-arn", resource.state["arn"])
        assert (shown["type"], shown["roleArn"]) == (inputs["type"], inputs["roleArn"])
        assert json.loads(shown["definition"]) == json.loads(inputs["definition"])
        logging = inputs["loggingConfiguration"]
        assert shown["loggingConfiguration"] == {
            "level": logging["level"], "includeExecutionData": logging["includeExecutionData"],
            "destinations": [{"cloudWatchLogsLogGroup": {"logGroupArn": logging["logDestination"]}}]}
        assert shown["tracingConfiguration"] == {"enabled": inputs["tracingConfiguration"]["enabled"]}


def test_the_table_and_the_mapping_show_what_the_program_configured(served: Serve, program):
    table = program.one("aws:dynamodb/table:Table")
    inputs = table.inputs
    shown = ok(served, "dynamodb", "describe-table", "--table-name", table.state["name"])["Table"]
    assert shown["KeySchema"] == [{"AttributeName": inputs["hashKey"], "KeyType": "HASH"}]
    assert shown["AttributeDefinitions"] == [{"AttributeName": a["name"], "AttributeType": a["type"]}
                                             for a in inputs["attributes"]]
    assert shown["BillingModeSummary"]["BillingMode"] == inputs["billingMode"]
    assert shown["StreamSpecification"] == {"StreamEnabled": inputs["streamEnabled"],
                                            "StreamViewType": inputs["streamViewType"]}
    assert (shown.get("SSEDescription", {}).get("Status") == "ENABLED") == inputs["serverSideEncryption"]["enabled"]
    assert shown.get("DeletionProtectionEnabled", False) == inputs["deletionProtectionEnabled"]
    backups = ok(served, "dynamodb", "describe-continuous-backups", "--table-name", table.state["name"])
    recovery = backups["ContinuousBackupsDescription"]["PointInTimeRecoveryDescription"]["PointInTimeRecoveryStatus"]
    assert (recovery == "ENABLED") == inputs["pointInTimeRecovery"]["enabled"]
    for resource in program.of_type("aws:lambda/eventSourceMapping:EventSourceMapping"):
        inputs = resource.inputs
        function = inputs["functionName"].rsplit(":", 1)[1]
        [mapping] = ok(served, "lambda", "list-event-source-mappings", "--function-name",
                       function)["EventSourceMappings"]
        assert mapping["EventSourceArn"] == shown["LatestStreamArn"]  # the program's is a placeholder offline
        assert {key: mapping.get(key) for key in ("BatchSize", "MaximumBatchingWindowInSeconds",
                                                  "MaximumRetryAttempts", "MaximumRecordAgeInSeconds",
                                                  "BisectBatchOnFunctionError", "FunctionResponseTypes",
                                                  "StartingPosition")} == \
            {"BatchSize": inputs["batchSize"], "MaximumBatchingWindowInSeconds": inputs["maximumBatchingWindowInSeconds"],
             "MaximumRetryAttempts": inputs["maximumRetryAttempts"],
             "MaximumRecordAgeInSeconds": inputs["maximumRecordAgeInSeconds"],
             "BisectBatchOnFunctionError": inputs["bisectBatchOnFunctionError"],
             "FunctionResponseTypes": inputs["functionResponseTypes"], "StartingPosition": inputs["startingPosition"]}
        assert mapping["DestinationConfig"] == {
            "OnFailure": {"Destination": inputs["destinationConfig"]["onFailure"]["destinationArn"]}}


def test_the_other_resources_show_what_the_program_configured(served: Serve, program):
    iam, logs, sqs, events, functions = (client(served, name) for name in ("iam", "logs", "sqs", "events", "lambda"))
    for role in program.of_type("aws:iam/role:Role"):
        shown = iam.get_role(RoleName=role.state["name"])["Role"]["AssumeRolePolicyDocument"]
        assert shown == json.loads(role.inputs["assumeRolePolicy"]), role.name
    for policy in program.of_type("aws:iam/rolePolicy:RolePolicy"):
        shown = iam.get_role_policy(RoleName=policy.inputs["role"], PolicyName=policy.state["name"])
        assert emulator_neutral(shown["PolicyDocument"]) == emulator_neutral(json.loads(policy.inputs["policy"])), \
            policy.name
    for group in program.of_type("aws:cloudwatch/logGroup:LogGroup"):
        [shown] = [g for g in logs.describe_log_groups(logGroupNamePrefix=group.state["name"])["logGroups"]
                   if g["logGroupName"] == group.state["name"]]
        assert shown.get("retentionInDays") == group.inputs.get("retentionInDays"), group.name
    urls = {q.state["name"]: q.state["url"] for q in program.of_type("aws:sqs/queue:Queue")}
    for queue in program.of_type("aws:sqs/queue:Queue"):
        url = sqs.get_queue_url(QueueName=queue.state["name"])["QueueUrl"]
        shown = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
        assert shown["SqsManagedSseEnabled"] == str(queue.inputs["sqsManagedSseEnabled"]).lower(), queue.name
        assert int(shown["MessageRetentionPeriod"]) == queue.inputs["messageRetentionSeconds"], queue.name
        policies = [p for p in program.of_type("aws:sqs/queuePolicy:QueuePolicy")
                    if p.inputs["queueUrl"] == urls[queue.state["name"]]]
        assert [json.loads(shown["Policy"])] == [json.loads(p.inputs["policy"]) for p in policies] if policies \
            else "Policy" not in shown
    for layer in program.of_type("aws:lambda/layerVersion:LayerVersion"):
        [shown] = functions.list_layer_versions(LayerName=layer.inputs["layerName"])["LayerVersions"]
        assert (shown["Description"], shown["CompatibleRuntimes"], shown["CompatibleArchitectures"]) == \
            (layer.inputs["description"], layer.inputs["compatibleRuntimes"], layer.inputs["compatibleArchitectures"])
    for rule in program.of_type("aws:cloudwatch/eventRule:EventRule"):
        shown = events.describe_rule(Name=rule.state["name"], EventBusName=rule.inputs["eventBusName"])
        assert (json.loads(shown["EventPattern"]), shown["State"], shown["Description"]) == \
            (json.loads(rule.inputs["eventPattern"]), rule.inputs["state"], rule.inputs["description"])
    for target in program.of_type("aws:cloudwatch/eventTarget:EventTarget"):
        shown = {t["Arn"]: t for t in events.list_targets_by_rule(Rule=target.inputs["rule"],
                                                                    EventBusName=target.inputs["eventBusName"])["Targets"]}
        inputs = target.inputs
        assert shown[inputs["arn"]].get("RoleArn") == inputs.get("roleArn")
        assert shown[inputs["arn"]]["RetryPolicy"] == {
            "MaximumRetryAttempts": inputs["retryPolicy"]["maximumRetryAttempts"],
            "MaximumEventAgeInSeconds": inputs["retryPolicy"]["maximumEventAgeInSeconds"]}
        assert shown[inputs["arn"]]["DeadLetterConfig"] == {"Arn": inputs["deadLetterConfig"]["arn"]}
