"""The HTTP API's JWT check, for its Lambda TOKEN authorizer (API Gateway REST APIs have no native JWT authorizer).

A token is accepted when it is signed (RS256 or ES256 only: never `none`, never an HMAC algorithm, whatever the
token's header says) by a key of the issuer's JWKS, and its `iss`, `aud`, `exp` (required) and `nbf` (when present)
hold, with LEEWAY_S for clock skew. The keys come from the issuer's OpenID discovery document
(`<issuer>/.well-known/openid-configuration` -> `jwks_uri`), fetched with a timeout and kept for the life of the
warm container (refetched after JWKS_MAX_AGE_S, or once per JWKS_MIN_REFETCH_S when a token names an unknown key:
the issuer rotated its keys).

Answers, as API Gateway reads them: no token -> the error "Unauthorized" (401); a token that fails any check -> a
Deny policy (403, cached for the authorizer's TTL like any answer); the issuer unreachable -> an error (500, not
cached: the next request tries again). An Allow covers every method of the stage, because API Gateway caches the
answer per token for all of them."""

from __future__ import annotations

import ipaddress
import json
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from typing import Callable
from urllib.parse import urlsplit

import jwt

ALGORITHMS = ("RS256", "ES256")
LEEWAY_S = 30
HTTP_TIMEOUT_S = 3.0
MAX_DOCUMENT_BYTES = 256 * 1024
JWKS_MAX_AGE_S = 3600
JWKS_MIN_REFETCH_S = 60


class InvalidToken(Exception):
    """The token fails a check: the message says which (logged, never sent to the caller)."""


class Unauthorized(Exception):
    """No token: API Gateway answers 401 to exactly this error message."""

    def __init__(self) -> None:
        super().__init__("Unauthorized")


class IssuerUnavailable(Exception):
    """The issuer's discovery document or JWKS could not be had."""


def allowed_url(url: str) -> bool:
    """https, or http to a loopback host (only localcloud's tests: a Lambda function reaches no loopback issuer)."""
    parts = urlsplit(url)
    if parts.scheme == "https" and parts.hostname:
        return True
    if parts.scheme != "http" or not parts.hostname:
        return False
    if parts.hostname == "localhost":
        return True
    try:
        return ipaddress.ip_address(parts.hostname).is_loopback
    except ValueError:
        return False


def fetch_json(url: str, timeout: float = HTTP_TIMEOUT_S) -> dict:
    if not allowed_url(url):
        raise IssuerUnavailable(f"refusing {url!r}: the issuer's documents must come over https")
    request = urllib.request.Request(url, headers={"Accept": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 (scheme checked above)
            data = response.read(MAX_DOCUMENT_BYTES + 1)
    except (OSError, ValueError) as error:
        raise IssuerUnavailable(f"{url}: {error}") from None
    if len(data) > MAX_DOCUMENT_BYTES:
        raise IssuerUnavailable(f"{url}: larger than {MAX_DOCUMENT_BYTES} bytes")
    try:
        document = json.loads(data)
    except ValueError:
        raise IssuerUnavailable(f"{url}: not JSON") from None
    if not isinstance(document, dict):
        raise IssuerUnavailable(f"{url}: not a JSON object")
    return document


@dataclass
class IssuerKeys:
    """The issuer's signing keys, by key id, kept for the warm container's life (thread-safe)."""
    issuer: str
    fetch: Callable[[str], dict] = fetch_json
    clock: Callable[[], float] = time.monotonic
    _keys: dict[str, jwt.PyJWK] = field(default_factory=dict)
    _fetched_at: float | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def _refetch(self) -> None:
        discovery = self.fetch(self.issuer.rstrip("/") + "/.well-known/openid-configuration")
        if discovery.get("issuer") != self.issuer:  # OpenID Connect Discovery 1.0, section 4.3
            raise IssuerUnavailable(f"the discovery document names the issuer {discovery.get('issuer')!r}, "
                                    f"not {self.issuer!r}")
        jwks_uri = discovery.get("jwks_uri")
        if not isinstance(jwks_uri, str) or not allowed_url(jwks_uri):
            raise IssuerUnavailable(f"the discovery document's jwks_uri {jwks_uri!r} is not an https URL")
        keys = {}
        for entry in self.fetch(jwks_uri).get("keys") or []:
            if not isinstance(entry, dict) or entry.get("use", "sig") != "sig" or "kid" not in entry:
                continue
            try:
                keys[str(entry["kid"])] = jwt.PyJWK(entry)
            except jwt.PyJWTError:
                continue  # a key of a type or algorithm this check never uses
        self._keys, self._fetched_at = keys, self.clock()

    def key(self, kid: str) -> jwt.PyJWK:
        with self._lock:
            age = None if self._fetched_at is None else self.clock() - self._fetched_at
            if age is None or age > JWKS_MAX_AGE_S or (kid not in self._keys and age > JWKS_MIN_REFETCH_S):
                self._refetch()
            if kid not in self._keys:
                raise InvalidToken(f"no key {kid!r} in the issuer's JWKS")
            return self._keys[kid]


def verify(token: str, issuer: str, audience: str, keys: IssuerKeys) -> dict:
    """The token's claims when every check holds; InvalidToken naming the first that fails."""
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError as error:
        raise InvalidToken(f"malformed token: {error}") from None
    algorithm = header.get("alg")
    if algorithm not in ALGORITHMS:
        raise InvalidToken(f"algorithm {algorithm!r} is not allowed (only {', '.join(ALGORITHMS)})")
    kid = header.get("kid")
    if not isinstance(kid, str):
        raise InvalidToken("the token names no key (kid)")
    key = keys.key(kid)
    if key.algorithm_name != algorithm:  # the JWK's own alg, else its kty and crv (RSA: RS256, EC P-256: ES256)
        raise InvalidToken(f"key {kid!r} is not a {algorithm} key")
    try:
        return jwt.decode(token, key.key, algorithms=[algorithm], audience=audience, issuer=issuer,
                          leeway=LEEWAY_S, options={"require": ["exp", "iss", "aud", "sub"], "verify_nbf": True})
    except jwt.PyJWTError as error:
        raise InvalidToken(f"{type(error).__name__}: {error}") from None


def bearer_token(authorization: object) -> str:
    """The token of an `Authorization: Bearer <token>` value; Unauthorized when there is none."""
    if not isinstance(authorization, str):
        raise Unauthorized()
    scheme, _, token = authorization.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized()
    return token.strip()


def stage_resource(method_arn: str) -> str:
    """Every method of the stage: arn:aws:execute-api:<region>:<account>:<api>/<stage>/<method>/<path> ->
    arn:aws:execute-api:<region>:<account>:<api>/<stage>/*/* (the answer is cached per token for all methods)."""
    parts = method_arn.split(":", 5)
    api, stage = parts[5].split("/")[:2]
    return ":".join(parts[:5]) + f":{api}/{stage}/*/*"


def policy(principal: str, effect: str, resource: str, context: dict | None = None) -> dict:
    answer = {"principalId": principal, "policyDocument": {"Version": "2012-10-17", "Statement": [
        {"Action": "execute-api:Invoke", "Effect": effect, "Resource": resource}]}}
    if context:
        answer["context"] = context
    return answer


def authorize(event: dict, issuer: str, audience: str, keys: IssuerKeys) -> tuple[dict, str]:
    """The authorizer's answer to a TOKEN event, and why (for the log). Raises Unauthorized (no token) and
    IssuerUnavailable (no keys to check with)."""
    token = bearer_token(event.get("authorizationToken"))
    resource = stage_resource(event["methodArn"])
    try:
        claims = verify(token, issuer, audience, keys)
    except InvalidToken as error:
        return policy("anonymous", "Deny", resource), str(error)
    subject = str(claims["sub"])
    context = {"sub": subject}
    for claim in ("scope", "client_id"):
        if isinstance(claims.get(claim), str):
            context[claim] = claims[claim]
    return policy(subject, "Allow", resource, context), "valid"
