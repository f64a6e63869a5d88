"""Regressions of the HTTP API the pack must catch: anonymous operations (no scheme, an API key only, an
authorizer without its function), a stage without throttling, a stage without
access logs (each one change to the recorded resource graph of dev or prod)."""

from __future__ import annotations

from .graph import ResourceGraph
from .mutant import Mutant


def _without_security(g: ResourceGraph) -> None:
    def edit(body: dict) -> None:
        body.pop("security", None)
        body["components"].pop("securitySchemes", None)
    g.edit_document("routing-http-api", "body", edit)


def _api_key_only(g: ResourceGraph) -> None:
    def edit(body: dict) -> None:
        body["components"]["securitySchemes"] = {"sigv4": {"type": "apiKey", "name": "x-api-key", "in": "header"}}
    g.edit_document("routing-http-api", "body", edit)


def _authorizer_without_function(g: ResourceGraph) -> None:
    def edit(body: dict) -> None:
        body["components"]["securitySchemes"] = {"sigv4": {
            "type": "apiKey", "name": "Authorization", "in": "header", "x-amazon-apigateway-authtype": "custom",
            "x-amazon-apigateway-authorizer": {"type": "token", "authorizerResultTtlInSeconds": 60}}}
    g.edit_document("routing-http-api", "body", edit)


def _one_operation_open(g: ResourceGraph) -> None:
    g.edit_document("routing-http-api", "body",
                    lambda body: body["paths"]["/orders/{orderId}"]["get"].__setitem__("security", []))


MUTANTS = [
    Mutant("api-anonymous", "prod", "api-authorization-required",
           "the REST API drops its SigV4 security scheme (anyone may call it)", _without_security),
    Mutant("api-key-only", "prod", "api-authorization-required",
           "the SigV4 scheme becomes an API key (identifies callers, authorizes nobody)", _api_key_only),
    Mutant("api-authorizer-without-function", "dev", "api-authorization-required",
           "the scheme becomes a token authorizer that names no function", _authorizer_without_function),
    Mutant("api-get-order-anonymous", "dev", "api-authorization-required",
           "GET /orders/{orderId} opts out of authorization (security: [])", _one_operation_open),
    Mutant("api-throttling-removed", "prod", "api-throttling-set", "the stage's method settings are removed",
           lambda g: g.remove("routing-http-method-settings")),
    Mutant("api-throttling-unlimited", "dev", "api-throttling-set", "the stage's steady rate is -1 (unthrottled)",
           lambda g: g.set("routing-http-method-settings", "settings.throttlingRateLimit", -1)),
    Mutant("api-access-logs-off", "prod", "api-access-logs", "the stage writes no access log",
           lambda g: g.delete("routing-http-stage", "accessLogSettings")),
]
