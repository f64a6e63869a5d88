"""The API's document and mapping templates, without a cloud: the published OpenAPI document is current and
describes every route; the templates build the inbound event EventBridge would deliver and answer with the
workflow's detail and the status the contract's fields say, evaluated by a real Velocity engine (airspeed, as
localcloud runs them)."""

import datetime
import json

import pytest
from hypothesis import given, settings, strategies as st

from api import openapi
from api.routes import COMMAND_STATUS, REJECTION_STATUS, ROUTES, route
from api.templates import GATEWAY_ERROR_TEMPLATE, REFUSED_TEMPLATE, RESPONSE_TEMPLATE, request_template
from localcloud import vtl


def test_the_published_document_is_current():
    assert openapi.PUBLISHED.read_text() == openapi.render(), "run: python -m api.openapi"


def test_every_route_is_an_operation_with_its_integration_and_the_published_copy_has_no_aws_details():
    deployed, published = openapi.document(role_arn="arn:aws:iam::1:role/r"), openapi.published()
    for r in ROUTES:
        operation = deployed["paths"][r.path][r.method.lower()]
        integration = operation["x-amazon-apigateway-integration"]
        assert integration["uri"].endswith(":states:action/StartSyncExecution") and integration["type"] == "aws"
        assert integration["passthroughBehavior"] == "never" and integration["timeoutInMillis"] == 29000
        assert published["paths"][r.path][r.method.lower()]["operationId"] == r.operation_id
    assert "x-amazon-apigateway" not in json.dumps(published) and "arn:aws:iam" not in json.dumps(published)
    assert published["security"] == [{"sigv4": []}]
    assert "security" not in openapi.document(authorization="none")


def test_the_document_states_the_workflows_limits_from_its_own_code():
    from orders_db.queries import MAX_LIMIT
    from validate_command.validation import ID_MAX_CHARS, ITEMS_MAX, QUANTITY_MAX
    schemas = openapi.published()["components"]["schemas"]
    assert schemas["CreateOrder"]["properties"]["orderId"]["maxLength"] == ID_MAX_CHARS
    assert schemas["CreateOrder"]["properties"]["items"]["maxItems"] == ITEMS_MAX
    assert schemas["Item"]["properties"]["quantity"]["maximum"] == QUANTITY_MAX
    limit = next(p for p in openapi.published()["paths"]["/reports/items-sales"]["get"]["parameters"]
                 if p["name"] == "limit")
    assert limit["schema"]["maximum"] == MAX_LIMIT
    # The gateway itself checks no limit: only that createOrder's body is a JSON object.
    assert openapi.document()["components"]["schemas"]["JsonObject"] == {"type": "object"}


def _event(operation: str, *, body: str = "", path=None, query=None, epoch_ms: int = 1665687600000) -> dict:
    context = {"requestId": "req-1", "requestTimeEpoch": epoch_ms, "accountId": "123456789012",
               "responseOverride": {"status": None}}
    text = vtl.render(request_template(route(operation), "us-east-1"), body=body, context=context,
                      stage_variables={"stateMachineArn": "arn:sm"},
                      params={"path": path or {}, "querystring": query or {}, "header": {}})
    request = json.loads(text)
    assert request["stateMachineArn"] == "arn:sm" and request["name"] == "req-1"
    return json.loads(request["input"])


def test_a_request_becomes_the_event_an_eventbridge_producer_sends():
    event = _event("createOrder", body=json.dumps({"orderId": "6101", "items": [{"itemid": "z3333", "quantity": 6}],
                                                  "command": "cancelOrder"}))
    assert event == {"version": "0", "id": "req-1", "detail-type": "orderCommand", "source": "orderPipeline",
                     "account": "123456789012", "time": "2022-10-13T19:00:00Z", "region": "us-east-1",
                     "resources": [], "detail": {"command": "createOrder", "orderId": "6101",
                                                 "items": [{"itemid": "z3333", "quantity": 6}]}}
    assert _event("cancelOrder", path={"orderId": "6101"})["detail"] == {"command": "cancelOrder", "orderId": "6101"}
    assert _event("getOrder", path={"orderId": "x"})["detail"] == {"query": "getOrder", "orderId": "x"}
    assert _event("monthlySalesByItem", path={"itemId": "z4444"})["detail"] == {
        "query": "monthlySalesByItem", "itemid": "z4444"}
    assert _event("itemsSalesReport")["detail"] == {"query": "itemsSalesReport"}
    assert _event("itemsSalesReport", query={"limit": "10", "nextToken": "abc"})["detail"] == {
        "query": "itemsSalesReport", "limit": 10, "nextToken": "abc"}
    # Not an integer as the contract writes one: passed as text, for the query function to reject by name.
    for text in ("010", "-1", "1.5", "ten", "", "1\n"):
        assert _event("itemsSalesReport", query={"limit": text})["detail"]["limit"] == text


@pytest.mark.parametrize("missing_as", [None, "", "null"])
def test_a_missing_body_field_is_null_whatever_the_engine_gives_for_a_missing_path(monkeypatch, missing_as):
    original = vtl.Input.json
    monkeypatch.setattr(vtl.Input, "json", lambda self, path: original(self, path) if path == "$.items" else missing_as)
    assert _event("createOrder", body='{"items": []}')["detail"] == {"command": "createOrder", "orderId": None,
                                                                    "items": []}


@settings(max_examples=150, deadline=None)
@given(st.integers(min_value=0, max_value=253402300799999))
def test_the_event_time_is_the_request_time_in_iso_8601_utc(epoch_ms):
    expected = datetime.datetime.fromtimestamp(epoch_ms // 1000, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert _event("getOrder", path={"orderId": "x"}, epoch_ms=epoch_ms)["time"] == expected


@settings(max_examples=150, deadline=None)
@given(st.text(), st.lists(st.dictionaries(st.text(max_size=5), st.one_of(st.text(), st.integers(), st.none())),
                           max_size=3))
def test_any_value_reaches_the_workflow_unchanged(order_id, items):
    body = json.dumps({"orderId": order_id, "items": items})
    assert _event("createOrder", body=body)["detail"] == {"command": "createOrder", "orderId": order_id,
                                                          "items": items}
    assert _event("cancelOrder", path={"orderId": order_id})["detail"]["orderId"] == order_id
    assert _event("itemsSalesReport", query={"nextToken": order_id})["detail"]["nextToken"] == order_id


def test_velocity_string_literals_keep_their_backslashes_as_java_does():
    # Java's Velocity passes "\\'" to replaceAll as written (a backslash, escaped, then a quote); airspeed alone
    # would unescape it to "\'" and the documented fix would do nothing.
    template = r"""#set($x = "a\\'b")$x|$util.escapeJavaScript("it's")|$util.escapeJavaScript("it's").replaceAll("\\'","'")"""
    assert vtl.render(template, body="", context={}) == r"a\\'b|it\'s|it's"
    assert vtl.escape_javascript('"/\\\n\u00e9\U0001F600\x01') == r'\"\/\\\n\u00E9\uD83D\uDE00\u0001'


def _answer(execution: dict) -> tuple[int, str]:
    context = {"requestId": "r", "responseOverride": {"status": None}}
    text = vtl.render(RESPONSE_TEMPLATE, body=json.dumps(execution), context=context)
    return context["responseOverride"]["status"], text


def test_the_answer_is_the_workflows_detail_with_the_status_its_fields_say():
    for status, code in COMMAND_STATUS.items():
        detail = {"orderid": "1", "commandMessageId": "r", "commandStatus": status}
        assert _answer({"status": "SUCCEEDED", "output": json.dumps(detail)}) == (code, json.dumps(detail))
    for reason, code in REJECTION_STATUS.items():
        detail = {"orderid": None, "commandMessageId": "r", "commandStatus": "rejected", "reason": reason,
                  "message": "m"}
        assert _answer({"status": "SUCCEEDED", "output": json.dumps(detail)}) == (code, json.dumps(detail))
    for code in (200, 400, 404):
        detail = {"query": "getOrder", "queryStatus": code, "queryResult": None, "queryMessageId": "r"}
        assert _answer({"status": "SUCCEEDED", "output": json.dumps(detail)}) == (code, json.dumps(detail))
    # A system fault: the execution failed after publishing; its cause is the published detail.
    fault = {"orderid": "1", "commandMessageId": "r", "commandStatus": "failed", "reason": "internalError",
             "message": "m"}
    assert _answer({"status": "FAILED", "error": "SystemFault", "cause": json.dumps(fault)}) == (500, json.dumps(fault))
    status, text = _answer({"status": "TIMED_OUT"})
    assert status == 500 and json.loads(text) == {
        "message": "the workflow ended without an answer; its failure is in the state machine's logs", "requestId": "r"}


@pytest.mark.parametrize("error, status", [
    ({"__type": "ValidationException", "message": "Member must have length less than or equal to 262144"}, 413),
    ({"__type": "ThrottlingException", "message": "Rate exceeded"}, 429),
    ({"__type": "AccessDeniedException", "message": "not allowed"}, 500)])
def test_a_refused_start_is_answered_by_whose_fault_it_is(error, status):
    context = {"requestId": "r", "responseOverride": {"status": None}}
    text = vtl.render(REFUSED_TEMPLATE, body=json.dumps(error), context=context)
    assert context["responseOverride"]["status"] == status and json.loads(text)["requestId"] == "r"


def test_gateway_errors_carry_the_request_id():
    context = {"requestId": "r", "error": {"messageString": json.dumps('Missing "Authentication" Token')}}
    assert json.loads(vtl.render(GATEWAY_ERROR_TEMPLATE, body="", context=context)) == {
        "message": 'Missing "Authentication" Token', "requestId": "r"}
