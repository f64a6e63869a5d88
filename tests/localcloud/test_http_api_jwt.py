"""The HTTP API with JWT authorization and a tight throttle, end to end through `python -m localcloud serve`: the
stack deployed with httpApiAuthorization jwt (its Lambda TOKEN authorizer, run from its real archive and layer) and
a test issuer on loopback (discovery document and JWKS over HTTP: localcloud allows http for a loopback issuer only;
on AWS it must be https). API Gateway's answers: no or malformed bearer 401 without invoking the authorizer, any bad
token 403 (and nothing written), a good one the workflow's answer; the authorizer's answer cached per token; and
the stage's throttle (rate 1/s, burst 20 per method) answering 429 once a method's bucket is empty."""

import time
import uuid

import boto3
import pytest
import requests

from tests.jwt_issuer import AUDIENCE, Issuer
from tests.localcloud.api_client import Api
from tests.localcloud.serve_process import serving

pytestmark = pytest.mark.xdist_group("http-api-jwt")
BURST = 20
ITEMS = [{"itemid": "j1", "quantity": 2}]


@pytest.fixture(scope="module")
def issuer():
    with Issuer() as issuer:
        yield issuer


@pytest.fixture(scope="module")
def served(tmp_path_factory, issuer):
    config = {"cqrs-orders:httpApiAuthorization": "jwt", "cqrs-orders:httpApiJwtIssuer": issuer.url,
              "cqrs-orders:httpApiJwtAudience": AUDIENCE, "cqrs-orders:httpApiThrottleRateLimit": "1",
              "cqrs-orders:httpApiThrottleBurstLimit": str(BURST)}
    with serving(tmp_path_factory.mktemp("serve-jwt"), config=config) as serve:
        yield serve


@pytest.fixture(scope="module")
def url(served) -> str:
    return served.outputs()["HttpApiUrl"]


def call(url: str, method: str, path: str, token: str | None = None, body=None, **headers) -> requests.Response:
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    return requests.request(method, url + path, json=body, headers=headers, timeout=60)


def gateway_error(response, status: int, message: str) -> None:
    assert response.status_code == status, response.text
    assert response.json() == {"message": message, "requestId": response.headers["x-amzn-RequestId"]}


def stored(served, order_id: str):
    client = boto3.client("dynamodb", endpoint_url=served.endpoint, region_name="us-east-1",
                          aws_access_key_id="localcloud", aws_secret_access_key="localcloud")
    return client.get_item(TableName=served.outputs()["OrdersTableName"], Key={"orderId": {"S": order_id}},
                           ConsistentRead=True).get("Item")


@pytest.mark.parametrize("alg", ["RS256", "ES256"])
def test_a_valid_token_gets_the_workflows_answer(url, issuer, alg):
    order = f"jwt-{alg}-{uuid.uuid4().hex[:6]}"
    created = call(url, "POST", "/orders", issuer.token(alg), {"orderId": order, "items": ITEMS})
    assert created.status_code == 201, created.text
    assert created.json()["commandStatus"] == "orderCreated"
    assert created.json()["commandMessageId"] == created.headers["x-amzn-RequestId"]


@pytest.mark.parametrize("headers", [{}, {"Authorization": ""}, {"Authorization": "Basic dXNlcjpwYXNz"},
                                     {"Authorization": "Bearer not-a-jwt"}])
def test_no_bearer_token_is_401(url, headers):
    gateway_error(call(url, "GET", "/orders/anything", **headers), 401, "Unauthorized")


def test_sigv4_is_not_authorization_on_a_jwt_api(url):
    gateway_error(Api(url).get("anything"), 401, "Unauthorized")


@pytest.mark.parametrize("make", [
    pytest.param(lambda i: i.token(exp=int(time.time()) - 120), id="expired"),
    pytest.param(lambda i: i.token(aud="another-api"), id="wrong-audience"),
    pytest.param(lambda i: i.token(iss="https://evil.example"), id="wrong-issuer"),
    pytest.param(lambda i: i.token(key=i.stranger_key), id="bad-signature"),
    pytest.param(lambda i: i.unsigned_token(), id="alg-none"),
])
def test_a_bad_token_is_403_and_writes_nothing(served, url, issuer, make):
    order = f"jwt-denied-{uuid.uuid4().hex[:6]}"
    response = call(url, "POST", "/orders", make(issuer), {"orderId": order, "items": ITEMS})
    gateway_error(response, 403, "User is not authorized to access this resource with an explicit deny")
    assert stored(served, order) is None


def _checks_logged(served, principal: str) -> int:
    lambdas = boto3.client("lambda", endpoint_url=served.endpoint, region_name="us-east-1",
                           aws_access_key_id="localcloud", aws_secret_access_key="localcloud")
    logs = boto3.client("logs", endpoint_url=served.endpoint, region_name="us-east-1",
                        aws_access_key_id="localcloud", aws_secret_access_key="localcloud")
    [name] = [f["FunctionName"] for f in lambdas.list_functions()["Functions"] if "jwt-authorizer" in f["FunctionName"]]
    group = lambdas.get_function_configuration(FunctionName=name)["LoggingConfig"]["LogGroup"]
    events = logs.filter_log_events(logGroupName=group)["events"]
    return sum(1 for e in events if "token checked" in e["message"] and principal in e["message"])


def test_the_authorizers_answer_is_cached_per_token_for_every_method(served, url, issuer):
    principal = f"cached-{uuid.uuid4().hex[:6]}"
    token = issuer.token(sub=principal)
    order = f"jwt-cache-{uuid.uuid4().hex[:6]}"
    assert call(url, "POST", "/orders", token, {"orderId": order, "items": ITEMS}).status_code == 201
    assert call(url, "POST", f"/orders/{order}/cancel", token).status_code == 200
    assert call(url, "GET", "/reports/items-sales?limit=1", token).status_code == 200
    deadline = time.monotonic() + 10
    while _checks_logged(served, principal) < 1 and time.monotonic() < deadline:
        time.sleep(0.2)
    time.sleep(0.5)
    assert _checks_logged(served, principal) == 1  # one invocation for three requests on three methods


def test_a_methods_bucket_empties_at_its_burst_then_refills_at_its_rate(url):
    """Throttling comes first (before the authorizer): unauthorized requests count, and cost no workflow."""
    path = "/reports/monthly-sales/throttled"  # a method no other test calls: its bucket is full
    statuses = [call(url, "GET", path).status_code for _ in range(BURST + 10)]
    assert set(statuses) == {401, 429} and statuses[0] == 401
    passed = statuses.count(401)
    assert BURST <= passed <= BURST + 2, statuses  # the rate adds about one token a second meanwhile
    assert statuses[passed:] == [429] * (len(statuses) - passed)
    gateway_error(call(url, "GET", path), 429, "Too Many Requests")
    time.sleep(1.2)
    assert call(url, "GET", path).status_code == 401  # a token again, a second later
    assert call(url, "GET", "/reports/monthly-sales/other").status_code == 429  # the same method: its one token used
    assert call(url, "GET", "/reports/items-sales").status_code == 401  # another method: a bucket of its own
