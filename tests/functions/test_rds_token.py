"""IAM database authentication tokens signed without boto3 are byte for byte the ones botocore signs."""

import re
from datetime import datetime, timezone

import boto3
import pytest

from orders_db import connection, rds_token

HOST = "cqrs.cluster-abc.eu-west-1.rds.amazonaws.com"


def botocore_token(credentials: rds_token.Credentials, user: str, port: int = 3306) -> str:
    client = boto3.client("rds", region_name="eu-west-1", aws_access_key_id=credentials.access_key,
                          aws_secret_access_key=credentials.secret_key,
                          aws_session_token=credentials.session_token)
    return client.generate_db_auth_token(DBHostname=HOST, Port=port, DBUsername=user, Region="eu-west-1")


def signed_at(token: str) -> datetime:
    stamp = re.search(r"X-Amz-Date=(\d{8}T\d{6}Z)", token)[1]
    return datetime.strptime(stamp, "%Y%m%dT%H%M%SZ").replace(tzinfo=timezone.utc)


@pytest.mark.parametrize("session_token", [None, "IQoJb3JpZ2luX2VjE/session+token=="])
@pytest.mark.parametrize("user", ["cqrs_reader", "odd user+1/é"])
def test_the_token_is_the_one_botocore_signs(session_token, user):
    credentials = rds_token.Credentials("ASIAEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCY", session_token)
    theirs = botocore_token(credentials, user, port=3307)
    assert rds_token.auth_token(HOST, 3307, user, "eu-west-1", credentials, signed_at(theirs)) == theirs


def test_the_function_signs_with_the_credentials_lambda_puts_in_its_environment(monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "ASIAEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "session")
    monkeypatch.setenv("AWS_REGION", "eu-west-1")
    token = connection.auth_token(HOST, 3306, "cqrs_reader")
    assert token.startswith(f"{HOST}:3306/?Action=connect&DBUser=cqrs_reader&X-Amz-Algorithm=AWS4-HMAC-SHA256&")
    assert "X-Amz-Security-Token=session&" in token and "%2Feu-west-1%2Frds-db%2Faws4_request" in token
    credentials = rds_token.Credentials("ASIAEXAMPLE", "secret", "session")
    assert token == rds_token.auth_token(HOST, 3306, "cqrs_reader", "eu-west-1", credentials, signed_at(token))


def test_without_credentials_the_error_names_the_missing_variable(monkeypatch):
    monkeypatch.delenv("AWS_ACCESS_KEY_ID", raising=False)
    monkeypatch.setenv("AWS_REGION", "eu-west-1")
    with pytest.raises(rds_token.MissingCredentials, match="AWS_ACCESS_KEY_ID"):
        connection.auth_token(HOST, 3306, "cqrs_reader")
