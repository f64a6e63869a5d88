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


@pytest.mark.parametrize("props", [{}, {"timeout": 3.0}], ids=["unset", "provider-default"])
def test_timeout_must_be_explicit(props: dict):
    # The provider fills in timeout 3 when it is unset, and the engine strips __defaults, which would tell them apart.
    [message] = messages("lambda-timeout", FUNCTION, props, name="projector")
    assert "'projector'" in message and "set an explicit timeout" in message


def test_an_explicit_timeout_passes_even_when_unknown_in_preview():
    assert messages("lambda-timeout", FUNCTION, {"timeout": 4.0}) == []
    assert check("lambda-timeout", [resource(FUNCTION, {"timeout": UNKNOWN_STRING})]) == []


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
                                  "MASTER_SECRET_ARN", "STRIPE_KEY", "ENCRYPTION_KEY", "HMAC_KEY", "JWT_KEY",
                                  "SESSION_KEY", "DB_KEY", "sessionKey", "KEY"])
def test_secret_named_variables_may_hold_only_an_arn(name: str):
    [message] = messages("lambda-no-secret-environment", FUNCTION, env(**{name: "hunter2"}), name="launcher")
    assert "'launcher'" in message and name in message and "Secrets Manager" in message
    assert "hunter2" not in message  # the report must not leak the secret
    arn = "arn:aws:secretsmanager:us-east-1:123456789012:secret:db-AbCdEf"
    assert messages("lambda-no-secret-environment", FUNCTION, env(**{name: arn})) == []


@pytest.mark.parametrize("name", ["DB_USER", "DB_USER_AUTH", "PASSTHROUGH_MODE", "BYPASS_CACHE", "KEYSPACE",
                                  "POWERTOOLS_SERVICE_NAME", "PARTITION_KEY", "SORT_KEY", "TABLE_HASH_KEY",
                                  "partitionKey", "PUBLIC_KEY", "KMS_KEY", "KMS_KEY_ARN", "SIGNING_KEY_ID",
                                  "API_KEY_ID", "signingKeyArn", "MONKEY"])
def test_ordinary_variables_pass(name: str):
    assert messages("lambda-no-secret-environment", FUNCTION, env(**{name: "value"})) == []


JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJvcmRlcnMifQ.c2lnbmF0dXJlLW9mLXRoZS10b2tlbg"


@pytest.mark.parametrize("value", [
    "id=AKIAIOSFODNN7EXAMPLE",
    "-----BEGIN RSA PRIVATE KEY-----\nMIIE...",
    "-----BEGIN PGP PRIVATE KEY BLOCK-----\nlQc...",
    JWT,
    f"Bearer {JWT}",
    "ghp_" + "a1B2" * 9,
    "sk_live_" + "4eC39HqLyjWDarjtT1zdp7dc",
])
def test_secret_looking_values_fail_whatever_the_name(value: str):
    [message] = messages("lambda-no-secret-environment", FUNCTION, env(SETTINGS=value))
    assert "SETTINGS" in message and value not in message


@pytest.mark.parametrize("value", ["-----BEGIN CERTIFICATE-----\nMIIC...", "eyJustAWord", "sk_test_value",
                                   "gh_pages"])
def test_public_or_ordinary_values_pass(value: str):
    assert messages("lambda-no-secret-environment", FUNCTION, env(SETTINGS=value)) == []


def test_values_unknown_in_preview_and_empty_values_are_not_literals():
    assert check("lambda-no-secret-environment",
                 [resource(FUNCTION, env(DB_PASSWORD=UNKNOWN_STRING, API_TOKEN=""))]) == []
