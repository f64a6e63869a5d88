"""The JWT authorizer's checks (functions/jwt_authorizer/tokens.py), against a real issuer served on loopback: its
discovery document and JWKS over HTTP, RS256 and ES256 keys made with cryptography. Every way a token can be
wrong is a Deny (403), no token is the error "Unauthorized" (401), an unreachable issuer an error (500, never a
cached Deny); the keys are fetched once per warm container and again when the issuer rotates them."""

import base64
import hashlib
import hmac
import json
import time

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from jwt_authorizer.tokens import (IssuerKeys, IssuerUnavailable, Unauthorized, allowed_url, authorize,
                                   stage_resource)
from tests.jwt_issuer import AUDIENCE, Issuer

METHOD_ARN = "arn:aws:execute-api:us-east-1:123456789012:abc123/v1/GET/orders/7001"
STAGE = "arn:aws:execute-api:us-east-1:123456789012:abc123/v1/*/*"


@pytest.fixture(scope="module")
def issuer():
    with Issuer() as issuer:
        yield issuer


def check(issuer, token, keys=None, audience=AUDIENCE):
    keys = keys or IssuerKeys(issuer.url)
    return authorize({"type": "TOKEN", "authorizationToken": f"Bearer {token}", "methodArn": METHOD_ARN},
                     issuer.url, audience, keys)


def effect(answer: dict) -> str:
    [statement] = answer["policyDocument"]["Statement"]
    assert statement["Action"] == "execute-api:Invoke" and statement["Resource"] == STAGE
    return statement["Effect"]


@pytest.mark.parametrize("alg", ["RS256", "ES256"])
def test_a_valid_token_is_allowed_on_every_method_of_the_stage(issuer, alg):
    token = issuer.token(alg, sub="alice")
    answer, reason = check(issuer, token)
    assert (effect(answer), reason, answer["principalId"]) == ("Allow", "valid", "alice")
    assert answer["context"] == {"sub": "alice", "scope": "orders"}


def _forged_none(issuer) -> str:
    header = base64.urlsafe_b64encode(json.dumps({"alg": "none", "kid": "rsa-1"}).encode()).rstrip(b"=")
    body = base64.urlsafe_b64encode(json.dumps(issuer.claims()).encode()).rstrip(b"=")
    return (header + b"." + body + b".").decode()


def _hs256_with_public_key(issuer) -> str:
    """The algorithm-confusion attack: HMAC keyed with the issuer's public key."""
    header = base64.urlsafe_b64encode(json.dumps({"alg": "HS256", "kid": "rsa-1"}).encode()).rstrip(b"=")
    body = base64.urlsafe_b64encode(json.dumps(issuer.claims()).encode()).rstrip(b"=")
    public = json.dumps(issuer.jwks()["keys"][0]).encode()
    signature = base64.urlsafe_b64encode(hmac.new(public, header + b"." + body, hashlib.sha256).digest()).rstrip(b"=")
    return (header + b"." + body + b"." + signature).decode()


@pytest.mark.parametrize("make, why", [
    (lambda i: i.token(exp=int(time.time()) - 120), "ExpiredSignatureError"),
    (lambda i: i.token(nbf=int(time.time()) + 600), "ImmatureSignatureError"),
    (lambda i: i.token(aud="another-api"), "InvalidAudienceError"),
    (lambda i: i.token(iss="https://evil.example"), "InvalidIssuerError"),
    (lambda i: i.token(exp=None), "MissingRequiredClaimError"),
    (lambda i: i.token(key=i.stranger_key), "InvalidSignatureError"),
    (lambda i: i.token(kid="rsa-2", key=i.stranger_key), "no key 'rsa-2'"),
    (lambda i: i.token("ES256", kid="rsa-1"), "is not a ES256 key"),
    (lambda i: i.unsigned_token(), "algorithm 'none' is not allowed"),
    (_forged_none, "algorithm 'none' is not allowed"),
    (_hs256_with_public_key, "algorithm 'HS256' is not allowed"),
    (lambda i: i.token()[:-4] + "AAAA", "InvalidSignatureError"),
    (lambda i: "not.a.token", "malformed token"),
])
def test_every_wrong_token_is_denied_naming_why(issuer, make, why):
    answer, reason = check(issuer, make(issuer))
    assert effect(answer) == "Deny" and answer["principalId"] == "anonymous" and "context" not in answer
    assert why in reason


@pytest.mark.parametrize("header", [None, "", "Bearer", "Bearer  ", "Basic dXNlcjpwYXNz"])
def test_no_bearer_token_is_unauthorized(issuer, header):
    with pytest.raises(Unauthorized, match="^Unauthorized$"):
        authorize({"authorizationToken": header, "methodArn": METHOD_ARN}, issuer.url, AUDIENCE,
                  IssuerKeys(issuer.url))


def test_the_keys_are_fetched_once_per_container_and_again_when_the_issuer_rotates_them(issuer):
    now = [1000.0]
    keys = IssuerKeys(issuer.url, clock=lambda: now[0])
    before = issuer.requests["/jwks.json"]
    for _ in range(5):
        assert effect(check(issuer, issuer.token(), keys)[0]) == "Allow"
    assert issuer.requests["/jwks.json"] == before + 1
    # A token signed by a key the container has not seen: refetched once the last fetch is a minute old.
    rotated = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    old_jwks = issuer.jwks
    issuer.jwks = lambda: {"keys": old_jwks()["keys"] + [
        json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(rotated.public_key())) | {"kid": "rsa-2", "use": "sig"}]}
    try:
        token = issuer.token(kid="rsa-2", key=rotated)
        assert effect(check(issuer, token, keys)[0]) == "Deny"  # within the minute: not refetched
        assert issuer.requests["/jwks.json"] == before + 1
        now[0] += 61
        assert effect(check(issuer, token, keys)[0]) == "Allow"
        assert issuer.requests["/jwks.json"] == before + 2
    finally:
        del issuer.jwks


def test_an_unreachable_issuer_is_an_error_not_a_deny(issuer):
    issuer.available = False
    try:
        with pytest.raises(IssuerUnavailable, match="503"):
            check(issuer, issuer.token())
    finally:
        issuer.available = True
    with pytest.raises(IssuerUnavailable, match="timed out|refused"):
        IssuerKeys("http://127.0.0.1:9").key("rsa-1")  # nothing listens (discard port)


def test_the_discovery_document_must_name_the_configured_issuer(issuer):
    with pytest.raises(IssuerUnavailable, match="names the issuer"):
        check(issuer, issuer.token(iss=issuer.url + "/"), IssuerKeys(issuer.url + "/"), AUDIENCE)


@pytest.mark.parametrize("url, allowed", [
    ("https://login.example.com/tenant", True), ("http://127.0.0.1:8080", True), ("http://localhost:1", True),
    ("http://[::1]:8080", True), ("http://login.example.com", False), ("http://10.0.0.1", False),
    ("file:///etc/passwd", False), ("ftp://example.com", False), ("https://", False)])
def test_only_https_or_a_loopback_issuer_is_fetched(url, allowed):
    assert allowed_url(url) is allowed


def test_the_policy_covers_the_whole_stage():
    assert stage_resource("arn:aws:execute-api:eu-west-1:111122223333:api9/v1/POST/orders/7/cancel") == \
        "arn:aws:execute-api:eu-west-1:111122223333:api9/v1/*/*"
