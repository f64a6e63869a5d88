"""Fixtures of the operations' tests: a throwaway MariaDB with the functions' and the operations' users, migrated
read models (the system's, and a second one for the reference projection), and the orders table in moto, whose
stream the projector (the real `project_batch`) drains when a test says so."""

from __future__ import annotations

import sys
import uuid
from pathlib import Path

import boto3
import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT / "functions"), str(ROOT)]

from localcloud.mariadb import MariaDB  # noqa: E402
from ops.core.clients import DirectReadSide  # noqa: E402
from ops.core.table import FailureQueue, OrdersTable  # noqa: E402
from orders_db import connection  # noqa: E402
from orders_db.batches import PROJECTOR_SESSION  # noqa: E402
from orders_db.connection import Database, Settings, open_connection  # noqa: E402
from orders_db.schema_migrations import DatabaseUsers, load_migrations, migrate  # noqa: E402
from tests.ops.support import OrdersWorld  # noqa: E402

PASSWORDS = {"master": "master-secret", "cqrs_projector": "projector-secret", "cqrs_reader": "reader-secret",
             "cqrs_ops": "ops-secret"}
MIGRATIONS = load_migrations(ROOT / "functions" / "migrations")


@pytest.fixture(scope="session")
def mariadb():
    server = MariaDB().start()
    try:
        for user, password in PASSWORDS.items():
            server.create_user(user, password, superuser=user == "master")
        yield server
    finally:
        server.stop()


@pytest.fixture
def databases(mariadb, monkeypatch):
    """make(user) -> a Database of a fresh migrated read model; every database made is dropped afterwards."""
    monkeypatch.setattr(connection, "auth_token", lambda host, port, user: PASSWORDS[user])
    made: list[tuple[str, list[Database]]] = []

    def make() -> str:
        name = f"ops_{uuid.uuid4().hex[:12]}"
        settings = Settings(mariadb.host, mariadb.port, name, "master", "disabled")
        master = open_connection(settings, PASSWORDS["master"])
        try:
            users = DatabaseUsers("cqrs_projector", "cqrs_reader", "password", ops="cqrs_ops")
            migrate(master, name, MIGRATIONS, users)
        finally:
            master.close()
        made.append((name, []))
        return name

    def connect(name: str, user: str) -> Database:
        database = Database(Settings(mariadb.host, mariadb.port, name, user, "disabled"), session_sql=PROJECTOR_SESSION)
        next(opened for made_name, opened in made if made_name == name).append(database)
        return database

    yield make, connect
    for name, opened in made:
        for database in opened:
            database.close()
        mariadb.drop_database(name)


@pytest.fixture
def aws(monkeypatch):
    """moto in process, with the client settings the emulators need."""
    from moto import mock_aws

    for name, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                        "AWS_DEFAULT_REGION": "us-east-1", "AWS_ACCOUNT_ID_ENDPOINT_MODE": "disabled"}.items():
        monkeypatch.setenv(name, value)
    with mock_aws():
        yield {name: boto3.client(name, region_name="us-east-1") for name in ("dynamodb", "dynamodbstreams", "sqs")}


@pytest.fixture
def world(aws, databases, mariadb):
    """The orders table, its on-failure queue, the system's read model with its projector, and the ops' view."""
    make, connect = databases
    name = make()
    world = OrdersWorld(aws, projector=connect(name, "cqrs_projector"), ops=connect(name, "cqrs_ops"),
                        sql=lambda statement, args=(): mariadb.query(statement, args, name), make_database=make,
                        connect_ops=lambda database=name: connect(database, "cqrs_ops"))
    yield world
    world.close()


@pytest.fixture
def ops(world):
    """(table, queue, read side) as the steps see them, in process."""
    return (OrdersTable(world.clients["dynamodb"], world.clients["dynamodbstreams"], world.table_name),
            FailureQueue(world.clients["sqs"], world.queue_url), DirectReadSide(world.connect_ops))
