"""api-authorization-required: SigV4 and the stack's JWT (Lambda TOKEN) authorizer authorize; an API key, an
authorizer without its function, or no requirement do not."""

import json

import pytest

from api.openapi import document
from tests.policy.helpers import messages

REST_API = "aws:apigateway/restApi:RestApi"
FUNCTION_URI = "arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/arn:aws:lambda:us-east-1:1:function:a/invocations"


def violations(body: dict) -> list[str]:
    return messages("api-authorization-required", REST_API, {"body": json.dumps(body)})


@pytest.mark.parametrize("authorization", ["iam", "jwt"])
def test_sigv4_and_the_jwt_authorizer_authorize_every_operation(authorization):
    assert violations(document(authorization=authorization, authorizer_uri=FUNCTION_URI)) == []


def test_anonymous_operations_are_reported():
    [message] = violations(document(authorization="none"))
    assert "allows anonymous calls to POST /orders" in message and "iam or jwt" in message


@pytest.mark.parametrize("scheme", [
    {"type": "apiKey", "name": "x-api-key", "in": "header"},
    {"type": "apiKey", "name": "Authorization", "in": "header", "x-amazon-apigateway-authtype": "custom",
     "x-amazon-apigateway-authorizer": {"type": "token"}},
    {"type": "apiKey", "name": "Authorization", "in": "header",
     "x-amazon-apigateway-authorizer": {"type": "cognito_user_pools", "providerARNs": []}},
])
def test_a_scheme_that_authorizes_nobody_leaves_the_operations_anonymous(scheme):
    body = document(authorization="jwt", authorizer_uri=FUNCTION_URI)
    body["components"]["securitySchemes"]["jwt"] = scheme
    assert len(violations(body)) == 1
