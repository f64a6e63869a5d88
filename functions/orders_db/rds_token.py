"""IAM database authentication tokens, signed here with the standard library.

A token is a SigV4 presigned `connect` request to the `rds-db` service, exactly what botocore's
`generate_db_auth_token` returns (a test compares the two). Signing it here keeps boto3, about a third of a
second of import, out of every cold start of the functions that read or write the database."""

from __future__ import annotations

import hashlib
import hmac
import os
from datetime import datetime, timezone
from typing import NamedTuple
from urllib.parse import quote

EXPIRES_S = 900  # the longest RDS accepts
_EMPTY_PAYLOAD_SHA256 = hashlib.sha256(b"").hexdigest()


class MissingCredentials(RuntimeError):
    """No AWS credentials in the environment (Lambda always sets them)."""


class Credentials(NamedTuple):
    access_key: str
    secret_key: str
    session_token: str | None = None

    @classmethod
    def from_env(cls) -> Credentials:
        try:
            return cls(os.environ["AWS_ACCESS_KEY_ID"], os.environ["AWS_SECRET_ACCESS_KEY"],
                       os.environ.get("AWS_SESSION_TOKEN") or None)
        except KeyError as missing:
            raise MissingCredentials(f"environment variable {missing} is not set: no credentials to sign with")


def _encode(value: str) -> str:
    return quote(value, safe="-_.~")


def _hmac(key: bytes, message: str) -> bytes:
    return hmac.new(key, message.encode(), hashlib.sha256).digest()


def auth_token(host: str, port: int, user: str, region: str, credentials: Credentials,
               now: datetime | None = None) -> str:
    """`host:port/?Action=connect&DBUser=...&X-Amz-...&X-Amz-Signature=...`, valid for 15 minutes."""
    now = (now or datetime.now(timezone.utc)).astimezone(timezone.utc)
    timestamp, day = now.strftime("%Y%m%dT%H%M%SZ"), now.strftime("%Y%m%d")
    scope = f"{day}/{region}/rds-db/aws4_request"
    operation = [("Action", "connect"), ("DBUser", user)]
    signing = [
        ("X-Amz-Algorithm", "AWS4-HMAC-SHA256"),
        ("X-Amz-Credential", f"{credentials.access_key}/{scope}"),
        ("X-Amz-Date", timestamp),
        ("X-Amz-Expires", str(EXPIRES_S)),
        ("X-Amz-SignedHeaders", "host"),
    ]
    if credentials.session_token:
        signing.append(("X-Amz-Security-Token", credentials.session_token))
    canonical_query = "&".join(f"{k}={v}" for k, v in sorted((_encode(k), _encode(v)) for k, v in operation + signing))
    canonical_request = "\n".join(
        ["GET", "/", canonical_query, f"host:{host}:{port}", "", "host", _EMPTY_PAYLOAD_SHA256]
    )
    string_to_sign = "\n".join(
        ["AWS4-HMAC-SHA256", timestamp, scope, hashlib.sha256(canonical_request.encode()).hexdigest()]
    )
    key = ("AWS4" + credentials.secret_key).encode()
    for part in (day, region, "rds-db", "aws4_request"):
        key = _hmac(key, part)
    signature = hmac.new(key, string_to_sign.encode(), hashlib.sha256).hexdigest()
    query = "&".join(f"{_encode(k)}={_encode(v)}" for k, v in operation + signing)
    return f"{host}:{port}/?{query}&X-Amz-Signature={signature}"
