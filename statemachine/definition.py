"""The order workflow's Amazon States Language definition, built from plain dicts.

`build_definition` is pure: it takes the resource references (plain strings in tests, Pulumi Outputs in the
program, rendered with `Output.json_dumps`) and returns the ASL dict. It implements SEED-CONTRACT.md:
route by detail-type, then by command or query; reject client errors with the contract's reason codes and end
successfully; publish `failed` / 500 after retries on system faults and end failed.

State growth: the execution input (the event envelope, up to Step Functions' 256 KiB quota) is never copied into
the state while it is still there. The first state that changes the state replaces it with what the rest of the
path needs (the validated command, or a query's answer); everything else is read where it already is, in the
context object (`$$.Execution.Input`); a catcher discards the error (`ResultPath: null`) rather than add it; and no
state or response echoes a client value that has not been validated to the contract's limits. So no
client-controlled value can make the state, or a response event, grow with it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

SOURCE = "orderPipeline"
QUERIES = ("itemsSalesReport", "monthlySalesByItem", "getOrder")
QUERY_STATES = {"itemsSalesReport": "ItemsSalesReport", "monthlySalesByItem": "MonthlySalesByItem",
                "getOrder": "GetOrder"}

# Transient errors worth retrying, per service. Client errors (a failed condition) are never retried.
_DYNAMODB_TRANSIENT = ["DynamoDB.ProvisionedThroughputExceededException", "DynamoDB.ThrottlingException",
                       "DynamoDB.RequestLimitExceeded", "DynamoDB.InternalServerErrorException",
                       "DynamoDB.TransactionConflictException", "DynamoDB.SdkClientException",
                       "DynamoDB.AmazonDynamoDBException"]
_LAMBDA_TRANSIENT = ["Lambda.ServiceException", "Lambda.AWSLambdaException", "Lambda.SdkClientException",
                     "Lambda.TooManyRequestsException"]


@dataclass(frozen=True)
class WorkflowRefs:
    """What the workflow calls. Values are strings or Pulumi Outputs."""
    table_name: Any
    event_bus_name: Any
    validator_function_arn: Any
    query_function_arns: dict[str, Any]  # query name -> function ARN
    retry_interval_seconds: int = 1


def _retry(errors: list[str], interval: int, attempts: int) -> dict:
    return {"ErrorEquals": errors, "IntervalSeconds": interval, "MaxAttempts": attempts, "BackoffRate": 2.0,
            "JitterStrategy": "FULL"}


def _lambda_retry(interval: int) -> list[dict]:
    # Function errors (a database resuming from auto-pause, a timeout) get two more tries after a pause.
    return [_retry(_LAMBDA_TRANSIENT, interval, 3), _retry(["States.TaskFailed", "States.Timeout"], interval * 2, 2)]


# What the rest of the workflow reads from the event envelope, where it already is: never copied into the state.
EVENT_ID = "$$.Execution.Input.id"
EVENT_TIME = "$$.Execution.Input.time"


def _catch_all(next_state: str) -> list[dict]:
    # The error is discarded (no state reads it; the execution history keeps it): adding it would grow the state.
    return [{"ErrorEquals": ["States.ALL"], "ResultPath": None, "Next": next_state}]


def _present_string(path: str, value: str) -> dict:
    """A Choice rule that cannot raise on a missing or non-string field."""
    return {"And": [{"Variable": path, "IsPresent": True}, {"Variable": path, "IsString": True},
                    {"Variable": path, "StringEquals": value}]}


def _command_response(status: str, reason: str | None = None, message: str | dict | None = None,
                      order_id: str | None = "$.command.orderId") -> dict:
    # `$.command` is the validator's output: its orderId is a valid id (1..64 characters) or null.
    response: dict[str, Any] = {"orderid.$": order_id} if order_id else {"orderid": None}
    response |= {"commandMessageId.$": EVENT_ID, "commandStatus": status}
    if reason is not None:
        response["reason"] = reason
    if isinstance(message, str):
        response["message"] = message
    elif message:
        response.update(message)
    return response


def _outcome(status: str, reason: str | None = None, message: str | dict | None = None,
             order_id: str | None = "$.command.orderId") -> dict:
    # The response replaces the state: nothing after it needs anything else.
    return {"Type": "Pass", "Parameters": {"response": _command_response(status, reason, message, order_id)},
            "ResultPath": "$", "Next": "PublishCommandResponse"}


def _publish(refs: WorkflowRefs, detail_type: str, detail_path: str, next_state: str) -> dict:
    return {
        "Type": "Task",
        "Resource": "arn:aws:states:::events:putEvents",
        "Parameters": {"Entries": [{"EventBusName": refs.event_bus_name, "Source": SOURCE,
                                    "DetailType": detail_type, "Detail.$": detail_path}]},
        "ResultPath": None,
        # Publishing has no client errors by design: every failure is transient or a fault.
        "Retry": [_retry(["States.TaskFailed"], refs.retry_interval_seconds, 4)],
        "Next": next_state,
    }


SYSTEM_FAULT = "the command could not be processed because of a system fault; retry later"


def _command_states(refs: WorkflowRefs) -> dict:
    interval = refs.retry_interval_seconds
    dynamodb_retry = [_retry(_DYNAMODB_TRANSIENT, interval, 4)]
    key = {"orderId": {"S.$": "$.command.orderId"}}
    load_order = {
        "Type": "Task", "Resource": "arn:aws:states:::dynamodb:getItem",
        # Only what the next choice compares (an item written behind the workflow's back may be large).
        "Parameters": {"TableName": refs.table_name, "Key": key, "ConsistentRead": True,
                       "ProjectionExpression": "orderId, createdBy, cancelledBy"},
        "ResultPath": "$.existing", "Retry": dynamodb_retry, "Catch": _catch_all("CommandFailed"),
    }
    return {
        # The validator's output replaces the envelope: from here on the state is {command} (bounded by the
        # contract's limits, whatever the event held), plus the few attributes of an existing order.
        "ValidateCommand": {
            "Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
            "Parameters": {"FunctionName": refs.validator_function_arn,
                           "Payload": {"detail.$": "$.detail", "id.$": "$.id", "time.$": "$.time"}},
            "ResultSelector": {"command.$": "$.Payload"},
            "ResultPath": "$",
            "Retry": _lambda_retry(interval), "Catch": _catch_all("ValidationFailed"),
            "Next": "IsCommandValid",
        },
        "IsCommandValid": {
            "Type": "Choice",
            "Choices": [{"Variable": "$.command.valid", "BooleanEquals": True, "Next": "RouteCommand"}],
            "Default": "RejectCommand",
        },
        "RouteCommand": {
            "Type": "Choice",
            "Choices": [{"Variable": "$.command.command", "StringEquals": "createOrder", "Next": "CreateOrder"},
                        {"Variable": "$.command.command", "StringEquals": "cancelOrder", "Next": "CancelOrder"}],
            "Default": "RejectCommand",
        },
        "CreateOrder": {
            "Type": "Task", "Resource": "arn:aws:states:::dynamodb:putItem",
            "Parameters": {
                "TableName": refs.table_name,
                "Item": {"orderId": {"S.$": "$.command.orderId"}, "status": {"S": "orderCreated"},
                         "orderDate": {"S.$": "$.command.orderDate"}, "items": {"L.$": "$.command.dynamoItems"},
                         "version": {"N": "1"}, "createdBy": {"S.$": EVENT_ID}},
                # Never overwrite an order (the sample's defect 1).
                "ConditionExpression": "attribute_not_exists(orderId)",
            },
            "ResultPath": None, "Retry": dynamodb_retry,
            "Catch": [{"ErrorEquals": ["DynamoDB.ConditionalCheckFailedException"], "ResultPath": None,
                       "Next": "LoadExistingOrder"}] + _catch_all("CommandFailed"),
            "Next": "OrderCreated",
        },
        "LoadExistingOrder": {**load_order, "Next": "IsRedeliveredCreate"},
        # EventBridge delivers at least once: the same event id means this command already created the order.
        "IsRedeliveredCreate": {
            "Type": "Choice",
            "Choices": [{"And": [{"Variable": "$.existing.Item.createdBy.S", "IsPresent": True},
                                 {"Variable": EVENT_ID, "StringEqualsPath": "$.existing.Item.createdBy.S"}],
                         "Next": "OrderCreated"}],
            "Default": "RejectOrderExists",
        },
        "CancelOrder": {
            "Type": "Task", "Resource": "arn:aws:states:::dynamodb:updateItem",
            "Parameters": {
                "TableName": refs.table_name, "Key": key,
                "UpdateExpression": "SET #status = :cancelled, #version = #version + :one, "
                                    "cancelledAt = :at, cancelledBy = :by",
                "ConditionExpression": "#status = :created",
                "ExpressionAttributeNames": {"#status": "status", "#version": "version"},
                "ExpressionAttributeValues": {":cancelled": {"S": "orderCancelled"}, ":created": {"S": "orderCreated"},
                                              ":one": {"N": "1"}, ":at": {"S.$": EVENT_TIME}, ":by": {"S.$": EVENT_ID}},
            },
            "ResultPath": None, "Retry": dynamodb_retry,
            "Catch": [{"ErrorEquals": ["DynamoDB.ConditionalCheckFailedException"], "ResultPath": None,
                       "Next": "LoadOrderToCancel"}] + _catch_all("CommandFailed"),
            "Next": "OrderCancelled",
        },
        "LoadOrderToCancel": {**load_order, "Next": "WhyCancelFailed"},
        "WhyCancelFailed": {
            "Type": "Choice",
            "Choices": [
                {"Not": {"Variable": "$.existing.Item", "IsPresent": True}, "Next": "RejectOrderNotFound"},
                {"And": [{"Variable": "$.existing.Item.cancelledBy.S", "IsPresent": True},
                         {"Variable": EVENT_ID, "StringEqualsPath": "$.existing.Item.cancelledBy.S"}],
                 "Next": "OrderCancelled"},
            ],
            "Default": "RejectOrderAlreadyCancelled",
        },
        "OrderCreated": _outcome("orderCreated"),
        "OrderCancelled": _outcome("orderCancelled"),
        "RejectCommand": _outcome("rejected", message={"reason.$": "$.command.reason",
                                                       "message.$": "$.command.message"}),
        "RejectOrderExists": _outcome("rejected", "orderAlreadyExists", {
            "message.$": "States.Format('orderId {} already exists', $.command.orderId)"}),
        "RejectOrderNotFound": _outcome("rejected", "orderNotFound", {
            "message.$": "States.Format('orderId {} does not exist', $.command.orderId)"}),
        "RejectOrderAlreadyCancelled": _outcome("rejected", "orderAlreadyCancelled", {
            "message.$": "States.Format('orderId {} is already cancelled', $.command.orderId)"}),
        "CommandFailed": _outcome("failed", "internalError", SYSTEM_FAULT),
        # The validator failed: the state is still the envelope, whose orderId was never validated (not echoed).
        "ValidationFailed": _outcome("failed", "internalError", SYSTEM_FAULT, order_id=None),
        "PublishCommandResponse": _publish(refs, "orderCommandResponse", "$.response", "CommandOutcome"),
        "CommandOutcome": {
            "Type": "Choice",
            "Choices": [{"Variable": "$.response.commandStatus", "StringEquals": "failed", "Next": "SystemFault"}],
            "Default": "Done",
        },
    }


def _query_states(refs: WorkflowRefs) -> dict:
    interval = refs.retry_interval_seconds
    states: dict[str, dict] = {
        "RouteQuery": {
            "Type": "Choice",
            "Choices": [_present_string("$.detail.query", q) | {"Next": QUERY_STATES[q]} for q in QUERIES]
            + [{"Variable": "$.detail.query", "IsPresent": True, "Next": "UnsupportedQuery"}],
            "Default": "MissingQuery",
        },
    }
    # Every answer replaces the state with {payload: the response detail, queryMeta: {queryMessageId}}.
    meta = {"queryMessageId.$": EVENT_ID}
    for query, state in QUERY_STATES.items():
        states[state] = {
            "Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
            # The function gets the query exactly as sent, validates it itself and bounds its answer.
            "Parameters": {"FunctionName": refs.query_function_arns[query], "Payload.$": "$.detail"},
            "ResultSelector": {"payload.$": "$.Payload", "queryMeta": meta},
            "ResultPath": "$",
            "Retry": _lambda_retry(interval), "Catch": _catch_all("QueryFailed"),
            "Next": "QueryResponse",
        }
    expected = "expected one of " + ", ".join(QUERIES)

    def answer(payload: dict) -> dict:
        return {"Type": "Pass", "Parameters": {"payload": payload, "queryMeta": meta}, "ResultPath": "$",
                "Next": "QueryResponse"}

    states |= {
        # The client's value is not echoed: it can be anything up to the size of the event (`error` says what
        # is expected, `queryMessageId` correlates).
        "UnsupportedQuery": answer({"query": None, "queryStatus": 400, "queryResult": None,
                                    "error": "unsupported query: " + expected}),
        "MissingQuery": answer({"query": None, "queryStatus": 400, "queryResult": None,
                                "error": "missing field query: " + expected}),
        # Reached only from the three query tasks, so `query` is one of their names.
        "QueryFailed": answer({"query.$": "$$.Execution.Input.detail.query", "queryStatus": 500, "queryResult": None,
                               "error": "the query could not be answered because of a system fault; retry later"}),
        # The response detail replaces the state, as on the command path: the execution's output (and a fault's
        # cause) is exactly the published detail, which StartSyncExecution callers (the HTTP API) answer with.
        "QueryResponse": {"Type": "Pass", "Parameters": {"response.$": "States.JsonMerge($.payload, $.queryMeta, false)"},
                          "ResultPath": "$", "Next": "PublishQueryResponse"},
        "PublishQueryResponse": _publish(refs, "orderQueryResponse", "$.response", "QueryOutcome"),
        "QueryOutcome": {
            "Type": "Choice",
            "Choices": [{"Variable": "$.response.queryStatus", "NumericEquals": 500, "Next": "SystemFault"}],
            "Default": "Done",
        },
    }
    return states


def build_definition(refs: WorkflowRefs) -> dict:
    """The whole workflow. Input: the EventBridge event envelope, as the rule's target delivers it."""
    states: dict[str, dict] = {
        "RouteByDetailType": {
            "Type": "Choice",
            "Choices": [{"Variable": "$.detail-type", "StringEquals": "orderCommand", "Next": "ValidateCommand"},
                        {"Variable": "$.detail-type", "StringEquals": "orderQuery", "Next": "RouteQuery"}],
            # Unreachable through the rule's pattern; a direct StartExecution with anything else is a fault.
            "Default": "UnsupportedEvent",
        },
        **_command_states(refs),
        **_query_states(refs),
        "UnsupportedEvent": {"Type": "Fail", "Error": "UnsupportedEvent",
                             "Cause": "the workflow handles only orderCommand and orderQuery events"},
        # Both paths end with the state {response: the published detail}: a fault's cause and a success's output are
        # that detail, so a synchronous caller (StartSyncExecution, the HTTP API) answers with exactly what the bus got.
        "SystemFault": {"Type": "Fail", "Error": "SystemFault", "CausePath": "States.JsonToString($.response)"},
        "Done": {"Type": "Succeed", "OutputPath": "$.response"},
    }
    return {
        "Comment": "cqrs-orders: routes orderCommand and orderQuery events (SEED-CONTRACT.md)",
        "StartAt": "RouteByDetailType",
        # Express workflows stop at 5 minutes; the worst case of retries (six 30 s query attempts, their waits and
        # the publish retries) stays under this, so a fault is always answered before the machine times out.
        "TimeoutSeconds": 280,
        "States": states,
    }
