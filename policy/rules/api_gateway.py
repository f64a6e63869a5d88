"""API Gateway REST APIs (the HTTP API): every operation requires authorization (SigV4, or an authorizer: the
stack's JWT Lambda authorizer, or a Cognito user pool; an API key alone identifies, it does not authorize), every
stage is throttled, and every stage writes access logs. A stack that means to allow anonymous calls (httpApiAuthorization none) sets
`api-authorization-required` to advisory in its pack config: the pack still reports each anonymous operation."""

from __future__ import annotations

import json
from collections.abc import Mapping

from .support import get, is_set, resource_policy, stack_policy

REST_API = "aws:apigateway/restApi:RestApi"
METHOD = "aws:apigateway/method:Method"
STAGE = "aws:apigateway/stage:Stage"
METHOD_SETTINGS = "aws:apigateway/methodSettings:MethodSettings"
HTTP_METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "x-amazon-apigateway-any-method"}


AUTHORIZER_TYPES = {"token": "authorizerUri", "request": "authorizerUri", "cognito_user_pools": "providerARNs"}


def _authorizes(scheme: object) -> bool:
    """A security scheme API Gateway enforces as authorization: SigV4, or an authorizer that names its function or
    user pools."""
    if not isinstance(scheme, Mapping):
        return False
    if scheme.get("x-amazon-apigateway-authtype") == "awsSigv4":
        return True
    authorizer = scheme.get("x-amazon-apigateway-authorizer")
    if not isinstance(authorizer, Mapping):
        return False
    needed = AUTHORIZER_TYPES.get(str(authorizer.get("type", "")).lower())
    return needed is not None and bool(authorizer.get(needed))


def _anonymous_operations(body: dict) -> list[str]:
    """The body's operations that no authorizing security requirement covers (an empty list or object allows
    anyone, and so does a requirement of an API key only)."""
    default = body.get("security") or []
    declared = (body.get("components") or {}).get("securitySchemes") or {}
    schemes = {name for name, scheme in declared.items() if _authorizes(scheme)}
    found = []
    for path, operations in (body.get("paths") or {}).items():
        for method, operation in (operations or {}).items():
            if method.lower() not in HTTP_METHODS or not isinstance(operation, dict):
                continue
            requirements = operation.get("security", default) or []
            if not any(isinstance(r, Mapping) and r and set(r) <= schemes for r in requirements):
                found.append(f"{method.upper()} {path}")
    return found


@resource_policy("api-authorization-required",
                 "API Gateway REST API operations require authorization (SigV4, or a Lambda or Cognito "
                 "authorizer such as the stack's JWT authorizer): no anonymous "
                 "access unless the stack's pack config makes this advisory.", {REST_API, METHOD})
def authorization_required(args, report_violation):
    if args.resource_type == METHOD:
        if get(args.props, "authorization") in (None, "NONE"):
            report_violation(f"method '{args.name}' allows anonymous calls: set authorization='AWS_IAM' (or an "
                             "authorizer).")
        return
    text = get(args.props, "body")
    if not isinstance(text, str):
        return
    try:
        body = json.loads(text)
    except ValueError:
        return
    anonymous = _anonymous_operations(body)
    if anonymous:
        report_violation(f"REST API '{args.name}' allows anonymous calls to {', '.join(anonymous[:5])}"
                         f"{' and more' if len(anonymous) > 5 else ''}: require SigV4 (a sigv4 security scheme "
                         "with x-amazon-apigateway-authtype awsSigv4) or an authorizer (x-amazon-apigateway-authorizer"
                         " naming its function) on every operation, i.e. set the stack's httpApiAuthorization to iam "
                         "or jwt.")


@resource_policy("api-access-logs", "API Gateway stages write access logs (a destination and a format with the "
                 "request id).", {STAGE})
def access_logs(args, report_violation):
    if not is_set(args.props, "accessLogSettings", "destinationArn"):
        report_violation(f"stage '{args.name}' writes no access log: set access_log_settings with destination_arn "
                         "(a log group of the stack) and a format.")
        return
    fmt = get(args.props, "accessLogSettings", "format")
    if isinstance(fmt, str) and "$context.requestId" not in fmt and "$context.extendedRequestId" not in fmt:
        report_violation(f"stage '{args.name}' logs requests without their id: put $context.requestId in "
                         "access_log_settings.format.")


def _limit(settings, key: str) -> float | None:
    value = get(settings, key)
    return value if isinstance(value, (int, float)) and value > 0 else None


@stack_policy("api-throttling-set", "Every API Gateway stage has method settings for */* with a steady rate and a "
              "burst limit (-1 or unset leaves only the account's limits).")
def throttling_set(args, report_violation):
    settings = [r for r in args.resources if r.resource_type == METHOD_SETTINGS]
    for stage in (r for r in args.resources if r.resource_type == STAGE):
        api, name = get(stage.props, "restApi"), get(stage.props, "stageName")
        covering = [s for s in settings if get(s.props, "restApi") == api and get(s.props, "stageName") == name
                    and get(s.props, "methodPath") == "*/*"]
        if not any(_limit(get(s.props, "settings"), "throttlingRateLimit") and
                   _limit(get(s.props, "settings"), "throttlingBurstLimit") for s in covering):
            report_violation(f"stage '{stage.name}' is not throttled: add aws.apigateway.MethodSettings with "
                             "method_path '*/*' and settings throttling_rate_limit and throttling_burst_limit above 0.",
                             stage.urn)


POLICIES = [authorization_required, access_logs, throttling_set]
