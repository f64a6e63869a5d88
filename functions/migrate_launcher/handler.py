"""Lambda handler run by the deployment (outside the VPC): reads the Aurora master secret and invokes the
migrate function with it, synchronously. Raises when the migration failed, so the deployment fails.

Environment: MASTER_SECRET_ARN (SecretString JSON with username and password), MIGRATE_FUNCTION_NAME.
Event: {"migrationsHash": "..."}, which only makes the deployment re-run this when the migrations change."""

import functools
import json
import os

import boto3
from aws_lambda_powertools import Logger
from botocore.config import Config

logger = Logger()


class MigrationFailed(RuntimeError):
    pass


@functools.cache
def clients():
    # The migrate function may wait minutes for the migration lock: keep the invocation open that long.
    # Retrying an invocation is safe: migrations are idempotent and serialised by their lock.
    lambda_config = Config(read_timeout=900, retries={"mode": "standard", "max_attempts": 3})
    return boto3.client("secretsmanager"), boto3.client("lambda", config=lambda_config)


@logger.inject_lambda_context
def handler(event, context):
    logger.info("migrating", extra={"migrationsHash": event.get("migrationsHash") if isinstance(event, dict) else None})
    secrets, lambda_client = clients()
    secret = json.loads(secrets.get_secret_value(SecretId=os.environ["MASTER_SECRET_ARN"])["SecretString"])
    response = lambda_client.invoke(
        FunctionName=os.environ["MIGRATE_FUNCTION_NAME"],
        InvocationType="RequestResponse",
        Payload=json.dumps({"username": secret["username"], "password": secret["password"]}).encode(),
    )
    payload = response["Payload"].read()
    if response.get("FunctionError") or response["StatusCode"] != 200:
        raise MigrationFailed(f"the migrate function failed: {_error_message(payload)}")
    result = json.loads(payload)
    logger.info("migrated", extra=result)
    return result


def _error_message(payload: bytes) -> str:
    try:
        error = json.loads(payload)
        return f"{error['errorType']}: {error['errorMessage']}"
    except (ValueError, TypeError, KeyError):
        return payload.decode(errors="replace") or "no error payload"
