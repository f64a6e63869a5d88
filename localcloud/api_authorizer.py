"""API Gateway's Lambda TOKEN authorizer, as localcloud's REST API runs it for an operation whose security scheme
has `x-amazon-apigateway-authorizer` of type token: the identity header missing or empty, or not matching the
scheme's identityValidationExpression, is 401 "Unauthorized" without a call; otherwise the authorizer function is
invoked through the emulator's Lambda API (Invoke, as API Gateway calls it, allowed by the function's resource
policy for apigateway.amazonaws.com), with `{"type": "TOKEN", "authorizationToken", "methodArn"}`. Its answer:
the error "Unauthorized" -> 401; any other error or a malformed answer -> 500; a policy whose statements deny the
method ARN -> 403 (explicit deny), allow it -> the request goes on (`$context.authorizer` holds the principal and the
answer's context), neither -> 403. An answer (not an error) is cached per token for authorizerResultTtlInSeconds
(default 300), for every method, as API Gateway caches it."""

from __future__ import annotations

import json
import re
import threading
import time
from dataclasses import dataclass

import boto3
from botocore.config import Config


@dataclass
class Refused(Exception):
    status: int
    message: str
    kind: str


_UNAUTHORIZED = Refused(401, "Unauthorized", "UNAUTHORIZED")


def _matches(pattern: str, arn: str) -> bool:
    """IAM's wildcards in a policy's resource: * any run of characters, ? one character."""
    return re.fullmatch(re.escape(pattern).replace(r"\*", ".*").replace(r"\?", "."), arn) is not None


def decide(answer: dict, method_arn: str) -> None:
    """Refused unless the answer's policy allows `method_arn` (an explicit Deny wins)."""
    statements = answer["policyDocument"].get("Statement") or []
    statements = [statements] if isinstance(statements, dict) else statements
    effects = set()
    for statement in statements:
        actions = statement.get("Action") or []
        resources = statement.get("Resource") or []
        actions, resources = ([a] if isinstance(a, str) else a for a in (actions, resources))
        if any(_matches(a, "execute-api:Invoke") for a in actions) and any(_matches(r, method_arn) for r in resources):
            effects.add(statement.get("Effect"))
    if "Deny" in effects:
        raise Refused(403, "User is not authorized to access this resource with an explicit deny", "ACCESS_DENIED")
    if "Allow" not in effects:
        raise Refused(403, "User is not authorized to access this resource", "ACCESS_DENIED")


class TokenAuthorizers:
    def __init__(self, endpoint: str, account: str, region: str, permissions: list[dict]):
        self.account, self.region, self.permissions = account, region, permissions
        self._lambda = boto3.client("lambda", endpoint_url=endpoint, region_name=region,
                                    aws_access_key_id="localcloud", aws_secret_access_key="localcloud",
                                    config=Config(retries={"max_attempts": 1}, read_timeout=60))
        self._cache: dict[tuple, tuple[float, dict]] = {}
        self._lock = threading.Lock()
        self.invocations = 0

    def authorize(self, scheme_name: str, scheme: dict, headers, api_id: str, stage: str, method: str,
                  path: str) -> dict:
        """`$context.authorizer` for an allowed request; Refused otherwise."""
        authorizer = scheme["x-amazon-apigateway-authorizer"]
        if str(authorizer.get("type", "")).lower() != "token":
            raise NotImplementedError(f"localcloud runs TOKEN authorizers only, not {authorizer.get('type')!r}")
        token = headers.get(scheme.get("name", "Authorization"), "")
        pattern = authorizer.get("identityValidationExpression")
        if not token or (pattern and not re.search(pattern, token)):
            raise _UNAUTHORIZED
        method_arn = f"arn:aws:execute-api:{self.region}:{self.account}:{api_id}/{stage}/{method}{path}"
        ttl = int(authorizer.get("authorizerResultTtlInSeconds", 300))
        key = (api_id, stage, scheme_name, token)
        with self._lock:
            expires, answer = self._cache.get(key, (0.0, None))
        if answer is None or time.monotonic() >= expires:
            answer = self._invoke(authorizer["authorizerUri"], api_id, token, method_arn)
            if ttl > 0:
                with self._lock:
                    self._cache[key] = (time.monotonic() + ttl, answer)
        decide(answer, method_arn)
        return {"principalId": answer["principalId"], **(answer.get("context") or {})}

    def _invoke(self, uri: str, api_id: str, token: str, method_arn: str) -> dict:
        function = re.search(r":lambda:path/2015-03-31/functions/(.+)/invocations$", uri)
        if function is None or not self._permitted(function[1], api_id):
            raise Refused(500, "Internal server error", "AUTHORIZER_CONFIGURATION_ERROR")
        self.invocations += 1
        try:
            reply = self._lambda.invoke(FunctionName=function[1], Payload=json.dumps(
                {"type": "TOKEN", "authorizationToken": token, "methodArn": method_arn}).encode())
            payload = json.loads(reply["Payload"].read() or b"null")
        except Exception:  # the function could not be invoked, or answered no JSON
            raise Refused(500, "Internal server error", "AUTHORIZER_FAILURE") from None
        if reply.get("FunctionError"):
            if isinstance(payload, dict) and payload.get("errorMessage") == "Unauthorized":
                raise _UNAUTHORIZED
            raise Refused(500, "Internal server error", "AUTHORIZER_FAILURE")
        if not (isinstance(payload, dict) and isinstance(payload.get("principalId"), str)
                and isinstance(payload.get("policyDocument"), dict)):
            raise Refused(500, "Internal server error", "AUTHORIZER_CONFIGURATION_ERROR")
        return payload

    def _permitted(self, function_arn: str, api_id: str) -> bool:
        """The function's resource policy lets API Gateway invoke it for this API's authorizers."""
        name = function_arn.rsplit(":function:", 1)[-1].split(":")[0]
        source = f"arn:aws:execute-api:{self.region}:{self.account}:{api_id}/authorizers/any"
        return any(p.get("principal") == "apigateway.amazonaws.com" and p.get("function") in (name, function_arn)
                   and p.get("action") == "lambda:InvokeFunction"
                   and _matches(p.get("sourceArn") or "*", source) for p in self.permissions)
