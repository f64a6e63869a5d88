"""Lambda handler that migrates the read-model schema (runs in the VPC, invoked by migrate_launcher).

Event: {"username", "password"} of the Aurora master user (never logged). Returns
{"applied": [versions], "current": version}; any failure raises, so the deployment that invoked it fails."""

import os
import time
from pathlib import Path

from aws_lambda_powertools import Logger

from orders_db.connection import DEADLINE_MARGIN_S, Settings, connect
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
        ops=os.environ.get("OPS_DB_USER") or None,
    )
    migrations = load_migrations(MIGRATIONS_DIR)
    # A paused dev database resumes on this connection: wait for it as long as the invocation allows. Waiting
    # for another run's lock must not look like a dead server.
    deadline = time.monotonic() + context.get_remaining_time_in_millis() / 1000 - LOCK_TIMEOUT_S - DEADLINE_MARGIN_S
    connection = connect(settings, lambda refused: event["password"], deadline, read_timeout=LOCK_TIMEOUT_S + 60)
    try:
        result = migrate(connection, settings.database, migrations, users)
    finally:
        connection.close()
    logger.info("schema migrated", extra=result)
    return result
