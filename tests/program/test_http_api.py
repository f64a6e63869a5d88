"""The HTTP API in the program, under the mock runtime: its JWT authorizer from the stack's settings (a function
whose role may only write its logs, invoked by API Gateway through a resource policy scoped to this API's
authorizers, named by every operation's security requirement, with its own dependency layer), and the alarm on its
5xx answers."""

import json
import zipfile

import pytest

from harness.program import ProgramRun, run_program
from policy.offline import evaluate, resolve_config
from policy.rules import POLICIES

ISSUER = "https://login.example.com/tenant-1"
JWT = {"cqrs-orders:httpApiAuthorization": "jwt", "cqrs-orders:httpApiJwtIssuer": ISSUER,
       "cqrs-orders:httpApiJwtAudience": "orders-api"}
FUNCTION = "aws:lambda/function:Function"
LAYER = "aws:lambda/layerVersion:LayerVersion"


@pytest.fixture(scope="module")
def jwt_stack() -> ProgramRun:
    return run_program("prod", config_overrides=JWT)


def test_a_jwt_stack_has_a_lambda_token_authorizer_on_every_operation(jwt_stack):
    authorizer = jwt_stack.one(FUNCTION, "jwt-authorizer-function")
    assert authorizer.inputs["handler"] == "jwt_authorizer.handler.handler"
    assert (authorizer.inputs["runtime"], authorizer.inputs["architectures"]) == ("python3.12", ["arm64"])
    variables = authorizer.inputs["environment"]["variables"]
    assert (variables["JWT_ISSUER"], variables["JWT_AUDIENCE"]) == (ISSUER, "orders-api")
    assert "vpcConfig" not in authorizer.inputs or not authorizer.inputs["vpcConfig"]  # it fetches the issuer's keys
    body = json.loads(jwt_stack.one("aws:apigateway/restApi:RestApi").inputs["body"])
    scheme = body["components"]["securitySchemes"]
    assert list(scheme) == ["jwt"] and body["security"] == [{"jwt": []}]
    settings = scheme["jwt"]["x-amazon-apigateway-authorizer"]
    assert settings["type"] == "token" and settings["authorizerUri"] == authorizer.state["invokeArn"]
    assert 0 < settings["authorizerResultTtlInSeconds"] <= 300
    assert all("401" in operation["responses"] for path in body["paths"].values() for operation in path.values())


def test_the_authorizer_has_its_own_layer_and_no_other_function_loads_cryptography(jwt_stack):
    """PyJWT and cryptography are in the authorizer's layer only: in the shared layer, pymysql would import
    cryptography on every database function's cold start. The shared layer is the iam stack's, byte for byte."""
    layers = {layer.name: layer for layer in jwt_stack.of_type(LAYER)}
    assert set(layers) == {"deps-layer", "routing-http-jwt-authorizer-deps-layer"}
    shared, own = layers["deps-layer"], layers["routing-http-jwt-authorizer-deps-layer"]
    assert shared.inputs["sourceCodeHash"] == run_program("prod").one(LAYER).inputs["sourceCodeHash"]
    assert own.inputs["layerName"] == "cqrs-orders-prod-routing-http-jwt-authorizer-deps"
    for function in jwt_stack.of_type(FUNCTION):
        expected = own if function.name.endswith("jwt-authorizer-function") else shared
        assert function.inputs["layers"] == [expected.state["arn"]], function.name
    shared_names = zipfile.ZipFile(shared.inputs["code"].path).namelist()
    own_names = zipfile.ZipFile(own.inputs["code"].path).namelist()
    assert "python/pymysql/__init__.py" in shared_names and "python/pymysql/__init__.py" not in own_names
    for package in ("jwt", "cryptography", "cffi"):
        assert not any(n.startswith(f"python/{package}/") for n in shared_names), package
        assert f"python/{package}/__init__.py" in own_names, package
    assert "python/aws_lambda_powertools/__init__.py" in own_names  # its Logger


def test_the_authorizers_role_may_only_write_its_logs_and_api_gateway_invokes_it_for_this_api_only(jwt_stack):
    authorizer = jwt_stack.one(FUNCTION, "jwt-authorizer-function")
    [policy] = [p for p in jwt_stack.of_type("aws:iam/rolePolicy:RolePolicy") if "jwt-authorizer" in p.name]
    actions = {a for s in json.loads(policy.inputs["policy"])["Statement"] for a in s["Action"]}
    assert actions == {"logs:CreateLogStream", "logs:PutLogEvents", "xray:PutTraceSegments",
                       "xray:PutTelemetryRecords", "xray:GetSamplingRules", "xray:GetSamplingTargets"}
    roles = [r for r in jwt_stack.of_type("aws:iam/role:Role") if "jwt-authorizer" in r.name]
    assert len(roles) == 1 and authorizer.inputs["role"] == roles[0].state["arn"]
    permission = jwt_stack.one("aws:lambda/permission:Permission")
    api = jwt_stack.one("aws:apigateway/restApi:RestApi")
    assert (permission.inputs["principal"], permission.inputs["action"]) == ("apigateway.amazonaws.com",
                                                                              "lambda:InvokeFunction")
    assert permission.inputs["function"] == authorizer.state["name"]
    assert permission.inputs["sourceArn"] == api.state["executionArn"] + "/authorizers/*"


def test_the_authorizers_failures_alarm_like_every_functions(jwt_stack):
    alarms = {a.inputs["metricName"] for a in jwt_stack.of_type("aws:cloudwatch/metricAlarm:MetricAlarm")
              if a.inputs["dimensions"].get("FunctionName") == jwt_stack.one(FUNCTION, "jwt-authorizer-function")
              .state["name"]}
    assert alarms == {"Errors", "Throttles"}


def test_the_jwt_stack_passes_the_policy_pack(jwt_stack):
    settings = resolve_config(POLICIES, json.load(open("policy/config.prod.json")), "policy/config.prod.json")
    mandatory = [v for v in evaluate(jwt_stack.resources, POLICIES, settings) if v.level == "mandatory"]
    assert mandatory == []


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_an_iam_stack_has_no_authorizer(stack):
    run = run_program(stack)
    assert not [f for f in run.of_type(FUNCTION) if "authorizer" in f.name]
    assert not run.of_type("aws:lambda/permission:Permission")
    assert [layer.name for layer in run.of_type(LAYER)] == ["deps-layer"]  # the shared layer only


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_the_apis_5xx_answers_raise_an_alarm_on_the_stacks_topic(stack):
    run = run_program(stack)
    api, stage = run.one("aws:apigateway/restApi:RestApi"), run.one("aws:apigateway/stage:Stage")
    topic = run.one("aws:sns/topic:Topic", "alarms-topic")
    [alarm] = [a for a in run.of_type("aws:cloudwatch/metricAlarm:MetricAlarm")
               if a.inputs["namespace"] == "AWS/ApiGateway"]
    assert alarm.name == "alarms-http-api-5xx"
    assert (alarm.inputs["metricName"], alarm.inputs["statistic"]) == ("5XXError", "Sum")
    assert alarm.inputs["dimensions"] == {"ApiName": api.state["name"], "Stage": stage.inputs["stageName"]}
    assert (alarm.inputs["comparisonOperator"], alarm.inputs["threshold"]) == ("GreaterThanThreshold", 0)
    assert alarm.inputs["alarmActions"] == [topic.state["arn"]] and alarm.inputs["treatMissingData"] == "notBreaching"


def test_without_the_api_there_is_no_api_alarm():
    run = run_program("dev", config_overrides={"cqrs-orders:httpApi": "false"})
    assert not [a for a in run.of_type("aws:cloudwatch/metricAlarm:MetricAlarm")
                if a.inputs["namespace"] == "AWS/ApiGateway"]
