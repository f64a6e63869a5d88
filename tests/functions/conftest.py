"""Fixtures of the query-side function tests: one throwaway MariaDB per test process (xdist worker), with
TLS, a master user and the two function users; a fresh, migrated database per test."""

from __future__ import annotations

import datetime
import importlib
import ipaddress
import sys
import uuid
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# The Lambda archives hold functions/<name>/ and functions/orders_db/ at their root: so does sys.path here.
sys.path[:0] = [str(ROOT / "functions"), str(ROOT)]

from fault_proxy import FaultProxy  # noqa: E402
from localcloud.mariadb import MariaDB  # noqa: E402
from orders_db import connection  # noqa: E402
from orders_db.batches import PROJECTOR_SESSION  # noqa: E402
from orders_db.connection import Database  # noqa: E402
from orders_test_support import (  # noqa: E402
    MASTER,
    PASSWORDS,
    PROJECTOR,
    READER,
    LambdaContext,
    run_migrations,
    settings_for,
)


@pytest.fixture(scope="session")
def tls_files(tmp_path_factory) -> dict[str, str]:
    """A private CA, a server certificate for 127.0.0.1 signed by it, and an unrelated CA."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    directory = tmp_path_factory.mktemp("tls")
    now = datetime.datetime.now(datetime.timezone.utc)

    def certificate(subject, key, issuer, issuer_key, san=None):
        builder = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
            .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer)]))
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(hours=1))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=san is None, path_length=None), critical=True)
        )
        if san is None:
            usage = x509.KeyUsage(False, False, False, False, False, True, True, False, False)  # cert + CRL signing
            builder = builder.add_extension(usage, critical=True)
        else:
            builder = builder.add_extension(x509.SubjectAlternativeName(san), critical=False)
        return builder.sign(issuer_key, hashes.SHA256())

    def write(name, data):
        path = directory / name
        path.write_bytes(data)
        return str(path)

    ca_key, other_key, server_key = (ec.generate_private_key(ec.SECP256R1()) for _ in range(3))
    pem = serialization.Encoding.PEM
    server = certificate(
        "127.0.0.1", server_key, "test CA", ca_key, [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
    )
    key = server_key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    return {
        "ca": write("ca.pem", certificate("test CA", ca_key, "test CA", ca_key).public_bytes(pem)),
        "other_ca": write("other-ca.pem", certificate("other CA", other_key, "other CA", other_key).public_bytes(pem)),
        "cert": write("server.pem", server.public_bytes(pem)),
        "key": write("server-key.pem", key),
    }


@pytest.fixture(scope="session")
def mariadb(tls_files):
    server = MariaDB(tls_cert=tls_files["cert"], tls_key=tls_files["key"]).start()
    try:
        server.create_user(MASTER, PASSWORDS[MASTER], superuser=True)  # the Aurora master user's stand-in
        server.create_user(PROJECTOR, PASSWORDS[PROJECTOR])
        server.create_user(READER, PASSWORDS[READER])
        yield server
    finally:
        server.stop()


@pytest.fixture
def database_name(mariadb):
    name = f"orders_{uuid.uuid4().hex[:12]}"
    yield name
    if not mariadb.running:  # the test crashed the server
        mariadb.restart()
    mariadb.drop_database(name)


@pytest.fixture
def db_env(monkeypatch, mariadb, database_name) -> None:
    """The functions' environment for the local server, IAM tokens replaced by the users' passwords."""
    for name, value in {
        "DB_HOST": mariadb.host,
        "DB_PORT": str(mariadb.port),
        "DB_NAME": database_name,
        "DB_TLS": "disabled",
        "DB_USER_AUTH": "password",
        "PROJECTOR_DB_USER": PROJECTOR,
        "READER_DB_USER": READER,
        "AWS_REGION": "eu-west-1",
        "POWERTOOLS_SERVICE_NAME": "cqrs-orders-test",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(connection, "auth_token", lambda host, port, user: PASSWORDS[user])


@pytest.fixture
def migrated(db_env, database_name) -> str:
    run_migrations()
    return database_name


@pytest.fixture
def projector_db(migrated):
    database = Database(settings_for(PROJECTOR), session_sql=PROJECTOR_SESSION)
    yield database
    database.close()


@pytest.fixture
def reader_db(migrated):
    database = Database(settings_for(READER))
    yield database
    database.close()


@pytest.fixture
def root(mariadb, migrated):
    """Root's connection to the test database, to inspect and arrange what the functions see."""
    connection_ = mariadb.root_connection(migrated)
    yield connection_
    connection_.close()


@pytest.fixture
def lambda_context() -> LambdaContext:
    return LambdaContext()


@pytest.fixture
def function_handler(migrated, monkeypatch):
    """load("projector", PROJECTOR) -> that function's handler, connected to the test database as that user."""
    databases = []

    def load(function: str, user: str):
        module = importlib.import_module(f"{function}.handler")
        monkeypatch.setenv("DB_USER", user)
        # The projector's module holds its cached connection; the query functions' handlers carry theirs.
        database = getattr(module, "database", None) or module.handler.database
        database.cache_clear()
        database()  # reads the environment now; connects on first use
        databases.append(database)
        return module.handler

    yield load
    for database in databases:
        database().close()
        database.cache_clear()


@pytest.fixture
def fault_proxy(mariadb):
    """A FaultProxy in front of the test server (see fault_proxy.py); connect through proxy.host, proxy.port."""
    proxy = FaultProxy(mariadb.host, mariadb.port)
    yield proxy
    proxy.stop()


@pytest.fixture
def through_proxy(db_env, fault_proxy, monkeypatch):
    """The functions' environment pointed at the fault proxy instead of the server."""
    monkeypatch.setenv("DB_HOST", fault_proxy.host)
    monkeypatch.setenv("DB_PORT", str(fault_proxy.port))
    return fault_proxy
