"""The HTTP API's routes: each operation maps a request to the same inbound event an EventBridge producer sends
(SEED-CONTRACT.md), and the workflow's response detail to a status code. Nothing here judges a request: the
workflow (its validator and the query functions) stays the one place of the rules, and the status of an answer
follows from the contract's own fields (commandStatus and reason, queryStatus)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

# How a request value becomes a detail field (see templates.py): the JSON body's property as sent, a path
# parameter or a query-string parameter as a string, or a query-string parameter that is an integer when it reads as
# one (otherwise the string, which the query function rejects with a message naming it).
Source = Literal["body", "path", "query", "query-integer"]


@dataclass(frozen=True)
class Field:
    name: str  # the detail's field
    source: Source
    parameter: str = ""  # the request's name for it (the body property, path or query parameter); default: name
    required: bool = True

    @property
    def request_name(self) -> str:
        return self.parameter or self.name


@dataclass(frozen=True)
class Route:
    operation_id: str
    method: Literal["GET", "POST"]
    path: str
    detail_type: Literal["orderCommand", "orderQuery"]
    constant: tuple[str, str]  # ("command", "createOrder") or ("query", "getOrder"): fixed by the route
    fields: tuple[Field, ...]
    summary: str

    @property
    def has_body(self) -> bool:
        return any(f.source == "body" for f in self.fields)


ROUTES: tuple[Route, ...] = (
    Route("createOrder", "POST", "/orders", "orderCommand", ("command", "createOrder"),
          (Field("orderId", "body"), Field("items", "body")),
          "Create an order (the order date is the request's time)"),
    Route("cancelOrder", "POST", "/orders/{orderId}/cancel", "orderCommand", ("command", "cancelOrder"),
          (Field("orderId", "path"),), "Cancel an order"),
    Route("getOrder", "GET", "/orders/{orderId}", "orderQuery", ("query", "getOrder"),
          (Field("orderId", "path"),), "Read an order"),
    Route("itemsSalesReport", "GET", "/reports/items-sales", "orderQuery", ("query", "itemsSalesReport"),
          (Field("limit", "query-integer", required=False), Field("nextToken", "query", required=False)),
          "Total ordered per item, by itemid, a page at a time"),
    Route("monthlySalesByItem", "GET", "/reports/monthly-sales/{itemId}", "orderQuery", ("query", "monthlySalesByItem"),
          (Field("itemid", "path", parameter="itemId"),), "Units ordered per month of one item, newest first"),
)

# The HTTP status of a workflow answer. A command: by its commandStatus, then (rejected) by its reason; a query: its
# queryStatus, which already is one. A system fault (`failed`, 500) ends the execution failed: its cause is the answer.
COMMAND_STATUS = {"orderCreated": 201, "orderCancelled": 200}
REJECTION_STATUS = {"invalidCommand": 400, "unsupportedCommand": 400, "orderNotFound": 404,
                    "orderAlreadyExists": 409, "orderAlreadyCancelled": 409}
QUERY_STATUSES = (200, 400, 404, 500)
FAULT_STATUS = 500

# API Gateway's limit on an integration (REST APIs: 29 s unless raised by a quota request), the header that carries
# the request id on every response (API Gateway's own), and Step Functions' quota on an execution's input.
INTEGRATION_TIMEOUT_MS = 29_000
CORRELATION_HEADER = "x-amzn-RequestId"
MAX_INPUT_BYTES = 262_144


def route(operation_id: str) -> Route:
    return next(r for r in ROUTES if r.operation_id == operation_id)
