"""The OpenAPI 3 document of the HTTP API, built from the route table (routes.py) and the mapping templates
(templates.py): `document(aws=True)` is what the program deploys (a REST API body with API Gateway's extensions:
the StartSyncExecution integration of each operation, its templates, the gateway's own error responses);
`published()` is the same document for clients, without the extensions (api/openapi.json, kept current by a test:
`python -m api.openapi` rewrites it).

The schemas describe the contract's limits (read from the workflow's own validator and query functions, never
restated): the gateway does not enforce them. It checks only that a createOrder body is a JSON object; every other
rule is the workflow's, whose answer is the response."""

from __future__ import annotations

import ast
import copy
import json
import sys
from pathlib import Path
from typing import Any

from api.routes import (CORRELATION_HEADER, INTEGRATION_TIMEOUT_MS, QUERY_STATUSES, ROUTES, Route)
from api.templates import (GATEWAY_ERROR_TEMPLATE, REFUSED_TEMPLATE, RESPONSE_TEMPLATE, TIMEOUT_TEMPLATE,
                           request_template)

ROOT = Path(__file__).resolve().parent.parent
PUBLISHED = Path(__file__).with_name("openapi.json")
STAGE = "v1"
AUTHORIZATIONS = ("iam", "jwt", "none")
# jwt: the Lambda TOKEN authorizer's answer is cached per token for this long (an Allow, for all methods of the
# stage): a token stays accepted up to this long after it expires; API Gateway's default is 300 s.
AUTHORIZER_TTL_SECONDS = 60
# jwt: what API Gateway itself requires of the Authorization header before it invokes the authorizer (otherwise 401):
# "Bearer" and three base64url parts, the signature possibly empty (the authorizer denies alg none, 403).
BEARER_JWT_PATTERN = r"^Bearer [-0-9A-Za-z_=]+\.[-0-9A-Za-z_=]+\.[-0-9A-Za-z_=]*$"


def _constant(relative: str, name: str) -> int:
    """A module-level constant of a function's source, read without importing it (the functions' dependencies
    are not the program's)."""
    tree = ast.parse((ROOT / "functions" / relative).read_text())
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == name for t in node.targets):
            return ast.literal_eval(node.value)
    raise LookupError(f"{name} in functions/{relative}")


def _limits() -> dict[str, int]:
    return {"id": _constant("validate_command/validation.py", "ID_MAX_CHARS"),
            "items": _constant("validate_command/validation.py", "ITEMS_MAX"),
            "quantity": _constant("validate_command/validation.py", "QUANTITY_MAX"),
            "query_id": _constant("orders_db/queries.py", "MAX_ID_LENGTH"),
            "limit": _constant("orders_db/queries.py", "MAX_LIMIT")}


def _schemas(limits: dict[str, int]) -> dict[str, Any]:
    ident = {"type": "string", "minLength": 1, "maxLength": limits["id"]}
    nullable_string = {"type": "string", "nullable": True}

    def query_answer(result: dict, **extra: dict) -> dict:
        return {"type": "object", "required": ["query", "queryMessageId", "queryStatus", "queryResult"],
                "properties": {"query": nullable_string, "queryMessageId": {"type": "string"},
                               "queryStatus": {"type": "integer", "enum": list(QUERY_STATUSES)},
                               "queryResult": {**result, "nullable": True},
                               "error": {"type": "string", "description": "what is wrong (errors only)"}, **extra}}

    return {
        "Item": {"type": "object", "required": ["itemid", "quantity"],
                 "properties": {"itemid": ident, "quantity": {"type": "integer", "minimum": 1,
                                                              "maximum": limits["quantity"]}}},
        "CreateOrder": {"type": "object", "required": ["orderId", "items"],
                        "properties": {"orderId": ident, "items": {"type": "array", "minItems": 1,
                                                                   "maxItems": limits["items"],
                                                                   "items": {"$ref": "#/components/schemas/Item"}}}},
        "CommandResponse": {
            "type": "object", "required": ["orderid", "commandMessageId", "commandStatus"],
            "description": "the orderCommandResponse event's detail (SEED-CONTRACT.md)",
            "properties": {"orderid": nullable_string, "commandMessageId": {"type": "string"},
                           "commandStatus": {"type": "string",
                                             "enum": ["orderCreated", "orderCancelled", "rejected", "failed"]},
                           "reason": {"type": "string", "enum": ["invalidCommand", "unsupportedCommand",
                                                                 "orderAlreadyExists", "orderNotFound",
                                                                 "orderAlreadyCancelled", "internalError"]},
                           "message": {"type": "string"}}},
        "Order": {"type": "object", "required": ["orderid", "status", "orderdate", "items"],
                  "properties": {"orderid": {"type": "string"},
                                 "status": {"type": "string", "enum": ["orderCreated", "orderCancelled"]},
                                 "orderdate": {"type": "string"},
                                 "items": {"type": "array", "items": {"$ref": "#/components/schemas/Item"}}}},
        "GetOrderResponse": query_answer({"$ref": "#/components/schemas/Order"}),
        "ItemsSalesResponse": query_answer(
            {"type": "array", "items": {"type": "object", "required": ["itemid", "totalordered", "lastorderdate"],
                                        "properties": {"itemid": {"type": "string"},
                                                       "totalordered": {"type": "integer"},
                                                       "lastorderdate": {"type": "string"}}}},
            nextToken={"type": "string", "description": "present when more items follow: pass it back"}),
        "MonthlySalesResponse": query_answer(
            {"type": "array", "items": {"type": "object", "required": ["monthyear", "monthlyordered"],
                                        "properties": {"monthyear": {"type": "string"},
                                                       "monthlyordered": {"type": "integer"}}}},
            queryItemId=nullable_string),
        "GatewayError": {"type": "object", "required": ["message", "requestId"],
                         "description": "the gateway's own answer: the request never reached the workflow, or "
                                        "the workflow did not answer in time",
                         "properties": {"message": {"type": "string"}, "requestId": {"type": "string"}}},
    }


_ANSWERS = {"createOrder": "CommandResponse", "cancelOrder": "CommandResponse", "getOrder": "GetOrderResponse",
            "itemsSalesReport": "ItemsSalesResponse", "monthlySalesByItem": "MonthlySalesResponse"}
_STATUSES = {"createOrder": (201, 400, 409, 500), "cancelOrder": (200, 400, 404, 409, 500),
             "getOrder": (200, 400, 404, 500), "itemsSalesReport": (200, 400, 500),
             "monthlySalesByItem": (200, 400, 500)}
_GATEWAY = {403: "not signed, or signed wrongly (or an unknown path)", 413: "the request is too large",
            415: "the body is not JSON (Content-Type application/json)", 429: "throttled: retry later",
            504: f"no answer within {INTEGRATION_TIMEOUT_MS // 1000} s: the workflow goes on and publishes its "
                 "response event on the bus"}
_DESCRIPTIONS = {200: "answered", 201: "created", 400: "invalid or unsupported", 404: "unknown order",
                 409: "already exists, or already cancelled", 500: "a system fault (the contract's failed / 500)"}


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def _responses(route: Route, authorization: str) -> dict:
    answer = _ref(_ANSWERS[route.operation_id])
    header = {CORRELATION_HEADER: {"required": True, "description": "the request id, which is also the answer's "
                                   "commandMessageId or queryMessageId", "schema": {"type": "string"}}}
    responses = {}
    for status in _STATUSES[route.operation_id]:
        # A 400 may be the gateway's (a body that is not a JSON object), a 500 the gateway's (no answer at all).
        schema = {"anyOf": [answer, _ref("GatewayError")]} if status in (400, 500) else answer
        responses[str(status)] = {"description": _DESCRIPTIONS[status], "headers": header,
                                  "content": {"application/json": {"schema": schema}}}
    gateway = dict(_GATEWAY)
    if authorization == "jwt":
        gateway |= {401: "no bearer token (Authorization: Bearer <JWT>)",
                    403: "the token is not valid: signature, issuer, audience or lifetime (or an unknown path)"}
    for status, description in sorted(gateway.items()):
        responses[str(status)] = {"description": description, "headers": header,
                                  "content": {"application/json": {"schema": _ref("GatewayError")}}}
    return responses


def _parameters(route: Route, limits: dict[str, int]) -> list[dict]:
    parameters = []
    for field in route.fields:
        if field.source == "path":
            parameters.append({"name": field.request_name, "in": "path", "required": True,
                               "schema": {"type": "string", "minLength": 1, "maxLength": limits["query_id"]}})
        elif field.source.startswith("query"):
            schema = {"type": "integer", "minimum": 1, "maximum": limits["limit"]} \
                if field.source == "query-integer" else {"type": "string"}
            parameters.append({"name": field.request_name, "in": "query", "required": field.required,
                               "schema": schema})
    return parameters


def _integration(route: Route, region: str, role_arn: Any) -> dict:
    success = str(min(_STATUSES[route.operation_id]))
    refused = {"statusCode": "500", "responseTemplates": {"application/json": REFUSED_TEMPLATE}}
    return {"type": "aws", "httpMethod": "POST", "credentials": role_arn,
            "uri": f"arn:aws:apigateway:{region}:states:action/StartSyncExecution",
            "passthroughBehavior": "never", "timeoutInMillis": INTEGRATION_TIMEOUT_MS,
            "requestTemplates": {"application/json": request_template(route, region)},
            "responses": {"default": {"statusCode": success,
                                      "responseTemplates": {"application/json": RESPONSE_TEMPLATE}},
                          "4\\d{2}": refused, "5\\d{2}": refused}}


def _gateway_responses() -> dict:
    error = {"responseTemplates": {"application/json": GATEWAY_ERROR_TEMPLATE}}
    return {"DEFAULT_4XX": error, "DEFAULT_5XX": error,
            "INTEGRATION_TIMEOUT": {"statusCode": 504, "responseTemplates": {"application/json": TIMEOUT_TEMPLATE}}}


def _security_scheme(authorization: str, authorizer_uri: Any) -> dict:
    if authorization == "iam":
        return {"sigv4": {"type": "apiKey", "name": "Authorization", "in": "header",
                          "description": "AWS Signature Version 4 for the service execute-api",
                          "x-amazon-apigateway-authtype": "awsSigv4"}}
    return {"jwt": {"type": "apiKey", "name": "Authorization", "in": "header",
                    "description": "Bearer <JWT>: a token of the stack's issuer for its audience (RS256 or ES256)",
                    "x-amazon-apigateway-authtype": "custom",
                    "x-amazon-apigateway-authorizer": {
                        "type": "token", "authorizerUri": authorizer_uri,
                        "authorizerResultTtlInSeconds": AUTHORIZER_TTL_SECONDS,
                        "identityValidationExpression": BEARER_JWT_PATTERN}}}


def document(*, region: str = "us-east-1", role_arn: Any = "<integration role ARN>", authorization: str = "iam",
             aws: bool = True, title: str = "cqrs-orders", authorizer_uri: Any = "<authorizer invoke ARN>") -> dict:
    """The API's document; with `aws`, as the REST API's body (role_arn and authorizer_uri, the JWT authorizer
    function's invoke ARN, may be Pulumi Outputs)."""
    if authorization not in AUTHORIZATIONS:
        raise ValueError(f"authorization {authorization!r}: expected one of {AUTHORIZATIONS}")
    limits = _limits()
    schemas = _schemas(limits)
    paths: dict[str, dict] = {}
    for route in ROUTES:
        operation: dict[str, Any] = {"operationId": route.operation_id, "summary": route.summary,
                                     "parameters": _parameters(route, limits), "responses": _responses(route, authorization)}
        if route.has_body:
            operation["requestBody"] = {"required": True,
                                        "content": {"application/json": {"schema": _ref("CreateOrder")}}}
        if aws:
            operation["x-amazon-apigateway-integration"] = _integration(route, region, role_arn)
            if route.has_body:  # the gateway checks only that the body is a JSON object (the workflow the rest)
                operation["x-amazon-apigateway-request-validator"] = "body"
                operation["requestBody"]["content"]["application/json"]["schema"] = _ref("JsonObject")
        paths.setdefault(route.path, {})[route.method.lower()] = operation
    doc: dict[str, Any] = {
        "openapi": "3.0.3",
        "info": {"title": title, "version": "1.0.0",
                 "description": "Commands and queries of SEED-CONTRACT.md, answered synchronously by the same "
                                "workflow as the EventBridge events; every answer is also published on the bus."},
        "servers": [{"url": "https://{apiId}.execute-api.{region}.amazonaws.com/" + STAGE,
                     "variables": {"apiId": {"default": "api-id"}, "region": {"default": region}}}],
        "paths": paths,
        "components": {"schemas": schemas},
    }
    if authorization != "none":
        doc["components"]["securitySchemes"] = _security_scheme(authorization, authorizer_uri)
        doc["security"] = [{name: []} for name in doc["components"]["securitySchemes"]]
    if aws:
        schemas["JsonObject"] = {"type": "object"}
        doc["x-amazon-apigateway-request-validators"] = {"body": {"validateRequestBody": True,
                                                                   "validateRequestParameters": False}}
        doc["x-amazon-apigateway-gateway-responses"] = _gateway_responses()
    return doc


def _without_extensions(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_extensions(v) for k, v in value.items() if not k.startswith("x-amazon-apigateway")}
    if isinstance(value, list):
        return [_without_extensions(v) for v in value]
    return value


def published() -> dict:
    """The document for clients (the dev and prod stacks' API, signed with SigV4)."""
    return _without_extensions(copy.deepcopy(document(aws=False)))


def render() -> str:
    return json.dumps(published(), indent=2, ensure_ascii=False) + "\n"


if __name__ == "__main__":
    PUBLISHED.write_text(render())
    sys.exit(0)
