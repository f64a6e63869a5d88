"""Lambda rules."""

import pytest

from tests.policy.helpers import UNKNOWN_STRING, check, messages, resource

FUNCTION = "aws:lambda/function:Function"
VPC = {"subnetIds": ["subnet-1", "subnet-2"], "securityGroupIds": ["sg-1"]}
GOOD = {"timeout": 30.0, "loggingConfig": {"logFormat": "JSON", "logGroup": "/aws/lambda/f"},
        "tracingConfig": {"mode": "Active"}, "vpcConfig": VPC,
        "environment": {"variables": {"DB_HOST": "db.internal", "DB_USER": "cqrs_reader", "DB_USER_AUTH": "iam",
                                      "MASTER_SECRET_ARN": "arn:aws:secretsmanager:us-east-1:123456789012:secret:x"}}}


def env(**variables) -> dict:
    return {"environment": {"variables": variables}}


def test_a_well_configured_database_function_passes_every_rule():
    for policy in ("lambda-timeout", "lambda-json-logs", "lambda-tracing", "lambda-database-in-vpc",
                   "lambda-no-secret-environment"):
        assert messages(policy, FUNCTION, GOOD) == [], policy


def test_timeout_must_be_explicit():
    [message] = messages("lambda-timeout", FUNCTION, {}, name="projector")
    assert "'projector'" in message and "timeout" in message
    # The provider fills in its 3 s default during Check and lists the key in __defaults.
    assert messages("lambda-timeout", FUNCTION, {"timeout": 3.0, "__defaults": ["timeout"]})
    assert messages("lambda-timeout", FUNCTION, {"timeout": 3.0, "__defaults": ["memorySize"]}) == []


def test_json_logs_and_tracing():
    assert "log_format" in messages("lambda-json-logs", FUNCTION, {})[0]
    assert "tracing_config" in messages("lambda-tracing", FUNCTION, {"tracingConfig": {"mode": "PassThrough"}})[0]


def test_functions_that_reach_the_database_run_in_the_vpc():
    outside = {k: v for k, v in GOOD.items() if k != "vpcConfig"}
    [message] = messages("lambda-database-in-vpc", FUNCTION, outside, name="projector")
    assert "'projector'" in message and "vpc_config" in message
    assert messages("lambda-database-in-vpc", FUNCTION, {**outside, "vpcConfig": {"subnetIds": []}})
    assert messages("lambda-database-in-vpc", FUNCTION, env(MIGRATE_FUNCTION_NAME="m")) == []
    # In preview the host and the subnets are outputs of resources not created yet: still decided.
    unknown = {**env(DB_HOST=UNKNOWN_STRING), "vpcConfig": {"subnetIds": UNKNOWN_STRING, "securityGroupIds": ["s"]}}
    assert check("lambda-database-in-vpc", [resource(FUNCTION, unknown)]) == []
    assert messages("lambda-database-in-vpc", FUNCTION, env(DB_HOST=UNKNOWN_STRING))


@pytest.mark.parametrize("name", ["DB_PASSWORD", "dbPassword", "DB_PASS", "API_KEY", "apiKey", "GITHUB_TOKEN",
                                  "CLIENT_SECRET", "PRIVATE_KEY", "AWS_SECRET_ACCESS_KEY", "SERVICE_CREDENTIALS",
                                  "MASTER_SECRET_ARN"])
def test_secret_named_variables_may_hold_only_an_arn(name: str):
    [message] = messages("lambda-no-secret-environment", FUNCTION, env(**{name: "hunter2"}), name="launcher")
    assert "'launcher'" in message and name in message and "Secrets Manager" in message
    assert "hunter2" not in message  # the report must not leak the secret
    arn = "arn:aws:secretsmanager:us-east-1:123456789012:secret:db-AbCdEf"
    assert messages("lambda-no-secret-environment", FUNCTION, env(**{name: arn})) == []


@pytest.mark.parametrize("name", ["DB_USER", "DB_USER_AUTH", "PASSTHROUGH_MODE", "BYPASS_CACHE", "KEYSPACE",
                                  "POWERTOOLS_SERVICE_NAME", "PARTITION_KEY"])
def test_ordinary_variables_pass(name: str):
    assert messages("lambda-no-secret-environment", FUNCTION, env(**{name: "value"})) == []


def test_secret_looking_values_fail_whatever_the_name():
    assert messages("lambda-no-secret-environment", FUNCTION, env(SETTINGS="id=AKIAIOSFODNN7EXAMPLE"))
    assert messages("lambda-no-secret-environment", FUNCTION,
                    env(CERT="-----BEGIN RSA PRIVATE KEY-----\nMIIE..."))


def test_values_unknown_in_preview_and_empty_values_are_not_literals():
    assert check("lambda-no-secret-environment",
                 [resource(FUNCTION, env(DB_PASSWORD=UNKNOWN_STRING, API_TOKEN=""))]) == []
