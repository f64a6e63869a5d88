"""The migrate launcher: master secret from Secrets Manager (moto), a synchronous invoke of the migrate
function (stubbed: moto cannot run Lambda code without Docker), and failures that fail the deployment."""

import io
import json

import pytest
from botocore.response import StreamingBody
from botocore.stub import Stubber
from moto import mock_aws

from migrate_launcher import handler as launcher

CREDENTIALS = {"username": "admin", "password": "s3cr3t-'\"\\-pw"}
FUNCTION = "cqrs-orders-migrate"


@pytest.fixture
def invoke(monkeypatch, lambda_context):
    """invoke(status, payload, function_error) -> the launcher's result, the migrate function answering so."""
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "eu-west-1",
        "MIGRATE_FUNCTION_NAME": FUNCTION,
        "POWERTOOLS_SERVICE_NAME": "cqrs-orders-test",
    }.items():
        monkeypatch.setenv(name, value)
    with mock_aws():
        launcher.clients.cache_clear()
        secrets, lambda_client = launcher.clients()
        arn = secrets.create_secret(Name="aurora-master", SecretString=json.dumps(CREDENTIALS))["ARN"]
        monkeypatch.setenv("MASTER_SECRET_ARN", arn)
        with Stubber(lambda_client) as stubber:

            def run(status, payload, function_error=None):
                response = {"StatusCode": status, "Payload": StreamingBody(io.BytesIO(payload), len(payload))}
                if function_error:
                    response["FunctionError"] = function_error
                expected = {
                    "FunctionName": FUNCTION,
                    "InvocationType": "RequestResponse",
                    "Payload": json.dumps(CREDENTIALS).encode(),
                }
                stubber.add_response("invoke", response, expected)
                result = launcher.handler({"migrationsHash": "3f2a"}, lambda_context)
                stubber.assert_no_pending_responses()
                return result

            yield run
    launcher.clients.cache_clear()


def test_it_passes_the_master_secret_and_returns_the_migration_result(invoke, caplog):
    assert invoke(200, b'{"applied": [1, 2], "current": 2}') == {"applied": [1, 2], "current": 2}
    logged = [vars(record) for record in caplog.records]
    assert any(record.get("migrationsHash") == "3f2a" for record in logged)
    assert CREDENTIALS["password"] not in repr(logged)


def test_a_failed_migration_fails_the_launcher_with_its_message(invoke):
    error = b'{"errorType": "MigrationError", "errorMessage": "migration 0005_x failed at statement 1"}'
    with pytest.raises(launcher.MigrationFailed, match="MigrationError: migration 0005_x failed at statement 1"):
        invoke(200, error, function_error="Unhandled")


def test_an_unexpected_status_fails_the_launcher(invoke):
    with pytest.raises(launcher.MigrationFailed, match="no error payload"):
        invoke(500, b"")
