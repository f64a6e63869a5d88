"""Lambda handler that migrates the read-model schema (runs in the VPC, invoked by migrate_launcher).

Event: {"username", "password"} of the Aurora master user (never logged). Returns
{"applied": [versions], "current": version}; any failure raises, so the deployment that invoked it fails."""

import os
from pathlib import Path

from aws_lambda_powertools import Logger

from orders_db.connection import Settings, open_connection
from orders_db.schema_migrations import LOCK_TIMEOUT_S, DatabaseUsers, load_migrations, migrate

logger = Logger()
# In the function's archive (and in the repository) the SQL files sit in migrations/ beside this package.
MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"


@logger.inject_lambda_context
def handler(event, context):
    if not isinstance(event, dict) or not all(isinstance(event.get(key), str) for key in ("username", "password")):
        raise ValueError("the event must hold the master user's username and password")
    settings = Settings.from_env(user=event["username"])
    users = DatabaseUsers(
        projector=os.environ.get("PROJECTOR_DB_USER", "cqrs_projector"),
        reader=os.environ.get("READER_DB_USER", "cqrs_reader"),
        auth=os.environ.get("DB_USER_AUTH", "iam"),
    )
    migrations = load_migrations(MIGRATIONS_DIR)
    # Waiting for another run's lock must not look like a dead server.
    connection = open_connection(settings, event["password"], read_timeout=LOCK_TIMEOUT_S + 60)
    try:
        result = migrate(connection, settings.database, migrations, users)
    finally:
        connection.close()
    logger.info("schema migrated", extra=result)
    return result
